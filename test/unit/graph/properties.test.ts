import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  Direction,
  bfs,
  dfs,
  dijkstraPath,
  dijkstraTree,
  neighborhood,
  runAsync,
  runSync,
  shortestPath,
  spreadingActivation,
  subgraph,
} from "../../../src/core/graph/index.ts";
import type { GraphMachine } from "../../../src/core/graph/index.ts";
import { TestGraph } from "./test-graph.ts";
import { refActivation, refBfs, refDfs, refDijkstra, refHops, refSubgraph } from "./reference.ts";

const arr = (a: ArrayLike<number>): number[] => Array.from(a);

const WEIGHTS = [1, 0.5, 0.25, 2, 0.75, 0, -1, NaN];

/** Random graphs on ids 1..n (n ≤ 24) with self-loops, parallel and bidirectional edges, invalid weights. */
const graphArb = fc
  .integer({ min: 1, max: 24 })
  .chain((n) =>
    fc.record({
      n: fc.constant(n),
      absent: fc.subarray(Array.from({ length: n }, (_, i) => i + 1), { maxLength: Math.min(3, n) }),
      edges: fc.array(
        fc.record({
          from: fc.integer({ min: 1, max: n }),
          to: fc.integer({ min: 1, max: n }),
          weight: fc.constantFrom(...WEIGHTS),
          type: fc.integer({ min: 0, max: 0xaf }),
          bidirectional: fc.boolean(),
        }),
        { maxLength: 60 },
      ),
    }),
  )
  .map(({ n, absent, edges }) => {
    const gone = new Set(absent);
    const nodes = Array.from({ length: n }, (_, i) => i + 1).filter((id) => !gone.has(id));
    // Edges only between existing nodes, as the store guarantees.
    return new TestGraph(nodes, edges.filter((e) => !gone.has(e.from) && !gone.has(e.to)));
  });

const dirArb = fc.constantFrom<Direction>(Direction.Out, Direction.In, Direction.Both);
const nodeArb = fc.integer({ min: 1, max: 26 });
const depthArb = fc.integer({ min: 0, max: 6 });

