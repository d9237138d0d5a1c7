/**
 * `GuardianActor`: one per node (`guardian/<node>`). It owns the constitution of the node:
 * - the active document and its bounded history (rollback restores exactly the previous
 *   version), recovered from its `ConstitutionLog` on every start;
 * - updates (a patch, a whole document or a profile) validated as a whole (version n + 1, every
 *   violation listed), dry runs that change nothing, rollbacks; each change is appended to the
 *   log and durable *before* it becomes active, then installed in the shared `GuardianHub` (the
 *   view every shard reads per batch) and announced as an event;
 * - the RSS sampler (a timer, at most once per `rss_sample_interval_ms`), soft-threshold cleanup
 *   through `ShardMaintenance` (with a cooldown, never two at once), the learning sweep timer;
 * - co-activation tracking (fixed-size table) and the governance of the hypotheses it proposes.
 * Hot paths never message the guardian: shards use the hub directly (`ShardGuard`).
 */
import {
  ConstitutionHistory,
  decodeConstitution,
  type Constitution,
} from "../core/constitution/index.ts";
import { FailedPreconditionError, UnavailableError, ValidationError } from "../core/errors.ts";
import { Actor, REPLY_DEFERRED, type ActorContext, type ReplyDeferred, type ReplyHandle, type ReplyOf } from "../runtime/index.ts";
import type { Logger } from "../telemetry/index.ts";
import { checkExpectedVersion, draftChange, type ConstitutionChangeRequest, type ConstitutionDraft } from "./guardian/changes.ts";
import { CLEANUP_BATCH_LIMIT, cleanupAllowed, cleanupPolicy } from "./guardian/cleanup.ts";
import { CoactivationTable, type CoactivationOptions } from "./guardian/coactivation.ts";
import { nextHistory, replayConstitutionLog, type ConstitutionLog } from "./guardian/constitution-log.ts";
import { countRules, type ConstitutionAction } from "./guardian/events.ts";
import { activeConstitution, type ActiveConstitution, type GuardianHub } from "./guardian/hub.ts";
import { governHypotheses } from "./guardian/learning.ts";
import type { CleanupOutcome, DryRunResult, GuardianMessage, GuardianReport, HistoryItem, HypothesisProposals, ShardMaintenance } from "./guardian/protocol.ts";
import { RssSampler, processRss, type RssProbe } from "./guardian/quota.ts";

export interface GuardianEnv {
  /** The node's shared guardian state (survives restarts of this actor). */
  readonly hub: GuardianHub;
  readonly log: ConstitutionLog;
  /** The first document of a node whose log is empty (default: the hub's current one). */
  readonly initial?: Constitution;
  /** Versions kept for rollback (default 100, at least 2). */
  readonly historyCapacity?: number;
  /** Process RSS in bytes (default `process.memoryUsage.rss()`). */
  readonly rssProbe?: RssProbe;
  /** The node's shards (cleanup, learning sweep); without it, cleanups remove nothing. */
  readonly maintenance?: ShardMaintenance;
  /** Minimum time between two soft-threshold cleanups (default 10 s). */
  readonly cleanupCooldownMs?: number;
  /** Items per shard one cleanup pass may remove (default 100 000). */
  readonly cleanupBatchLimit?: number;
  /** Learning sweep period (default 60 s; 0 = no sweep). */
  readonly learningSweepIntervalMs?: number;
  readonly coactivation?: CoactivationOptions;
  readonly logger?: Logger;
}

type Reply = ReplyOf<GuardianMessage>;

const RSS_TIMER = "rss";
const SWEEP_TIMER = "sweep";

export class GuardianActor extends Actor<GuardianMessage> {
  private history: ConstitutionHistory | undefined;
  private readonly sampler: RssSampler;
  private readonly coactivation: CoactivationTable;
  private rssIntervalMs = 0;
  private cleanupRunning = false;
  private lastCleanupMs = -Infinity;
  private readonly waitingForCleanup: ReplyHandle<CleanupOutcome>[] = [];
  private sweeping = false;
  private unfollow: (() => void) | undefined;

  constructor(private readonly env: GuardianEnv) {
    super();
    this.sampler = new RssSampler(env.rssProbe ?? processRss, env.hub.view.compiled.quotas.rssSampleIntervalMs);
    this.coactivation = new CoactivationTable(env.coactivation);
  }

