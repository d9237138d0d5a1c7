/**
 * The shard side of the edge reconciliation that runs at node start (`router-repair.ts`): a
 * cross-shard connection is owned by its source's shard and mirrored at its target's shard, and
 * the two sides commit in separate WAL records, so a crash between them leaves one side only.
 * The owner is authoritative: `ownedRecordsTo` lists the owned connections into one other shard;
 * `planMirrorRepair` says what makes that shard's mirrors equal to exactly that list (adds missing mirrors,
 * rewrites differing ones, removes mirrors without an owner) and names the owned connections whose
 * target token no longer exists (a delete whose cascade did not reach the owner). Column-wise
 * throughout: key columns and packed records, no object per edge.
 */
import { CONNECTION_RECORD_SIZE } from "../core/connection/layout.ts";
import type { ShardStore } from "../core/store/index.ts";
import type { ShardMutation } from "./shard-log.ts";
import type { KeyColumns, MirrorRepairReply } from "./shard-protocol.ts";

/** Packed records of every owned connection whose target lives on `targetShard` (≠ this shard). */
export function ownedRecordsTo(store: ShardStore, targetShard: number, shardCount: number): Uint8Array {
  if (targetShard === store.shard) return new Uint8Array(0);
  const cols = store.connections;
  const size = cols.size;
  let n = 0;
  for (let e = 0; e < size; e++) {
    if (store.isConnectionLive(e) && !store.isMirror(e) && cols.targets[e]! % shardCount === targetShard) n++;
  }
  const sources = new Uint32Array(n);
  const targets = new Uint32Array(n);
  const types = new Uint8Array(n);
  for (let e = 0, i = 0; e < size && i < n; e++) {
    if (!store.isConnectionLive(e) || store.isMirror(e) || cols.targets[e]! % shardCount !== targetShard) continue;
    sources[i] = cols.sources[e]!;
    targets[i] = cols.targets[e]!;
    types[i++] = cols.types[e]!;
  }
  return store.getConnectionRecords(sources, targets, types).records;
}

export interface MirrorRepair {
  readonly reply: MirrorRepairReply;
  /** What to apply and log, in order. */
  readonly mutations: readonly ShardMutation[];
}

function sameRecord(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
  for (let k = 0; k < CONNECTION_RECORD_SIZE; k++) if (a[ao + k] !== b[bo + k]) return false;
  return true;
}

function gather(records: Uint8Array, pick: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count * CONNECTION_RECORD_SIZE);
  for (let i = 0, j = 0; i < pick.length; i++) {
    if (pick[i] === 0) continue;
    out.set(records.subarray(i * CONNECTION_RECORD_SIZE, (i + 1) * CONNECTION_RECORD_SIZE), j++ * CONNECTION_RECORD_SIZE);
  }
  return out;
}

function keysOf(sources: Uint32Array, targets: Uint32Array, types: Uint8Array, pick: Uint8Array, count: number): KeyColumns {
  const out = { sources: new Uint32Array(count), targets: new Uint32Array(count), types: new Uint8Array(count) };
  for (let i = 0, j = 0; i < pick.length; i++) {
    if (pick[i] === 0) continue;
    out.sources[j] = sources[i]!;
    out.targets[j] = targets[i]!;
    out.types[j++] = types[i]!;
  }
  return out;
}

/**
 * What makes this shard's mirrors equal to `owned` (every owned connection, on every other shard,
 * whose target lives here; with `only`, those of the one shard `only.fromShard`, and only mirrors
 * whose source lives there are checked). Changes nothing: the caller applies `mutations` with
 * `applyMutation` (as replay will) and logs them.
 */
export function planMirrorRepair(store: ShardStore, owned: Uint8Array, only?: { readonly fromShard: number; readonly shardCount: number }): MirrorRepair {
  const n = owned.byteLength / CONNECTION_RECORD_SIZE;
  const dv = new DataView(owned.buffer, owned.byteOffset, owned.byteLength);
  const sources = new Uint32Array(n);
  const targets = new Uint32Array(n);
  const types = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    sources[i] = dv.getUint32(i * CONNECTION_RECORD_SIZE, true);
    targets[i] = dv.getUint32(i * CONNECTION_RECORD_SIZE + 4, true);
    types[i] = dv.getUint8(i * CONNECTION_RECORD_SIZE + 8);
  }
  const current = store.getConnectionRecords(sources, targets, types);
  const cols = store.connections;
  const seen = new Uint8Array(cols.size);
  const upsert = new Uint8Array(n);
  const dangling = new Uint8Array(n);
  let added = 0;
  let updated = 0;
  let danglingCount = 0;
  for (let i = 0; i < n; i++) {
    if (!store.has(targets[i]!)) {
      dangling[i] = 1;
      danglingCount++;
      continue;
    }
    if (current.found[i] === 0) {
      upsert[i] = 1;
      added++;
      continue;
    }
    const e = store.connectionIndex(sources[i]!, targets[i]!, types[i]!);
    if (e >= 0) seen[e] = 1;
    if (!sameRecord(current.records, i * CONNECTION_RECORD_SIZE, owned, i * CONNECTION_RECORD_SIZE)) {
      upsert[i] = 1;
      updated++;
    }
  }
  // Mirrors no owner vouches for: their owner removed the connection (disconnect or delete).
  const orphan = new Uint8Array(cols.size);
  let removed = 0;
  for (let e = 0; e < cols.size; e++) {
    if (seen[e] === 0 && store.isConnectionLive(e) && store.isMirror(e) && (only === undefined || cols.sources[e]! % only.shardCount === only.fromShard)) {
      orphan[e] = 1;
      removed++;
    }
  }
  const mutations: ShardMutation[] = [];
  if (removed > 0) {
    const keys = keysOf(cols.sources, cols.targets, cols.types, orphan, removed);
    mutations.push({ kind: "connections.remove", sources: keys.sources, targets: keys.targets, types: keys.types });
  }
  // The owner checked the values when it accepted them; applying (like replay) takes them as they are.
  if (added + updated > 0) mutations.push({ kind: "connections.upsert", records: gather(owned, upsert, added + updated) });
  const reply: MirrorRepairReply = {
    mirrorsAdded: added,
    mirrorsUpdated: updated,
    mirrorsRemoved: removed,
    dangling: keysOf(sources, targets, types, dangling, danglingCount),
  };
  return { reply, mutations };
}
