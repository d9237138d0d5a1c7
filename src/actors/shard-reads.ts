/**
 * The read side of a graph shard: token records, expansions for the graph algorithms (with a
 * connection-type filter), connection listings and spatial queries. Pure functions over the
 * store and its spatial index; the actor decides when their replies may leave (commit-wait).
 */
import { CONNECTION_FLAGS, CONNECTION_RECORD_SIZE } from "../core/connection/layout.ts";
import { Direction, type Expansion } from "../core/graph/expansion.ts";
import type { ShardStore } from "../core/store/index.ts";
import { MAX_K, type SpatialIndex, type SpatialResult } from "../core/spatial/index.ts";
import { COORDS_PER_TOKEN } from "../core/token/columns.ts";
import { roundCoordinate } from "../core/token/coords.ts";
import { SCALES } from "../core/token/layout.ts";
import type { ReplyOf } from "../runtime/index.ts";
import type { ConnectionsReply, GetReply, ShardMessage, SpatialQuery, SpatialReply, TypeFilter } from "./shard-protocol.ts";

/** The read calls of the shard protocol. */
export type ReadMessage = Extract<ShardMessage, { type: "shard.get" | "shard.expand" | "shard.connections" | "shard.spatial" }>;

/** Answers a read call. */
export function readShard(store: ShardStore, spatial: SpatialIndex, m: ReadMessage): ReplyOf<ReadMessage> {
  switch (m.type) {
    case "shard.get":
      return getTokens(store, m.ids);
    case "shard.expand":
      return expandNodes(store, m.nodes, m.direction, m.types, m.skipFlags);
    case "shard.connections":
      return listConnections(store, m.ids, m.direction, m.types, m.limit);
    case "shard.spatial":
      return spatialQuery(store, spatial, m.query);
  }
}

const BIDIRECTIONAL = CONNECTION_FLAGS.BIDIRECTIONAL;

function allowed(types: TypeFilter, t: number): boolean {
  return types === null || ((types[t >> 3] ?? 0) & (1 << (t & 7))) !== 0;
}

export function getTokens(store: ShardStore, ids: Uint32Array): GetReply {
  const r = store.getRecords(ids);
  return { records: r.records, found: r.found, count: r.count };
}

/**
 * Neighbours of `nodes` with the store's direction rules (Out also follows BIDIRECTIONAL in-edges,
 * In also BIDIRECTIONAL out-edges, Both everything), keeping only connections whose type is in
 * `types` and that carry none of `skipFlags`.
 */
export function expandNodes(store: ShardStore, nodes: Uint32Array, direction: Direction, types: TypeFilter, skipFlags: number): Expansion {
  if (types === null && skipFlags === 0) return store.expand({ nodes, direction });
  const c = store.connections;
  const follows = (e: number, out: boolean): boolean => {
    const flags = c.flags[e]!;
    if ((flags & skipFlags) !== 0 || !allowed(types, c.types[e]!)) return false;
    if (direction === Direction.Both) return true;
    return (direction === Direction.Out) === out || (flags & BIDIRECTIONAL) !== 0;
  };
  const n = nodes.length;
  const offsets = new Uint32Array(n + 1);
  const exists = new Uint8Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    offsets[i] = total;
    const id = nodes[i]!;
    if (!store.has(id)) continue;
    exists[i] = 1;
    for (let e = store.firstOutEdge(id); e >= 0; e = store.nextOutEdge(e)) if (follows(e, true)) total++;
    for (let e = store.firstInEdge(id); e >= 0; e = store.nextInEdge(e)) if (follows(e, false)) total++;
  }
  offsets[n] = total;
  const neighbors = new Uint32Array(total);
  const weights = new Float32Array(total);
  const kinds = new Uint8Array(total);
  const outgoing = new Uint8Array(total);
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (exists[i] === 0) continue;
    const id = nodes[i]!;
    for (let e = store.firstOutEdge(id); e >= 0; e = store.nextOutEdge(e)) {
      if (!follows(e, true)) continue;
      neighbors[k] = c.targets[e]!;
      weights[k] = c.confidence[e]!;
      kinds[k] = c.types[e]!;
      outgoing[k++] = 1;
    }
    for (let e = store.firstInEdge(id); e >= 0; e = store.nextInEdge(e)) {
      if (!follows(e, false)) continue;
      neighbors[k] = c.sources[e]!;
      weights[k] = c.confidence[e]!;
      kinds[k] = c.types[e]!;
      outgoing[k++] = 0;
    }
  }
  return { offsets, neighbors, weights, types: kinds, outgoing, exists };
}

/**
 * The connection records of each id: Out = where it is the source, In = the target (mirrors
 * included), Both = either (a self-loop once). At most `limit` records in all.
 */
