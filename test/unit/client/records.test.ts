import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  decodeConnectionRecords,
  decodeTokenRecords,
  encodeConnectionInputs,
  encodeTokenInputs,
  tokenRecordIds,
  type TokenInput,
} from "../../../src/client/records.ts";
import { resolveClientOptions } from "../../../src/client/options.ts";
import { fromItemError, idList, toDirection, toSpace } from "../../../src/client/types.ts";
import { ErrorCode, ValidationError } from "../../../src/core/errors.ts";
import { SCALES } from "../../../src/core/token/layout.ts";
import { encodeToken, tokenFieldViolations } from "../../../src/core/token/codec.ts";
import { Code } from "../../../src/gen/google/rpc/code.ts";
import { Direction, type Space } from "../../../src/gen/neurograph/v1/common.ts";

const SPACE_KEYS = ["l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8"] as const;

/** A token whose values are exactly representable (coordinates on the grid of each space). */
const tokenArb = fc
  .record({
    id: fc.integer({ min: 0, max: 0xffff_ffff }),
    raw: fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 24, maxLength: 24 }),
    weight: fc.float({ noNaN: true, noDefaultInfinity: true }),
    radius: fc.integer({ min: 0, max: 255 }),
    strength: fc.integer({ min: 0, max: 255 }),
    timestamp: fc.integer({ min: 0, max: 0xffff_ffff }),
    entityType: fc.integer({ min: 0, max: 14 }),
    level: fc.integer({ min: 0, max: 15 }),
    systemFlags: fc.integer({ min: 0, max: 255 }),
  })
  .map((r): TokenInput => {
    const coords: Record<string, [number, number, number]> = {};
    SPACE_KEYS.forEach((k, s) => (coords[k] = [r.raw[s * 3]! / SCALES[s]!, r.raw[s * 3 + 1]! / SCALES[s]!, r.raw[s * 3 + 2]! / SCALES[s]!]));
    return { id: r.id, coords, weight: r.weight, fieldRadius: r.radius / 100, fieldStrength: r.strength / 255, timestamp: r.timestamp, entityType: r.entityType, level: r.level, systemFlags: r.systemFlags };
  });

