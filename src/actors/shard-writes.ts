/**
 * Executes one shard operation on the store and resolves it into the mutation to log: allocated
 * ids written into the records, rejected items left out, "any type" keys expanded to the exact
 * connections removed. Strict mode applies all items or none (the violations come back as data,
 * not as a thrown error, so the coordinator can merge them across shards).
 */
import { ValidationError, type FieldViolation } from "../core/errors.ts";
import { StoreRule, type ShardStore } from "../core/store/index.ts";
import type { ShardMutation } from "./shard-log.ts";
import { checkConnect, type CheckLimits } from "./shard-checks.ts";
import { RECORD_SIZE, TOKEN_ID_OFFSET, laterDuplicates, recordCount, u32Column } from "./record-columns.ts";
import type { KeyColumns, ShardOp, WriteReply } from "./shard-protocol.ts";

export interface WriteOutcome {
  readonly reply: WriteReply;
  /** What to log; undefined when nothing changed. */
  readonly mutation: ShardMutation | undefined;
  /** Tokens whose position or existence changed (for the spatial index). */
  readonly tokenIds: Uint32Array | undefined;
}

export interface WriteMode {
  /** All items or none. */
  readonly strict: boolean;
  /** Only these items (1 = apply); null = every item. */
  readonly keep: Uint8Array | null;
}

function skipOf(keep: Uint8Array | null): Uint8Array | undefined {
  if (keep === null) return undefined;
  const skip = new Uint8Array(keep.length);
  for (let i = 0; i < keep.length; i++) skip[i] = keep[i] === 0 ? 1 : 0;
  return skip;
}

/** The records of the accepted items (the same buffer when every item was accepted). */
function acceptedRecords(records: Uint8Array, accepted: Uint8Array, applied: number): Uint8Array {
  const n = accepted.length;
  if (applied === n) return records;
  const out = new Uint8Array(applied * RECORD_SIZE);
  for (let i = 0, j = 0; i < n; i++) {
    if (accepted[i] === 0) continue;
    out.set(records.subarray(i * RECORD_SIZE, (i + 1) * RECORD_SIZE), j * RECORD_SIZE);
    j++;
  }
  return out;
}

function acceptedIds(ids: Uint32Array, accepted: Uint8Array, applied: number): Uint32Array {
  if (applied === ids.length) return ids;
  const out = new Uint32Array(applied);
  for (let i = 0, j = 0; i < ids.length; i++) if (accepted[i] !== 0) out[j++] = ids[i]!;
  return out;
}

function rejected(n: number, violations: readonly FieldViolation[]): WriteOutcome {
  return { reply: { applied: 0, accepted: new Uint8Array(n), violations, connectionsRemoved: 0 }, mutation: undefined, tokenIds: undefined };
}

/** Runs `fn`; in strict mode a ValidationError from the store becomes a rejected outcome. */
function guarded(n: number, strict: boolean, fn: () => WriteOutcome): WriteOutcome {
  try {
    return fn();
  } catch (err) {
    if (strict && err instanceof ValidationError) return rejected(n, err.violations);
    throw err;
  }
}

export function executeOp(store: ShardStore, op: ShardOp, mode: WriteMode, limits: CheckLimits): WriteOutcome {
  const skip = skipOf(mode.keep);
  const strict = mode.strict;
  const validate = { limits: limits.tokens, nowSeconds: limits.nowSeconds };
  switch (op.kind) {
    case "insert": {
      const n = recordCount(op.records);
      return guarded(n, strict, () => {
        const r = store.insertRecords(op.records, { strict, skip, allocateIds: true, ...(op.checked === true ? {} : { validate }) });
        const ids = acceptedIds(r.ids, r.accepted, r.applied);
        const mutation: ShardMutation | undefined =
          r.applied === 0 ? undefined : { kind: "tokens.insert", records: acceptedRecords(op.records, r.accepted, r.applied) };
        return { reply: { applied: r.applied, accepted: r.accepted, violations: r.violations, ids: r.ids, connectionsRemoved: 0 }, mutation, tokenIds: ids };
      });
    }
    case "update": {
      const n = recordCount(op.records);
      return guarded(n, strict, () => {
        const r = store.updateRecords(op.records, { strict, skip, validate });
        const mutation: ShardMutation | undefined =
          r.applied === 0 ? undefined : { kind: "tokens.update", records: acceptedRecords(op.records, r.accepted, r.applied) };
        const ids = acceptedIds(u32Column(op.records, TOKEN_ID_OFFSET), r.accepted, r.applied);
        return { reply: { applied: r.applied, accepted: r.accepted, violations: r.violations, connectionsRemoved: 0 }, mutation, tokenIds: ids };
      });
    }
    case "delete":
      return guarded(op.ids.length, strict, () => {
        const r = store.deleteIds(op.ids, { strict, skip });
        const ids = acceptedIds(op.ids, r.accepted, r.applied);
        const mutation: ShardMutation | undefined = r.applied === 0 ? undefined : { kind: "tokens.delete", ids: ids === op.ids ? ids.slice() : ids };
        const reply: WriteReply = {
          applied: r.applied,
          accepted: r.accepted,
          violations: r.violations,
          // Mirrors dropped here are copies; their authoritative connection is counted where it is unlinked.
          connectionsRemoved: r.droppedConnections - r.remoteIn.count,
          unlinkAtSource: r.remoteIn,
          unlinkAtTarget: r.remoteOut,
        };
        return { reply, mutation, tokenIds: ids };
      });
    case "connect": {
      // The check adds what the store does not reject (an owned connection that exists already).
      const n = recordCount(op.records);
      const check = checkConnect(store, op.records, limits);
      const violations = check.violations.filter((v) => mode.keep === null || mode.keep[v.index ?? 0] === 1);
      if (strict && violations.length > 0) return rejected(n, violations);
      const skipAll = skip ?? new Uint8Array(n);
      for (let i = 0; i < n; i++) if (check.invalid[i] !== 0) skipAll[i] = 1;
      return guarded(n, strict, () => {
        const r = store.connectRecords(op.records, { strict, skip: skipAll, limits: limits.connections });
        const mutation: ShardMutation | undefined =
          r.applied === 0 ? undefined : { kind: "connections.upsert", records: acceptedRecords(op.records, r.accepted, r.applied) };
        const all = r.violations.length === 0 ? violations : [...violations, ...r.violations];
        return { reply: { applied: r.applied, accepted: r.accepted, violations: all, connectionsRemoved: 0 }, mutation, tokenIds: undefined };
      });
    }
    case "disconnect":
      return disconnect(store, op.keys, strict, mode.keep);
    case "unlink":
      return unlink(store, op.keys);
  }
}

