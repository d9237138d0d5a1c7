/**
 * The guardian's shared, in-process state of one node: the active constitution (a read-only view
 * every shard reads per batch: no message per token), the quota gate, the mutation budget, the
 * counters and the event hub. The node creates one hub before it starts the guardian and the
 * shards and hands it to all of them; it outlives actor restarts (like a shard's log).
 *
 * Only the guardian actor installs new constitutions (`install`); shards read `view` and use the
 * gate, budget and counters directly (see `ShardGuard`).
 */
import {
  compileConstitution,
  decodeConstitution,
  defaultConstitution,
  encodeConstitution,
  profileName,
  type CompiledConstitution,
  type Constitution,
} from "../../core/constitution/index.ts";
import type { FieldViolation } from "../../core/errors.ts";
import type { BlackBox, MetricsRegistry } from "../../telemetry/index.ts";
import { EventHub, QUOTA_NAMES, countRules, type ConstitutionAction, type GuardianEvent, type QuotaLevelName, type QuotaName } from "./events.ts";
import { MutationBudget } from "./learning.ts";
import { QuotaGate } from "./quota.ts";
import { GuardianStats } from "./stats.ts";

/** A constitution in every form its readers need. Never modify any part of it. */
export interface ActiveConstitution {
  readonly document: Constitution;
  /** The stored (canonical) encoding. */
  readonly bytes: Uint8Array;
  readonly compiled: CompiledConstitution;
}

/** Decodes / encodes and compiles a valid document (throws ValidationError listing every violation). */
export function activeConstitution(input: Constitution | Uint8Array): ActiveConstitution {
  const document = input instanceof Uint8Array ? decodeConstitution(input) : input;
  const compiled = compileConstitution(document);
  const bytes = input instanceof Uint8Array ? Uint8Array.from(input) : encodeConstitution(document);
  return Object.freeze({ document, bytes, compiled });
}

export type ConstitutionListener = (next: ActiveConstitution, previous: ActiveConstitution) => void;

/** The local read-only copy of the active constitution. Reading `compiled` costs one property load. */
export class ConstitutionView {
  private active: ActiveConstitution;
  private readonly listeners = new Set<ConstitutionListener>();

  constructor(initial: ActiveConstitution) {
    this.active = initial;
  }

  get current(): ActiveConstitution {
    return this.active;
  }

  get compiled(): CompiledConstitution {
    return this.active.compiled;
  }

  get version(): number {
    return this.active.compiled.version;
  }

  /**
   * Called synchronously after every change, in the guardian's turn (e.g. a field actor that
   * must re-read its physics parameters; forward to an actor with a tell). Returns an
   * unsubscribe function.
   */
  onChange(listener: ConstitutionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Installs `next` (guardian only: use `GuardianHub.install`). */
  set(next: ActiveConstitution): void {
    const previous = this.active;
    this.active = next;
    for (const l of this.listeners) l(next, previous);
  }
}

export interface GuardianHubOptions {
  readonly shardCount: number;
  /** The constitution until the guardian has recovered its log (default: the default document). */
  readonly initial?: Constitution;
  readonly metrics?: MetricsRegistry;
  readonly blackBox?: BlackBox;
  /** Epoch milliseconds (event times). */
  readonly now?: () => number;
  /** Events buffered per subscriber before the oldest are dropped (default 1024). */
  readonly subscriberCapacity?: number;
  /** Validation failures are written to the black box at most once per this many ms (default 1000). */
  readonly blackBoxValidationIntervalMs?: number;
}

export interface ConstitutionChangeInfo {
  readonly action: ConstitutionAction;
  readonly author?: string;
  readonly comment?: string;
}

export type QuotaLevelHandler = (quota: QuotaName, level: QuotaLevelName) => void;

export class GuardianHub {
  readonly shardCount: number;
  readonly view: ConstitutionView;
  readonly quotas: QuotaGate;
  readonly budget: MutationBudget;
  readonly stats: GuardianStats;
  readonly events: EventHub;
  readonly metrics: MetricsRegistry | undefined;
  readonly now: () => number;
  private levelHandler: QuotaLevelHandler | undefined;
  private readonly blackBox: BlackBox | undefined;
  private readonly bbInterval: number;
  private bbLastValidation = -Infinity;
  private bbSuppressed = 0;

  constructor(options: GuardianHubOptions) {
    this.shardCount = options.shardCount;
    this.now = options.now ?? Date.now;
    this.metrics = options.metrics;
    this.blackBox = options.blackBox;
    this.bbInterval = options.blackBoxValidationIntervalMs ?? 1000;
    const initial = activeConstitution(options.initial ?? defaultConstitution());
    this.view = new ConstitutionView(initial);
    this.stats = new GuardianStats(options.metrics);
    this.events = new EventHub({ defaultCapacity: options.subscriberCapacity }, this.now);
    this.quotas = new QuotaGate(options.shardCount, initial.compiled.quotas);
    this.budget = new MutationBudget(initial.compiled.learning);
    this.quotas.onLevelChange((quota, level, usage, limit) => {
      this.events.publish({ kind: "quota", quota, level, usage, limit });
      if (level !== "normal") this.metrics?.quotaExceeded(quota, level);
      this.levelHandler?.(quota, level);
    });
    this.budget.onCapHit((hit) => this.events.publish({ kind: "mutation_cap", ...hit }));
    this.events.onPublish((e) => this.record(e));
  }