  override async preStart(ctx: ActorContext<GuardianMessage>): Promise<void> {
    const { env } = this;
    const hub = env.hub;
    const capacity = env.historyCapacity ?? 100;
    let history = replayConstitutionLog(await env.log.load(), capacity);
    if (history === undefined) {
      const first = activeConstitution(env.initial ?? hub.view.current.document);
      try {
        await this.append(first.bytes);
        history = new ConstitutionHistory(first.bytes, capacity);
      } catch (err) {
        // A shared log: another node of the cluster wrote the first document meanwhile; take its.
        if (!(err instanceof FailedPreconditionError)) throw err;
        history = replayConstitutionLog(await env.log.load(), capacity);
        if (history === undefined) throw err;
      }
    }
    this.history = history;
    const active = activeConstitution(history.current().bytes);
    if (!sameBytes(active.bytes, hub.view.current.bytes)) hub.install(active, { action: "restore" });
    hub.onQuotaLevel((quota, level) => {
      if (level === "normal") return;
      try {
        ctx.self.tell({ type: "guardian.quota-level", quota, level });
      } catch {
        // Mailbox full or stopping: the next RSS tick re-checks every quota.
      }
    });
    this.configureTimers(ctx);
    this.tick(ctx);
    this.unfollow = env.log.follow?.((document, adopted) => {
      try {
        ctx.self.tell({ type: "guardian.adopt", document, adopted });
      } catch (err) {
        // Stopping (a restart loads the log again) or a full mailbox: the change would be missed.
        env.logger?.error({ err }, "a constitution change made through another node could not be delivered to the guardian; restart the node to load it");
      }
    });
  }

  override postStop(): void {
    this.unfollow?.();
    this.unfollow = undefined;
    this.env.hub.onQuotaLevel(undefined);
    for (const h of this.waitingForCleanup.splice(0)) h.reject(new UnavailableError("the guardian stopped before the cleanup finished"));
  }

  receive(m: GuardianMessage, ctx: ActorContext<GuardianMessage>): Reply | ReplyDeferred | Promise<Reply> {
    switch (m.type) {
      case "guardian.get":
        return this.env.hub.view.current;
      case "guardian.history":
        return this.listHistory();
      case "guardian.update":
        return this.update(m.request, ctx);
      case "guardian.validate":
        return this.dryRun(m.request, ctx);
      case "guardian.rollback":
        return this.rollback(m.expectedVersion, m.author, m.comment, ctx);
      case "guardian.stats":
        return this.report();
      case "guardian.coactivated":
        return this.coactivated(m.tokens, ctx);
      case "guardian.cleanup":
        return this.manualCleanup(m.trigger ?? "manual", ctx);
      case "guardian.tick":
        this.tick(ctx);
        return undefined;
      case "guardian.quota-level":
        this.maybeCleanup(m.quota, ctx);
        return undefined;
      case "guardian.cleanup-finished":
        this.cleanupFinished(m, ctx);
        return undefined;
      case "guardian.sweep":
        this.sweep(ctx);
        return undefined;
      case "guardian.adopt":
        this.adopt(m.document, ctx);
        m.adopted();
        return undefined;
      case "guardian.sweep-finished":
        this.sweeping = false;
        if (m.error !== undefined) this.env.logger?.warn({ err: m.error }, "learning sweep failed; it runs again at the next interval");
        return undefined;
    }
  }

  // ---- constitution ----------------------------------------------------------------------------

  private requireHistory(): ConstitutionHistory {
    if (this.history === undefined) throw new UnavailableError("the guardian is still recovering its constitution log; retry shortly");
    return this.history;
  }

  private listHistory(): HistoryItem[] {
    const h = this.requireHistory();
    const entries = h.list();
    return entries.map((e, i) => {
      const m = decodeConstitution(e.bytes).metadata;
      return {
        version: e.version,
        checksum: e.checksum,
        bytes: e.bytes,
        createdAtUnixMs: m?.createdAtUnixMs ?? 0,
        author: m?.author ?? "",
        comment: m?.comment ?? "",
        profile: m?.profile ?? 0,
        active: i === entries.length - 1,
      };
    });
  }

  private draft(request: ConstitutionChangeRequest, ctx: ActorContext<GuardianMessage>): ConstitutionDraft {
    const current = this.env.hub.view.current;
    checkExpectedVersion(current.compiled.version, request.expectedVersion);
    return draftChange(current.document, request, ctx.clock.now());
  }

  private dryRun(request: ConstitutionChangeRequest, ctx: ActorContext<GuardianMessage>): DryRunResult {
    this.requireHistory();
    const { doc, violations } = this.draft(request, ctx);
    return { valid: violations.length === 0, violations, draft: doc };
  }