/** A growable list of exact keys. */
class KeyList {
  sources = new Uint32Array(16);
  targets = new Uint32Array(16);
  types = new Uint8Array(16);
  n = 0;
  push(s: number, t: number, y: number): void {
    if (this.n === this.sources.length) {
      const grow = <A extends Uint32Array | Uint8Array>(a: A, make: (n: number) => A): A => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.sources = grow(this.sources, (k) => new Uint32Array(k));
      this.targets = grow(this.targets, (k) => new Uint32Array(k));
      this.types = grow(this.types, (k) => new Uint8Array(k));
    }
    this.sources[this.n] = s;
    this.targets[this.n] = t;
    this.types[this.n] = y;
    this.n++;
  }
  /** The keys without repeats, in first-seen order. */
  unique(): KeyColumns {
    const n = this.n;
    const s = this.sources.subarray(0, n);
    const t = this.targets.subarray(0, n);
    const y = this.types.subarray(0, n);
    const dup = laterDuplicates(n, s, t, y, null);
    let m = 0;
    for (let i = 0; i < n; i++) m += 1 - dup[i]!;
    const out = { sources: new Uint32Array(m), targets: new Uint32Array(m), types: new Uint8Array(m) };
    for (let i = 0, j = 0; i < n; i++) {
      if (dup[i] !== 0) continue;
      out.sources[j] = s[i]!;
      out.targets[j] = t[i]!;
      out.types[j++] = y[i]!;
    }
    return out;
  }
}

function removeMutation(keys: KeyColumns): ShardMutation | undefined {
  if (keys.sources.length === 0) return undefined;
  return { kind: "connections.remove", sources: keys.sources, targets: keys.targets, types: keys.types };
}

/** Owned connections by key (type −1 = all types between the two); removes the union of matches. */
function disconnect(store: ShardStore, keys: KeyColumns<Int16Array>, strict: boolean, keep: Uint8Array | null): WriteOutcome {
  const n = keys.sources.length;
  const accepted = new Uint8Array(n);
  const violations: FieldViolation[] = [];
  const exact = new KeyList();
  const cols = store.connections;
  let applied = 0;
  for (let i = 0; i < n; i++) {
    if (keep !== null && keep[i] === 0) continue;
    const s = keys.sources[i]!;
    const t = keys.targets[i]!;
    const y = keys.types[i]!;
    const before = exact.n;
    if (store.owns(s)) {
      if (y >= 0) {
        if (store.connectionIndex(s, t, y) >= 0) exact.push(s, t, y);
      } else {
        for (let e = store.firstOutEdge(s); e >= 0; e = store.nextOutEdge(e)) if (cols.targets[e] === t) exact.push(s, t, cols.types[e]!);
      }
    }
    if (exact.n > before) {
      accepted[i] = 1;
      applied++;
    } else {
      violations.push({
        index: i,
        field: "",
        value: `${s}→${t}${y >= 0 ? `:${y}` : ""}`,
        rule: StoreRule.notFound,
        description: `connection ${s} → ${t}${y >= 0 ? ` type ${y}` : " (any type)"} does not exist`,
      });
    }
  }
  if (strict && violations.length > 0) return rejected(n, violations);
  const unique = exact.unique();
  store.disconnectKeys(unique.sources, unique.targets, unique.types);
  const remote = new KeyList();
  for (let i = 0; i < unique.sources.length; i++) {
    if (!store.owns(unique.targets[i]!)) remote.push(unique.sources[i]!, unique.targets[i]!, unique.types[i]!);
  }
  const reply: WriteReply = { applied, accepted, violations, connectionsRemoved: unique.sources.length, unlinkAtTarget: remote.unique() };
  return { reply, mutation: removeMutation(unique), tokenIds: undefined };
}

/** Removes the keys that exist (owned or mirror); counts the owned ones. */
function unlink(store: ShardStore, keys: KeyColumns): WriteOutcome {
  const n = keys.sources.length;
  const accepted = new Uint8Array(n);
  const present = new KeyList();
  let owned = 0;
  for (let i = 0; i < n; i++) {
    const e = store.connectionIndex(keys.sources[i]!, keys.targets[i]!, keys.types[i]!);
    if (e < 0) continue;
    present.push(keys.sources[i]!, keys.targets[i]!, keys.types[i]!);
    accepted[i] = 1;
  }
  const unique = present.unique();
  for (let i = 0; i < unique.sources.length; i++) {
    if (!store.isMirror(store.connectionIndex(unique.sources[i]!, unique.targets[i]!, unique.types[i]!))) owned++;
  }
  store.disconnectKeys(unique.sources, unique.targets, unique.types);
  return {
    reply: { applied: unique.sources.length, accepted, violations: [], connectionsRemoved: owned },
    mutation: removeMutation(unique),
    tokenIds: undefined,
  };
}
