/**
 * Graph queries across shards: the core step machines (`src/core/graph`) run with `runAsync`;
 * each `ExpandRequest` is split by shard, the shards expand their nodes in parallel, and the
 * expansions are merged back in request order.
 *
 * Several start tokens (traversal) or seeds (activation) are handled with a virtual root: a node
 * that exists only in this expander, whose neighbours are the starts. The machine runs from the
 * root with one more hop allowed, and the root is removed from the result. Its id is one that no
 * token has (checked together with the starts' existence).
 */
import { CONNECTION_FLAGS } from "../core/connection/layout.ts";
import { FailedPreconditionError, NotFoundError } from "../core/errors.ts";
import { Direction, type ExpandRequest, type Expansion } from "../core/graph/expansion.ts";
import { bfs, dfs, dijkstraPath, runAsync, shortestPath, spreadingActivation } from "../core/graph/index.ts";
import { RECORD_SIZE } from "./record-columns.ts";
import { splitIds } from "./router-batches.ts";
import type {
  ShortestPathQuery,
  ShortestPathResult,
  SpreadingActivationQuery,
  SpreadingActivationResult,
  TraverseQuery,
  TraverseResult,
  TypeFilter,
} from "./router-types.ts";
import { askOptions, throwIfAborted, type Fanout, type Scope } from "./router-writes.ts";

export interface GraphLimits {
  /** Most tokens one path search or activation may touch. */
  readonly maxNodes: number;
}

/** Expands nodes on their shards; counts the nodes expanded. */
class ShardExpander {
  expanded = 0;
  constructor(
    private readonly f: Fanout,
    private readonly scope: Scope,
    private readonly direction: Direction,
    private readonly types: TypeFilter,
    private readonly skipFlags: number,
    private readonly root: number = 0,
    private readonly rootExpansion?: Expansion,
  ) {}

  readonly expand = async (req: ExpandRequest): Promise<Expansion> => {
    if (this.rootExpansion !== undefined && req.nodes.length === 1 && req.nodes[0] === this.root) return this.rootExpansion;
    throwIfAborted(this.scope);
    this.expanded += req.nodes.length;
    const { f, direction, types, skipFlags } = this;
    const opts = askOptions(this.scope);
    const parts = splitIds(req.nodes, f.shardCount);
    const replies = await Promise.all(parts.map((p) => f.ref(p.shard).ask({ type: "shard.expand", nodes: p.payload, direction, types, skipFlags }, opts)));
    if (parts.length === 1) return replies[0]!; // one shard: its order is the request's
    const n = req.nodes.length;
    const offsets = new Uint32Array(n + 1);
    const exists = new Uint8Array(n);
    const partOf = new Uint32Array(n);
    const posOf = new Uint32Array(n);
    parts.forEach((p, j) => {
      for (let k = 0; k < p.items.length; k++) {
        const i = p.items[k]!;
        partOf[i] = j;
        posOf[i] = k;
        const r = replies[j]!;
        offsets[i + 1] = r.offsets[k + 1]! - r.offsets[k]!;
        exists[i] = r.exists[k]!;
      }
    });
    for (let i = 0; i < n; i++) offsets[i + 1]! += offsets[i]!;
    const total = offsets[n]!;
    const neighbors = new Uint32Array(total);
    const weights = new Float32Array(total);
    const kinds = new Uint8Array(total);
    const outgoing = new Uint8Array(total);
    for (let i = 0; i < n; i++) {
      const r = replies[partOf[i]!]!;
      const from = r.offsets[posOf[i]!]!;
      for (let e = offsets[i]!, src = from; e < offsets[i + 1]!; e++, src++) {
        neighbors[e] = r.neighbors[src]!;
        weights[e] = r.weights[src]!;
        kinds[e] = r.types[src]!;
        outgoing[e] = r.outgoing[src]!;
      }
    }
    return { offsets, neighbors, weights, types: kinds, outgoing, exists };
  };
}

function rootExpansion(neighbors: Uint32Array, weights: Float32Array): Expansion {
  const m = neighbors.length;
  return {
    offsets: Uint32Array.of(0, m),
    neighbors,
    weights,
    types: new Uint8Array(m),
    outgoing: new Uint8Array(m).fill(1),
    exists: Uint8Array.of(1),
  };
}

/** Records of `ids` aligned with them (zeros for an id that does not exist). */
export async function fetchAligned(f: Fanout, ids: Uint32Array, scope: Scope): Promise<{ records: Uint8Array; found: Uint8Array }> {
  const parts = splitIds(ids, f.shardCount);
  const opts = askOptions(scope);
  const replies = await Promise.all(parts.map((p) => f.ref(p.shard).ask({ type: "shard.get", ids: p.payload }, opts)));
  const records = new Uint8Array(ids.length * RECORD_SIZE);
  const found = new Uint8Array(ids.length);
  const out = new Uint32Array(records.buffer);
  parts.forEach((p, j) => {
    const r = replies[j]!;
    const src = new Uint32Array(r.records.buffer, r.records.byteOffset, r.records.byteLength >>> 2);
    for (let k = 0; k < p.items.length; k++) {
      const i = p.items[k]!;
      found[i] = r.found[k]!;
      for (let w = 0; w < 16; w++) out[(i << 4) + w] = src[(k << 4) + w]!;
    }
  });
  return { records, found };
}

