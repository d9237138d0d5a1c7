/**
 * Subgraph extraction: the induced edges among a node set (every a → b with both ends in the set,
 * each connection once, in its own direction), and the k-hop neighbourhood as such a subgraph.
 */
import { IdIndex } from "./id-index.ts";
import { Direction } from "./expansion.ts";
import type { Expansion } from "./expansion.ts";
import type { GraphMachine } from "./machine.ts";
import { ensure } from "./buffers.ts";
import { MAX_GRAPH_DEPTH, MAX_GRAPH_NODES, Violations, resolveTraversal } from "./params.ts";
import type { TraversalOptions } from "./params.ts";
import { bfsMachine } from "./traversal.ts";

export interface Subgraph {
  /** Member nodes that exist, ascending. */
  readonly nodes: Uint32Array;
  /** Requested ids that do not exist, ascending. */
  readonly missing: Uint32Array;
  /** Edge i goes from sources[i] to targets[i]; ordered by source (ascending), then adjacency order. */
  readonly sources: Uint32Array;
  readonly targets: Uint32Array;
  readonly weights: Float32Array;
  readonly types: Uint8Array;
}

/** The subgraph induced by `nodes` (duplicates allowed, any order). One round trip. */
export function subgraph(nodes: ArrayLike<number>): GraphMachine<Subgraph> {
  const v = new Violations();
  if (nodes.length > MAX_GRAPH_NODES) {
    v.add("nodes", `${nodes.length} ids`, "node_limit_range", `must hold at most ${MAX_GRAPH_NODES} ids`);
  } else {
    for (let i = 0; i < nodes.length && v.list.length < 16; i++) v.tokenId(`nodes[${i}]`, nodes[i]!);
  }
  v.throwIfAny("subgraph query");
  return subgraphMachine(Uint32Array.from(nodes));
}

/**
 * The subgraph of every node within `k` hops of `center` in `direction` (default Out). Both
 * follows every in- and out-edge, so on the chain 1→2→3→4→5 the 2-hop neighbourhood of 3 is all
 * five nodes (the original reached only {3, 4, 5}). k + 1 round trips at most.
 */
export function neighborhood(
  center: number,
  k: number,
  options: Omit<TraversalOptions, "maxDepth"> = {},
): GraphMachine<Subgraph> {
  const v = new Violations();
  v.tokenId("center", center);
  v.intRange("k", k, 0, MAX_GRAPH_DEPTH, "depth_range");
  const t = resolveTraversal(v, { ...options, maxDepth: 0 });
  v.throwIfAny("neighbourhood query");
  return neighborhoodMachine(center, { ...t, maxDepth: k });
}

function* neighborhoodMachine(center: number, t: ReturnType<typeof resolveTraversal>): GraphMachine<Subgraph> {
  const reached = yield* bfsMachine(center, t);
  if (!reached.found) {
    return {
      nodes: new Uint32Array(0),
      missing: Uint32Array.of(center),
      sources: new Uint32Array(0),
      targets: new Uint32Array(0),
      weights: new Float32Array(0),
      types: new Uint8Array(0),
    };
  }
  return yield* subgraphMachine(reached.nodes);
}

export function* subgraphMachine(requested: Uint32Array): GraphMachine<Subgraph> {
  const sorted = requested.slice().sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[n++] = sorted[i]!;
  }
  const unique = sorted.subarray(0, n);
  if (n === 0) {
    return {
      nodes: unique,
      missing: new Uint32Array(0),
      sources: new Uint32Array(0),
      targets: new Uint32Array(0),
      weights: new Float32Array(0),
      types: new Uint8Array(0),
    };
  }
  const exp: Expansion = yield { nodes: unique, direction: Direction.Out };
  const members = new IdIndex(n);
  let missingCount = 0;
  for (let i = 0; i < n; i++) {
    if (exp.exists[i] === 1) members.add(unique[i]!);
    else missingCount++;
  }
  const missing = new Uint32Array(missingCount);
  let m = 0;
  for (let i = 0; i < n; i++) if (exp.exists[i] !== 1) missing[m++] = unique[i]!;

  let sources = new Uint32Array(16);
  let targets = new Uint32Array(16);
  let weights = new Float32Array(16);
  let types = new Uint8Array(16);
  let count = 0;
  const { offsets, neighbors, outgoing } = exp;
  for (let i = 0; i < n; i++) {
    if (exp.exists[i] !== 1) continue;
    const end = offsets[i + 1]!;
    for (let e = offsets[i]!; e < end; e++) {
      // Out may list BIDIRECTIONAL connections backwards (outgoing 0): those are reported by their own source.
      if (outgoing[e] !== 1 || members.indexOf(neighbors[e]!) < 0) continue;
      sources = ensure(sources, count + 1);
      targets = ensure(targets, count + 1);
      weights = ensure(weights, count + 1);
      types = ensure(types, count + 1);
      sources[count] = unique[i]!;
      targets[count] = neighbors[e]!;
      weights[count] = exp.weights[e]!;
      types[count] = exp.types[e]!;
      count++;
    }
  }
  return {
    nodes: members.ids.slice(0, members.size),
    missing,
    sources: sources.slice(0, count),
    targets: targets.slice(0, count),
    weights: weights.slice(0, count),
    types: types.slice(0, count),
  };
}
