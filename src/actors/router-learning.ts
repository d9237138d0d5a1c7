/**
 * Governed learning and maintenance through the shards (GraphService Activate / Feedback, and the
 * guardian's `ShardMaintenance`):
 * - keys go to the shard of their source (the owner), which applies them in its turn under the
 *   node's mutation budget and logs the changed connections; mirrors of deleted connections are
 *   unlinked on their target's shard afterwards (as after a Disconnect);
 * - a strict batch spanning shards is checked on every shard first (read-only) and its grants
 *   are taken at once, so a refused batch changes nothing anywhere;
 * - Activate reports the activated tokens to the guardian (one message per call); the hypotheses
 *   it admits are created through the ordinary, quota-admitted Connect path unless their tokens
 *   are connected already (checked on the source's shard);
 * - cleanup plans on every shard and removes through Disconnect / DeleteTokens (logged, with
 *   their cascades); the sweep settles decay and applies lifecycle proposals on every shard.
 */
import {
  FailedPreconditionError,
  NotFoundError,
  QuotaExceededError,
  ValidationError,
  ErrorCode,
  type FieldViolation,
  type NeuroGraphError,
} from "../core/errors.ts";
import type { ActorRef } from "../runtime/index.ts";
import {
  LearningRule,
  learningRuleCode,
  type CleanupReport,
  type CleanupRequest,
  type GuardianHub,
  type GuardianMessage,
  type ShardMaintenance,
  type SweepReport,
} from "./guardian/index.ts";
import type { GraphRouter } from "./graph-router.ts";
import { CONNECTION_RECORD_SIZE } from "../core/connection/index.ts";
import { EDGE_SOURCE_OFFSET, EDGE_TARGET_OFFSET, u32Column } from "./record-columns.ts";
import { splitIds, splitKeys, type Part } from "./router-batches.ts";
import { ViolationSet, type ItemRejection } from "./router-rejections.ts";
import { cascade } from "./router-tokens.ts";
import type { ConnectionKeys, WriteOptions, WriteResult } from "./router-types.ts";
import { askOptions, throwIfAborted, type Scope } from "./router-writes.ts";
import type { KeyColumns, LearnOp, LearnReply, WriteReply } from "./shard-protocol.ts";

export interface ActivateOutcome extends WriteResult {
  readonly hypothesesCreated: number;
}

export interface FeedbackOutcome extends WriteResult {
  readonly promoted: number;
  readonly deleted: number;
}

type LearningKeyPart = Part<{ sources: Uint32Array; targets: Uint32Array; types: Int16Array }>;

const NO_DEADLINE: Scope = { deadline: Infinity, signal: new AbortController().signal };

function describe(vs: readonly FieldViolation[]): string {
  const shown = vs.slice(0, 3).map((v) => `${v.index === undefined ? "" : `item ${v.index}: `}${v.description}`);
  return shown.join("; ") + (vs.length > 3 ? ` (and ${vs.length - 3} more)` : "");
}

/** The error of a strict learning batch with refusals (nothing was applied). */
function learningError(what: string, violations: readonly FieldViolation[], hub: GuardianHub): NeuroGraphError {
  const codes = violations.map((v) => learningRuleCode(v.rule));
  if (codes.includes(ErrorCode.InvalidArgument)) return ValidationError.of(what, violations);
  if (violations.some((v) => v.rule === LearningRule.mutationRate)) {
    const cap = hub.view.compiled.learning.maxMutationsPerInterval;
    return new QuotaExceededError("mutations", cap - hub.budget.remaining(hub.now()), cap);
  }
  const failed = violations.filter((_, i) => codes[i] === ErrorCode.FailedPrecondition);
  if (failed.length > 0) return new FailedPreconditionError(`${what} refused by the guardian: ${describe(failed)}; nothing was applied`, violations);
  return new NotFoundError(`${what}: ${describe(violations)}; nothing was applied`, { violations });
}

function rejections(set: ViolationSet): ItemRejection[] {
  return set.sorted().map((v) => ({ ...v, id: 0, code: learningRuleCode(v.rule) }));
}

function unlinkReply(keys: KeyColumns | undefined): WriteReply | undefined {
  return keys === undefined ? undefined : { applied: 0, accepted: new Uint8Array(0), violations: [], connectionsRemoved: 0, unlinkAtTarget: keys };
}

/**
 * Brings the mirror copies of changed connections up to date on their targets' shards (an upsert
 * of the owner's records; a target deleted meanwhile is skipped). Mirrors are copies: a failure
 * here leaves a stale copy until the connection changes again, never a wrong owner.
 */
