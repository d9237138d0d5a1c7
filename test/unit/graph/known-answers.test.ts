import { describe, expect, it } from "vitest";
import {
  Direction,
  bfs,
  dfs,
  dijkstraPath,
  dijkstraTree,
  kHop,
  neighborhood,
  runSync,
  shortestPath,
  subgraph,
} from "../../../src/core/graph/index.ts";
import { ValidationError } from "../../../src/core/errors.ts";
import { TestGraph } from "./test-graph.ts";

const chain = (): TestGraph =>
  TestGraph.of([
    [1, 2],
    [2, 3],
    [3, 4],
    [4, 5],
  ]);

/** original-core §5.3: 1→2 (w 1), 1→3 (w 2), 2→4 (w 1), 3→4 (w 1). */
const diamond = (): TestGraph =>
  TestGraph.of([
    [1, 2, 1],
    [1, 3, 2],
    [2, 4, 1],
    [3, 4, 1],
  ]);

const arr = (a: ArrayLike<number>): number[] => Array.from(a);

describe("bfs", () => {
  it("walks the chain level by level with depths", () => {
    const r = runSync(bfs(1), chain().expand);
    expect(r.found).toBe(true);
    expect(arr(r.nodes)).toEqual([1, 2, 3, 4, 5]);
    expect(arr(r.depths)).toEqual([0, 1, 2, 3, 4]);
    expect(arr(r.parents)).toEqual([-1, 0, 1, 2, 3]);
    expect(r.truncated).toBe(false);
  });

  it("respects direction: out from the end finds nothing, in walks back", () => {
    expect(arr(runSync(bfs(5), chain().expand).nodes)).toEqual([5]);
    expect(arr(runSync(bfs(5, { direction: Direction.In }), chain().expand).nodes)).toEqual([5, 4, 3, 2, 1]);
  });

  it("Both follows every in- and out-edge (not only bidirectional ones)", () => {
    const r = runSync(bfs(3, { direction: Direction.Both }), chain().expand);
    expect(arr(r.nodes)).toEqual([3, 4, 2, 5, 1]);
    expect(arr(r.depths)).toEqual([0, 1, 1, 2, 2]);
  });

  it("Out follows a BIDIRECTIONAL connection backwards when the expander lists it", () => {
    const g = new TestGraph([1, 2], [{ from: 1, to: 2, bidirectional: true }]);
    expect(arr(runSync(bfs(2), g.expand).nodes)).toEqual([2, 1]);
    const plain = new TestGraph([1, 2], [{ from: 1, to: 2 }]);
    expect(arr(runSync(bfs(2), plain.expand).nodes)).toEqual([2]);
  });

  it("stops at maxDepth with one round trip per expanded level", () => {
    const g = chain();
    const r = runSync(bfs(1, { maxDepth: 2 }), g.expand);
    expect(arr(r.nodes)).toEqual([1, 2, 3]);
    expect(g.requests).toEqual([[1], [2]]);
  });

  it("maxDepth 0 returns the source if it exists", () => {
    expect(arr(runSync(bfs(3, { maxDepth: 0 }), chain().expand).nodes)).toEqual([3]);
    expect(runSync(bfs(9, { maxDepth: 0 }), chain().expand).found).toBe(false);
  });

  it("a missing source gives an empty, not-found result", () => {
    const r = runSync(bfs(42), chain().expand);
    expect(r.found).toBe(false);
    expect(r.nodes.length).toBe(0);
  });

  it("maxNodes truncates", () => {
    const r = runSync(bfs(1, { maxNodes: 3 }), chain().expand);
    expect(arr(r.nodes)).toEqual([1, 2, 3]);
    expect(r.truncated).toBe(true);
  });

  it("handles cycles, self-loops and parallel edges", () => {
    const g = TestGraph.of([
      [1, 1],
      [1, 2],
      [1, 2],
      [2, 1],
      [2, 3],
    ]);
    const r = runSync(bfs(1), g.expand);
    expect(arr(r.nodes)).toEqual([1, 2, 3]);
  });
});

