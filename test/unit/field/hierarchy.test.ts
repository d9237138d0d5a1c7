import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../src/core/errors.ts";
import { type ParentAffinity, clusterParents, parentAffinities, parentLeaves } from "../../../src/core/field/affinity.ts";
import { planHierarchy } from "../../../src/core/field/hierarchy.ts";
import { DEFAULT_HIERARCHY_PARAMS, EMPTY_HIERARCHY, type HierarchyParams, type HierarchyState } from "../../../src/core/field/hierarchy-types.ts";
import type { TrackedField } from "../../../src/core/field/tracking.ts";

const P: HierarchyParams = { ...DEFAULT_HIERARCHY_PARAMS, stabilitySteps: 3, maxLevels: 3 };
const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

function tracked(id: number, space: number, members: number[], age: number, x = 0): TrackedField {
  const centroidRaw = new Int16Array(24);
  centroidRaw[space * 3] = x;
  return {
    id,
    age,
    space,
    level: 0,
    members: Uint32Array.from(members),
    centroid: new Float64Array(3),
    centroidRaw,
    radius: 1,
    density: 1,
    anchorKey: members[0]!,
  };
}

const parentId = (seq: number): number => ((15 << 28) | seq) >>> 0;

describe("hierarchy planner, level 1", () => {
  it("creates a Concept parent with PartOf connections once a field is stable", () => {
    const young = planHierarchy(EMPTY_HIERARCHY, { fields: [tracked(1, 0, range(1, 6), 2, 500)], affinities: [] }, P);
    expect(young.plan.createParents).toHaveLength(0);
    const { plan, state } = planHierarchy(young.state, { fields: [tracked(1, 0, range(1, 6), 3, 500)], affinities: [] }, P);
    expect(plan.createParents).toHaveLength(1);
    const parent = plan.createParents[0]!;
    expect(parent.id).toBe(parentId(1));
    expect(parent.level).toBe(1);
    expect(parent.entityType).toBe(5);
    expect(parent.flags).toBe(0x1 | (5 << 8) | (1 << 12));
    expect(parent.coords[0]).toBe(500);
    expect(Array.from(plan.connect.source)).toEqual(range(1, 6));
    expect(Array.from(plan.connect.target)).toEqual(Array(5).fill(parentId(1)));
    expect(plan.partOf.type).toBe(0x60);
    expect(state.parents).toHaveLength(1);
    expect(state.nextSeq).toBe(2);
  });

  it("gives a group that forms a field in several spaces a single parent", () => {
    const fields = [tracked(1, 0, range(1, 11), 3), tracked(2, 2, range(2, 11), 3), tracked(3, 4, range(30, 40), 3)];
    const { plan, state } = planHierarchy(EMPTY_HIERARCHY, { fields, affinities: [] }, P);
    expect(plan.createParents).toHaveLength(2);
    expect(state.parents.map((p) => [p.id, [...p.sources]])).toEqual([
      [parentId(1), [1, 2]],
      [parentId(2), [3]],
    ]);
  });

  it("keeps members in sync with its field and deactivates it when the field dissolves", () => {
    const s1 = planHierarchy(EMPTY_HIERARCHY, { fields: [tracked(1, 0, range(1, 6), 3)], affinities: [] }, P).state;
    const moved = planHierarchy(s1, { fields: [tracked(1, 0, [2, 3, 4, 5, 9], 4)], affinities: [] }, P);
    expect(Array.from(moved.plan.connect.source)).toEqual([9]);
    expect(Array.from(moved.plan.disconnect.source)).toEqual([1]);
    expect(moved.plan.createParents).toHaveLength(0);
    const gone = planHierarchy(moved.state, { fields: [], affinities: [] }, P);
    expect(Array.from(gone.plan.deactivateParents)).toEqual([parentId(1)]);
    expect(Array.from(gone.plan.disconnect.source)).toEqual([2, 3, 4, 5, 9]);
    expect(gone.state.parents).toHaveLength(0);
  });

  it("is pure and deterministic", () => {
    const s1 = planHierarchy(EMPTY_HIERARCHY, { fields: [tracked(1, 0, range(1, 6), 3)], affinities: [] }, P).state;
    const snapshot = structuredClone(s1);
    const input = { fields: [tracked(1, 0, range(2, 8), 4), tracked(5, 1, range(20, 30), 3)], affinities: [] };
    const a = planHierarchy(s1, input, P);
    const b = planHierarchy(s1, input, P);
    expect(a).toEqual(b);
    expect(s1).toEqual(snapshot);
  });

  it("rejects bad parameters", () => {
    expect(() => planHierarchy(EMPTY_HIERARCHY, { fields: [], affinities: [] }, { ...P, maxLevels: 16, minChildren: 1 })).toThrow(ValidationError);
  });
});

