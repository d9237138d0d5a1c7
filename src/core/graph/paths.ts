/**
 * Shortest paths as step machines: fewest hops (BFS, level by level) and least cost (Dijkstra with
 * edge cost 1/weight).
 *
 * Weights: an edge whose weight is not a positive finite number (≤ 0, NaN, ±Infinity) is not
 * traversable by Dijkstra; BFS ignores weights. A path's `cost` is Σ 1/w over its edges, which is
 * Infinity for a BFS path that crosses such an edge.
 *
 * A path from a node to itself exists only when the node exists (the original returned `[x]` for
 * any x). Dijkstra breaks cost ties by the smaller node id, and keeps the first parent found on
 * equal cost, so results are deterministic for a deterministic expander.
 *
 * Dijkstra batches its requests: when it must settle a node whose adjacency it has not fetched,
 * it fetches every discovered-but-unfetched node at once (the current frontier) and caches the
 * adjacency, so round trips grow with the number of frontier generations, not with node count.
 */
import { IdIndex } from "./id-index.ts";
import { Direction } from "./expansion.ts";
import type { Expansion } from "./expansion.ts";
import type { GraphMachine } from "./machine.ts";
import { DijkstraSearch } from "./dijkstra.ts";
import type { DijkstraRun } from "./dijkstra.ts";
import { ensure } from "./buffers.ts";
import { MAX_GRAPH_NODES, Violations, edgeCost, resolveTraversal } from "./params.ts";
import type { ResolvedTraversal, TraversalOptions } from "./params.ts";

export interface PathResult {
  readonly found: boolean;
  /** source … target; empty when no path was found. */
  readonly nodes: Uint32Array;
  /** Weight of each edge taken; length = hops. */
  readonly weights: Float32Array;
  readonly hops: number;
  /** Σ 1/w over the edges taken; 0 for the one-node path; NaN when not found. */
  readonly cost: number;
  /** True when `maxNodes` stopped the search (a path may exist beyond it). */
  readonly truncated: boolean;
}

/** All nodes Dijkstra settled from a source, in settle order (cost ascending, then id). */
export interface ShortestPathTree {
  readonly found: boolean;
  readonly nodes: Uint32Array;
  readonly costs: Float64Array;
  /** Index in `nodes` of each node's predecessor; -1 for the source. */
  readonly parents: Int32Array;
  readonly truncated: boolean;
}

export interface DijkstraOptions {
  readonly direction?: Direction;
  /** Settle only nodes whose cost is ≤ maxCost. Default Infinity. */
  readonly maxCost?: number;
  /** Stop (truncated) before discovering more than this many nodes. Default MAX_GRAPH_NODES. */
  readonly maxNodes?: number;
}

function notFound(truncated: boolean): PathResult {
  return { found: false, nodes: new Uint32Array(0), weights: new Float32Array(0), hops: 0, cost: NaN, truncated };
}

/** Fewest-hops path from `source` to `target` (BFS). */
export function shortestPath(source: number, target: number, options: TraversalOptions = {}): GraphMachine<PathResult> {
  const v = new Violations();
  v.tokenId("source", source);
  v.tokenId("target", target);
  const t = resolveTraversal(v, options);
  v.throwIfAny("shortest path query");
  return bfsPathMachine(source, target, t);
}

function* bfsPathMachine(source: number, target: number, t: ResolvedTraversal): GraphMachine<PathResult> {
  const seen = new IdIndex(64);
  let parents = new Int32Array(64);
  let parentWeights = new Float32Array(64);
  seen.add(source);
  parents[0] = -1;
  let levelStart = 0;
  let levelEnd = 1;
  let depth = 0;
  while (levelStart < levelEnd) {
    if (depth > 0 && depth >= t.maxDepth) break;
    const exp: Expansion = yield { nodes: seen.ids.slice(levelStart, levelEnd), direction: t.direction };
    if (depth === 0) {
      if (exp.exists[0] !== 1) return notFound(false);
      if (source === target) return buildPath(seen.ids, parents, parentWeights, 0, false);
      if (t.maxDepth === 0) break;
    }
    const { offsets, neighbors, weights } = exp;
    for (let i = 0; i < levelEnd - levelStart; i++) {
      const end = offsets[i + 1]!;
      for (let e = offsets[i]!; e < end; e++) {
        const nb = neighbors[e]!;
        if (seen.indexOf(nb) >= 0) continue;
        if (seen.size >= t.maxNodes) return notFound(true);
        const idx = seen.add(nb);
        parents = ensure(parents, idx + 1);
        parentWeights = ensure(parentWeights, idx + 1);
        parents[idx] = levelStart + i;
        parentWeights[idx] = weights[e]!;
        if (nb === target) return buildPath(seen.ids, parents, parentWeights, idx, false);
      }
    }
    levelStart = levelEnd;
    levelEnd = seen.size;
    depth++;
  }
  return notFound(false);
}