describe("kHop", () => {
  it("2 hops around 3 on the chain: Out {3,4,5}, Both all five", () => {
    expect(arr(runSync(kHop(3, 2), chain().expand).nodes)).toEqual([3, 4, 5]);
    expect(arr(runSync(kHop(3, 2, { direction: Direction.Both }), chain().expand).nodes).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(arr(runSync(kHop(3, 1, { direction: Direction.In }), chain().expand).nodes)).toEqual([3, 2]);
  });
});

describe("dfs", () => {
  const tree = (): TestGraph =>
    TestGraph.of([
      [1, 2],
      [1, 3],
      [2, 4],
      [3, 5],
      [4, 3],
    ]);

  it("visits in preorder, neighbours in listed order", () => {
    const r = runSync(dfs(1), tree().expand);
    expect(arr(r.nodes)).toEqual([1, 2, 4, 3, 5]);
    expect(arr(r.depths)).toEqual([0, 1, 2, 3, 4]);
    expect(arr(r.parents)).toEqual([-1, 0, 1, 2, 3]);
  });

  it("respects maxDepth (depth along the DFS route)", () => {
    const r = runSync(dfs(1, { maxDepth: 2 }), tree().expand);
    expect(arr(r.nodes)).toEqual([1, 2, 4, 3, 5]);
    expect(arr(r.depths)).toEqual([0, 1, 2, 1, 2]);
    const g = tree();
    const one = runSync(dfs(1, { maxDepth: 1 }), g.expand);
    expect(arr(one.nodes)).toEqual([1, 2, 3]);
    expect(g.requests).toEqual([[1]]);
  });

  it("direction In and a missing source", () => {
    expect(arr(runSync(dfs(5, { direction: Direction.In }), tree().expand).nodes)).toEqual([5, 3, 1, 4, 2]);
    expect(runSync(dfs(99), tree().expand).found).toBe(false);
  });
});

describe("shortest paths", () => {
  it("BFS path on the chain", () => {
    const p = runSync(shortestPath(1, 5), chain().expand);
    expect(p.found).toBe(true);
    expect(arr(p.nodes)).toEqual([1, 2, 3, 4, 5]);
    expect(p.hops).toBe(4);
    expect(p.cost).toBe(4);
  });

  it("direction matters for a directed edge", () => {
    expect(runSync(shortestPath(5, 1), chain().expand).found).toBe(false);
    expect(arr(runSync(shortestPath(5, 1, { direction: Direction.In }), chain().expand).nodes)).toEqual([5, 4, 3, 2, 1]);
    expect(arr(runSync(shortestPath(5, 1, { direction: Direction.Both }), chain().expand).nodes)).toEqual([5, 4, 3, 2, 1]);
  });

  it("unreachable and missing targets, missing sources", () => {
    const g = TestGraph.of([[1, 2]], [7]);
    expect(runSync(shortestPath(1, 7), g.expand).found).toBe(false);
    expect(runSync(shortestPath(1, 8), g.expand).found).toBe(false);
    expect(runSync(shortestPath(8, 1), g.expand).found).toBe(false);
    expect(runSync(dijkstraPath(1, 7), g.expand).found).toBe(false);
    expect(runSync(dijkstraPath(8, 1), g.expand).found).toBe(false);
  });

  it("a path from a node to itself exists only if the node does", () => {
    const p = runSync(shortestPath(3, 3), chain().expand);
    expect(arr(p.nodes)).toEqual([3]);
    expect(p.hops).toBe(0);
    expect(p.cost).toBe(0);
    expect(runSync(shortestPath(9, 9), chain().expand).found).toBe(false);
    expect(arr(runSync(dijkstraPath(3, 3), chain().expand).nodes)).toEqual([3]);
    expect(runSync(dijkstraPath(9, 9), chain().expand).found).toBe(false);
  });

  it("maxDepth bounds the BFS path", () => {
    expect(runSync(shortestPath(1, 5, { maxDepth: 3 }), chain().expand).found).toBe(false);
    expect(runSync(shortestPath(1, 5, { maxDepth: 4 }), chain().expand).found).toBe(true);
  });

  it("diamond: Dijkstra takes [1,3,4] at cost 1.5, BFS [1,2,4] at cost 2", () => {
    const d = runSync(dijkstraPath(1, 4), diamond().expand);
    expect(arr(d.nodes)).toEqual([1, 3, 4]);
    expect(d.cost).toBe(1.5);
    expect(arr(d.weights)).toEqual([2, 1]);
    const b = runSync(shortestPath(1, 4), diamond().expand);
    expect(arr(b.nodes)).toEqual([1, 2, 4]);
    expect(b.cost).toBe(2);
  });

  it("edges with weight ≤ 0 or NaN are not traversable by Dijkstra", () => {
    const g = TestGraph.of([
      [1, 2, 0],
      [2, 3, 1],
      [1, 4, -1],
      [4, 3, 1],
      [1, 5, NaN],
    ]);
    expect(runSync(dijkstraPath(1, 3), g.expand).found).toBe(false);
    const t = runSync(dijkstraTree(1), g.expand);
    expect(arr(t.nodes)).toEqual([1]);
    const b = runSync(shortestPath(1, 3), g.expand);
    expect(arr(b.nodes)).toEqual([1, 2, 3]);
    expect(b.cost).toBe(Infinity);
  });

  it("dijkstraTree settles by cost, then id, with parents", () => {
    const t = runSync(dijkstraTree(1), diamond().expand);
    expect(arr(t.nodes)).toEqual([1, 3, 2, 4]);
    expect(arr(t.costs)).toEqual([0, 0.5, 1, 1.5]);
    expect(arr(t.parents)).toEqual([-1, 0, 0, 1]);
    const capped = runSync(dijkstraTree(1, { maxCost: 1 }), diamond().expand);
    expect(arr(capped.nodes)).toEqual([1, 3, 2]);
  });

  it("Dijkstra follows In", () => {
    const d = runSync(dijkstraPath(4, 1, { direction: Direction.In }), diamond().expand);
    expect(arr(d.nodes)).toEqual([4, 3, 1]);
    expect(d.cost).toBe(1.5);
  });
});

describe("subgraph and neighbourhood", () => {
  it("induced edges of {2,3,4} on the chain", () => {
    const s = runSync(subgraph([4, 2, 3, 3]), chain().expand);
    expect(arr(s.nodes)).toEqual([2, 3, 4]);
    expect(arr(s.sources)).toEqual([2, 3]);
    expect(arr(s.targets)).toEqual([3, 4]);
    expect(s.missing.length).toBe(0);
  });

  it("lists missing ids and keeps edge direction, each connection once", () => {
    const g = new TestGraph([1, 2, 3], [
      { from: 1, to: 2, bidirectional: true, weight: 0.5, type: 0x10 },
      { from: 2, to: 1, weight: 0.25, type: 0x20 },
      { from: 3, to: 1 },
    ]);
    const s = runSync(subgraph([1, 2, 9]), g.expand);
    expect(arr(s.nodes)).toEqual([1, 2]);
    expect(arr(s.missing)).toEqual([9]);
    expect(arr(s.sources)).toEqual([1, 2]);
    expect(arr(s.targets)).toEqual([2, 1]);
    expect(arr(s.weights)).toEqual([0.5, 0.25]);
    expect(arr(s.types)).toEqual([0x10, 0x20]);
  });

  it("2-hop neighbourhood of 3 on the chain: Out 3 nodes, Both 5 nodes", () => {
    const out = runSync(neighborhood(3, 2), chain().expand);
    expect(arr(out.nodes)).toEqual([3, 4, 5]);
    expect(arr(out.sources)).toEqual([3, 4]);
    const both = runSync(neighborhood(3, 2, { direction: Direction.Both }), chain().expand);
    expect(arr(both.nodes)).toEqual([1, 2, 3, 4, 5]);
    expect(arr(both.sources)).toEqual([1, 2, 3, 4]);
    expect(arr(both.targets)).toEqual([2, 3, 4, 5]);
  });

  it("neighbourhood of a missing center is empty", () => {
    const r = runSync(neighborhood(9, 2), chain().expand);
    expect(r.nodes.length).toBe(0);
    expect(arr(r.missing)).toEqual([9]);
  });
});

describe("validation", () => {
  const bad: [string, () => unknown][] = [
    ["source 0", () => bfs(0)],
    ["fractional id", () => dfs(1.5)],
    ["negative depth", () => bfs(1, { maxDepth: -1 })],
    ["depth too deep", () => bfs(1, { maxDepth: 2 ** 21 })],
    ["unknown direction", () => bfs(1, { direction: 7 as Direction })],
    ["maxNodes 0", () => bfs(1, { maxNodes: 0 })],
    ["target 0", () => shortestPath(1, 0)],
    ["NaN maxCost", () => dijkstraTree(1, { maxCost: NaN })],
    ["negative maxCost", () => dijkstraPath(1, 2, { maxCost: -1 })],
    ["subgraph id 0", () => subgraph([1, 0])],
    ["negative k", () => kHop(1, -2)],
    ["fractional k", () => neighborhood(1, 1.5)],
  ];
  for (const [name, make] of bad) {
    it(`rejects ${name}`, () => {
      expect(make).toThrow(ValidationError);
    });
  }

  it("names k as k", () => {
    try {
      kHop(1, -1);
      expect.unreachable();
    } catch (err) {
      expect((err as ValidationError).violations.map((v) => v.field)).toEqual(["k"]);
    }
  });

  it("names every violation", () => {
    try {
      bfs(0, { maxDepth: -1 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).violations.map((v) => v.field)).toEqual(["source", "maxDepth"]);
    }
  });
});
