/**
 * Spatial queries across shards: every shard answers from its own index (nearest first, ties by
 * id), and the coordinator k-way merges the sorted lists by (distance, id). A query around a
 * token first fetches the token's position from its shard.
 */
import { NotFoundError } from "../core/errors.ts";
import { SCALES } from "../core/token/layout.ts";
import { RECORD_SIZE } from "./record-columns.ts";
import type { KNearestQuery, NeighborsQuery, RangeQuery, SpatialMatches } from "./router-types.ts";
import { askOptions, throwIfAborted, type Fanout, type Scope } from "./router-writes.ts";
import type { SpatialQuery, SpatialReply } from "./shard-protocol.ts";

/** Decoded position of token `id` in `space`; NOT_FOUND when it does not exist. */
export async function positionOf(f: Fanout, id: number, space: number, scope: Scope): Promise<[number, number, number]> {
  const reply = await f.ref(id % f.shardCount).ask({ type: "shard.get", ids: Uint32Array.of(id) }, askOptions(scope));
  if (reply.found[0] !== 1) throw new NotFoundError(`token ${id} does not exist; query by point or use an existing token id`);
  const dv = new DataView(reply.records.buffer, reply.records.byteOffset, RECORD_SIZE);
  const scale = SCALES[space] ?? 1;
  return [dv.getInt16(space * 6, true) / scale, dv.getInt16(space * 6 + 2, true) / scale, dv.getInt16(space * 6 + 4, true) / scale];
}

function before(da: number, ia: number, db: number, ib: number): boolean {
  return da < db || (da === db && ia < ib);
}

/** Merges sorted per-shard replies, keeping the first `limit` by (distance, id). */
export function mergeNearest(replies: readonly SpatialReply[], limit: number, withRecords: boolean): SpatialMatches {
  let total = 0;
  let more = false;
  for (const r of replies) {
    total += r.ids.length;
    more ||= r.more;
  }
  const take = Math.min(limit, total);
  const ids = new Uint32Array(take);
  const distances = new Float64Array(take);
  const records = withRecords ? new Uint8Array(take * RECORD_SIZE) : undefined;
  // A binary heap of shard indices, keyed by each shard's next (distance, id).
  const heap = new Int32Array(replies.length);
  const pos = new Uint32Array(replies.length);
  let size = 0;
  const less = (a: number, b: number): boolean => {
    const ra = replies[a]!;
    const rb = replies[b]!;
    const ka = pos[a]!;
    const kb = pos[b]!;
    return before(ra.distances[ka]!, ra.ids[ka]!, rb.distances[kb]!, rb.ids[kb]!);
  };
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && less(heap[l]!, heap[m]!)) m = l;
      if (r < size && less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      const t = heap[i]!;
      heap[i] = heap[m]!;
      heap[m] = t;
      i = m;
    }
  };
  for (let s = 0; s < replies.length; s++) if (replies[s]!.ids.length > 0) heap[size++] = s;
  for (let i = (size >> 1) - 1; i >= 0; i--) down(i);
  for (let out = 0; out < take; out++) {
    const s = heap[0]!;
    const r = replies[s]!;
    const k = pos[s]!;
    ids[out] = r.ids[k]!;
    distances[out] = r.distances[k]!;
    if (records !== undefined && r.records !== undefined) records.set(r.records.subarray(k * RECORD_SIZE, (k + 1) * RECORD_SIZE), out * RECORD_SIZE);
    pos[s] = k + 1;
    if (k + 1 >= r.ids.length) heap[0] = heap[--size]!;
    down(0);
  }
  const truncated = more || total > take;
  return records === undefined ? { ids, distances, truncated } : { ids, distances, truncated, records };
}

async function fanOut(f: Fanout, query: SpatialQuery, scope: Scope): Promise<SpatialMatches> {
  throwIfAborted(scope);
  const opts = askOptions(scope);
  const asks: Promise<SpatialReply>[] = [];
  for (let s = 0; s < f.shardCount; s++) asks.push(f.ref(s).ask({ type: "shard.spatial", query }, opts));
  return mergeNearest(await Promise.all(asks), query.limit, query.withRecords);
}

export async function neighbors(f: Fanout, q: NeighborsQuery, scope: Scope): Promise<SpatialMatches> {
  const point = await positionOf(f, q.id, q.space, scope);
  return fanOut(f, { mode: "within", space: q.space, point, radius: q.radius, limit: q.limit, exclude: q.id, withRecords: q.withRecords }, scope);
}

export function range(f: Fanout, q: RangeQuery, scope: Scope): Promise<SpatialMatches> {
  return fanOut(f, { mode: "within", space: q.space, point: q.center, radius: q.radius, limit: q.limit, exclude: 0, withRecords: q.withRecords }, scope);
}

export async function kNearest(f: Fanout, q: KNearestQuery, scope: Scope): Promise<SpatialMatches> {
  const exclude = q.id ?? 0;
  const point = q.id === undefined ? (q.point ?? [0, 0, 0]) : await positionOf(f, q.id, q.space, scope);
  return fanOut(f, { mode: "nearest", space: q.space, point, radius: Infinity, limit: q.k, exclude, withRecords: q.withRecords }, scope);
}