/** Fails with NOT_FOUND unless every id exists; returns a root id no token has (0 when `needRoot` is false). */
async function checkExist(f: Fanout, ids: Uint32Array, what: string, needRoot: boolean, scope: Scope): Promise<number> {
  const candidates = needRoot ? 8 : 0;
  const all = new Uint32Array(ids.length + candidates);
  all.set(ids);
  for (let c = 0; c < candidates; c++) all[ids.length + c] = 0xffffffff - c;
  const { found } = await fetchAligned(f, all, scope);
  const missing: number[] = [];
  for (let i = 0; i < ids.length && missing.length < 6; i++) if (found[i] === 0) missing.push(ids[i]!);
  if (missing.length > 0) {
    throw new NotFoundError(`${what} not found: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? " and more" : ""}; every ${what.replace(/s$/, "")} must be an existing token`);
  }
  for (let c = 0; c < candidates; c++) {
    const id = all[ids.length + c]!;
    if (found[ids.length + c] === 0 && ids.indexOf(id) < 0) return id;
  }
  if (needRoot) throw new FailedPreconditionError("tokens 4294967288..4294967295 all exist; a walk from several tokens needs one of these ids free");
  return 0;
}

export async function traverse(f: Fanout, q: TraverseQuery, scope: Scope): Promise<TraverseResult> {
  const multi = q.start.length > 1;
  const root = await checkExist(f, q.start, "start tokens", multi, scope);
  const x = multi
    ? new ShardExpander(f, scope, q.direction, q.types, 0, root, rootExpansion(q.start, new Float32Array(q.start.length).fill(1)))
    : new ShardExpander(f, scope, q.direction, q.types, 0);
  const shift = multi ? 1 : 0;
  const options = { direction: q.direction, maxDepth: q.maxDepth + shift, maxNodes: q.maxNodes + shift };
  const source = multi ? root : q.start[0]!;
  const r = await runAsync(q.order === "bfs" ? bfs(source, options) : dfs(source, options), x.expand);
  if (!r.found) throw new NotFoundError(`start token ${source} does not exist`);
  const n = r.nodes.length - shift;
  const ids = r.nodes.slice(shift);
  const depths = new Uint32Array(n);
  const parents = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    depths[i] = r.depths[i + shift]! - shift;
    const p = r.parents[i + shift]!;
    parents[i] = p < shift ? 0 : r.nodes[p]!;
  }
  const result = { ids, depths, parents, truncated: r.truncated };
  if (!q.withRecords) return result;
  return { ...result, records: (await fetchAligned(f, ids, scope)).records };
}

export async function findPath(f: Fanout, q: ShortestPathQuery, limits: GraphLimits, scope: Scope): Promise<ShortestPathResult> {
  await checkExist(f, Uint32Array.of(q.source, q.target), "tokens", false, scope);
  const x = new ShardExpander(f, scope, q.direction, q.types, 0);
  if (q.algorithm === "bfs") {
    const r = await runAsync(shortestPath(q.source, q.target, { direction: q.direction, maxDepth: q.maxDepth, maxNodes: limits.maxNodes }), x.expand);
    return r.found ? { path: r.nodes, cost: r.hops, visited: x.expanded } : { path: null, cost: 0, visited: x.expanded };
  }
  // Dijkstra has no hop limit of its own: the least-cost path counts when it has ≤ maxDepth hops.
  const r = await runAsync(dijkstraPath(q.source, q.target, { direction: q.direction, maxNodes: limits.maxNodes }), x.expand);
  const ok = r.found && r.hops <= q.maxDepth;
  return ok ? { path: r.nodes, cost: r.cost, visited: x.expanded } : { path: null, cost: 0, visited: x.expanded };
}

export async function activate(f: Fanout, q: SpreadingActivationQuery, limits: GraphLimits, scope: Scope): Promise<SpreadingActivationResult> {
  const root = await checkExist(f, q.seeds, "seeds", true, scope);
  // The root sends e·w·keep over each edge; with e = 1 and w_i = energy_i / keep, seed i gets energy_i.
  const keep = q.decay;
  const weights = Float32Array.from(q.energies, (e) => e / keep);
  // The expander walks the query's direction (in, out or both); the machine only sees "out".
  const x = new ShardExpander(f, scope, q.direction, q.types, CONNECTION_FLAGS.INHIBITORY, root, rootExpansion(q.seeds, weights));
  const machine = spreadingActivation(root, {
    energy: 1,
    decay: 1 - keep,
    threshold: q.threshold,
    minEnergy: q.threshold,
    maxDepth: q.maxDepth + 1,
    direction: Direction.Out,
    maxNodes: limits.maxNodes,
  });
  const r = await runAsync(machine, x.expand);
  const count = Math.min(r.nodes.length, q.maxResults);
  const depths = new Uint32Array(count);
  for (let i = 0; i < count; i++) depths[i] = r.depths[i]! - 1;
  return {
    ids: r.nodes.slice(0, count),
    energies: Float32Array.from(r.energies.subarray(0, count)),
    depths,
    truncated: r.truncated || r.nodes.length > count,
  };
}