  /** The guardian actor's hook for quota level changes (cleanup scheduling). */
  onQuotaLevel(handler: QuotaLevelHandler | undefined): void {
    this.levelHandler = handler;
  }

  /**
   * Makes `next` the active constitution on this node: the view (every shard's next batch uses
   * it), quota limits, the mutation cap; then one `constitution_updated` event. Guardian only.
   */
  install(next: ActiveConstitution, change: ConstitutionChangeInfo): void {
    const previous = this.view.current;
    this.view.set(next);
    this.quotas.setLimits(next.compiled.quotas);
    this.budget.setParams(next.compiled.learning);
    const m = next.document.metadata;
    this.events.publish({
      kind: "constitution_updated",
      action: change.action,
      fromVersion: previous.compiled.version,
      toVersion: next.compiled.version,
      checksum: next.compiled.checksum,
      profile: profileName(next.compiled.profile) ?? "unknown",
      author: change.author ?? m?.author ?? "",
      comment: change.comment ?? m?.comment ?? "",
    });
  }

  /**
   * One validated batch: counts it, and when anything was rejected publishes one aggregated
   * `validation_failed` event (never one per item).
   */
  validated(source: string, itemKind: string, items: number, violations: readonly FieldViolation[], rejected: number, wholeBatch: boolean): void {
    this.stats.recordValidation(itemKind, items, violations);
    if (rejected === 0 && violations.length === 0) return;
    this.events.publish({
      kind: "validation_failed",
      source,
      itemKind,
      items,
      rejected,
      wholeBatch,
      rules: countRules(violations),
      sample: violations[0],
    });
  }

  /** Sets the quota usage gauges (the guardian calls this once per RSS sample). */
  publishQuotaUsage(): void {
    const m = this.metrics;
    if (m === undefined) return;
    for (const u of this.quotas.snapshot()) m.setQuotaUsage(u.quota, u.ratio);
  }

  /** Black-box record of an event; validation failures at most once per interval (counts kept). */
  private record(e: GuardianEvent): void {
    const bb = this.blackBox;
    if (bb === undefined) return;
    switch (e.kind) {
      case "constitution_updated":
        bb.constitutionChange(e.fromVersion, e.toVersion, e.action, { checksum: e.checksum, profile: e.profile, author: e.author, comment: e.comment });
        return;
      case "quota":
        if (e.level === "normal") bb.record("quota", "guardian", `quota ${e.quota} back below its soft threshold: ${e.usage} of ${e.limit}`, { quota: e.quota, level: e.level, usage: e.usage, limit: e.limit });
        else bb.quota(e.quota, e.level, e.usage, e.limit);
        return;
      case "cleanup_done":
        bb.record("generic", "guardian", `cleanup (${e.trigger}) removed ${e.connectionsRemoved} connections and ${e.tokensRemoved} tokens`, {
          event: "cleanup_done",
          trigger: e.trigger,
          connections_removed: e.connectionsRemoved,
          tokens_removed: e.tokensRemoved,
          duration_ms: e.durationMs,
          error: e.error ?? null,
        });
        return;
      case "mutation_cap":
        bb.record("generic", "guardian", `mutation-rate cap ${e.cap} per ${e.intervalMs} ms reached; learning proposals refused until the next interval`, {
          event: "mutation_cap",
          cap: e.cap,
          interval_ms: e.intervalMs,
          window_start_ms: e.windowStartMs,
        });
        return;
      case "validation_failed": {
        if (e.timeMs - this.bbLastValidation < this.bbInterval) {
          this.bbSuppressed++;
          return;
        }
        this.bbLastValidation = e.timeMs;
        const rules = e.rules.map((r) => `${r.rule}×${r.count}`).join(", ");
        bb.record("generic", e.source, `${e.itemKind} batch rejected ${e.rejected} of ${e.items} items (${rules})`, {
          event: "validation_failed",
          item_kind: e.itemKind,
          items: e.items,
          rejected: e.rejected,
          whole_batch: e.wholeBatch,
          earlier_batches_not_recorded: this.bbSuppressed,
        });
        this.bbSuppressed = 0;
        return;
      }
      case "dropped":
        return;
    }
  }
}

/** Quota names (re-exported for wiring metrics: `new MetricsRegistry({ quotas: QUOTA_NAMES })`). */
export { QUOTA_NAMES };