describe("hierarchy planner, higher levels", () => {
  /** Four stable level-1 parents over groups of 10 tokens. */
  function fourParents(): { state: HierarchyState; fields: TrackedField[] } {
    const fields = [0, 1, 2, 3].map((g) => tracked(g + 1, 0, range(g * 10 + 1, g * 10 + 11), 3, g * 100));
    return { state: planHierarchy(EMPTY_HIERARCHY, { fields, affinities: [] }, P).state, fields };
  }
  const affinities: ParentAffinity[] = [
    { a: parentId(1), b: parentId(2), linkedA: 5, linkedB: 4 },
    { a: parentId(2), b: parentId(3), linkedA: 1, linkedB: 6 },
    { a: parentId(3), b: parentId(4), linkedA: 4, linkedB: 4 },
  ];

  it("clusters parents whose leaves are densely connected, and gives a stable cluster a parent", () => {
    let { state, fields } = fourParents();
    let plan = planHierarchy(state, { fields, affinities }, P).plan;
    for (let call = 0; call < 3; call++) {
      fields = fields.map((f) => ({ ...f, age: f.age + 1 }));
      ({ plan, state } = planHierarchy(state, { fields, affinities }, P));
      if (call < 2) expect(plan.createParents).toHaveLength(0);
    }
    const level2 = plan.createParents;
    expect(level2.map((p) => p.level)).toEqual([2, 2]);
    expect(level2.map((p) => p.coords[0])).toEqual([50, 250]);
    expect(Array.from(plan.connect.source)).toEqual([parentId(1), parentId(2), parentId(3), parentId(4)]);
    expect(Array.from(plan.connect.target)).toEqual([level2[0]!.id, level2[0]!.id, level2[1]!.id, level2[1]!.id]);
    expect(state.parents.filter((p) => p.level === 2).map((p) => p.leafCount)).toEqual([20, 20]);
  });

  it("stops at maxLevels", () => {
    let { state, fields } = fourParents();
    for (let call = 0; call < 6; call++) {
      fields = fields.map((f) => ({ ...f, age: f.age + 1 }));
      state = planHierarchy(state, { fields, affinities }, { ...P, maxLevels: 1 }).state;
    }
    expect(state.parents.every((p) => p.level === 1)).toBe(true);
  });

  it("counts linked leaves between parents and joins by density on both sides", () => {
    const { state } = fourParents();
    const leaves = parentLeaves(state, 1);
    expect(Array.from(leaves.parentIds)).toEqual([1, 2, 3, 4].map(parentId));
    const owner = new Int32Array(41).fill(-1);
    for (let p = 0; p < 4; p++) for (let k = leaves.offsets[p]!; k < leaves.offsets[p + 1]!; k++) owner[leaves.leaves[k]!] = p;
    const source = Int32Array.from([1, 2, 3, 11, 25, 12]);
    const target = Int32Array.from([11, 12, 13, 25, 35, 3]);
    const counted = parentAffinities(owner, leaves.parentIds, source, target, source.length);
    // Leaves 1, 2, 3 of parent 1 reach parent 2; leaves 11, 12, 13 of parent 2 reach parent 1.
    expect(counted).toEqual([
      { a: parentId(1), b: parentId(2), linkedA: 3, linkedB: 3 },
      { a: parentId(2), b: parentId(3), linkedA: 1, linkedB: 1 },
      { a: parentId(3), b: parentId(4), linkedA: 1, linkedB: 1 },
    ]);
    const groups = clusterParents(Array.from(leaves.parentIds, (id) => ({ id, leafCount: 10 })), counted, 0.15, 2);
    expect(groups.map((g) => Array.from(g.members))).toEqual([[parentId(1), parentId(2)]]);
  });
});
