import { describe, expect, it } from "vitest";
import { Direction, runSync, spreadingActivation } from "../../../src/core/graph/index.ts";
import { ValidationError } from "../../../src/core/errors.ts";
import { TestGraph } from "./test-graph.ts";

const arr = (a: ArrayLike<number>): number[] => Array.from(a);

/** original-core §5.4: weights 0.5, 0.5, 1, 1 and decay 0.2. */
const diamond = (): TestGraph =>
  TestGraph.of([
    [1, 2, 0.5],
    [1, 3, 0.5],
    [2, 4, 1],
    [3, 4, 1],
  ]);

describe("spreading activation", () => {
  it("sums what arrives in the same wave (the diamond gives node 4 0.32 + 0.32)", () => {
    const r = runSync(spreadingActivation(1), diamond().expand);
    expect(r.found).toBe(true);
    expect(arr(r.nodes)).toEqual([4, 2, 3]);
    expect(r.energies[0]).toBeCloseTo(0.64, 12);
    expect(r.energies[1]).toBeCloseTo(0.4, 12);
    expect(r.energies[2]).toBeCloseTo(0.4, 12);
    expect(arr(r.depths)).toEqual([2, 1, 1]);
    expect(r.fired).toBe(4);
    expect(r.maxDepthReached).toBe(2);
  });

  it("one request per wave", () => {
    const g = diamond();
    runSync(spreadingActivation(1), g.expand);
    expect(g.requests).toEqual([[1], [2, 3], [4]]);
  });

  it("threshold filters the report, not the spreading", () => {
    const r = runSync(spreadingActivation(1, { threshold: 0.5 }), diamond().expand);
    expect(arr(r.nodes)).toEqual([4]);
    expect(r.fired).toBe(4);
  });

  it("maxDepth limits the waves", () => {
    const r = runSync(spreadingActivation(1, { maxDepth: 1 }), diamond().expand);
    expect(arr(r.nodes)).toEqual([2, 3]);
    expect(r.maxDepthReached).toBe(1);
    const none = runSync(spreadingActivation(1, { maxDepth: 0 }), diamond().expand);
    expect(none.nodes.length).toBe(0);
    expect(none.fired).toBe(1);
  });

  it("energy scales with the source energy and decay", () => {
    const r = runSync(spreadingActivation(1, { energy: 2, decay: 0.25 }), diamond().expand);
    expect(arr(r.nodes)).toEqual([4, 2, 3]);
    expect(arr(r.energies)).toEqual([1.125, 0.75, 0.75]);
  });

  it("a node below minEnergy in one wave may fire in a later one", () => {
    const g = TestGraph.of([
      [1, 2, 0.01],
      [1, 3, 1],
      [3, 2, 1],
    ]);
    const r = runSync(spreadingActivation(1, { threshold: 0 }), g.expand);
    expect(arr(r.nodes)).toEqual([3, 2]);
    expect(arr(r.depths)).toEqual([1, 2]);
    expect(r.energies[1]).toBeCloseTo(0.64, 12);
  });

  it("each node fires once: energy going back to the source or around a cycle is ignored", () => {
    const g = TestGraph.of([
      [1, 2, 1],
      [2, 1, 1],
      [2, 3, 1],
      [3, 2, 1],
    ]);
    const r = runSync(spreadingActivation(1, { decay: 0 }), g.expand);
    expect(arr(r.nodes)).toEqual([2, 3]);
    expect(arr(r.energies)).toEqual([1, 1]);
    expect(r.fired).toBe(3);
  });

  it("Out ignores plain in-edges, Both follows them", () => {
    const g = TestGraph.of([
      [2, 1, 1],
      [1, 3, 1],
    ]);
    expect(arr(runSync(spreadingActivation(1), g.expand).nodes)).toEqual([3]);
    expect(arr(runSync(spreadingActivation(1, { direction: Direction.Both }), g.expand).nodes)).toEqual([2, 3]);
  });

  it("skips edges whose weight is not a positive finite number", () => {
    const g = TestGraph.of([
      [1, 2, 0],
      [1, 3, -1],
      [1, 4, NaN],
      [1, 5, 1],
    ]);
    expect(arr(runSync(spreadingActivation(1), g.expand).nodes)).toEqual([5]);
  });

  it("isolated and missing sources", () => {
    const g = TestGraph.of([], [7]);
    const iso = runSync(spreadingActivation(7), g.expand);
    expect(iso.found).toBe(true);
    expect(iso.fired).toBe(1);
    expect(iso.nodes.length).toBe(0);
    const missing = runSync(spreadingActivation(8), g.expand);
    expect(missing.found).toBe(false);
    expect(missing.fired).toBe(0);
  });

  it("keeps no state between runs", () => {
    const g = diamond();
    const a = runSync(spreadingActivation(1), g.expand);
    runSync(spreadingActivation(2, { energy: 5 }), g.expand);
    const b = runSync(spreadingActivation(1), g.expand);
    expect(arr(b.nodes)).toEqual(arr(a.nodes));
    expect(arr(b.energies)).toEqual(arr(a.energies));
  });

  it("orders equal energies by id", () => {
    const g = TestGraph.of([
      [1, 9, 1],
      [1, 5, 1],
      [1, 7, 1],
    ]);
    expect(arr(runSync(spreadingActivation(1), g.expand).nodes)).toEqual([5, 7, 9]);
  });

  it("validates its configuration", () => {
    const bad = [
      { decay: 1.5 },
      { decay: -0.1 },
      { threshold: -1 },
      { minEnergy: NaN },
      { maxDepth: -1 },
      { maxDepth: 1.5 },
      { energy: 0 },
      { energy: Infinity },
      { direction: Direction.In },
    ];
    for (const o of bad) expect(() => spreadingActivation(1, o), JSON.stringify(o)).toThrow(ValidationError);
    expect(() => spreadingActivation(0)).toThrow(ValidationError);
  });
});
