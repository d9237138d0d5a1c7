import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { decodeConnections, decodeTokens, encodeConnectionKeys, encodeConnections, encodeTokens } from "../../../src/api/records.ts";
import type { Token } from "../../../src/gen/neurograph/v1/token.ts";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

function token(partial: Partial<Token>): Token {
  return {
    id: 1,
    coords: undefined,
    weight: 0,
    fieldRadius: 0,
    fieldStrength: 0,
    timestamp: 0,
    entityType: 0,
    level: 0,
    systemFlags: undefined,
    ...partial,
  };
}

/** A valid packed token record: coords, id, flags (entity ≤ 14), finite weight, bytes, timestamp. */
const tokenRecord = fc
  .record({
    coords: fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 24, maxLength: 24 }),
    id: fc.nat({ max: 0xffffffff }),
    system: fc.nat({ max: 0xff }),
    entity: fc.nat({ max: 14 }),
    level: fc.nat({ max: 15 }),
    weight: fc.float({ noNaN: true, noDefaultInfinity: true }),
    radius: fc.nat({ max: 255 }),
    strength: fc.nat({ max: 255 }),
    timestamp: fc.nat({ max: 0xffffffff }),
  })
  .map((r) => {
    const b = Buffer.alloc(64);
    r.coords.forEach((c, i) => b.writeInt16LE(c, i * 2));
    b.writeUInt32LE(r.id, 48);
    b.writeUInt16LE(r.system | (r.entity << 8) | (r.level << 12), 52);
    b.writeFloatLE(r.weight, 54);
    b.writeUInt8(r.radius, 58);
    b.writeUInt8(r.strength, 59);
    b.writeUInt32LE(r.timestamp, 60);
    return b;
  });

const connectionRecord = fc
  .record({
    ends: fc.array(fc.nat({ max: 0xffffffff }), { minLength: 2, maxLength: 2 }),
    type: fc.nat({ max: 255 }),
    spaces: fc.nat({ max: 255 }),
    flags: fc.nat({ max: 0xffff }),
    mutability: fc.nat({ max: 2 }),
    floats: fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: 6, maxLength: 6 }),
    counts: fc.array(fc.nat({ max: 0xffffffff }), { minLength: 6, maxLength: 6 }),
  })
  .map((r) => {
    const b = Buffer.alloc(64);
    b.writeUInt32LE(r.ends[0]!, 0);
    b.writeUInt32LE(r.ends[1]!, 4);
    b.writeUInt8(r.type, 8);
    b.writeUInt8(r.spaces, 9);
    b.writeUInt16LE(r.flags, 10);
    b.writeUInt8(r.mutability, 12);
    r.floats.forEach((f, i) => b.writeFloatLE(f, 16 + i * 4));
    r.counts.forEach((c, i) => b.writeUInt32LE(c, 40 + i * 4));
    return b;
  });

describe("token records", () => {
  it("encode the golden vector of the documented layout", () => {
    const { records, violations } = encodeTokens([
      token({
        id: 0x01020304,
        coords: { l1: { x: 1, y: -2, z: 3 }, l2: undefined, l3: undefined, l4: undefined, l5: undefined, l6: undefined, l7: undefined, l8: undefined },
        weight: 0.5,
        fieldRadius: 1.5,
        fieldStrength: 0.8,
        timestamp: 0x11223344,
        entityType: 5,
        systemFlags: 1,
      }),
    ]);
    expect(violations).toEqual([]);
    expect(hex(records.subarray(0, 6))).toBe("640038ff2c01");
    expect(hex(records.subarray(48, 64))).toBe("04030201" + "0105" + "0000003f" + "96" + "cc" + "44332211");
  });

  it("round-trip packed → structured → packed byte for byte", () => {
    fc.assert(
      fc.property(fc.array(tokenRecord, { maxLength: 8 }), (recs) => {
        const packed = Buffer.concat(recs);
        const again = encodeTokens(decodeTokens(packed));
        expect(again.violations).toEqual([]);
        expect(hex(again.records)).toBe(hex(packed));
      }),
    );
  });

  it("round to the nearest fixed-point step and default flags and timestamp", () => {
    const { records } = encodeTokens([token({ coords: { l1: { x: 0.534, y: -0.535, z: 0.29 }, l2: { x: 0.00005, y: 0, z: 0 }, l3: undefined, l4: undefined, l5: undefined, l6: undefined, l7: undefined, l8: undefined }, timestamp: undefined })], 1234);
    const [t] = decodeTokens(records);
    // Ties round away from zero, as in the core codec: -0.535 → -0.54 mirrors 0.535 → 0.54.
    expect(t!.coords!.l1).toEqual({ x: 0.53, y: -0.54, z: 0.29 });
    expect(t!.coords!.l2!.x).toBe(0.0001);
    expect(t!.systemFlags).toBe(1);
    expect(t!.timestamp).toBe(1234);
  });

  it("report every field the packed form cannot hold, with index, field, value and rule", () => {
    const bad = token({
      coords: { l1: undefined, l2: { x: Number.NaN, y: 4, z: 0 }, l3: undefined, l4: undefined, l5: undefined, l6: undefined, l7: undefined, l8: undefined },
      weight: Number.POSITIVE_INFINITY,
      fieldRadius: 2.56,
      fieldStrength: -0.1,
      entityType: 15 as Token["entityType"],
      level: 16,
      systemFlags: 256,
    });
    const { violations } = encodeTokens([token({}), bad]);
    expect(violations.map((v) => [v.index, v.field, v.rule])).toEqual([
      [1, "coords.l2.x", "coord_finite"],
      [1, "coords.l2.y", "coord_range"],
      [1, "system_flags", "integer_range"],
      [1, "entity_type", "integer_range"],
      [1, "level", "integer_range"],
      [1, "weight", "finite"],
      [1, "field_radius", "field_radius_range"],
      [1, "field_strength", "field_strength_range"],
    ]);
    expect(violations[1]).toMatchObject({ value: "4" });
  });
});

describe("connection records", () => {
  it("round-trip packed → structured → packed byte for byte", () => {
    fc.assert(
      fc.property(fc.array(connectionRecord, { maxLength: 8 }), (recs) => {
        const packed = Buffer.concat(recs);
        const again = encodeConnections(decodeConnections(packed));
        expect(again.violations).toEqual([]);
        expect(hex(again.records)).toBe(hex(packed));
      }),
    );
  });

  it("apply the documented defaults to absent fields", () => {
    const { records, violations } = encodeConnections(
      [{ source: 1, target: 2, type: 0x10, activeSpaces: 0, flags: undefined, mutability: 0, rigidity: undefined, pullStrength: undefined, preferredDistance: undefined, confidence: undefined, learningRate: undefined, decayRate: undefined, activationCount: 0, evidenceCount: 0, successCount: 0, createdAt: undefined, updatedAt: undefined, lastActivation: 0 }],
      777,
    );
    expect(violations).toEqual([]);
    expect(decodeConnections(records)[0]).toMatchObject({ flags: 1, mutability: 2, rigidity: 0.5, pullStrength: 1, preferredDistance: 1, confidence: 0.5, learningRate: 0.125, decayRate: 0.0625, createdAt: 777, updatedAt: 777 });
  });

  it("report out-of-range types and keys", () => {
    const keys = encodeConnectionKeys([{ source: 1, target: 2, type: undefined }, { source: 1, target: 2, type: 300 }]);
    expect(Array.from(keys.keys.types)).toEqual([-1, 0]);
    expect(keys.violations).toEqual([expect.objectContaining({ index: 1, field: "type", rule: "integer_range" })]);
  });
});
