/**
 * The guardian inside a graph shard. Counting of write batches (`guardedBatch`), and governed
 * learning and maintenance (`shard.learn`): runs the guardian's
 * shard-side functions on the shard's store, in the shard's turn, and resolves what changed into
 * the mutations to log (`connections.upsert` of the changed records, `connections.remove` of the
 * deleted ones) plus the mirrors other shards must unlink. Read-only kinds (check, cleanup-plan,
 * pairs) log nothing.
 */
import { CONNECTION_RECORD_SIZE } from "../core/connection/index.ts";
import type { FieldViolation } from "../core/errors.ts";
import type { EdgeKeys, ShardStore } from "../core/store/index.ts";
import {
  applyActivations,
  applyFeedback,
  checkLearningKeys,
  connectedPairs,
  planCleanup,
  sweepLifecycle,
  type LearningBudget,
  type ShardGuard,
} from "./guardian/index.ts";
import type { ShardMutation } from "./shard-log.ts";
import type { KeyColumns, LearnOp, LearnReply, ShardOp } from "./shard-protocol.ts";

export interface LearnOutcome {
  readonly reply: LearnReply;
  /** In log order; empty when nothing changed. */
  readonly mutations: readonly ShardMutation[];
}

const NONE = new Uint8Array(0);

function base(): Omit<LearnReply, "applied" | "accepted" | "violations"> {
  return { edges: 0, promoted: 0, deleted: 0, decayed: 0 };
}

function remoteTargets(store: ShardStore, removed: EdgeKeys): KeyColumns | undefined {
  let m = 0;
  for (let i = 0; i < removed.count; i++) if (!store.owns(removed.targets[i]!)) m++;
  if (m === 0) return undefined;
  const out = { sources: new Uint32Array(m), targets: new Uint32Array(m), types: new Uint8Array(m) };
  for (let i = 0, j = 0; i < removed.count; i++) {
    if (store.owns(removed.targets[i]!)) continue;
    out.sources[j] = removed.sources[i]!;
    out.targets[j] = removed.targets[i]!;
    out.types[j++] = removed.types[i]!;
  }
  return out;
}

/** The changed records whose target is on another shard (its mirror must follow). */
function remoteRecords(store: ShardStore, records: Uint8Array): Uint8Array | undefined {
  const n = records.byteLength / CONNECTION_RECORD_SIZE;
  if (n === 0) return undefined;
  const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const keep: number[] = [];
  for (let i = 0; i < n; i++) if (!store.owns(dv.getUint32(i * CONNECTION_RECORD_SIZE + 4, true))) keep.push(i);
  if (keep.length === 0) return undefined;
  const out = new Uint8Array(keep.length * CONNECTION_RECORD_SIZE);
  keep.forEach((i, j) => out.set(records.subarray(i * CONNECTION_RECORD_SIZE, (i + 1) * CONNECTION_RECORD_SIZE), j * CONNECTION_RECORD_SIZE));
  return out;
}

function remote(store: ShardStore, records: Uint8Array, removed: EdgeKeys): Pick<LearnReply, "unlinkAtTarget" | "refreshAtTarget"> {
  const unlink = remoteTargets(store, removed);
  const refresh = remoteRecords(store, records);
  return { ...(unlink === undefined ? {} : { unlinkAtTarget: unlink }), ...(refresh === undefined ? {} : { refreshAtTarget: refresh }) };
}

function changes(records: Uint8Array, removed: EdgeKeys): ShardMutation[] {
  const out: ShardMutation[] = [];
  if (records.byteLength >= CONNECTION_RECORD_SIZE) out.push({ kind: "connections.upsert", records });
  if (removed.count > 0) {
    out.push({
      kind: "connections.remove",
      sources: removed.sources.subarray(0, removed.count),
      targets: removed.targets.subarray(0, removed.count),
      types: removed.types.subarray(0, removed.count),
    });
  }
  return out;
}

/** Grants already taken by the coordinator for the confidence changes; lifecycle proposals still draw on the real budget. */
function pregranted(real: LearningBudget): LearningBudget {
  return { take: (n, now) => real.take(n, now), takeAll: () => true };
}