function buildPath(
  ids: Uint32Array,
  parents: Int32Array,
  parentWeights: Float32Array,
  last: number,
  truncated: boolean,
): PathResult {
  let hops = 0;
  for (let i = last; parents[i]! >= 0; i = parents[i]!) hops++;
  const nodes = new Uint32Array(hops + 1);
  const weights = new Float32Array(hops);
  let i = last;
  for (let h = hops; h > 0; h--) {
    nodes[h] = ids[i]!;
    weights[h - 1] = parentWeights[i]!;
    i = parents[i]!;
  }
  nodes[0] = ids[i]!;
  let cost = 0;
  for (let h = 0; h < hops; h++) cost += edgeCost(weights[h]!);
  return { found: true, nodes, weights, hops, cost, truncated };
}

interface ResolvedDijkstra {
  readonly direction: Direction;
  readonly maxCost: number;
  readonly maxNodes: number;
}

function resolveDijkstra(v: Violations, options: DijkstraOptions): ResolvedDijkstra {
  const direction = options.direction ?? Direction.Out;
  const maxCost = options.maxCost ?? Infinity;
  const maxNodes = options.maxNodes ?? MAX_GRAPH_NODES;
  v.direction("direction", direction);
  if (Number.isNaN(maxCost) || maxCost < 0) v.add("maxCost", maxCost, "cost_range", "must be a number ≥ 0 (Infinity for no limit)");
  v.intRange("maxNodes", maxNodes, 1, MAX_GRAPH_NODES, "node_limit_range");
  return { direction, maxCost, maxNodes };
}

/** Least-cost path from `source` to `target`, edge cost 1/weight. */
export function dijkstraPath(source: number, target: number, options: DijkstraOptions = {}): GraphMachine<PathResult> {
  const v = new Violations();
  v.tokenId("source", source);
  v.tokenId("target", target);
  const d = resolveDijkstra(v, options);
  v.throwIfAny("least-cost path query");
  return dijkstraPathMachine(source, target, d);
}

/** Least costs from `source` to every node it reaches (within maxCost). */
export function dijkstraTree(source: number, options: DijkstraOptions = {}): GraphMachine<ShortestPathTree> {
  const v = new Violations();
  v.tokenId("source", source);
  const d = resolveDijkstra(v, options);
  v.throwIfAny("least-cost tree query");
  return dijkstraTreeMachine(source, d);
}

function* dijkstraPathMachine(source: number, target: number, d: ResolvedDijkstra): GraphMachine<PathResult> {
  const run = yield* dijkstraCore(source, target, d);
  if (!run.found || run.targetIndex < 0) return notFound(run.truncated);
  return buildPath(run.ids, run.parents, run.parentWeights, run.targetIndex, false);
}

function* dijkstraTreeMachine(source: number, d: ResolvedDijkstra): GraphMachine<ShortestPathTree> {
  const run = yield* dijkstraCore(source, 0, d);
  const n = run.settled;
  const position = new Int32Array(run.ids.length);
  for (let k = 0; k < n; k++) position[run.order[k]!] = k;
  const nodes = new Uint32Array(n);
  const costs = new Float64Array(n);
  const parents = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const idx = run.order[k]!;
    nodes[k] = run.ids[idx]!;
    costs[k] = run.orderCosts[k]!;
    const p = run.parents[idx]!;
    parents[k] = p < 0 ? -1 : position[p]!;
  }
  return { found: run.found, nodes, costs, parents, truncated: run.truncated };
}

/** `target` 0 = none (settle everything reachable). */
function* dijkstraCore(source: number, target: number, o: ResolvedDijkstra): GraphMachine<DijkstraRun> {
  const search = new DijkstraSearch(source, target, o.maxCost, o.maxNodes);
  while (search.advance()) {
    const exp: Expansion = yield { nodes: search.pendingBatch(), direction: o.direction };
    if (!search.absorb(exp)) break;
  }
  return search.run();
}
