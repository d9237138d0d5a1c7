/**
 * The graph algorithms on the real ShardStore expander, against the reference implementations on
 * an equivalent TestGraph. The store lists adjacency in its own order, so results are compared by
 * what does not depend on listing order (reached sets, depths, costs, exact dyadic energies).
 */
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
import { ShardStore } from "../../../src/core/store/index.ts";
import { CONNECTION_FLAGS, CONNECTION_RECORD_SIZE, connectionFields, encodeConnection } from "../../../src/core/connection/index.ts";
import { TOKEN_RECORD_SIZE, encodeToken, tokenFields } from "../../../src/core/token/index.ts";
import type { EdgeSpec } from "./test-graph.ts";
import { TestGraph } from "./test-graph.ts";
import { refActivation, refBfs, refDijkstra, refHops, refSubgraph } from "./reference.ts";

const NOW = 1_700_000_000;

function buildStore(nodes: number[], edges: EdgeSpec[]): ShardStore {
  const store = new ShardStore();
  const tokens = new Uint8Array(nodes.length * TOKEN_RECORD_SIZE);
  nodes.forEach((id, i) => encodeToken(tokenFields(id, NOW), tokens, i));
  store.insertRecords(tokens);
  const conns = new Uint8Array(edges.length * CONNECTION_RECORD_SIZE);
  edges.forEach((e, i) => {
    const flags = CONNECTION_FLAGS.ACTIVE | (e.bidirectional === true ? CONNECTION_FLAGS.BIDIRECTIONAL : 0);
    encodeConnection(connectionFields(e.from, e.to, e.type ?? 0x50, NOW, { confidence: e.weight ?? 1, flags }), conns, i);
  });
  store.connectRecords(conns);
  return store;
}

/** Random graphs with unique (from, to, type) keys and no self-loops, as the store keeps them, and dyadic weights. */
const graphArb = fc
  .integer({ min: 1, max: 20 })
  .chain((n) =>
    fc.record({
      n: fc.constant(n),
      edges: fc.uniqueArray(
        fc.record({
          from: fc.integer({ min: 1, max: n }),
          to: fc.integer({ min: 1, max: n }),
          type: fc.constantFrom(0x00, 0x10, 0x50),
          weight: fc.constantFrom(1, 0.5, 0.25, 0),
          bidirectional: fc.boolean(),
        }),
        { maxLength: 50, selector: (e) => `${e.from}/${e.to}/${e.type}` },
      ),
    }),
  )
  .map(({ n, edges: all }) => {
    // The store rejects self-loops (constitution rule `self_loop`), so the model has none either.
    const edges = all.filter((e) => e.from !== e.to);
    const nodes = Array.from({ length: n }, (_, i) => i + 1);
    return { graph: new TestGraph(nodes, edges), store: buildStore(nodes, edges) };
  });

const dirArb = fc.constantFrom<Direction>(Direction.Out, Direction.In, Direction.Both);
const nodeArb = fc.integer({ min: 1, max: 22 });

const depthMap = (nodes: ArrayLike<number>, depths: ArrayLike<number>): Map<number, number> =>
  new Map(Array.from(nodes, (n, i) => [n, depths[i]!]));

