import { describe, expect, it } from "vitest";
import { DEFAULT_HIERARCHY_PARAMS } from "../../../src/core/field/hierarchy-types.ts";
import { DEFAULT_FIELD_DETECTION_PARAMS, DEFAULT_FORCE_PARAMS, spacesOf } from "../../../src/core/field/params.ts";
import { adjustedRandIndex } from "./ari.ts";
import { DEFAULT_PLANTED, PlantedWorld } from "./planted.ts";

/** Planted data (see DEFAULT_PLANTED) under the default physics, field and hierarchy parameters. */
const SPEC = DEFAULT_PLANTED;
const SPACES = 0b0000_0101; // L1 and L3
const DETECT_EVERY = 10;

function advance(world: PlantedWorld, steps: number, parts = 1): void {
  const physics = { ...DEFAULT_FORCE_PARAMS, activeSpaces: SPACES };
  const fields = { ...DEFAULT_FIELD_DETECTION_PARAMS, spaces: SPACES };
  for (let s = 0; s < steps; s++) {
    world.stepPhysics(physics, parts);
    if (world.step % DETECT_EVERY === 0) {
      world.detect(fields);
      world.updateHierarchy(DEFAULT_HIERARCHY_PARAMS);
    }
  }
}

/** The planted group that holds at least 80 % of a level-1 parent's members, or −1. */
function groupOfParent(world: PlantedWorld, members: Uint32Array): number {
  const counts = new Map<number, number>();
  for (const id of members) counts.set(world.group[id - 1]!, (counts.get(world.group[id - 1]!) ?? 0) + 1);
  for (const [g, c] of counts) if (c >= 0.8 * members.length) return g;
  return -1;
}

describe("planted structure", () => {
  const world = new PlantedWorld({ ...SPEC, seed: 11 }, SPACES);

  it("settles into one field per group (ARI ≥ 0.9), one parent per group and one per group of groups", { timeout: 300_000 }, () => {
    advance(world, 300);
    for (const s of spacesOf(SPACES)) {
      expect(adjustedRandIndex(world.group, world.fieldLabels(s))).toBeGreaterThanOrEqual(0.9);
    }
    const level1 = world.hierarchy.parents.filter((p) => p.level === 1);
    expect(level1).toHaveLength(8);
    expect(level1.map((p) => groupOfParent(world, p.members)).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const level2 = world.hierarchy.parents.filter((p) => p.level === 2);
    expect(level2).toHaveLength(2);
    const superOf = new Map(level1.map((p) => [p.id, Math.floor(groupOfParent(world, p.members) / SPEC.groupsPerSuper)]));
    const supers = level2.map((p) => new Set(Array.from(p.members, (id) => superOf.get(id))));
    expect(supers.map((s) => s.size)).toEqual([1, 1]);
    expect(level2.map((p) => p.members.length)).toEqual([4, 4]);
  });

  it("deactivates the parent of a field that dissolves when its connections are removed", { timeout: 300_000 }, () => {
    const before = world.hierarchy.parents.filter((p) => p.level === 1);
    const parentOfGroup0 = before.find((p) => groupOfParent(world, p.members) === 0)!;
    world.dissolveGroup(0);
    const deactivated: number[] = [];
    const physics = { ...DEFAULT_FORCE_PARAMS, activeSpaces: SPACES };
    const fields = { ...DEFAULT_FIELD_DETECTION_PARAMS, spaces: SPACES };
    for (let s = 0; s < 200; s++) {
      world.stepPhysics(physics);
      if (world.step % DETECT_EVERY === 0) {
        world.detect(fields);
        deactivated.push(...world.updateHierarchy(DEFAULT_HIERARCHY_PARAMS).deactivateParents);
      }
    }
    expect(deactivated).toContain(parentOfGroup0.id);
    const after = world.hierarchy.parents.filter((p) => p.level === 1);
    expect(after.map((p) => p.id).sort()).toEqual(before.filter((p) => p !== parentOfGroup0).map((p) => p.id).sort());
    expect(world.flags[world.ids.indexOf(parentOfGroup0.id)]! & 1).toBe(0);
  });
});

describe("determinism of the whole loop", () => {
  it("gives bit-identical positions, fields and hierarchy however the kernels split the work", { timeout: 300_000 }, () => {
    const runs = [1, 3].map((parts) => {
      const w = new PlantedWorld({ ...SPEC, seed: 5, groups: 4, groupsPerSuper: 2 }, SPACES);
      advance(w, 120, parts);
      return w;
    });
    const [a, b] = runs as [PlantedWorld, PlantedWorld];
    expect(b.positions).toEqual(a.positions);
    expect(b.fields).toEqual(a.fields);
    expect(b.hierarchy).toEqual(a.hierarchy);
    expect(a.hierarchy.parents.length).toBeGreaterThan(0);
  });
});
