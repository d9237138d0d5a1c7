import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_TOKEN_LIMITS } from "../../../src/core/limits.ts";
import type { TokenLimits } from "../../../src/core/limits.ts";
import { ShardStore } from "../../../src/core/store/index.ts";
import { encodeToken, tokenFields, validateTokenRecords } from "../../../src/core/token/index.ts";
import { TokenOffset } from "../../../src/core/token/layout.ts";

const NOW = 1_700_000_000;
const bitsView = new DataView(new ArrayBuffer(4));
const f32 = (bits: number): number => {
  bitsView.setUint32(0, bits >>> 0);
  return bitsView.getFloat32(0);
};

// Weights the store's insert loop compares as integer keys of their bits: the edges of that trick.
const specialWeights = [0, -0, 1, -1, 0.1, -0.1, Infinity, -Infinity, NaN, f32(0x7fc00001), f32(0xffc00000), f32(1), f32(0x80000001), f32(0x7f7fffff), f32(0xff7fffff)];
const limitValues = [0, -0, 0.1, -0.1, 1, -1, 1e-45, -1e-45, 1e-50, -1e-50, 3.4e38, -3.4e38, 1e39, -1e39, Infinity, -Infinity, f32(0x3dcccccd), 0.30000000000000004];

const weightArb = fc.oneof(fc.constantFrom(...specialWeights), fc.integer({ min: 0, max: 0xffffffff }).map(f32), fc.double());
const limitArb = fc.oneof(fc.constantFrom(...limitValues), fc.double({ noNaN: true }));

describe("insert-time weight limits", () => {
  it("accept exactly the weights a float compare accepts, and report the same violations as validateTokenRecords", () => {
    fc.assert(
      fc.property(fc.array(weightArb, { minLength: 1, maxLength: 40 }), limitArb, limitArb, (weights, a, b) => {
        const limits: TokenLimits = { ...DEFAULT_TOKEN_LIMITS, minWeight: Math.min(a, b), maxWeight: Math.max(a, b) };
        const records = new Uint8Array(weights.length * 64);
        const dv = new DataView(records.buffer);
        weights.forEach((w, i) => {
          encodeToken(tokenFields(i + 1, NOW, { weight: 0.5, fieldRadius: 1, fieldStrength: 0.3 }), records, i);
          dv.setFloat32(i * 64 + TokenOffset.weight, w, true);
        });
        const expected = validateTokenRecords(records, limits, NOW);
        const store = new ShardStore();
        const r = store.insertRecords(records.slice(), { strict: false, allocateIds: false, validate: { limits, nowSeconds: NOW } });
        const stored = Array.from(records.length / 64 === 0 ? [] : weights.keys()).filter((i) => store.has(i + 1));
        const passing = weights.map((_, i) => i).filter((i) => {
          const w = dv.getFloat32(i * 64 + TokenOffset.weight, true);
          return w >= limits.minWeight && w <= limits.maxWeight;
        });
        expect(stored).toEqual(passing);
        expect(r.violations).toEqual(expected);
      }),
      { numRuns: 400 },
    );
  });
});
