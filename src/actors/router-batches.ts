/**
 * Splitting request batches by shard for the coordinator: counting sorts into flat typed arrays
 * (no object per token or edge). A *part* is one shard's share of a batch, with the request index
 * of each of its items so replies can be scattered back into request order.
 */
import { allocateFramedParts } from "../core/wal/index.ts";
import { groupByShard, type ShardGroups } from "../runtime/index.ts";
import { EDGE_SOURCE_OFFSET, EDGE_TARGET_OFFSET, RECORD_SIZE, TOKEN_ID_OFFSET, u32Column } from "./record-columns.ts";

export interface Part<T> {
  readonly shard: number;
  readonly payload: T;
  /** Request index of each item of the payload. */
  readonly items: Uint32Array;
  /** Commit phase of each item (connections: 0 = owned edge, 1 = mirror); undefined = all 0. */
  readonly phases?: Uint8Array;
}

/** Round-robin cursor for tokens that ask for an allocated id. */
export class RoundRobin {
  private next = 0;
  constructor(private readonly shardCount: number) {}
  /** The next shard. */
  take(): number {
    const s = this.next;
    this.next = s + 1 === this.shardCount ? 0 : s + 1;
    return s;
  }
  /** The first of `k` consecutive shards (mod S), advancing the cursor past them. */
  takeRun(k: number): number {
    const s = this.next;
    this.next = (s + k) % this.shardCount;
    return s;
  }
}

/** A copy in a fresh buffer (`Buffer#slice` would return a view). */
function copyOf(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** `records` with 4-byte alignment (copied once when misaligned). */
function aligned(records: Uint8Array): Uint8Array {
  return (records.byteOffset & 3) === 0 ? records : copyOf(records);
}

/** Copies whole 64-byte records `from[src[k]]` → `to[k]`, as 16 words each. */
function gatherRecords(from: Uint8Array, src: Uint32Array, to: Uint8Array): void {
  const a = new Uint32Array(from.buffer, from.byteOffset, from.byteLength >>> 2);
  const b = new Uint32Array(to.buffer, to.byteOffset, to.byteLength >>> 2);
  for (let k = 0; k < src.length; k++) {
    const i = src[k]! << 4;
    const o = k << 4;
    for (let w = 0; w < 16; w++) b[o + w] = a[i + w]!;
  }
}

function partsOf<T>(groups: ShardGroups, payload: (from: number, to: number) => T): Part<T>[] {
  const parts: Part<T>[] = [];
  for (let s = 0; s < groups.shardCount; s++) {
    const from = groups.offsets[s]!;
    const to = groups.offsets[s + 1]!;
    if (to > from) parts.push({ shard: s, payload: payload(from, to), items: groups.indices.subarray(from, to) });
  }
  return parts;
}

/**
 * Token records by the shard of their id; id 0 records are dealt round-robin over the shards
 * (each shard allocates ids ≡ shard mod S). Each part's records are a fresh copy the shard may
 * keep (and write allocated ids into).
 */
export function splitTokenRecords(records: Uint8Array, shardCount: number, rr: RoundRobin | null): Part<Uint8Array>[] {
  const src = aligned(records);
  const keys = u32Column(src, TOKEN_ID_OFFSET);
  if (rr !== null && keys.length > 0 && keys.indexOf(0) >= 0) {
    // The parts must be a copy the shards may keep (and write allocated ids into).
    if (allZero(keys)) return dealContiguous(src === records ? copyOf(records) : src, shardCount, rr);
    for (let i = 0; i < keys.length; i++) if (keys[i] === 0) keys[i] = rr.take();
  }
  const groups = groupByShard(keys, shardCount);
  const grouped = new Uint8Array(src.byteLength);
  gatherRecords(src, groups.indices, grouped);
  return partsOf(groups, (from, to) => grouped.subarray(from * RECORD_SIZE, to * RECORD_SIZE));
}

/** Whether every id is 0 (every token asks for an allocated id). */
export function allZero(a: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) return false;
  return true;
}

/** Whether every packed token record's id is 0, read in place (no id column is built). */
export function allIdsZero(records: Uint8Array): boolean {
  const n = records.byteLength >>> 6;
  if ((records.byteOffset & 3) === 0) {
    const words = new Uint32Array(records.buffer, records.byteOffset, n << 4);
    for (let i = TOKEN_ID_OFFSET >>> 2; i < words.length; i += 16) if (words[i] !== 0) return false;
    return true;
  }
  // Misaligned (a view into a received message): the id is zero when its four bytes are.
  for (let o = TOKEN_ID_OFFSET; o < records.byteLength; o += RECORD_SIZE) if ((records[o]! | records[o + 1]! | records[o + 2]! | records[o + 3]!) !== 0) return false;
  return true;
}

/**
 * Token records that all ask for an allocated id (the caller checked with `allIdsZero`), dealt
 * like `dealContiguous`, but copied once into framed parts (`allocateFramedParts`): the shards
 * keep them (and write allocated ids into them), and the WAL seals each part's record around it
 * without copying the records again.
 */
