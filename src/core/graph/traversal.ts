/**
 * Breadth-first and depth-first traversal as step machines.
 *
 * Semantics (fixing the original, see reference/original-core.md §11.13):
 * - `direction` Out follows what the expander lists for Out (a → b edges; the store may add
 *   BIDIRECTIONAL connections backwards), In follows in-edges, Both follows every out- and in-edge.
 * - The source is always expanded first, which tells whether it exists; a missing source gives an
 *   empty result with `found: false`, whatever `maxDepth` is.
 * - Nodes at `maxDepth` are reached but not expanded. A node reached over an edge is taken to
 *   exist (the store keeps connections pointing at tokens); only expanded nodes are checked.
 * - BFS expands a whole level per request, so the number of round trips equals the depth reached.
 *   DFS needs one round trip per expanded node; prefer BFS across shards.
 */
import { IdIndex } from "./id-index.ts";
import type { Direction, Expansion } from "./expansion.ts";
import type { GraphMachine } from "./machine.ts";
import { ensure } from "./buffers.ts";
import { MAX_GRAPH_DEPTH, Violations, resolveTraversal } from "./params.ts";
import type { ResolvedTraversal, TraversalOptions } from "./params.ts";

/** The nodes a traversal reached, in visit order, the source first. One object per query. */
export interface TraversalResult {
  /** False when the source does not exist (then every array is empty). */
  readonly found: boolean;
  /** BFS: by depth, then discovery order. DFS: preorder. */
  readonly nodes: Uint32Array;
  /** Hops from the source along the route the traversal took (BFS: the shortest). */
  readonly depths: Uint32Array;
  /** Index in `nodes` of the node each one was reached from; -1 for the source. */
  readonly parents: Int32Array;
  /** True when `maxNodes` stopped the traversal before it was complete. */
  readonly truncated: boolean;
}

const EMPTY: TraversalResult = Object.freeze({
  found: false,
  nodes: new Uint32Array(0),
  depths: new Uint32Array(0),
  parents: new Int32Array(0),
  truncated: false,
});

/** Breadth-first traversal from `source`. */
export function bfs(source: number, options: TraversalOptions = {}): GraphMachine<TraversalResult> {
  const v = new Violations();
  v.tokenId("source", source);
  const t = resolveTraversal(v, options);
  v.throwIfAny("breadth-first traversal");
  return bfsMachine(source, t);
}

/** The nodes within `k` hops of `source` (BFS with maxDepth = k). */
export function kHop(
  source: number,
  k: number,
  options: Omit<TraversalOptions, "maxDepth"> = {},
): GraphMachine<TraversalResult> {
  const v = new Violations();
  v.tokenId("source", source);
  v.intRange("k", k, 0, MAX_GRAPH_DEPTH, "depth_range");
  const t = resolveTraversal(v, { ...options, maxDepth: 0 });
  v.throwIfAny("k-hop query");
  return bfsMachine(source, { ...t, maxDepth: k });
}

/** Depth-first traversal from `source`; neighbours are explored in the order the expander lists them. */
export function dfs(source: number, options: TraversalOptions = {}): GraphMachine<TraversalResult> {
  const v = new Violations();
  v.tokenId("source", source);
  const t = resolveTraversal(v, options);
  v.throwIfAny("depth-first traversal");
  return dfsMachine(source, t);
}

export function* bfsMachine(source: number, t: ResolvedTraversal): GraphMachine<TraversalResult> {
  const seen = new IdIndex(64);
  let depths = new Uint32Array(64);
  let parents = new Int32Array(64);
  seen.add(source);
  parents[0] = -1;
  let levelStart = 0;
  let levelEnd = 1;
  let depth = 0;
  let truncated = false;
  while (levelStart < levelEnd && !truncated) {
    if (depth > 0 && depth >= t.maxDepth) break;
    const exp: Expansion = yield { nodes: seen.ids.slice(levelStart, levelEnd), direction: t.direction };
    if (depth === 0 && exp.exists[0] !== 1) return EMPTY;
    if (depth >= t.maxDepth) break;
    const { offsets, neighbors } = exp;
    outer: for (let i = 0; i < levelEnd - levelStart; i++) {
      const end = offsets[i + 1]!;
      for (let e = offsets[i]!; e < end; e++) {
        const nb = neighbors[e]!;
        if (seen.indexOf(nb) >= 0) continue;
        if (seen.size >= t.maxNodes) {
          truncated = true;
          break outer;
        }
        const idx = seen.add(nb);
        depths = ensure(depths, idx + 1);
        parents = ensure(parents, idx + 1);
        depths[idx] = depth + 1;
        parents[idx] = levelStart + i;
      }
    }
    levelStart = levelEnd;
    levelEnd = seen.size;
    depth++;
  }
  const n = seen.size;
  return { found: true, nodes: seen.ids.slice(0, n), depths: depths.slice(0, n), parents: parents.slice(0, n), truncated };
}

export function* dfsMachine(source: number, t: ResolvedTraversal): GraphMachine<TraversalResult> {
  const visited = new IdIndex(64);
  let depths = new Uint32Array(64);
  let parents = new Int32Array(64);
  // The stack holds (id, depth, parent index); a node is marked visited when popped.
  let stackIds = new Uint32Array(64);
  let stackDepths = new Uint32Array(64);
  let stackParents = new Int32Array(64);
  stackIds[0] = source;
  stackParents[0] = -1;
  let top = 1;
  let truncated = false;
  const direction: Direction = t.direction;
  while (top > 0) {
    top--;
    const id = stackIds[top]!;
    const depth = stackDepths[top]!;
    const parent = stackParents[top]!;
    if (visited.indexOf(id) >= 0) continue;
    if (visited.size >= t.maxNodes) {
      truncated = true;
      break;
    }
    const idx = visited.add(id);
    depths = ensure(depths, idx + 1);
    parents = ensure(parents, idx + 1);
    depths[idx] = depth;
    parents[idx] = parent;
    if (idx > 0 && depth >= t.maxDepth) continue;
    const exp: Expansion = yield { nodes: Uint32Array.of(id), direction };
    if (idx === 0 && exp.exists[0] !== 1) return EMPTY;
    if (depth >= t.maxDepth) continue;
    const start = exp.offsets[0]!;
    const end = exp.offsets[1]!;
    const need = top + (end - start);
    stackIds = ensure(stackIds, need);
    stackDepths = ensure(stackDepths, need);
    stackParents = ensure(stackParents, need);
    // Push in reverse so the first listed neighbour is explored first.
    for (let e = end - 1; e >= start; e--) {
      const nb = exp.neighbors[e]!;
      if (visited.indexOf(nb) >= 0) continue;
      stackIds[top] = nb;
      stackDepths[top] = depth + 1;
      stackParents[top] = idx;
      top++;
    }
  }
  const n = visited.size;
  return { found: true, nodes: visited.ids.slice(0, n), depths: depths.slice(0, n), parents: parents.slice(0, n), truncated };
}
