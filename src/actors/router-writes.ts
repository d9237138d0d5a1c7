/**
 * Running a write that the coordinator split into per-shard parts.
 *
 * - Independent parts (one shard, or a partial batch whose items do not depend on each other):
 *   one `shard.write` per part, in parallel. In a partial batch, a shard that cannot take its part
 *   (mailbox full, shard unavailable) rejects those items with that code; the rest applies.
 * - Dependent parts (a strict batch over several shards, connections across shards): a
 *   transaction. All prepares are enqueued synchronously, before any other transaction's, so every
 *   shard sees transactions in the same order and fences cannot deadlock. In cluster mode that
 *   order does not hold (coordinators on other nodes enqueue too, over NATS), so prepares go one at
 *   a time in ascending shard order instead (lock ordering: a transaction only ever waits for a
 *   shard above every shard it holds, so no two can wait on each other). If every part can apply
 *   (strict) — or for the items every part accepts (partial) — the parts commit phase by phase
 *   (connections: owned edges first, then the mirrors), else every fenced part aborts.
 */
import {
  CancelledError,
  ErrorCode,
  InternalError,
  UnavailableError,
  toNeuroGraphError,
  type NeuroGraphError,
} from "../core/errors.ts";
import type { ActorRef, AskOptions } from "../runtime/index.ts";
import type { Part } from "./router-batches.ts";
import { ViolationSet } from "./router-rejections.ts";
import type { PrepareReply, ShardMessage, ShardOp, WriteReply } from "./shard-protocol.ts";

/** The coordinator's view of the shards. */
export interface Fanout {
  readonly shardCount: number;
  ref(shard: number): ActorRef<ShardMessage>;
  nextTxn(): number;
  /** Deadline of calls that have none (ms). */
  readonly askTimeoutMs: number;
  /**
   * Prepare transactions one shard at a time in ascending shard order (cluster mode, where other
   * coordinators' prepares reach the shards in an order this one does not control).
   */
  readonly orderedPrepares?: boolean;
}

/** The caller's deadline and cancellation (the API's RequestContext). */
export interface Scope {
  /** Absolute epoch ms; Infinity when none. */
  readonly deadline: number;
  readonly signal: AbortSignal;
}

export interface WriteRun {
  /** One reply per part (merged over commit phases); undefined where the part applied nothing. */
  readonly replies: readonly (WriteReply | undefined)[];
  /** Violations by request index (prepare, or the shards' own replies). */
  readonly violations: ViolationSet;
}

/** How long a prepared shard waits for the commit after the call's deadline before it gives up. */
const FENCE_GRACE_MS = 5_000;

export function askOptions(scope: Scope): AskOptions {
  return scope.deadline === Infinity ? {} : { deadline: scope.deadline };
}

export function throwIfAborted(scope: Scope): void {
  if (scope.signal.aborted) {
    const reason: unknown = scope.signal.reason;
    throw reason instanceof Error ? toNeuroGraphError(reason) : new CancelledError("the call was cancelled");
  }
}

/** Errors a partial batch reports per item instead of failing the call. */
function itemLevel(error: NeuroGraphError): string | undefined {
  if (error.code === ErrorCode.Overloaded) return "overloaded";
  if (error.code === ErrorCode.Unavailable) return "unavailable";
  return undefined;
}

const NOT_SENT: PromiseSettledResult<PrepareReply> = { status: "fulfilled", value: { fenced: false, violations: [], invalid: new Uint8Array(0) } };

/**
 * Prepares one part at a time, lowest shard first, and stops at the first part that fails: the
 * transaction aborts then, so the shards above are never fenced (parts not asked read as unfenced
 * with no violations). Parts that reject items are passed, so every violation is still listed.
 */