export function dealFreshTokenRecords(records: Uint8Array, shardCount: number, rr: RoundRobin): Part<Uint8Array>[] {
  const n = records.byteLength >>> 6;
  const k = Math.min(shardCount, n);
  const first = rr.takeRun(k);
  const base = Math.floor(n / k);
  const extra = n % k;
  const counts = new Array<number>(k);
  for (let j = 0; j < k; j++) counts[j] = (base + (j < extra ? 1 : 0)) * RECORD_SIZE;
  const payloads = allocateFramedParts(counts);
  const items = new Uint32Array(n);
  for (let i = 0; i < n; i++) items[i] = i;
  const parts: Part<Uint8Array>[] = [];
  for (let j = 0, from = 0; j < k; j++) {
    const payload = payloads[j]!;
    const to = from + payload.byteLength / RECORD_SIZE;
    payload.set(records.subarray(from * RECORD_SIZE, to * RECORD_SIZE));
    parts.push({ shard: (first + j) % shardCount, payload, items: items.subarray(from, to) });
    from = to;
  }
  return parts;
}

/**
 * A batch of tokens that all ask for an allocated id: dealt to min(S, n) consecutive shards (the
 * round-robin cursor moves on by as many) in contiguous, near-equal slices of one copy, so no
 * record is gathered one by one.
 */
function dealContiguous(copy: Uint8Array, shardCount: number, rr: RoundRobin): Part<Uint8Array>[] {
  const n = copy.byteLength >>> 6;
  const k = Math.min(shardCount, n);
  const first = rr.takeRun(k);
  const items = new Uint32Array(n);
  for (let i = 0; i < n; i++) items[i] = i;
  const base = Math.floor(n / k);
  const extra = n % k;
  const parts: Part<Uint8Array>[] = [];
  for (let j = 0, from = 0; j < k; j++) {
    const to = from + base + (j < extra ? 1 : 0);
    parts.push({ shard: (first + j) % shardCount, payload: copy.subarray(from * RECORD_SIZE, to * RECORD_SIZE), items: items.subarray(from, to) });
    from = to;
  }
  return parts;
}

/** Ids by shard; each part's ids are a view into one grouped copy. */
export function splitIds(ids: Uint32Array, shardCount: number): Part<Uint32Array>[] {
  const groups = groupByShard(ids, shardCount);
  return partsOf(groups, (from, to) => groups.ids.subarray(from, to));
}

/**
 * Connection records: each goes to its source's shard (the owned edge, phase 0) and, when the
 * target lives elsewhere, to the target's shard too (the mirror in-edge, phase 1).
 */
export function splitConnectionRecords(records: Uint8Array, shardCount: number): Part<Uint8Array>[] {
  const src = aligned(records);
  const n = src.byteLength >>> 6;
  const sources = u32Column(src, EDGE_SOURCE_OFFSET);
  const targets = u32Column(src, EDGE_TARGET_OFFSET);
  const counts = new Uint32Array(shardCount + 1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const a = sources[i]! % shardCount;
    const b = targets[i]! % shardCount;
    counts[a + 1]!++;
    total++;
    if (b !== a) {
      counts[b + 1]!++;
      total++;
    }
  }
  for (let s = 0; s < shardCount; s++) counts[s + 1]! += counts[s]!;
  const cursor = counts.slice(0, shardCount);
  const indices = new Uint32Array(total);
  const phases = new Uint8Array(total);
  for (let i = 0; i < n; i++) {
    const a = sources[i]! % shardCount;
    const b = targets[i]! % shardCount;
    indices[cursor[a]!++] = i;
    if (b !== a) {
      const k = cursor[b]!++;
      indices[k] = i;
      phases[k] = 1;
    }
  }
  const grouped = new Uint8Array(total * RECORD_SIZE);
  gatherRecords(src, indices, grouped);
  const parts: Part<Uint8Array>[] = [];
  for (let s = 0; s < shardCount; s++) {
    const from = counts[s]!;
    const to = counts[s + 1]!;
    if (to === from) continue;
    parts.push({
      shard: s,
      payload: grouped.subarray(from * RECORD_SIZE, to * RECORD_SIZE),
      items: indices.subarray(from, to),
      phases: phases.subarray(from, to),
    });
  }
  return parts;
}

/** Connection keys by the shard of one endpoint (`by` = "source" or "target"). */
export function splitKeys<T extends Uint8Array | Int16Array>(
  sources: Uint32Array,
  targets: Uint32Array,
  types: T,
  shardCount: number,
  by: "source" | "target",
  make: (n: number) => T,
): Part<{ sources: Uint32Array; targets: Uint32Array; types: T }>[] {
  const groups = groupByShard(by === "source" ? sources : targets, shardCount);
  const n = sources.length;
  const s2 = new Uint32Array(n);
  const t2 = new Uint32Array(n);
  const y2 = make(n);
  for (let k = 0; k < n; k++) {
    const i = groups.indices[k]!;
    s2[k] = sources[i]!;
    t2[k] = targets[i]!;
    y2[k] = types[i]!;
  }
  return partsOf(groups, (from, to) => ({ sources: s2.subarray(from, to), targets: t2.subarray(from, to), types: y2.subarray(from, to) as T }));
}