describe("graph algorithms on the shard store", () => {
  it("known answers: chain and diamond", () => {
    const chain = buildStore([1, 2, 3, 4, 5], [
      { from: 1, to: 2 },
      { from: 2, to: 3 },
      { from: 3, to: 4 },
      { from: 4, to: 5 },
    ]);
    expect(Array.from(runSync(neighborhood(3, 2), (r) => chain.expand(r)).nodes)).toEqual([3, 4, 5]);
    expect(Array.from(runSync(neighborhood(3, 2, { direction: Direction.Both }), (r) => chain.expand(r)).nodes)).toEqual([1, 2, 3, 4, 5]);
    // Confidence is the weight: 1→2 0.5, 1→3 1, 2→4 0.5, 3→4 0.5 → Dijkstra 1→3→4 costs 3, BFS may take either.
    const diamond = buildStore([1, 2, 3, 4], [
      { from: 1, to: 2, weight: 0.5 },
      { from: 1, to: 3, weight: 1 },
      { from: 2, to: 4, weight: 0.5 },
      { from: 3, to: 4, weight: 0.5 },
    ]);
    const d = runSync(dijkstraPath(1, 4), (r) => diamond.expand(r));
    expect(Array.from(d.nodes)).toEqual([1, 3, 4]);
    expect(d.cost).toBe(3);
    expect(runSync(shortestPath(1, 4), (r) => diamond.expand(r)).hops).toBe(2);
    const act = runSync(spreadingActivation(1, { decay: 0.5 }), (r) => diamond.expand(r));
    expect(Array.from(act.nodes)).toEqual([3, 2, 4]);
    expect(Array.from(act.energies)).toEqual([0.5, 0.25, 0.1875]);
  });

  it("equal the references on random graphs", () => {
    fc.assert(
      fc.property(graphArb, nodeArb, nodeArb, dirArb, fc.integer({ min: 0, max: 5 }), ({ graph, store }, s, t, dir, k) => {
        const expand = (r: Parameters<typeof store.expand>[0]): ReturnType<typeof store.expand> => store.expand(r);
        const b = runSync(bfs(s, { direction: dir, maxDepth: k }), expand);
        const rb = refBfs(graph, s, dir, k);
        expect(depthMap(b.nodes, b.depths)).toEqual(depthMap(rb.nodes, rb.depths));

        const d = runSync(dfs(s, { direction: dir }), expand);
        expect(new Set(d.nodes)).toEqual(new Set(refBfs(graph, s, dir, Infinity).nodes));

        const p = runSync(shortestPath(s, t, { direction: dir }), expand);
        const hops = refHops(graph, s, t, dir);
        expect(p.found ? p.hops : -1).toBe(hops);

        const tree = runSync(dijkstraTree(s, { direction: dir }), expand);
        const costs = refDijkstra(graph, s, dir);
        expect(depthMap(tree.nodes, tree.costs)).toEqual(costs);
        const dp = runSync(dijkstraPath(s, t, { direction: dir }), expand);
        expect(dp.found ? dp.cost : -1).toBe(costs.get(t) ?? -1);

        const o = { energy: 1, decay: 0.5, threshold: 0, minEnergy: 0.01, maxDepth: k, direction: dir === Direction.In ? Direction.Out : dir };
        const a = runSync(spreadingActivation(s, o), expand);
        const ra = refActivation(graph, s, o);
        expect(depthMap(a.nodes, a.energies)).toEqual(depthMap(ra.nodes, ra.energies));
        expect(a.fired).toBe(ra.fired);

        const set = [s, t, 1, 2, 3];
        const sub = runSync(subgraph(set), expand);
        const rs = refSubgraph(graph, set);
        expect(Array.from(sub.nodes)).toEqual(rs.nodes);
        const key = (x: number, y: number): string => `${x}>${y}`;
        expect(Array.from(sub.sources, (x, i) => key(x, sub.targets[i]!)).sort()).toEqual(rs.edges.map(([x, y]) => key(x, y)).sort());
      }),
      { numRuns: 200 },
    );
  });

  it("runAsync over the store equals runSync", async () => {
    await fc.assert(
      fc.asyncProperty(graphArb, nodeArb, dirArb, async ({ store }, s, dir) => {
        const sync = runSync(bfs(s, { direction: dir }), (r) => store.expand(r));
        const viaAsync = await runAsync(bfs(s, { direction: dir }), (r) => Promise.resolve(store.expand(r)));
        expect(viaAsync).toEqual(sync);
        const t1 = runSync(dijkstraTree(s, { direction: dir }), (r) => store.expand(r));
        const t2 = await runAsync(dijkstraTree(s, { direction: dir }), (r) => Promise.resolve(store.expand(r)));
        expect(t2).toEqual(t1);
      }),
      { numRuns: 50 },
    );
  });
});
