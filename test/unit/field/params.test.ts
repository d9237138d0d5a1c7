import { describe, expect, it } from "vitest";
import { compileConstitution } from "../../../src/core/constitution/compiled.ts";
import { defaultConstitution } from "../../../src/core/constitution/canonical.ts";
import {
  DEFAULT_FORCE_PARAMS,
  type FieldDetectionParams,
  type ForceParams,
  spaceTemperaturesAt,
  spacesOf,
  temperatureAt,
  validateFieldDetectionParams,
  validateForceParams,
} from "../../../src/core/field/params.ts";
import { SeededRandom } from "../../../src/core/field/prng.ts";

describe("seeded PRNG", () => {
  it("repeats its sequence for a seed and differs between seeds", () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const c = new SeededRandom(43);
    const sa = Array.from({ length: 50 }, () => a.nextU32());
    expect(Array.from({ length: 50 }, () => b.nextU32())).toEqual(sa);
    expect(Array.from({ length: 50 }, () => c.nextU32())).not.toEqual(sa);
  });

  it("draws uniform values in range", () => {
    const r = new SeededRandom(1);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const v = r.next();
      expect(v >= 0 && v < 1).toBe(true);
      buckets[Math.floor(v * 10)]!++;
    }
    for (const b of buckets) expect(Math.abs(b - 2000)).toBeLessThan(200);
    for (let i = 0; i < 1000; i++) {
      const k = r.nextInt(7);
      expect(Number.isInteger(k) && k >= 0 && k < 7).toBe(true);
    }
  });
});

describe("physics helpers", () => {
  it("cool the temperature geometrically down to its floor", () => {
    const p = { ...DEFAULT_FORCE_PARAMS, temperature: 2, cooling: 0.5, minTemperature: 0.3 };
    expect([0, 1, 2, 3, 10].map((s) => temperatureAt(p, s))).toEqual([2, 1, 0.5, 0.3, 0.3]);
    // In decoded units per space: cell sizes × each space's cell size.
    const cells = { ...p, cellSize: [10, 0.1, 1, 0.1, 0.1, 0.1, 10, 0.1] };
    expect(spaceTemperaturesAt(cells, 1)).toEqual([10, 0.1, 1, 0.1, 0.1, 0.1, 10, 0.1]);
  });

  it("list the spaces of a mask", () => {
    expect(spacesOf(0b1000_0101)).toEqual([0, 2, 7]);
  });
});

describe("constitution parameters", () => {
  it("feed the kernels directly: the compiled physics section is a ForceParams", () => {
    const compiled = compileConstitution(defaultConstitution());
    const physics: ForceParams = compiled.physics;
    expect(validateForceParams(physics)).toBe(physics);
    const detection: FieldDetectionParams = {
      densityThresholdTokens: compiled.fields.densityThresholdTokens,
      minFieldTokens: compiled.fields.minFieldTokens,
      cellSize: physics.cellSize,
      spaces: physics.activeSpaces,
    };
    expect(validateFieldDetectionParams(detection)).toBe(detection);
  });
});
