import { describe, expect, it } from "vitest";
import type { DetectedField } from "../../../src/core/field/fields.ts";
import { matchSets, trackFields } from "../../../src/core/field/tracking.ts";

function field(space: number, members: number[], anchorKey = members[0] ?? 0): DetectedField {
  return {
    space,
    level: 0,
    members: Uint32Array.from(members).sort(),
    centroid: new Float64Array(3),
    centroidRaw: new Int16Array(24),
    radius: 0,
    density: 0,
    anchorKey,
  };
}
const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

describe("field tracking (Jaccard ≥ 0.5)", () => {
  it("keeps ids of continued fields, ages them, and numbers new ones in order", () => {
    const first = trackFields([], [field(0, range(1, 11)), field(0, range(20, 30))], 1);
    expect(first.fields.map((f) => [f.id, f.age])).toEqual([
      [1, 1],
      [2, 1],
    ]);
    // 7 of 10 kept + 3 new: J = 7/13 ≥ 0.5 → continues. The second field is gone; a third is new.
    const second = trackFields(first.fields, [field(0, [...range(4, 11), 40, 41, 42]), field(0, range(60, 70))], first.nextId);
    expect(second.fields.map((f) => [f.id, f.age])).toEqual([
      [1, 2],
      [3, 1],
    ]);
    expect(second.dissolved.map((f) => f.id)).toEqual([2]);
    expect(second.nextId).toBe(4);
  });

  it("gives a new id below 50 % similarity", () => {
    const first = trackFields([], [field(0, range(1, 11))], 1);
    // 6 of 10 kept + 6 new: J = 6/16 < 0.5.
    const second = trackFields(first.fields, [field(0, [...range(5, 11), ...range(50, 56)])], first.nextId);
    expect(second.fields[0]!.id).toBe(2);
    expect(second.dissolved).toHaveLength(1);
  });

  it("lets only one half of a split field keep its id, deterministically", () => {
    const first = trackFields([], [field(0, range(1, 9))], 1);
    const halves = [field(0, range(5, 9), 900), field(0, range(1, 5), 100)];
    const second = trackFields(first.fields, halves, first.nextId);
    // Both halves have J = 0.5; the earlier one (smaller anchor key) keeps the id.
    expect(second.fields.map((f) => [f.members[0], f.id])).toEqual([
      [1, 1],
      [5, 2],
    ]);
  });

  it("never matches fields of different spaces or levels", () => {
    const first = trackFields([], [field(0, range(1, 11))], 1);
    const second = trackFields(first.fields, [field(1, range(1, 11))], first.nextId);
    expect(second.fields[0]!.id).toBe(2);
    expect(second.dissolved.map((f) => f.space)).toEqual([0]);
  });

  it("matches greedily by best similarity, ties to the smaller previous id", () => {
    const prev = [Uint32Array.from(range(1, 11)), Uint32Array.from(range(11, 21))];
    const next = [Uint32Array.from(range(3, 19))];
    // J with prev 0 = 8/18, with prev 1 = 8/18: below 0.5, no match.
    expect(Array.from(matchSets(prev, [5, 4], next))).toEqual([-1]);
    const tie = [Uint32Array.from(range(1, 5)), Uint32Array.from(range(1, 5))];
    expect(Array.from(matchSets(tie, [9, 4], [Uint32Array.from(range(1, 5))]))).toEqual([1]);
  });
});
