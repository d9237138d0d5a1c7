/**
 * Read-only validation of a shard operation against the current store: the `prepare` phase of a
 * write that spans shards. Each check reports what the store's strict write would reject, with
 * the store's rule names, and never less: when a check passes, applying the same items (or any
 * subset of them) while the shard is fenced succeeds. (Degree limits are counted conservatively:
 * an item rejected on another shard still counts, which can only reject more.)
 */
import type { FieldViolation } from "../core/errors.ts";
import { validateConnectionRecords } from "../core/constitution/index.ts";
import type { ConnectionLimits, TokenLimits } from "../core/limits.ts";
import { StoreRule, type ShardStore } from "../core/store/index.ts";
import { validateTokenRecords } from "../core/token/validate.ts";
import {
  EDGE_SOURCE_OFFSET,
  EDGE_TARGET_OFFSET,
  EDGE_TYPE_OFFSET,
  TOKEN_ID_OFFSET,
  laterDuplicates,
  ranksByKey,
  recordCount,
  u32Column,
  u8Column,
} from "./record-columns.ts";
import type { KeyColumns, CheckReport, ShardOp } from "./shard-protocol.ts";

export interface CheckLimits {
  readonly tokens: TokenLimits;
  readonly connections: ConnectionLimits;
  readonly nowSeconds: number;
}

/** What applying `op` strictly would reject (the `prepare` of a transaction). */
export function checkOp(store: ShardStore, op: ShardOp, limits: CheckLimits): CheckReport {
  switch (op.kind) {
    case "insert":
      return checkInsert(store, op.records, limits);
    case "update":
      return checkUpdate(store, op.records, limits);
    case "delete":
      return checkDelete(store, op.ids);
    case "connect":
      return checkConnect(store, op.records, limits);
    case "disconnect":
      return checkDisconnect(store, op.keys);
    case "unlink":
      return { violations: [], invalid: new Uint8Array(op.keys.sources.length) };
  }
}

class Report {
  readonly violations: FieldViolation[];
  readonly invalid: Uint8Array;
  constructor(n: number, initial: FieldViolation[] = []) {
    this.invalid = new Uint8Array(n);
    this.violations = initial;
  }
  add(index: number, field: string, value: number | string, rule: string, description: string): void {
    this.invalid[index] = 1;
    this.violations.push({ index, field, value: String(value), rule, description });
  }
  done(): CheckReport {
    return { violations: this.violations, invalid: this.invalid };
  }
}

function notOwned(store: ShardStore, id: number): string {
  return `id ${id} belongs to shard ${id % store.shardCount}, not ${store.shard} (of ${store.shardCount})`;
}

/** Token ids that must exist (update, delete): id 0, foreign, missing, repeated. */
function checkExisting(store: ShardStore, ids: Uint32Array, r: Report): void {
  const n = ids.length;
  const found = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (r.invalid[i] !== 0) continue;
    const id = ids[i]!;
    if (id === 0) r.add(i, "id", 0, StoreRule.idNonzero, "id must not be 0");
    else if (!store.owns(id)) r.add(i, "id", id, StoreRule.notOwned, notOwned(store, id));
    else if (!store.has(id)) r.add(i, "id", id, StoreRule.notFound, `token ${id} does not exist`);
    else found[i] = 1;
  }
  const dup = laterDuplicates(n, ids, null, null, found);
  for (let i = 0; i < n; i++) {
    if (dup[i] !== 0) r.add(i, "id", ids[i]!, StoreRule.duplicateInBatch, `id ${ids[i]!} appears more than once in the batch`);
  }
}

export function checkInsert(store: ShardStore, records: Uint8Array, limits: CheckLimits): CheckReport {
  const n = recordCount(records);
  const r = new Report(n);
  r.violations.push(...validateTokenRecords(records, limits.tokens, limits.nowSeconds, { allowZeroId: true, invalid: r.invalid }));
  const ids = u32Column(records, TOKEN_ID_OFFSET);
  const fresh = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    if (r.invalid[i] !== 0 || id === 0) continue;
    if (!store.owns(id)) r.add(i, "id", id, StoreRule.notOwned, notOwned(store, id));
    else if (store.has(id)) r.add(i, "id", id, StoreRule.alreadyExists, `token ${id} already exists; use update`);
    else fresh[i] = 1;
  }
  const dup = laterDuplicates(n, ids, null, null, fresh);
  for (let i = 0; i < n; i++) {
    if (dup[i] !== 0) r.add(i, "id", ids[i]!, StoreRule.duplicateInBatch, `id ${ids[i]!} appears more than once in the batch`);
  }
  return r.done();
}

export function checkUpdate(store: ShardStore, records: Uint8Array, limits: CheckLimits): CheckReport {
  const n = recordCount(records);
  const r = new Report(n);
  r.violations.push(...validateTokenRecords(records, limits.tokens, limits.nowSeconds, { allowZeroId: false, invalid: r.invalid }));
  checkExisting(store, u32Column(records, TOKEN_ID_OFFSET), r);
  return r.done();
}