describe("graph algorithms equal reference implementations", () => {
  it("bfs and dfs", () => {
    fc.assert(
      fc.property(graphArb, nodeArb, dirArb, depthArb, (g, s, dir, depth) => {
        const b = runSync(bfs(s, { direction: dir, maxDepth: depth }), g.expand);
        const rb = refBfs(g, s, dir, depth);
        expect(b.found).toBe(g.nodes.has(s));
        expect(arr(b.nodes)).toEqual(rb.nodes);
        expect(arr(b.depths)).toEqual(rb.depths);
        for (let i = 1; i < b.nodes.length; i++) {
          const p = b.parents[i]!;
          expect(g.steps(b.nodes[p]!, dir).some((st) => st.to === b.nodes[i])).toBe(true);
          expect(b.depths[i]).toBe(b.depths[p]! + 1);
        }
        const d = runSync(dfs(s, { direction: dir, maxDepth: depth }), g.expand);
        const rd = refDfs(g, s, dir, depth);
        expect(arr(d.nodes)).toEqual(rd.nodes);
        expect(arr(d.depths)).toEqual(rd.depths);
      }),
      { numRuns: 300 },
    );
  });

  it("bfs uses one round trip per expanded level", () => {
    fc.assert(
      fc.property(graphArb, nodeArb, dirArb, depthArb, (g, s, dir, depth) => {
        g.requests.length = 0;
        const r = runSync(bfs(s, { direction: dir, maxDepth: depth }), g.expand);
        const deepest = r.found ? Math.max(...arr(r.depths)) : 0;
        const expected = r.found ? Math.max(1, Math.min(depth, deepest + 1)) : 1;
        expect(g.requests.length).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });

  it("shortest paths: hops equal BFS distances, costs equal a plain Dijkstra", () => {
    fc.assert(
      fc.property(graphArb, nodeArb, nodeArb, dirArb, (g, s, t, dir) => {
        const p = runSync(shortestPath(s, t, { direction: dir }), g.expand);
        const hops = refHops(g, s, t, dir);
        expect(p.found).toBe(hops >= 0);
        if (p.found) {
          expect(p.hops).toBe(hops);
          expect(p.nodes[0]).toBe(s);
          expect(p.nodes[p.hops]).toBe(t);
          for (let i = 0; i < p.hops; i++) {
            expect(g.steps(p.nodes[i]!, dir).some((st) => st.to === p.nodes[i + 1])).toBe(true);
          }
        }
        const costs = refDijkstra(g, s, dir);
        const tree = runSync(dijkstraTree(s, { direction: dir }), g.expand);
        expect(new Map(arr(tree.nodes).map((n, i) => [n, tree.costs[i]!]))).toEqual(costs);
        // Settle order is cost ascending, then id.
        for (let i = 1; i < tree.nodes.length; i++) {
          const a = tree.costs[i - 1]!;
          const b = tree.costs[i]!;
          expect(a < b || (a === b && tree.nodes[i - 1]! < tree.nodes[i]!)).toBe(true);
        }
        const dp = runSync(dijkstraPath(s, t, { direction: dir }), g.expand);
        expect(dp.found).toBe(costs.has(t));
        if (dp.found) {
          expect(dp.cost).toBe(costs.get(t));
          expect(dp.nodes[0]).toBe(s);
          expect(dp.nodes[dp.hops]).toBe(t);
          let c = 0;
          for (let i = 0; i < dp.hops; i++) {
            const w = dp.weights[i]!;
            expect(g.steps(dp.nodes[i]!, dir).some((st) => st.to === dp.nodes[i + 1] && Math.fround(st.weight) === w)).toBe(true);
            c += 1 / w;
          }
          expect(c).toBe(dp.cost);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("subgraph and neighbourhood", () => {
    fc.assert(
      fc.property(graphArb, fc.array(nodeArb, { maxLength: 12 }), nodeArb, depthArb, dirArb, (g, set, c, k, dir) => {
        const s = runSync(subgraph(set), g.expand);
        const ref = refSubgraph(g, set);
        expect(arr(s.nodes)).toEqual(ref.nodes);
        expect(arr(s.missing)).toEqual([...new Set(set)].filter((n) => !g.nodes.has(n)).sort((a, b) => a - b));
        expect(arr(s.sources).map((a, i) => [a, s.targets[i]])).toEqual(ref.edges);
        const nb = runSync(neighborhood(c, k, { direction: dir }), g.expand);
        const reached = refBfs(g, c, dir, k).nodes;
        expect(arr(nb.nodes)).toEqual(refSubgraph(g, reached).nodes);
        expect(nb.sources.length).toBe(refSubgraph(g, reached).edges.length);
      }),
      { numRuns: 200 },
    );
  });

  it("spreading activation", () => {
    fc.assert(
      fc.property(
        graphArb,
        nodeArb,
        fc.record({
          energy: fc.constantFrom(1, 2, 0.5),
          decay: fc.constantFrom(0, 0.2, 0.5, 1),
          threshold: fc.constantFrom(0, 0.1, 0.3),
          minEnergy: fc.constantFrom(0, 0.01, 0.2),
          maxDepth: depthArb,
          direction: fc.constantFrom<Direction>(Direction.Out, Direction.Both),
        }),
        (g, s, o) => {
          const r = runSync(spreadingActivation(s, o), g.expand);
          const ref = refActivation(g, s, o);
          expect(r.found).toBe(g.nodes.has(s));
          expect(arr(r.nodes)).toEqual(ref.nodes);
          expect(arr(r.energies)).toEqual(ref.energies);
          expect(arr(r.depths)).toEqual(ref.depths);
          expect(r.fired).toBe(ref.fired);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("runSync and runAsync agree", () => {
  it("on every algorithm", async () => {
    await fc.assert(
      fc.asyncProperty(graphArb, nodeArb, nodeArb, dirArb, depthArb, async (g, s, t, dir, k) => {
        const machines: (() => GraphMachine<unknown>)[] = [
          () => bfs(s, { direction: dir, maxDepth: k }),
          () => dfs(s, { direction: dir, maxDepth: k }),
          () => shortestPath(s, t, { direction: dir }),
          () => dijkstraPath(s, t, { direction: dir }),
          () => dijkstraTree(s, { direction: dir }),
          () => neighborhood(s, k, { direction: dir }),
          () => subgraph([s, t]),
          () => spreadingActivation(s, { maxDepth: k }),
        ];
        for (const make of machines) {
          const sync = runSync(make(), g.expand);
          const asyncResult = await runAsync(make(), g.expandAsync);
          expect(asyncResult).toEqual(sync);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("propagate an expander failure and close the machine", async () => {
    const g = TestGraph.of([[1, 2]]);
    const failing = (): never => {
      throw new Error("shard down");
    };
    expect(() => runSync(bfs(1), failing)).toThrow("shard down");
    await expect(runAsync(bfs(1), () => Promise.reject(new Error("shard down")))).rejects.toThrow("shard down");
    // A malformed expansion is reported as an internal error, not read out of bounds.
    const short = (): ReturnType<typeof g.expand> => ({ ...g.expand({ nodes: Uint32Array.of(1), direction: Direction.Out }), offsets: new Uint32Array(1) });
    expect(() => runSync(bfs(1), short)).toThrow(/does not match/);
    const zero = (): ReturnType<typeof g.expand> => ({ ...g.expand({ nodes: Uint32Array.of(1), direction: Direction.Out }), neighbors: Uint32Array.of(0) });
    expect(() => runSync(bfs(1), zero)).toThrow(/id 0/);
  });
});