async function prepareInShardOrder(
  parts: readonly Part<ShardOp>[],
  prepare: (p: Part<ShardOp>) => Promise<PrepareReply>,
): Promise<PromiseSettledResult<PrepareReply>[]> {
  const order = parts.map((_, i) => i).sort((a, b) => parts[a]!.shard - parts[b]!.shard);
  const settled: PromiseSettledResult<PrepareReply>[] = parts.map(() => NOT_SENT);
  for (const i of order) {
    try {
      settled[i] = { status: "fulfilled", value: await prepare(parts[i]!) };
    } catch (reason) {
      settled[i] = { status: "rejected", reason };
      break;
    }
  }
  return settled;
}

function mergeReplies(a: WriteReply | undefined, b: WriteReply): WriteReply {
  if (a === undefined) return b;
  const accepted = a.accepted.slice();
  for (let i = 0; i < accepted.length; i++) accepted[i]! |= b.accepted[i] ?? 0;
  return {
    applied: a.applied + b.applied,
    accepted,
    violations: [...a.violations, ...b.violations],
    ...(a.ids === undefined ? {} : { ids: a.ids }),
    connectionsRemoved: a.connectionsRemoved + b.connectionsRemoved,
    ...(a.unlinkAtSource === undefined ? {} : { unlinkAtSource: a.unlinkAtSource }),
    ...(a.unlinkAtTarget === undefined ? {} : { unlinkAtTarget: a.unlinkAtTarget }),
  };
}

/**
 * How the parts of a write relate: `auto` = a strict batch over several shards needs a
 * transaction; `dependent` = always (items span shards, e.g. cross-shard connections);
 * `independent` = never (no part can fail for a reason another part could see, e.g. tokens
 * with allocated ids whose values were already checked).
 */
export type WriteCoupling = "auto" | "dependent" | "independent";

export function runWrite(f: Fanout, parts: readonly Part<ShardOp>[], partial: boolean, scope: Scope, coupling: WriteCoupling = "auto"): Promise<WriteRun> {
  throwIfAborted(scope);
  const transactional = parts.length > 1 && coupling !== "independent" && (coupling === "dependent" || !partial);
  return transactional ? runTransaction(f, parts, partial, scope) : runIndependent(f, parts, partial, scope);
}

async function runIndependent(f: Fanout, parts: readonly Part<ShardOp>[], partial: boolean, scope: Scope): Promise<WriteRun> {
  const opts = askOptions(scope);
  const settled = await Promise.allSettled(parts.map((p) => f.ref(p.shard).ask({ type: "shard.write", op: p.payload, partial }, opts)));
  const violations = new ViolationSet();
  const replies: (WriteReply | undefined)[] = [];
  for (let i = 0; i < parts.length; i++) {
    const s = settled[i]!;
    const part = parts[i]!;
    if (s.status === "fulfilled") {
      replies.push(s.value);
      violations.addAll(s.value.violations, part.items);
      continue;
    }
    const error = toNeuroGraphError(s.reason);
    const rule = partial ? itemLevel(error) : undefined;
    if (rule === undefined) throw error;
    replies.push(undefined);
    for (let k = 0; k < part.items.length; k++) {
      violations.add({ index: k, field: "", rule, description: `not applied: ${error.message}` }, part.items);
    }
  }
  // A strict write whose parts ran independently may come back partly applied when a part failed
  // for a reason its checks could not foresee (a shard out of ids): the caller undoes the rest
  // (see createTokens).
  return { replies, violations };
}

