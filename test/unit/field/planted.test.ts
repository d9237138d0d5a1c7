import { describe, expect, it } from "vitest";
import { DEFAULT_HIERARCHY_PARAMS } from "../../../src/core/field/hierarchy.ts";
import { DEFAULT_FIELD_PARAMS, DEFAULT_PHYSICS_PARAMS, spacesOf } from "../../../src/core/field/params.ts";
import { adjustedRandIndex } from "./ari.ts";
import { DEFAULT_PLANTED, PlantedWorld } from "./planted.ts";

/** Planted data: 8 groups × 50 tokens in 2 super-groups; radius 2.5, preferred distance 0.1. */
const SPEC = { ...DEFAULT_PLANTED, radiusRaw: 250, preferredDistance: 0.1, siblingDegree: 1, crossDegree: 0.2 };
const DETECT_EVERY = 10;

function run(spaces: number, seed: number, steps: number): PlantedWorld {
  const physics = { ...DEFAULT_PHYSICS_PARAMS, activeSpaces: spaces };
  const fields = { ...DEFAULT_FIELD_PARAMS, spaces };
  const world = new PlantedWorld({ ...SPEC, seed }, spaces);
  for (let s = 1; s <= steps; s++) {
    world.stepPhysics(physics);
    if (s % DETECT_EVERY === 0) {
      world.detect(fields);
      world.updateHierarchy(DEFAULT_HIERARCHY_PARAMS);
    }
  }
  return world;
}

describe("planted structure", () => {
  it("settles into one field per group, one parent per group and one per group of groups", () => {
    const spaces = 0b0000_0101; // L1 and L3
    const world = run(spaces, 11, 400);
    for (const s of spacesOf(spaces)) {
      const ari = adjustedRandIndex(world.group, world.fieldLabels(s));
      console.log(`space L${s + 1}: ARI ${ari.toFixed(3)}, fields ${world.fields.filter((f) => f.space === s).length}`);
      expect(ari).toBeGreaterThanOrEqual(0.9);
    }
    const level1 = world.hierarchy.parents.filter((p) => p.level === 1);
    const level2 = world.hierarchy.parents.filter((p) => p.level === 2);
    console.log(`parents: level 1 ${level1.length}, level 2 ${level2.length}, level 3 ${world.hierarchy.parents.filter((p) => p.level === 3).length}`);
    expect(level1).toHaveLength(8);
    expect(level2).toHaveLength(2);
  });
});