export function listConnections(store: ShardStore, ids: Uint32Array, direction: Direction, types: TypeFilter, limit: number): ConnectionsReply {
  const c = store.connections;
  const n = ids.length;
  const counts = new Uint32Array(n);
  const found = new Uint8Array(n);
  let sources = new Uint32Array(64);
  let targets = new Uint32Array(64);
  let kinds = new Uint8Array(64);
  let total = 0;
  let truncated = false;
  const push = (e: number): boolean => {
    if (total === limit) {
      truncated = true;
      return false;
    }
    if (total === sources.length) {
      const grow = <A extends Uint32Array | Uint8Array>(a: A, make: (k: number) => A): A => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      sources = grow(sources, (k) => new Uint32Array(k));
      targets = grow(targets, (k) => new Uint32Array(k));
      kinds = grow(kinds, (k) => new Uint8Array(k));
    }
    sources[total] = c.sources[e]!;
    targets[total] = c.targets[e]!;
    kinds[total++] = c.types[e]!;
    return true;
  };
  for (let i = 0; i < n; i++) found[i] = store.has(ids[i]!) ? 1 : 0;
  for (let i = 0; i < n && !truncated; i++) {
    if (found[i] === 0) continue;
    const id = ids[i]!;
    const before = total;
    if (direction !== Direction.In) {
      for (let e = store.firstOutEdge(id); e >= 0; e = store.nextOutEdge(e)) {
        if (allowed(types, c.types[e]!) && !push(e)) break;
      }
    }
    if (!truncated && direction !== Direction.Out) {
      for (let e = store.firstInEdge(id); e >= 0; e = store.nextInEdge(e)) {
        const selfLoopListed = direction === Direction.Both && c.sources[e] === id;
        if (!selfLoopListed && allowed(types, c.types[e]!) && !push(e)) break;
      }
    }
    counts[i] = total - before;
  }
  const r = store.getConnectionRecords(sources.subarray(0, total), targets.subarray(0, total), kinds.subarray(0, total));
  return { records: r.records.subarray(0, total * CONNECTION_RECORD_SIZE), counts, found, truncated };
}

/** Nearest `k` by a full scan (for k beyond the index's MAX_K): ordered by squared raw distance, then id. */
function scanNearest(store: ShardStore, space: number, point: readonly [number, number, number], k: number, exclude: number): { ids: Uint32Array; sq: Float64Array } {
  const cols = store.columns;
  const n = cols.size;
  const px = roundCoordinate(point[0], space);
  const py = roundCoordinate(point[1], space);
  const pz = roundCoordinate(point[2], space);
  const sq = new Float64Array(n);
  const order = new Uint32Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (cols.ids[i] === exclude) continue;
    const o = i * COORDS_PER_TOKEN + space * 3;
    const dx = cols.coords[o]! - px;
    const dy = cols.coords[o + 1]! - py;
    const dz = cols.coords[o + 2]! - pz;
    sq[i] = dx * dx + dy * dy + dz * dz;
    order[m++] = i;
  }
  const slots = order.subarray(0, m);
  slots.sort((a, b) => sq[a]! - sq[b]! || cols.ids[a]! - cols.ids[b]!);
  const take = Math.min(k, m);
  const ids = new Uint32Array(take);
  const out = new Float64Array(take);
  for (let j = 0; j < take; j++) {
    ids[j] = cols.ids[slots[j]!]!;
    out[j] = sq[slots[j]!]!;
  }
  return { ids, sq: out };
}

export function spatialQuery(store: ShardStore, index: SpatialIndex, q: SpatialQuery): SpatialReply {
  const [x, y, z] = q.point;
  let ids: Uint32Array;
  let distances: Float64Array;
  let more: boolean;
  if (q.mode === "within") {
    const r: SpatialResult = index.range(q.space, x, y, z, q.radius);
    ({ ids, distances, more } = cut(r.ids.subarray(0, r.count), r.distances.subarray(0, r.count), q.exclude, q.limit));
  } else {
    const excluded = q.exclude !== 0 && store.has(q.exclude) ? 1 : 0;
    const k = Math.min(q.limit + excluded, store.size);
    more = store.size - excluded > q.limit;
    if (k === 0) {
      index.nearest(q.space, x, y, z, 1); // validates the space and point even when nothing is stored
      ids = new Uint32Array(0);
      distances = new Float64Array(0);
    } else if (k <= MAX_K) {
      const r = index.nearest(q.space, x, y, z, k);
      ({ ids, distances } = cut(r.ids.subarray(0, r.count), r.distances.subarray(0, r.count), q.exclude, q.limit));
    } else {
      index.nearest(q.space, x, y, z, 1); // validates the space and point like any index query
      const s = scanNearest(store, q.space, q.point, q.limit, q.exclude);
      ids = s.ids;
      distances = s.sq.map((v) => Math.sqrt(v) / SCALES[q.space]!);
    }
  }
  const records = q.withRecords ? store.getRecords(ids).records : undefined;
  return records === undefined ? { ids, distances, more } : { ids, distances, more, records };
}

/** Copies the first `limit` results other than `exclude` out of the index's reusable buffers. */
function cut(ids: Uint32Array, distances: Float64Array, exclude: number, limit: number): { ids: Uint32Array; distances: Float64Array; more: boolean } {
  let skip = -1;
  if (exclude !== 0) skip = ids.indexOf(exclude);
  const available = ids.length - (skip >= 0 ? 1 : 0);
  const take = Math.min(limit, available);
  const outIds = new Uint32Array(take);
  const outD = new Float64Array(take);
  for (let i = 0, j = 0; j < take; i++) {
    if (i === skip) continue;
    outIds[j] = ids[i]!;
    outD[j++] = distances[i]!;
  }
  return { ids: outIds, distances: outD, more: available > limit };
}