async function refreshMirrors(router: GraphRouter, replies: readonly LearnReply[]): Promise<void> {
  const lists = replies.map((r) => r.refreshAtTarget).filter((r): r is Uint8Array => r !== undefined);
  if (lists.length === 0) return;
  let total = 0;
  for (const l of lists) total += l.byteLength;
  const records = new Uint8Array(total);
  let at = 0;
  for (const l of lists) {
    records.set(l, at);
    at += l.byteLength;
  }
  const parts = splitIds(u32Column(records, EDGE_TARGET_OFFSET), router.shardCount);
  await Promise.allSettled(
    parts.map((p) => {
      const mine = new Uint8Array(p.items.length * CONNECTION_RECORD_SIZE);
      for (let k = 0; k < p.items.length; k++) mine.set(records.subarray(p.items[k]! * CONNECTION_RECORD_SIZE, (p.items[k]! + 1) * CONNECTION_RECORD_SIZE), k * CONNECTION_RECORD_SIZE);
      return router.ref(p.shard).ask({ type: "shard.write", op: { kind: "connect", records: mine }, partial: true });
    }),
  );
}

export class GraphLearning implements ShardMaintenance {
  constructor(
    private readonly router: GraphRouter,
    private readonly hub: GuardianHub,
    private readonly guardian: ActorRef<GuardianMessage>,
  ) {}

  private strict(partial: boolean): boolean {
    return !partial || this.hub.view.compiled.strict;
  }

  private parts(keys: ConnectionKeys): LearningKeyPart[] {
    return splitKeys(keys.sources, keys.targets, keys.types, this.router.shardCount, "source", (n) => new Int16Array(n));
  }

  private ask(shard: number, op: LearnOp, scope: Scope): Promise<LearnReply> {
    return this.router.ref(shard).ask({ type: "shard.learn", op }, askOptions(scope));
  }

  /** Phase one of a strict batch over several shards: every refusal, and the grants it needs. */
  private async check(parts: readonly LearningKeyPart[], feedback: boolean, what: string, scope: Scope): Promise<number> {
    const replies = await Promise.all(parts.map((p) => this.ask(p.shard, { kind: "check", keys: p.payload, feedback }, scope)));
    const set = new ViolationSet();
    let edges = 0;
    replies.forEach((r, i) => {
      set.addAll(r.violations, parts[i]!.items);
      edges += r.edges;
    });
    if (set.size > 0) throw learningError(what, set.sorted(), this.hub);
    return edges;
  }

  async activate(keys: ConnectionKeys, tokens: Uint32Array, options: WriteOptions, scope: Scope): Promise<ActivateOutcome> {
    throwIfAborted(scope);
    const strict = this.strict(options.partial);
    const parts = this.parts(keys);
    if (strict && parts.length > 1) await this.check(parts, false, "activation batch", scope);
    const replies = await Promise.all(parts.map((p) => this.ask(p.shard, { kind: "activate", keys: p.payload, strict }, scope)));
    const set = new ViolationSet();
    let accepted = 0;
    let touched = tokens.length;
    replies.forEach((r, i) => {
      set.addAll(r.violations, parts[i]!.items);
      accepted += r.applied;
      touched += r.tokens?.length ?? 0;
    });
    await refreshMirrors(this.router, replies);
    if (strict && set.size > 0) throw learningError("activation batch", set.sorted(), this.hub);
    const all = new Uint32Array(touched);
    all.set(tokens);
    let at = tokens.length;
    for (const r of replies) {
      if (r.tokens === undefined) continue;
      all.set(r.tokens, at);
      at += r.tokens.length;
    }
    const hypothesesCreated = all.length < 2 ? 0 : await this.coactivated(all, scope);
    return { accepted, rejected: rejections(set), hypothesesCreated };
  }

  /** Reports co-activation to the guardian and creates the hypotheses it admits. */
  private async coactivated(tokens: Uint32Array, scope: Scope): Promise<number> {
    const proposals = await this.guardian.ask({ type: "guardian.coactivated", tokens }, askOptions(scope));
    const n = proposals.records.byteLength / CONNECTION_RECORD_SIZE;
    if (n === 0) return 0;
    const sources = u32Column(proposals.records, EDGE_SOURCE_OFFSET);
    const targets = u32Column(proposals.records, EDGE_TARGET_OFFSET);
    const parts = splitIds(sources, this.router.shardCount);
    const keep = new Uint8Array(n).fill(1);
    const replies = await Promise.all(
      parts.map((p) => this.ask(p.shard, { kind: "pairs", sources: p.payload, targets: Uint32Array.from(p.items, (i) => targets[i]!) }, scope)),
    );
    replies.forEach((r, j) => {
      const items = parts[j]!.items;
      for (let k = 0; k < items.length; k++) if (r.invalid?.[k] === 1) keep[items[k]!] = 0;
    });
    let m = 0;
    for (let i = 0; i < n; i++) m += keep[i]!;
    if (m === 0) return 0;
    const records = new Uint8Array(m * CONNECTION_RECORD_SIZE);
    for (let i = 0, j = 0; i < n; i++) {
      if (keep[i] === 0) continue;
      records.set(proposals.records.subarray(i * CONNECTION_RECORD_SIZE, (i + 1) * CONNECTION_RECORD_SIZE), j++ * CONNECTION_RECORD_SIZE);
    }
    try {
      const r = await this.router.connect(records, { partial: true }, scope);
      return r.accepted;
    } catch (err) {
      // The activations were applied; hypotheses that do not fit (e.g. a quota) are dropped.
      if (err instanceof QuotaExceededError) return 0;
      throw err;
    }
  }