export function checkDelete(store: ShardStore, ids: Uint32Array): CheckReport {
  const r = new Report(ids.length);
  checkExisting(store, ids, r);
  return r.done();
}

export function checkConnect(store: ShardStore, records: Uint8Array, limits: CheckLimits): CheckReport {
  const n = recordCount(records);
  const r = new Report(n);
  const lim = limits.connections;
  r.violations.push(...validateConnectionRecords(records, lim, { invalid: r.invalid }));
  const sources = u32Column(records, EDGE_SOURCE_OFFSET);
  const targets = u32Column(records, EDGE_TARGET_OFFSET);
  const types = u8Column(records, EDGE_TYPE_OFFSET);
  for (let i = 0; i < n; i++) {
    const s = sources[i]!;
    const t = targets[i]!;
    const srcLocal = store.owns(s);
    const tgtLocal = store.owns(t);
    if (!srcLocal && !tgtLocal) {
      r.add(i, "source", s, StoreRule.notOwned, `neither source nor target belongs to shard ${store.shard} of ${store.shardCount}`);
    }
    if (srcLocal && s !== 0 && !store.has(s)) r.add(i, "source", s, StoreRule.notFound, `source token ${s} does not exist`);
    if (tgtLocal && t !== 0 && !store.has(t)) r.add(i, "target", t, StoreRule.notFound, `target token ${t} does not exist`);
  }
  const dup = laterDuplicates(n, sources, targets, types, null);
  for (let i = 0; i < n; i++) {
    if (dup[i] === 0) continue;
    const key = `${sources[i]!} → ${targets[i]!} type ${types[i]!}`;
    r.add(i, "key", sources[i]!, StoreRule.duplicateInBatch, `connection ${key} appears more than once in the batch`);
  }
  // Connect creates: an owned connection that exists already is rejected (mirrors are upserted,
  // so a stale mirror heals when its connection is made again).
  for (let i = 0; i < n; i++) {
    if (r.invalid[i] !== 0 || !store.owns(sources[i]!) || store.connectionIndex(sources[i]!, targets[i]!, types[i]!) < 0) continue;
    const key = `${sources[i]!} → ${targets[i]!} type ${types[i]!}`;
    r.add(i, "", `${sources[i]!}→${targets[i]!}:${types[i]!}`, StoreRule.alreadyExists, `connection ${key} already exists; disconnect it first to replace it`);
  }
  // New connections count against the degree limits, in batch order.
  const outNew = new Uint8Array(n);
  const inNew = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (r.invalid[i] !== 0 || store.connectionIndex(sources[i]!, targets[i]!, types[i]!) >= 0) continue;
    if (store.owns(sources[i]!)) outNew[i] = 1;
    if (store.owns(targets[i]!)) inNew[i] = 1;
  }
  if (lim.maxOutDegree > 0) {
    const rank = ranksByKey(n, sources, outNew);
    for (let i = 0; i < n; i++) {
      const s = sources[i]!;
      if (outNew[i] !== 0 && store.outDegree(s) + rank[i]! > lim.maxOutDegree) {
        r.add(i, "source", s, StoreRule.maxOutDegree, `token ${s} would exceed the maximum out-degree ${lim.maxOutDegree}`);
      }
    }
  }
  if (lim.maxInDegree > 0) {
    const rank = ranksByKey(n, targets, inNew);
    for (let i = 0; i < n; i++) {
      const t = targets[i]!;
      if (inNew[i] !== 0 && store.inDegree(t) + rank[i]! > lim.maxInDegree) {
        r.add(i, "target", t, StoreRule.maxInDegree, `token ${t} would exceed the maximum in-degree ${lim.maxInDegree}`);
      }
    }
  }
  return r.done();
}

/** Whether an owned connection source → target exists (of `type`, or of any type when −1). */
export function hasConnection(store: ShardStore, source: number, target: number, type: number): boolean {
  if (type >= 0) return store.connectionIndex(source, target, type) >= 0;
  const targets = store.connections.targets;
  for (let e = store.firstOutEdge(source); e >= 0; e = store.nextOutEdge(e)) if (targets[e] === target) return true;
  return false;
}

export function checkDisconnect(store: ShardStore, keys: KeyColumns<Int16Array>): CheckReport {
  const n = keys.sources.length;
  const r = new Report(n);
  for (let i = 0; i < n; i++) {
    const s = keys.sources[i]!;
    const t = keys.targets[i]!;
    const y = keys.types[i]!;
    if (!store.owns(s)) r.add(i, "source", s, StoreRule.notOwned, notOwned(store, s));
    else if (!hasConnection(store, s, t, y)) {
      r.add(i, "", `${s}→${t}${y >= 0 ? `:${y}` : ""}`, StoreRule.notFound, `connection ${s} → ${t}${y >= 0 ? ` type ${y}` : " (any type)"} does not exist`);
    }
  }
  return r.done();
}