describe("token objects ⇄ records", () => {
  it("round-trips objects through records and records through objects bit-exactly", () => {
    fc.assert(
      fc.property(fc.array(tokenArb, { maxLength: 20 }), (tokens) => {
        const records = encodeTokenInputs(tokens);
        expect(records.byteLength).toBe(tokens.length * 64);
        const decoded = decodeTokenRecords(records);
        decoded.forEach((t, i) => {
          const input = tokens[i]!;
          expect(t.id).toBe(input.id);
          expect(t.coords).toEqual(input.coords);
          expect(Object.is(t.weight, input.weight)).toBe(true);
          expect([t.entityType, t.level, t.systemFlags, t.timestamp]).toEqual([input.entityType, input.level, input.systemFlags, input.timestamp]);
        });
        expect(Buffer.from(encodeTokenInputs(decoded)).equals(Buffer.from(records))).toBe(true);
        expect(Array.from(tokenRecordIds(records))).toEqual(tokens.map((t) => t.id));
      }),
    );
  });

  it("encodes exactly like the core codec, and rejects exactly what it rejects (property)", () => {
    const num = fc.oneof(fc.double({ min: -400, max: 400 }), fc.constantFrom(Number.NaN, Infinity, -Infinity, 0.005, -327.68, 327.675, 3.27675));
    const intish = (max: number): fc.Arbitrary<number> => fc.oneof(fc.integer({ min: 0, max }), fc.constantFrom(-1, max + 1, 1.5));
    const input = fc.record(
      {
        id: fc.oneof(fc.integer({ min: 0, max: 0xffff_ffff }), fc.constantFrom(-1, 2 ** 32, 0.5)),
        coords: fc.dictionary(fc.constantFrom(...SPACE_KEYS), fc.tuple(num, num, num), { maxKeys: 3 }),
        weight: fc.oneof(fc.double(), fc.constantFrom(3.5e38, 3.5e39)),
        fieldRadius: fc.double({ min: -1, max: 3 }),
        fieldStrength: fc.double({ min: -0.1, max: 1.1 }),
        timestamp: intish(0xffff_ffff),
        entityType: intish(14),
        level: intish(15),
        systemFlags: intish(255),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(input, (t) => {
        const flat = new Array<number>(24).fill(0);
        for (const [k, p] of Object.entries(t.coords ?? {})) flat.splice(SPACE_KEYS.indexOf(k as (typeof SPACE_KEYS)[number]) * 3, 3, ...p);
        const small = (n: number | undefined, d: number, max: number): boolean => Number.isInteger(n ?? d) && (n ?? d) >= 0 && (n ?? d) <= max;
        const fields = {
          id: t.id ?? 0,
          coords: flat,
          flags: (t.systemFlags ?? 1) | ((t.entityType ?? 0) << 8) | ((t.level ?? 0) << 12),
          weight: t.weight ?? 0,
          fieldRadius: t.fieldRadius ?? 0,
          fieldStrength: t.fieldStrength ?? 0,
          timestamp: t.timestamp ?? 1_700_000_000,
        };
        const valid = small(t.entityType, 0, 14) && small(t.level, 0, 15) && small(t.systemFlags, 1, 255) && tokenFieldViolations(fields).length === 0;
        if (!valid) {
          expect(() => encodeTokenInputs([t], 1_700_000_000)).toThrow(ValidationError);
          return;
        }
        expect(Buffer.from(encodeTokenInputs([t], 1_700_000_000)).equals(Buffer.from(encodeToken(fields)))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("fills defaults: origin, ACTIVE, weight 0, now", () => {
    const before = Math.floor(Date.now() / 1000);
    const [t] = decodeTokenRecords(encodeTokenInputs([{}]));
    expect(t).toMatchObject({ id: 0, weight: 0, systemFlags: 1, entityType: 0, level: 0, fieldRadius: 0 });
    expect(t!.timestamp).toBeGreaterThanOrEqual(before);
    expect(t!.coords.l3).toEqual([0, 0, 0]);
  });

  it("accepts 24 flat coordinates and entity type names", () => {
    const flat = Array.from({ length: 24 }, (_, k) => (k === 23 ? 0.5 : 0));
    const [t] = decodeTokenRecords(encodeTokenInputs([{ coords: flat, entityType: "Memory" }]));
    expect(t!.coords.l8).toEqual([0, 0, 0.5]);
    expect(t!.entityType).toBe(10);
  });

  it("lists every bad field of every token and encodes nothing", () => {
    let err: unknown;
    try {
      encodeTokenInputs([{ coords: [1, 2] }, { coords: { l9: [0, 0, 0] } as never }, { id: -1, timestamp: 2 ** 32, systemFlags: 256 }], 0, 10);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).violations.map((v) => [v.index, v.field, v.rule])).toEqual([
      [10, "coords", "coords_length"],
      [11, "coords.l9", "space_known"],
      [12, "system_flags", "system_flags_range"],
      [12, "id", "id_u32"],
      [12, "timestamp", "timestamp_u32"],
    ]);
  });
});

describe("connection objects ⇄ records", () => {
  it("encodes with the core defaults and decodes back", () => {
    const records = encodeConnectionInputs([{ source: 1, target: 2, type: 0x50, confidence: 0.25, mutability: "hypothesis" }, { source: 3, target: 4 }], 1_700_000_000);
    const [a, b] = decodeConnectionRecords(records);
    expect(a).toMatchObject({ source: 1, target: 2, type: 0x50, confidence: 0.25, mutability: 2, rigidity: 0.5, createdAt: 1_700_000_000, flags: 1 });
    expect(b).toMatchObject({ source: 3, target: 4, type: 0, mutability: 0, confidence: 1 });
  });

  it("reports bad ids, types, mutability and out-of-range floats", () => {
    let err: unknown;
    try {
      encodeConnectionInputs([{ source: 1, target: 2, confidence: 2 }, { source: 1.5, target: 2, mutability: "sometimes" as never }]);
    } catch (e) {
      err = e;
    }
    expect((err as ValidationError).violations.map((v) => [v.index, v.field, v.rule])).toEqual([
      [0, "confidence", "confidence_range"],
      [1, "source", "id_range"],
      [1, "mutability", "mutability_defined"],
    ]);
  });
});

describe("request helpers", () => {
  it("parses spaces and directions", () => {
    expect(["L1", "l1", "1", 1, "L8", "l5-cognitive"].map(toSpace)).toEqual([1, 1, 1, 1, 8, 5].map((n) => n as Space));
    expect(() => toSpace("L0")).toThrow(ValidationError);
    expect(() => toSpace(9)).toThrow(ValidationError);
    expect(toDirection("in")).toBe(Direction.DIRECTION_IN);
    expect(toDirection(undefined)).toBe(Direction.DIRECTION_UNSPECIFIED);
    expect(() => toDirection("up" as never)).toThrow(ValidationError);
  });

  it("checks id lists and maps item errors", () => {
    expect(idList(new Uint32Array([1, 2]))).toEqual([1, 2]);
    expect(() => idList([1, -1, 2 ** 32])).toThrow(ValidationError);
    const r = fromItemError({ index: 2, id: 7, code: Code.RESOURCE_EXHAUSTED, field: "", value: "", rule: "max_tokens", description: "quota" }, 100);
    expect(r).toEqual({ index: 102, id: 7, code: ErrorCode.QuotaExceeded, field: "", rule: "max_tokens", description: "quota" });
  });
});

describe("client options", () => {
  it("defaults the address and token from the environment", () => {
    expect(resolveClientOptions({ env: {} }).address).toBe("127.0.0.1:50051");
    const o = resolveClientOptions({ env: { NG_GRPC_ADDR: "node-1:6000", NG_ADMIN_TOKEN: "abc" } });
    expect([o.address, o.token]).toEqual(["node-1:6000", "abc"]);
    expect(resolveClientOptions({ address: "[::1]:1", token: "t", env: { NG_GRPC_ADDR: "x:1" } }).address).toBe("[::1]:1");
    expect(resolveClientOptions({ retry: false, env: {} }).retry).toBe(false);
  });

  it("rejects a bad address from the environment, naming it", () => {
    expect(() => resolveClientOptions({ env: { NG_GRPC_ADDR: "localhost" } })).toThrow(/address/);
    expect(() => resolveClientOptions({ env: { NG_GRPC_ADDR: "localhost:99999" } })).toThrow(/port/);
  });
});
