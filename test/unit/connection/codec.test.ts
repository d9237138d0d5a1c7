import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { sameBytes } from "../../helpers/bytes.ts";
import { ValidationError } from "../../../src/core/errors.ts";
import {
  CATEGORY_NAMES,
  CONNECTION_RECORD_SIZE,
  ConnectionCategory,
  ConnectionOffset,
  Mutability,
  categoryName,
  categoryOf,
  connectionFields,
  decodeConnection,
  decodeConnections,
  defaultMutability,
  encodeConnection,
  encodeConnections,
  isValidConnectionType,
} from "../../../src/core/connection/index.ts";

const odd = [0x7fc00001, 0xffffffff, 0x7f800001, 0x80000000, 0x00000001];

/** Any bytes, with reserved bytes 13..15 zero (the codec writes them as zero). */
const recordsArb = fc.integer({ min: 0, max: 30 }).chain((n) =>
  fc
    .tuple(fc.uint8Array({ minLength: n * 64, maxLength: n * 64 }), fc.array(fc.integer({ min: 0, max: 5 }), { minLength: n, maxLength: n }))
    .map(([bytes, picks]) => {
      const dv = new DataView(bytes.buffer);
      for (let i = 0; i < n; i++) {
        bytes.fill(0, i * 64 + 13, i * 64 + 16);
        const p = picks[i]!;
        if (p < odd.length) dv.setUint32(i * 64 + 16 + 4 * p, odd[p]!, true);
      }
      return bytes;
    }),
);

describe("connection batch codec", () => {
  it("round-trips records bit-exactly, float NaN payloads included", () => {
    fc.assert(
      fc.property(recordsArb, (bytes) => {
        const cols = decodeConnections(bytes);
        expect(cols.size).toBe(bytes.byteLength / 64);
        expect(sameBytes(encodeConnections(cols), bytes)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("decodes each field per the layout", () => {
    const f = connectionFields(7, 9, 0x21, 1000, { activeSpaces: 0x85, flags: 0x23, rigidity: 0.25, pullStrength: -3, evidenceCount: 5, successCount: 4, lastActivation: 77 });
    const b = encodeConnection(f);
    expect(b.byteLength).toBe(CONNECTION_RECORD_SIZE);
    const dv = new DataView(b.buffer);
    expect(dv.getUint32(ConnectionOffset.target, true)).toBe(9);
    expect(dv.getUint8(ConnectionOffset.type)).toBe(0x21);
    expect(dv.getFloat32(ConnectionOffset.pullStrength, true)).toBe(-3);
    const c = decodeConnections(b);
    expect([c.sources[0], c.targets[0], c.types[0], c.activeSpaces[0], c.flags[0], c.mutability[0]]).toEqual([7, 9, 0x21, 0x85, 0x23, Mutability.Learnable]);
    expect([c.rigidity[0], c.pullStrength[0], c.preferredDistance[0], c.confidence[0], c.learningRate[0], c.decayRate[0]]).toEqual([0.25, -3, 1, 0.5, 0.125, 0.0625]);
    expect([c.evidenceCount[0], c.successCount[0], c.createdAt[0], c.updatedAt[0], c.lastActivation[0]]).toEqual([5, 4, 1000, 1000, 77]);
    expect(decodeConnection(b)).toEqual(f);
  });

  it("rejects a wrong byte length", () => {
    expect(() => decodeConnections(new Uint8Array(63))).toThrow(ValidationError);
  });
});

describe("connection types", () => {
  it("has 11 categories with default mutability; types ≥ 0xB0 are invalid", () => {
    expect(CATEGORY_NAMES).toHaveLength(11);
    const immutable = ["Semantic", "Spatial", "Logical", "Structural", "Rule"];
    for (let t = 0; t <= 0xaf; t++) {
      const name = categoryName(t);
      expect(categoryOf(t)).toBe(t & 0xf0);
      expect(defaultMutability(t)).toBe(immutable.includes(name) ? Mutability.Immutable : Mutability.Learnable);
    }
    expect(categoryOf(0x28)).toBe(ConnectionCategory.Temporal);
    expect(isValidConnectionType(0xaf)).toBe(true);
    expect(isValidConnectionType(0xb0)).toBe(false);
    expect(() => categoryOf(0xb0)).toThrow(ValidationError);
    expect(() => connectionFields(1, 2, 0xff, 0)).toThrow(ValidationError);
  });

  it("gives new connections confidence 1 when Immutable, 0.5 otherwise", () => {
    expect(connectionFields(1, 2, 0x00, 0).confidence).toBe(1);
    expect(connectionFields(1, 2, 0x50, 0).confidence).toBe(0.5);
    expect(connectionFields(1, 2, 0x50, 0, { mutability: Mutability.Hypothesis }).mutability).toBe(Mutability.Hypothesis);
  });
});