export function runLearning(store: ShardStore, guard: ShardGuard, op: LearnOp, nowMs: number): LearnOutcome {
  switch (op.kind) {
    case "activate": {
      const r = applyActivations(store, op.keys, nowMs, op.strict);
      guard.recordBatch("activation", op.keys.sources.length, r.violations, op.keys.sources.length - r.applied, op.strict && r.applied === 0 && r.violations.length > 0);
      return {
        reply: { ...base(), applied: r.applied, accepted: r.accepted, violations: r.violations, tokens: r.tokens, ...remote(store, r.records, r.removed) },
        mutations: changes(r.records, r.removed),
      };
    }
    case "feedback": {
      const ctx = guard.learning(nowMs);
      const r = applyFeedback(store, op.keys, op.success, op.granted ? { ...ctx, budget: pregranted(ctx.budget) } : ctx, op.strict);
      guard.recordBatch("feedback", op.keys.sources.length, r.violations, op.keys.sources.length - r.applied, op.strict && r.applied === 0 && r.violations.length > 0);
      return {
        reply: { ...base(), applied: r.applied, accepted: r.accepted, violations: r.violations, promoted: r.promoted, deleted: r.removed.count, ...remote(store, r.records, r.removed) },
        mutations: changes(r.records, r.removed),
      };
    }
    case "check": {
      const r = checkLearningKeys(store, op.keys, op.feedback);
      return { reply: { ...base(), applied: 0, accepted: NONE, violations: r.violations, edges: r.edges }, mutations: [] };
    }
    case "sweep": {
      const r = sweepLifecycle(store, guard.learning(nowMs));
      return {
        reply: { ...base(), applied: 0, accepted: NONE, violations: [], promoted: r.promoted, deleted: r.removed.count, decayed: r.decayed, ...remote(store, r.records, r.removed) },
        mutations: changes(r.records, r.removed),
      };
    }
    case "cleanup-plan":
      return { reply: { ...base(), applied: 0, accepted: NONE, violations: [], plan: planCleanup(store, op.policy) }, mutations: [] };
    case "pairs": {
      const invalid = new Uint8Array(op.sources.length);
      const violations = connectedPairs(store, op.sources, op.targets, invalid);
      return { reply: { ...base(), applied: 0, accepted: NONE, violations, invalid }, mutations: [] };
    }
  }
}

const ITEM_KINDS: Readonly<Record<ShardOp["kind"], string | undefined>> = {
  insert: "token",
  update: "token",
  delete: "token_delete",
  connect: "connection",
  disconnect: "disconnect",
  unlink: undefined, // internal repair of mirrors, never rejected
};

/**
 * Counts one write batch the shard validated (items checked, rejected by rule) and publishes one
 * `validation_failed` event when anything was rejected. `keep`: the items a commit applies.
 * Call it in the turn that applied the batch: it also settles the batch's share of the
 * coordinator's quota reservation (its items are decided: applied ones are in the usage now).
 */
export function guardedBatch(guard: ShardGuard, op: ShardOp, violations: readonly FieldViolation[], applied: number, strict: boolean, keep?: Uint8Array | null): void {
  settleQuota(guard, op, countBatch(guard, op, violations, applied, strict, keep));
}

/** The counting half of `guardedBatch`; returns the items of the batch. */
function countBatch(guard: ShardGuard, op: ShardOp, violations: readonly FieldViolation[], applied: number, strict: boolean, keep?: Uint8Array | null): number {
  const kind = ITEM_KINDS[op.kind];
  if (kind === undefined) return 0;
  let items: number;
  if (keep !== undefined && keep !== null) {
    items = 0;
    for (let i = 0; i < keep.length; i++) items += keep[i]!;
  } else {
    items = op.kind === "delete" ? op.ids.length : op.kind === "disconnect" || op.kind === "unlink" ? op.keys.sources.length : op.records.byteLength >>> 6;
  }
  const rejected = Math.max(0, items - applied);
  guard.recordBatch(kind, items, violations, rejected, strict && violations.length > 0);
  return items;
}

/** Ends `items` items of the quota reservation an insert or connect part carries. */
function settleQuota(guard: ShardGuard, op: ShardOp, items: number): void {
  if (op.kind === "insert" && op.quota !== undefined) guard.settle(op.quota, items, 0);
  else if (op.kind === "connect" && op.quota !== undefined) guard.settle(op.quota, 0, items);
}

/** Counts the rejections a `prepare` found (its commit counts what it applies). */
export function guardedCheck(guard: ShardGuard, op: ShardOp, check: { readonly violations: readonly FieldViolation[]; readonly invalid: Uint8Array }, strict: boolean): void {
  if (check.violations.length === 0) return;
  let bad = 0;
  for (let i = 0; i < check.invalid.length; i++) bad += check.invalid[i]!;
  countBatch(guard, op, check.violations, strict ? 0 : check.invalid.length - bad, strict);
  // A partial batch never applies the items its prepare rejected: their reservation ends now.
  if (!strict) settleQuota(guard, op, bad);
}