  async feedback(keys: ConnectionKeys, success: Uint8Array, options: WriteOptions, scope: Scope): Promise<FeedbackOutcome> {
    throwIfAborted(scope);
    const strict = this.strict(options.partial);
    const parts = this.parts(keys);
    let granted = false;
    if (strict && parts.length > 1) {
      const edges = await this.check(parts, true, "feedback batch", scope);
      if (!this.hub.budget.takeAll(edges, this.hub.now())) {
        this.hub.stats.proposalRejected(LearningRule.mutationRate, edges);
        throw learningError("feedback batch", [{ field: "proposal", value: "confidence", rule: LearningRule.mutationRate, description: "mutation-rate cap" }], this.hub);
      }
      granted = true;
    }
    const replies = await Promise.all(
      parts.map((p) => this.ask(p.shard, { kind: "feedback", keys: p.payload, success: Uint8Array.from(p.items, (i) => success[i] ?? 0), strict, granted }, scope)),
    );
    const set = new ViolationSet();
    let accepted = 0;
    let promoted = 0;
    let deleted = 0;
    replies.forEach((r, i) => {
      set.addAll(r.violations, parts[i]!.items);
      accepted += r.applied;
      promoted += r.promoted;
      deleted += r.deleted;
    });
    await cascade(this.router, replies.map((r) => unlinkReply(r.unlinkAtTarget)));
    await refreshMirrors(this.router, replies);
    if (strict && set.size > 0) throw learningError("feedback batch", set.sorted(), this.hub);
    return { accepted, rejected: rejections(set), promoted, deleted };
  }

  // ---- ShardMaintenance --------------------------------------------------------------------------

  async cleanup(request: CleanupRequest): Promise<CleanupReport> {
    const shards = Array.from({ length: this.router.shardCount }, (_, s) => s);
    const plans = await Promise.all(shards.map((s) => this.ask(s, { kind: "cleanup-plan", policy: request }, NO_DEADLINE)));
    let edges = 0;
    let tokens = 0;
    for (const r of plans) {
      edges += r.plan?.connections.count ?? 0;
      tokens += r.plan?.tokens.length ?? 0;
    }
    const keys = { sources: new Uint32Array(edges), targets: new Uint32Array(edges), types: new Int16Array(edges) };
    const ids = new Uint32Array(tokens);
    let e = 0;
    let t = 0;
    for (const r of plans) {
      const p = r.plan;
      if (p === undefined) continue;
      const c = p.connections;
      keys.sources.set(c.sources.subarray(0, c.count), e);
      keys.targets.set(c.targets.subarray(0, c.count), e);
      keys.types.set(c.types.subarray(0, c.count), e);
      e += c.count;
      ids.set(p.tokens, t);
      t += p.tokens.length;
    }
    let connectionsRemoved = 0;
    let tokensRemoved = 0;
    if (edges > 0) connectionsRemoved = (await this.router.disconnect(keys, { partial: true }, NO_DEADLINE)).accepted;
    if (tokens > 0) tokensRemoved = (await this.router.deleteTokens(ids, { partial: true }, NO_DEADLINE)).accepted;
    return { connectionsRemoved, tokensRemoved };
  }

  async sweepLearning(_nowMs: number): Promise<SweepReport> {
    const shards = Array.from({ length: this.router.shardCount }, (_, s) => s);
    const replies = await Promise.all(shards.map((s) => this.ask(s, { kind: "sweep" }, NO_DEADLINE)));
    await cascade(this.router, replies.map((r) => unlinkReply(r.unlinkAtTarget)));
    await refreshMirrors(this.router, replies);
    let decayed = 0;
    let promoted = 0;
    let deleted = 0;
    for (const r of replies) {
      decayed += r.decayed;
      promoted += r.promoted;
      deleted += r.deleted;
    }
    return { decayed, promoted, deleted };
  }
}
