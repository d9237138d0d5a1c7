import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CellCounts,
  type FieldTokens,
  allocateFieldScratch,
  countCells,
  fieldGeometry,
  findCellComponents,
  mergeCellCounts,
} from "../../../src/core/field/cells.ts";
import { collectMembers, detectFields, finalizeFields, mergeFieldPartials } from "../../../src/core/field/fields.ts";
import { DEFAULT_FIELD_DETECTION_PARAMS, type FieldDetectionParams, validateFieldDetectionParams } from "../../../src/core/field/params.ts";
import { SeededRandom } from "../../../src/core/field/prng.ts";

/** Tokens in space L3 (scale 1000): clusters of `size` tokens within ±spread around centres, plus noise. */
function scene(seed: number, centres: [number, number, number][], size: number, spread: number, noise: number): { tokens: FieldTokens; cluster: Int32Array } {
  const rnd = new SeededRandom(seed);
  const n = centres.length * size + noise;
  const positions = new Int16Array(n * 24);
  const cluster = new Int32Array(n).fill(-1);
  let i = 0;
  centres.forEach((c, k) => {
    for (let m = 0; m < size; m++, i++) {
      cluster[i] = k;
      for (let a = 0; a < 3; a++) positions[i * 24 + 6 + a] = Math.round((c[a]! + rnd.range(-spread, spread)) * 1000);
    }
  });
  for (; i < n; i++) for (let a = 0; a < 3; a++) positions[i * 24 + 6 + a] = Math.round(rnd.range(-30, 30) * 1000);
  const ids = Uint32Array.from({ length: n }, (_, k) => 100 + k * 3);
  return { tokens: { positions, ids, flags: new Uint16Array(n), begin: 0, end: n, level: 0 }, cluster };
}

const PARAMS: FieldDetectionParams = { ...DEFAULT_FIELD_DETECTION_PARAMS, densityThresholdTokens: 5, minFieldTokens: 8, cellSize: [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5] };

