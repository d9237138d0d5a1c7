import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stepConstants } from "../../../src/core/field/integrate.ts";
import { ValidationError } from "../../../src/core/errors.ts";
import { DEFAULT_FORCE_PARAMS, type ForceParams, spacesOf, validateForceParams } from "../../../src/core/field/params.ts";
import { buildForceGraph, springListOf } from "../../../src/core/field/springs.ts";
import { type TokenAttributes, allocateFieldWorkspace, fieldStep } from "../../../src/core/field/step.ts";
import { randomField } from "./random-input.ts";
import { referenceForces, referenceMove } from "./reference.ts";

function paramsFor(mask: number): ForceParams {
  return { ...DEFAULT_FORCE_PARAMS, activeSpaces: mask, repulsionConstant: 0.7, gravity: 0.03, timeStep: 0.2, temperature: 0.5 };
}

describe("force kernels against the O(n²) reference", () => {
  it("compute the same forces and, after rounding, the same positions", { timeout: 180_000 }, () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 90 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 150 }),
        fc.integer({ min: 1, max: 255 }),
        fc.boolean(),
        (seed, local, ghosts, edges, mask, bigRadii) => {
          const f = randomField(seed, local, ghosts, edges, bigRadii);
          const params = paramsFor(mask);
          const constants = stepConstants(params, params.temperature);
          const graph = buildForceGraph(f.springs, f.local, f.slotCount);
          const ws = allocateFieldWorkspace(4);
          const out = new Int16Array(f.slotCount * 24);
          const spaces = spacesOf(mask);
          const forces = new Float64Array(f.local * spaces.length * 3);
          fieldStep(ws, f.attrs, f.slotCount, graph, constants, out, 1, forces);
          const rp = { spaces, k: params.springConstant, cRep: params.repulsionConstant, gravity: params.gravity, dt: params.timeStep, temperature: params.temperature };
          const ref = referenceForces(f.attrs, f.local, f.slotCount, f.springs, rp);
          for (let i = 0; i < ref.length; i++) {
            const tol = 1e-6 * (1 + Math.abs(ref[i]!));
            if (Math.abs(forces[i]! - ref[i]!) > tol) {
              throw new Error(`force ${i}: kernel ${forces[i]} reference ${ref[i]}`);
            }
          }
          const moved = referenceMove(f.attrs, f.local, ref, rp);
          for (let c = 0; c < f.local * 24; c++) {
            if (out[c] === moved.positions[c]) continue;
            // Only a coordinate sitting on a rounding boundary may round the other way.
            const frac = Math.abs(moved.unrounded[c]! - Math.floor(moved.unrounded[c]!) - 0.5);
            expect(frac).toBeLessThan(1e-3);
            expect(Math.abs(out[c]! - moved.positions[c]!)).toBe(1);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("force kernels: splitting the work", () => {
  it("gives bit-identical forces and positions for 1, 2, 3 and 4 ranges", { timeout: 180_000 }, () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 1, max: 255 }),
        fc.boolean(),
        (seed, local, ghosts, mask, bigRadii) => {
          const f = randomField(seed, local, ghosts, local * 2, bigRadii);
          const params = paramsFor(mask);
          const constants = stepConstants(params, params.temperature);
          const graph = buildForceGraph(f.springs, f.local, f.slotCount);
          const A = spacesOf(mask).length;
          const results = [1, 2, 3, 4].map((parts) => {
            const out = new Int16Array(f.slotCount * 24);
            const forces = new Float64Array(f.local * A * 3);
            fieldStep(allocateFieldWorkspace(f.slotCount), f.attrs, f.slotCount, graph, constants, out, parts, forces);
            return { out: out.subarray(0, f.local * 24), forces };
          });
          for (const r of results.slice(1)) {
            expect(r.out).toEqual(results[0]!.out);
            expect(new Uint8Array(r.forces.buffer)).toEqual(new Uint8Array(results[0]!.forces.buffer));
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

/** Two or more tokens in L1 (scale 100), other spaces at 0, no radius unless given. */
function tokens(coords: [number, number, number][], radii: number[] = [], strengths: number[] = [], flags: number[] = []): TokenAttributes {
  const n = coords.length;
  const positions = new Int16Array(n * 24);
  coords.forEach((c, i) => c.forEach((v, a) => (positions[i * 24 + a] = Math.round(v * 100))));
  return {
    positions,
    ids: Uint32Array.from({ length: n }, (_, i) => 10 + i),
    flags: Uint16Array.from({ length: n }, (_, i) => flags[i] ?? 0),
    radii: Uint8Array.from({ length: n }, (_, i) => radii[i] ?? 0),
    strengths: Uint8Array.from({ length: n }, (_, i) => strengths[i] ?? 0),
  };
}

function stepL1(
  attrs: TokenAttributes,
  springs: Parameters<typeof springListOf>[0],
  over: Partial<ForceParams> = {},
): { out: Int16Array; forces: Float64Array } {
  const n = attrs.ids.length;
  const params: ForceParams = { ...DEFAULT_FORCE_PARAMS, activeSpaces: 1, gravity: 0, repulsionConstant: 1, timeStep: 0.1, temperature: 10, ...over };
  const graph = buildForceGraph(springListOf(springs), n, n);
  const out = new Int16Array(n * 24);
  const forces = new Float64Array(n * 3);
  fieldStep(allocateFieldWorkspace(n), attrs, n, graph, stepConstants(params, params.temperature), out, 1, forces);
  return { out, forces };
}

describe("spring forces: known answers", () => {
  const spring = { source: [0], target: [1], rigidity: 0.5, confidence: 1, pull: 2, preferredDistance: 1 };

  it("pull a stretched pair together by K·(d − d₀) and move by F·dt", () => {
    const { out, forces } = stepL1(tokens([[0, 0, 0], [3, 0, 0]]), spring);
    expect(Array.from(forces)).toEqual([2, 0, 0, -2, 0, 0]);
    expect(Array.from(out.subarray(0, 3))).toEqual([20, 0, 0]);
    expect(Array.from(out.subarray(24, 27))).toEqual([280, 0, 0]);
  });

  it("push a compressed pair apart", () => {
    const { forces } = stepL1(tokens([[0, 0, 0], [0, 0.5, 0]]), spring);
    expect(forces[1]).toBeCloseTo(-0.5, 12);
    expect(forces[4]).toBeCloseTo(0.5, 12);
  });

  it("with negative pull, push apart closer than d₀ and do nothing beyond it", () => {
    const repel = { ...spring, pull: -2 };
    const near = stepL1(tokens([[0, 0, 0], [0.5, 0, 0]]), repel).forces;
    expect(near[0]).toBeCloseTo(-0.5, 12);
    expect(near[3]).toBeCloseTo(0.5, 12);
    const far = stepL1(tokens([[0, 0, 0], [3, 0, 0]]), repel).forces;
    expect(Array.from(far)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("act only in the spaces of their mask", () => {
    const attrs = tokens([[0, 0, 0], [3, 0, 0]]);
    const { forces } = stepL1(attrs, { ...spring, activeSpaces: 0b10 });
    expect(Array.from(forces)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("push coincident tokens apart along opposite, deterministic directions with magnitude K·d₀", () => {
    const { forces, out } = stepL1(tokens([[1, 1, 1], [1, 1, 1]]), spring);
    const fa = Array.from(forces.subarray(0, 3));
    const fb = Array.from(forces.subarray(3, 6));
    expect(Math.hypot(...fa)).toBeCloseTo(1, 12);
    fa.forEach((v, i) => expect(v).toBeCloseTo(-fb[i]!, 12));
    const again = stepL1(tokens([[1, 1, 1], [1, 1, 1]]), spring);
    expect(again.out).toEqual(out);
  });
});

describe("repulsion, gravity and the move rule: known answers", () => {
  it("repel within R = max(radius) by c·strength·(1 − d/R)", () => {
    // radius 2.0 and 1.0 → R = 2; strengths 0.2 and 1; d = 1.
    const { forces } = stepL1(tokens([[0, 0, 0], [1, 0, 0]], [200, 100], [51, 255]), { source: [], target: [] });
    expect(forces[0]).toBeCloseTo(-0.5, 6);
    expect(forces[3]).toBeCloseTo(0.1, 6);
    const apart = stepL1(tokens([[0, 0, 0], [2, 0, 0]], [200, 100], [51, 255]), { source: [], target: [] });
    expect(Array.from(apart.forces)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("push coincident tokens apart with c·strength", () => {
    const { forces } = stepL1(tokens([[0, 0, 0], [0, 0, 0]], [100, 100], [255, 255]), { source: [], target: [] });
    expect(Math.hypot(forces[0]!, forces[1]!, forces[2]!)).toBeCloseTo(1, 6);
    expect(forces[0]! + forces[3]!).toBeCloseTo(0, 6);
  });

  it("push a crowd of coincident tokens apart as the reference does (more than the kernel's first buffer)", () => {
    // 150 tokens on one point plus a ring of 30 near it: every pair of the crowd is coincident.
    const coords: [number, number, number][] = [];
    for (let i = 0; i < 150; i++) coords.push([0.5, -0.25, 1]);
    for (let i = 0; i < 30; i++) coords.push([0.5 + 0.3 * Math.cos(i), -0.25 + 0.3 * Math.sin(i), 1 + 0.01 * i]);
    const n = coords.length;
    const attrs = tokens(coords, Array.from({ length: n }, (_, i) => 60 + (i % 3) * 20), Array.from({ length: n }, (_, i) => 50 + ((i * 37) % 200)));
    const { forces } = stepL1(attrs, { source: [], target: [] });
    const rp = { spaces: [0], k: 1, cRep: 1, gravity: 0, dt: 0.1, temperature: 10 };
    const ref = referenceForces(attrs, n, n, springListOf({ source: [], target: [] }), rp);
    for (let i = 0; i < ref.length; i++) expect(Math.abs(forces[i]! - ref[i]!)).toBeLessThan(1e-6 * (1 + Math.abs(ref[i]!)));
  });

  it("pull towards the origin with gravity −g·x", () => {
    const { forces } = stepL1(tokens([[2, -4, 0]]), { source: [], target: [] }, { gravity: 0.5 });
    expect(Array.from(forces, (v) => v + 0)).toEqual([-1, 2, 0]);
  });

  it("cap a move at the temperature, keeping its direction", () => {
    const { out } = stepL1(tokens([[0, 0, 0], [100, 0, 0]]), { source: [0], target: [1], pull: 10, preferredDistance: 1 }, { temperature: 0.5 });
    expect(Array.from(out.subarray(0, 3))).toEqual([50, 0, 0]);
  });

  it("cap moves per space when given one temperature per space", () => {
    // A strong spring in L1 (scale 100) and L3 (scale 1000); T = 0.5 in L1, 0.2 in L3.
    const attrs = tokens([[0, 0, 0], [100, 0, 0]]);
    attrs.positions[24 + 6] = 30000;
    const params: ForceParams = { ...DEFAULT_FORCE_PARAMS, activeSpaces: 0b101, gravity: 0, timeStep: 1 };
    const graph = buildForceGraph(springListOf({ source: [0], target: [1], pull: 10 }), 2, 2);
    const out = new Int16Array(48);
    const temperatures = [0.5, 9, 0.2, 9, 9, 9, 9, 9];
    fieldStep(allocateFieldWorkspace(2), attrs, 2, graph, stepConstants(params, temperatures), out);
    expect(out[0]).toBe(50);
    expect(out[6]).toBe(200);
    expect(out[24 + 6]).toBe(29800);
  });

  it("clamp positions to the int16 range and leave locked tokens in place", () => {
    // A repelling spring (pull −10, d₀ 100) between a token near the edge and a locked one.
    const attrs = tokens([[327, 0, 0], [300, 0, 0]], [], [], [0, 0x80]);
    const { out, forces } = stepL1(attrs, { source: [0], target: [1], pull: -10, preferredDistance: 100 }, { temperature: 100 });
    expect(forces[0]).toBeCloseTo(730, 9);
    expect(out[0]).toBe(32767);
    expect(Array.from(out.subarray(24, 27))).toEqual([30000, 0, 0]);
  });
});

describe("input validation", () => {
  it("rejects bad springs with every violation and builds nothing", () => {
    const bad = springListOf({ source: [0, 5], target: [1, 0], rigidity: [2, 0.5], pull: [1, 11] });
    try {
      buildForceGraph(bad, 2, 2);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      const rules = (err as ValidationError).violations.map((v) => `${v.index}:${v.rule}`);
      expect(rules).toEqual(["0:rigidity_range", "1:slot_range", "1:pull_range"]);
    }
  });

  it("refuses to write a step into its own input", () => {
    const attrs = tokens([[0, 0, 0]]);
    const graph = buildForceGraph(springListOf({ source: [], target: [] }), 1, 1);
    const constants = stepConstants(DEFAULT_FORCE_PARAMS, 1);
    expect(() => fieldStep(allocateFieldWorkspace(1), attrs, 1, graph, constants, attrs.positions)).toThrow(ValidationError);
  });

  it("rejects buffers shorter than the token count, naming them", () => {
    const attrs = tokens([[0, 0, 0], [1, 0, 0]]);
    const graph = buildForceGraph(springListOf({ source: [0], target: [1] }), 2, 2);
    const constants = stepConstants(DEFAULT_FORCE_PARAMS, 1);
    expect(() => fieldStep(allocateFieldWorkspace(2), { ...attrs, radii: new Uint8Array(1) }, 2, graph, constants, new Int16Array(24))).toThrow(
      /output.*radii/s,
    );
  });

  it("rejects physics parameters out of range", () => {
    expect(() => validateForceParams({ ...DEFAULT_FORCE_PARAMS, cooling: 1.5, cellSize: [0.1, 1, 1, 1, 1, 1, 1, 1] })).toThrow(/cooling/);
  });
});