  private async update(request: ConstitutionChangeRequest, ctx: ActorContext<GuardianMessage>): Promise<ActiveConstitution> {
    const history = this.requireHistory();
    const hub = this.env.hub;
    const { doc, violations } = this.draft(request, ctx);
    if (violations.length > 0) {
      hub.validated("guardian", "constitution", 1, violations, 1, true);
      throw ValidationError.of("constitution update", violations);
    }
    hub.validated("guardian", "constitution", 1, [], 0, false);
    const next = activeConstitution(doc);
    await this.append(next.bytes);
    history.push(next.bytes);
    const action: ConstitutionAction = request.profile !== undefined ? "switch_profile" : "update";
    this.install(next, action, request.author, request.comment, ctx);
    return next;
  }

  private async rollback(expected: number | undefined, author: string | undefined, comment: string | undefined, ctx: ActorContext<GuardianMessage>): Promise<ActiveConstitution> {
    const history = this.requireHistory();
    checkExpectedVersion(history.current().version, expected);
    const previous = history.previous();
    if (previous === undefined) history.rollback(); // throws the explanatory FailedPreconditionError
    const next = activeConstitution(previous!.bytes);
    await this.append(previous!.bytes);
    history.rollback();
    this.install(next, "rollback", author, comment, ctx);
    return next;
  }

  /** A document appended through another node: the same step as replaying it from the log. */
  private adopt(bytes: Uint8Array, ctx: ActorContext<GuardianMessage>): void {
    const capacity = this.env.historyCapacity ?? 100;
    let step;
    try {
      step = nextHistory(this.requireHistory(), bytes, capacity, "a constitution document from the cluster's log");
    } catch (err) {
      this.env.logger?.error({ err }, "ignored a constitution document from another node that does not validate here; check that every node runs the same NeuroGraph version");
      return;
    }
    this.history = step.history;
    if (step.change === "same") return;
    const next = activeConstitution(bytes);
    const meta = next.document.metadata;
    const action: ConstitutionAction = step.change === "rollback" ? "rollback" : step.change === "update" ? (meta?.profile !== this.env.hub.view.current.document.metadata?.profile ? "switch_profile" : "update") : "restore";
    this.env.logger?.info({ version: next.compiled.version, action }, "adopted a constitution change made through another node");
    this.install(next, action, meta?.author || undefined, meta?.comment || undefined, ctx);
  }

  private install(next: ActiveConstitution, action: ConstitutionAction, author: string | undefined, comment: string | undefined, ctx: ActorContext<GuardianMessage>): void {
    this.env.hub.install(next, { action, ...(author === undefined ? {} : { author }), ...(comment === undefined ? {} : { comment }) });
    this.configureTimers(ctx);
  }

  private async append(bytes: Uint8Array): Promise<void> {
    try {
      await this.env.log.append(bytes);
    } catch (err) {
      if (err instanceof FailedPreconditionError) throw err; // a shared log moved on: nothing changed
      throw new UnavailableError(
        `the constitution change could not be made durable (${err instanceof Error ? err.message : String(err)}); nothing changed, retry later`,
        { cause: err },
      );
    }
  }

  // ---- timers, quotas, cleanup -----------------------------------------------------------------

  private configureTimers(ctx: ActorContext<GuardianMessage>): void {
    const interval = this.env.hub.view.compiled.quotas.rssSampleIntervalMs;
    if (interval !== this.rssIntervalMs) {
      this.rssIntervalMs = interval;
      this.sampler.setInterval(interval);
      ctx.timers.startPeriodic(RSS_TIMER, { type: "guardian.tick" }, interval);
    }
    const sweep = this.env.learningSweepIntervalMs ?? 60_000;
    if (sweep > 0 && this.env.maintenance?.sweepLearning !== undefined && !ctx.timers.isActive(SWEEP_TIMER)) {
      ctx.timers.startPeriodic(SWEEP_TIMER, { type: "guardian.sweep" }, sweep);
    }
  }

  private tick(ctx: ActorContext<GuardianMessage>): void {
    const hub = this.env.hub;
    const now = ctx.clock.now();
    const sample = this.sampler.sample(now);
    if (sample.fresh) hub.quotas.sampleRss(sample.bytes, now);
    hub.publishQuotaUsage();
    const over = hub.quotas.overSoft();
    if (over.length > 0) this.maybeCleanup(over[0]!, ctx);
  }