describe("field detection", () => {
  it("finds constructed clusters with their exact members, centroid and radius, and ignores noise", () => {
    const centres: [number, number, number][] = [
      [5, 5, 5],
      [-8, 2, 0],
      [0, -10, 12],
    ];
    const { tokens, cluster } = scene(1, centres, 40, 0.4, 30);
    const fields = detectFields(tokens, 2, PARAMS);
    expect(fields).toHaveLength(3);
    for (const f of fields) {
      const k = cluster[(f.members[0]! - 100) / 3]!;
      const expected = tokens.ids.filter((_, i) => cluster[i] === k);
      expect(Array.from(f.members)).toEqual(Array.from(expected));
      const xs = expected.map((id) => (id - 100) / 3);
      const mean = [0, 1, 2].map((a) => xs.reduce((s, i) => s + tokens.positions[i * 24 + 6 + a]!, 0) / xs.length / 1000);
      mean.forEach((m, a) => expect(f.centroid[a]).toBeCloseTo(m, 9));
      const rms = Math.sqrt(xs.reduce((s, i) => s + [0, 1, 2].reduce((t, a) => t + (tokens.positions[i * 24 + 6 + a]! / 1000 - mean[a]!) ** 2, 0), 0) / xs.length);
      expect(f.radius).toBeCloseTo(rms, 9);
      expect(f.space).toBe(2);
      expect(f.level).toBe(0);
      expect(f.density).toBeGreaterThan(40);
      mean.forEach((m, a) => expect(Math.abs(f.centroidRaw[6 + a]! - m * 1000)).toBeLessThanOrEqual(0.5));
    }
  });

  it("counts only tokens of the requested hierarchy level", () => {
    const { tokens } = scene(2, [[0, 0, 0]], 40, 0.4, 0);
    const flags = new Uint16Array(tokens.ids.length).fill(1 << 12);
    expect(detectFields({ ...tokens, flags }, 2, PARAMS)).toHaveLength(0);
    expect(detectFields({ ...tokens, flags, level: 1 }, 2, PARAMS)).toHaveLength(1);
  });

  it("drops components smaller than minFieldTokens", () => {
    const { tokens } = scene(3, [[0, 0, 0]], 12, 0.2, 0);
    expect(detectFields(tokens, 2, { ...PARAMS, minFieldTokens: 12 })).toHaveLength(1);
    expect(detectFields(tokens, 2, { ...PARAMS, minFieldTokens: 13 })).toHaveLength(0);
  });

  it("joins dense cells that touch diagonally and keeps a sparse rim as border members", () => {
    // Two dense cells touching at a corner (0.5-cells of L3), and one token in a cell next to them.
    const at = (x: number, y: number, z: number): [number, number, number] => [x, y, z];
    const pts: [number, number, number][] = [...Array<[number, number, number]>(6).fill(at(0.1, 0.1, 0.1)), ...Array<[number, number, number]>(6).fill(at(0.6, 0.6, 0.6)), at(1.1, 0.6, 0.6), at(5, 5, 5)];
    const n = pts.length;
    const positions = new Int16Array(n * 24);
    pts.forEach((p, i) => p.forEach((v, a) => (positions[i * 24 + 6 + a] = Math.round(v * 1000))));
    const tokens: FieldTokens = { positions, ids: Uint32Array.from({ length: n }, (_, i) => i + 1), flags: new Uint16Array(n), begin: 0, end: n, level: 0 };
    const fields = detectFields(tokens, 2, { ...PARAMS, minFieldTokens: 2 });
    expect(fields).toHaveLength(1);
    expect(Array.from(fields[0]!.members)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  });

  it("gives the same fields when the tokens are split over shards, whatever the merge order", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 1, max: 5 }), (seed, shards) => {
        const { tokens } = scene(seed, [[1, 1, 1], [-3, 0, 2], [4, -4, 0]], 30, 0.45, 40);
        const g = fieldGeometry(2, 0.5);
        const whole = detectFields(tokens, 2, PARAMS);
        const n = tokens.end;
        const parts = Array.from({ length: shards }, (_, s) => ({ ...tokens, begin: Math.floor((n * s) / shards), end: Math.floor((n * (s + 1)) / shards) }));
        const counts = parts.map((p) => countCells(p, g, allocateFieldScratch(16)));
        const merged = mergeCellCounts([...counts].reverse());
        expect(merged).toEqual(mergeCellCounts(counts));
        const cc = findCellComponents(merged, g, PARAMS.densityThresholdTokens);
        const partials = parts.map((p) => collectMembers(cc, p, PARAMS.minFieldTokens));
        const fields = finalizeFields(cc, mergeFieldPartials([...partials].reverse()), 0);
        expect(fields).toEqual(whole);
      }),
      { numRuns: 25 },
    );
  });

  it("merges sorted cell counts into their sum", () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 9 })), { maxLength: 20 }), { maxLength: 5 }), (lists) => {
        const inputs: CellCounts[] = lists.map((l) => {
          const m = new Map<number, number>();
          for (const [k, c] of l) m.set(k, (m.get(k) ?? 0) + c);
          const keys = [...m.keys()].sort((a, b) => a - b);
          return { length: keys.length, keys: Uint32Array.from(keys), counts: Uint32Array.from(keys, (k) => m.get(k)!) };
        });
        const merged = mergeCellCounts(inputs);
        const expected = new Map<number, number>();
        for (const l of lists) for (const [k, c] of l) expected.set(k, (expected.get(k) ?? 0) + c);
        expect(Array.from(merged.keys)).toEqual([...expected.keys()].sort((a, b) => a - b));
        expect(Array.from(merged.counts)).toEqual(Array.from(merged.keys, (k) => expected.get(k)));
      }),
    );
  });

  it("rejects bad field parameters", () => {
    expect(() => validateFieldDetectionParams({ ...PARAMS, densityThresholdTokens: 0, minFieldTokens: 1.5 })).toThrow(/densityThresholdTokens.*minFieldTokens/s);
  });
});