async function runTransaction(f: Fanout, parts: readonly Part<ShardOp>[], partial: boolean, scope: Scope): Promise<WriteRun> {
  const opts = askOptions(scope);
  // Commits and aborts must reach every shard even when the caller's deadline passes meanwhile
  // (the caller then gets DEADLINE_EXCEEDED, but the transaction still ends the same everywhere).
  const finish = { timeoutMs: f.askTimeoutMs };
  const txn = f.nextTxn();
  const expiresAt = Math.min(scope.deadline, Date.now() + f.askTimeoutMs) + FENCE_GRACE_MS;
  const prepare = (p: Part<ShardOp>): Promise<PrepareReply> => f.ref(p.shard).ask({ type: "shard.prepare", txn, op: p.payload, partial, expiresAt }, opts);
  const settled =
    f.orderedPrepares === true
      ? await prepareInShardOrder(parts, prepare)
      : // One synchronous loop: this transaction's prepares are in every mailbox before any later one's.
        await Promise.allSettled(parts.map(prepare));
  const open = settled.map((s) => s.status === "fulfilled" && s.value.fenced);
  const abort = async (): Promise<void> => {
    const asks: Promise<boolean>[] = [];
    for (let i = 0; i < parts.length; i++) {
      if (!open[i]) continue;
      open[i] = false;
      asks.push(f.ref(parts[i]!.shard).ask({ type: "shard.abort", txn }, finish));
    }
    await Promise.allSettled(asks); // a shard that misses its abort releases the fence when it expires
  };

  const violations = new ViolationSet();
  for (let i = 0; i < parts.length; i++) {
    const s = settled[i]!;
    if (s.status === "rejected") {
      await abort();
      throw toNeuroGraphError(s.reason);
    }
    violations.addAll(s.value.violations, parts[i]!.items);
  }
  if ((!partial && violations.size > 0) || scope.signal.aborted) {
    await abort();
    throwIfAborted(scope);
    return { replies: parts.map(() => undefined), violations };
  }

  let n = 0;
  for (const p of parts) for (const i of p.items) if (i + 1 > n) n = i + 1;
  const bad = violations.badItems(n);
  const masks: Uint8Array[][] = []; // [part][phase]
  const lastPhase: number[] = [];
  for (const p of parts) {
    const byPhase = [new Uint8Array(p.items.length), new Uint8Array(p.items.length)];
    let last = -1;
    for (let k = 0; k < p.items.length; k++) {
      if (bad[p.items[k]!] !== 0) continue;
      const phase = p.phases?.[k] ?? 0;
      byPhase[phase]![k] = 1;
      if (phase > last) last = phase;
    }
    masks.push(byPhase);
    lastPhase.push(last);
  }
  for (let i = 0; i < parts.length; i++) {
    if (open[i] && lastPhase[i] === -1) {
      open[i] = false;
      void f.ref(parts[i]!.shard).ask({ type: "shard.abort", txn }, finish).catch(() => undefined);
    }
  }

  const replies: (WriteReply | undefined)[] = parts.map(() => undefined);
  for (let phase = 0; phase <= 1; phase++) {
    const index: number[] = [];
    const commits: Promise<WriteReply>[] = [];
    for (let i = 0; i < parts.length; i++) {
      const mask = masks[i]![phase]!;
      if (!open[i] || mask.indexOf(1) < 0) continue;
      const release = lastPhase[i] === phase;
      if (release) open[i] = false;
      index.push(i);
      commits.push(f.ref(parts[i]!.shard).ask({ type: "shard.commit", txn, keep: mask, release }, finish));
    }
    const done = await Promise.allSettled(commits);
    let failure: NeuroGraphError | undefined;
    for (let j = 0; j < done.length; j++) {
      const d = done[j]!;
      const i = index[j]!;
      if (d.status === "rejected") failure ??= toNeuroGraphError(d.reason);
      else {
        replies[i] = mergeReplies(replies[i], d.value);
        if (d.value.violations.length > 0) {
          failure ??= new InternalError(
            `shard ${parts[i]!.shard} rejected a prepared write (${d.value.violations[0]!.description}); part of the write may be applied`,
          );
        }
      }
    }
    if (failure !== undefined) {
      await abort();
      if (failure instanceof InternalError) throw failure;
      throw new UnavailableError(
        `the write was interrupted after part of it was applied (${failure.message}); check the affected items and retry the rest`,
        { cause: failure },
      );
    }
  }
  return { replies, violations };
}