  /** A soft-threshold cleanup, unless one is running or the last began less than the cooldown ago. */
  private maybeCleanup(trigger: string, ctx: ActorContext<GuardianMessage>): void {
    const now = ctx.clock.now();
    if (this.cleanupRunning || now - this.lastCleanupMs < (this.env.cleanupCooldownMs ?? 10_000)) return;
    this.startCleanup(trigger, ctx);
  }

  private manualCleanup(trigger: string, ctx: ActorContext<GuardianMessage>): ReplyDeferred {
    this.waitingForCleanup.push(ctx.deferReply());
    if (!this.cleanupRunning) this.startCleanup(trigger, ctx);
    return REPLY_DEFERRED;
  }

  private startCleanup(trigger: string, ctx: ActorContext<GuardianMessage>): void {
    const startedMs = ctx.clock.now();
    this.cleanupRunning = true;
    this.lastCleanupMs = startedMs;
    const policy = cleanupPolicy(this.env.hub.view.compiled.quotas, Math.floor(startedMs / 1000), this.env.cleanupBatchLimit ?? CLEANUP_BATCH_LIMIT);
    const maintenance = this.env.maintenance;
    const work =
      maintenance === undefined || !cleanupAllowed(policy)
        ? Promise.resolve({ connectionsRemoved: 0, tokensRemoved: 0 })
        : maintenance.cleanup({ ...policy, trigger });
    ctx.pipeToSelf(work, (o) => ({
      type: "guardian.cleanup-finished",
      trigger,
      startedMs,
      report: o.ok ? o.value : undefined,
      error: o.ok ? (maintenance === undefined ? "no shards are attached to the guardian" : undefined) : o.error.message,
    }));
  }

  private cleanupFinished(m: Extract<GuardianMessage, { type: "guardian.cleanup-finished" }>, ctx: ActorContext<GuardianMessage>): void {
    this.cleanupRunning = false;
    const hub = this.env.hub;
    const connectionsRemoved = m.report?.connectionsRemoved ?? 0;
    const tokensRemoved = m.report?.tokensRemoved ?? 0;
    const durationMs = Math.max(0, ctx.clock.now() - m.startedMs);
    hub.stats.cleanupDone(tokensRemoved, connectionsRemoved);
    hub.events.publish({ kind: "cleanup_done", trigger: m.trigger, connectionsRemoved, tokensRemoved, durationMs, error: m.error });
    if (m.error !== undefined && m.report === undefined) this.env.logger?.warn({ err: m.error, trigger: m.trigger }, "quota cleanup failed");
    const outcome: CleanupOutcome = { trigger: m.trigger, connectionsRemoved, tokensRemoved, durationMs };
    for (const h of this.waitingForCleanup.splice(0)) h.resolve(outcome);
  }

  private sweep(ctx: ActorContext<GuardianMessage>): void {
    const maintenance = this.env.maintenance;
    if (this.sweeping || maintenance?.sweepLearning === undefined) return;
    this.sweeping = true;
    ctx.pipeToSelf(maintenance.sweepLearning(ctx.clock.now()), (o) => ({ type: "guardian.sweep-finished", error: o.ok ? undefined : o.error.message }));
  }

  // ---- learning ----------------------------------------------------------------------------------

  private coactivated(tokens: Uint32Array, ctx: ActorContext<GuardianMessage>): HypothesisProposals {
    const hub = this.env.hub;
    const c = hub.view.compiled;
    const now = ctx.clock.now();
    const cand = this.coactivation.observe(tokens, now, c.learning.coactivationWindowMs, c.learning.coactivationMinCount);
    if (cand.sources.length === 0) return { candidates: 0, records: new Uint8Array(0), sources: cand.sources, targets: cand.targets, rejected: [] };
    const gov = governHypotheses(cand.sources, cand.targets, c, hub.budget, now);
    const rejected = countRules(gov.violations);
    for (const r of rejected) hub.stats.proposalRejected(r.rule, r.count);
    return { candidates: cand.sources.length, records: gov.records, sources: gov.sources, targets: gov.targets, rejected };
  }

  private report(): GuardianReport {
    const hub = this.env.hub;
    const c = hub.view.compiled;
    const totals = hub.budget.totals;
    return {
      version: c.version,
      checksum: c.checksum,
      profile: c.profile,
      stats: hub.stats.snapshot(),
      quotas: hub.quotas.snapshot(),
      events: hub.events.stats(),
      mutations: { granted: totals.granted, refused: totals.refused, remaining: hub.budget.remaining(hub.now()) },
      rssSampledAt: hub.quotas.lastRssSampleAt,
    };
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
