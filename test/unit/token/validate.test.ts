import { describe, expect, it } from "vitest";
import { DEFAULT_TOKEN_LIMITS } from "../../../src/core/limits.ts";
import type { TokenLimits } from "../../../src/core/limits.ts";
import { encodeToken, tokenFields, validateTokenRecords } from "../../../src/core/token/index.ts";
import { TokenOffset } from "../../../src/core/token/layout.ts";

const NOW = 1_700_000_000;

function batch(n: number): Uint8Array {
  const out = new Uint8Array(n * 64);
  for (let i = 0; i < n; i++) encodeToken(tokenFields(i + 1, NOW, { weight: 0.5, fieldRadius: 1, fieldStrength: 0.3 }), out, i);
  return out;
}

describe("validateTokenRecords", () => {
  it("accepts valid records", () => {
    expect(validateTokenRecords(batch(10), DEFAULT_TOKEN_LIMITS, NOW)).toEqual([]);
  });

  it("reports each rule with index, field, value and rule", () => {
    const b = batch(8);
    const dv = new DataView(b.buffer);
    dv.setUint32(1 * 64 + TokenOffset.id, 0, true);
    dv.setFloat32(2 * 64 + TokenOffset.weight, NaN, true);
    dv.setFloat32(3 * 64 + TokenOffset.weight, 1.5, true);
    dv.setFloat32(4 * 64 + TokenOffset.weight, -Infinity, true);
    dv.setUint32(5 * 64 + TokenOffset.timestamp, NOW + 3601, true);
    dv.setUint32(6 * 64 + TokenOffset.timestamp, NOW + 3600, true); // exactly the limit: fine
    const limits: TokenLimits = { ...DEFAULT_TOKEN_LIMITS, minRadiusRaw: 10, maxStrengthRaw: 100 };
    dv.setUint8(7 * 64 + TokenOffset.fieldRadius, 9);
    dv.setUint8(7 * 64 + TokenOffset.fieldStrength, 101);
    const v = validateTokenRecords(b, limits, NOW);
    expect(v.map((x) => [x.index, x.field, x.rule, x.value])).toEqual([
      [1, "id", "id_nonzero", "0"],
      [2, "weight", "weight_finite", "NaN"],
      [3, "weight", "weight_range", "1.5"],
      [4, "weight", "weight_finite", "-Infinity"],
      [5, "timestamp", "timestamp_future", String(NOW + 3601)],
      [7, "field_radius", "radius_range", "9"],
      [7, "field_strength", "strength_range", "101"],
    ]);
    for (const x of v) expect(x.description.length).toBeGreaterThan(10);
  });

  it("allows id 0 for creates, honours skip, marks invalid items and offsets indices", () => {
    const b = batch(4);
    const dv = new DataView(b.buffer);
    dv.setUint32(0 * 64 + TokenOffset.id, 0, true);
    dv.setFloat32(1 * 64 + TokenOffset.weight, 2, true);
    dv.setFloat32(2 * 64 + TokenOffset.weight, 3, true);
    const invalid = new Uint8Array(4);
    const v = validateTokenRecords(b, DEFAULT_TOKEN_LIMITS, NOW, {
      allowZeroId: true,
      skip: Uint8Array.of(0, 0, 1, 0),
      invalid,
      firstIndex: 100,
    });
    expect(v.map((x) => x.index)).toEqual([101]);
    expect(Array.from(invalid)).toEqual([0, 1, 0, 0]);
  });

  it("caps the number of violations but still marks every bad item", () => {
    const b = batch(5);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < 5; i++) dv.setUint32(i * 64 + TokenOffset.id, 0, true);
    const invalid = new Uint8Array(5);
    expect(validateTokenRecords(b, DEFAULT_TOKEN_LIMITS, NOW, { maxViolations: 2, invalid })).toHaveLength(2);
    expect(Array.from(invalid)).toEqual([1, 1, 1, 1, 1]);
  });

  it("rejects a wrong record length with one violation", () => {
    expect(validateTokenRecords(new Uint8Array(65), DEFAULT_TOKEN_LIMITS, NOW)).toEqual([
      expect.objectContaining({ field: "records", rule: "record_size", value: "65" }),
    ]);
  });
});
