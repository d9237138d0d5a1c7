/**
 * The node's metrics: every `neurograph_*` family of DESIGN §7, registered when the registry is
 * constructed (a fresh node already lists them all, unlike the original whose lazily registered
 * metrics left `/metrics` empty), with bounded label sets and typed, O(1) update methods.
 *
 * Callers batch: one call per WAL commit, per gRPC call, per field step, never per token.
 * Process and event-loop metrics come from prom-client's default collectors under their standard
 * names (`process_*`, `nodejs_*`, e.g. `nodejs_eventloop_lag_seconds`) so stock dashboards work.
 */
import { Registry, collectDefaultMetrics } from "prom-client";
import { SPACES } from "../core/token/columns.ts";
import { ValidationError } from "../core/errors.ts";
import {
  GRPC_CODE_NAMES, LINT_FAILING_DEFAULTS, buildCatalog, normaliseGrpcMethod,
  type NatsDirection, type NatsSubjectKind, type QuotaLevel, type RegistryFamilies, type RegistryLabels, type SamplingOutcomeLabel,
  type WalErrorOp, type EdgeRepairKind,
} from "./catalog.ts";
import type { AnyFamily } from "./families.ts";

export {
  SAMPLING_OUTCOME_LABELS, GRPC_CODE_NAMES, NATS_SUBJECT_KINDS, WAL_ERROR_OPS, EDGE_REPAIR_KINDS, DEFAULT_ACTOR_KINDS, DEFAULT_QUOTAS, DEFAULT_VALIDATION_KINDS,
  type EdgeRepairKind, type NatsDirection, type NatsSubjectKind, type QuotaLevel, type RegistryFamilies, type SamplingOutcomeLabel, type WalErrorOp,
} from "./catalog.ts";

const OUTCOME_INDEX: Readonly<Record<SamplingOutcomeLabel, number>> = { sampled: 0, dropped: 1, ignored: 2 };

export interface MetricsRegistryOptions {
  /** Number of virtual shards S (the `shard` label is `0..S-1`). Default 16. */
  readonly shards?: number;
  /** NeuroGraph version, exposed in `neurograph_build_info`. */
  readonly version?: string;
  /** Actor kinds known up front; others are admitted up to 32, then `other`. */
  readonly actorKinds?: readonly string[];
  /** Full gRPC method names (`/neurograph.v1.TokenService/Get` or `TokenService/Get`); others admitted up to 128. */
  readonly grpcMethods?: readonly string[];
  /** Guardian rule identifiers (the `rule` of a FieldViolation); others admitted up to 64. */
  readonly guardianRules?: readonly string[];
  /** Quota names; others admitted up to 16. */
  readonly quotas?: readonly string[];
  /** Sampling reasons reported by the samplers; others admitted up to 32. */
  readonly samplingReasons?: readonly string[];
  /** Register prom-client's process and Node.js collectors (default true). */
  readonly defaultMetrics?: boolean;
}

/** Metrics of one gRPC method, resolved once (the API layer keeps one per handler). */
export interface GrpcMethodMetrics {
  /** One finished call: its status code (grpc-js `status` number) and handling time. */
  handled(code: number, seconds: number): void;
}

/** Metrics of one actor kind, resolved once (the runtime keeps one per kind). */
export interface ActorKindMetrics {
  messages(n?: number): void;
  restarted(): void;
  overloaded(n?: number): void;
}

export interface ActorMailboxSample {
  readonly kind: string;
  readonly mailboxDepth: number;
}

export class MetricsRegistry {
  /** prom-client registry holding the default collectors; others may add prom-client metrics to it. */
  readonly prometheus: Registry;
  readonly contentType: string;
  readonly shards: number;

  private readonly ordered: AnyFamily[];
  private readonly hooks = new Set<() => void>();
  private readonly labels: RegistryLabels;
  private readonly actorHandles = new Map<string, ActorKindMetrics>();
  private readonly grpcHandles = new Map<string, GrpcMethodMetrics>();

  /** The families, for reading values in tests and collect hooks (update through the methods). */
  readonly families: RegistryFamilies;

  constructor(options: MetricsRegistryOptions = {}) {
    const shards = options.shards ?? 16;
    if (!Number.isInteger(shards) || shards < 1 || shards > 4096) {
      throw ValidationError.of("metrics options", [
        { field: "shards", value: String(shards), rule: "shard_count", description: "must be an integer from 1 to 4096" },
      ]);
    }
    this.shards = shards;
    const catalog = buildCatalog({ ...options, shards });
    this.labels = catalog.labels;
    this.families = catalog.families;
    this.ordered = catalog.ordered;

    this.prometheus = new Registry();
    this.contentType = this.prometheus.contentType;
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.prometheus });
      // Gauges named `*_total` fail `promtool check metrics`; each is the sum of its by-type family.
      for (const name of LINT_FAILING_DEFAULTS) this.prometheus.removeSingleMetric(name);
    }
  }

  /** Names of the `neurograph_*` families, in exposition order. */
  familyNames(): string[] {
    return this.ordered.map((f) => f.name);
  }

  // ---- graph ----
  setTokens(shard: number, count: number): void {
    this.families.tokens.set(this.labels.shard.indexOfShard(shard), count);
  }
  setConnections(shard: number, count: number): void {
    this.families.connections.set(this.labels.shard.indexOfShard(shard), count);
  }
  /** `space` is the space index 0..7 (L1..L8); other values are ignored. */
  setFields(space: number, count: number): void {
    if (Number.isInteger(space) && space >= 0 && space < SPACES) this.families.fields.set(space, count);
  }
  setHierarchyDepth(depth: number): void {
    this.families.hierarchyDepth.set(0, depth);
  }

  // ---- WAL ----
  /** One durable group commit of `records` records and `bytes` bytes that took `seconds`. */
  walCommit(seconds: number, records: number, bytes: number): void {
    const f = this.families;
    f.walAppends.add(0, records);
    f.walBytes.add(0, bytes);
    f.walCommitSeconds.observe(0, seconds);
    f.walBatchRecords.observe(0, records);
  }
  /** One shard's recovery: `records` replayed in `seconds` (snapshot load included). */
  walReplay(records: number, seconds: number): void {
    this.families.walReplayRecords.add(0, records);
    this.families.walReplaySeconds.observe(0, seconds);
  }
  setWalPendingBytes(shard: number, bytes: number): void {
    this.families.walPendingBytes.set(this.labels.shard.indexOfShard(shard), bytes);
  }
  walError(op: WalErrorOp): void {
    this.families.walErrors.add(this.labels.walOp.indexOf(op), 1);
  }
  /** Cross-shard connection sides the reconciliation at node start repaired. */
  walEdgeRepaired(kind: EdgeRepairKind, n: number): void {
    if (n > 0) this.families.walEdgeRepairs.add(this.labels.edgeRepair.indexOf(kind), n);
  }

  // ---- guardian ----
  /** `count` items of `kind` (token, connection, constitution) validated. */
  guardianValidated(kind: string, count = 1): void {
    this.families.guardianValidations.add(this.labels.validationKind.indexOf(kind), count);
  }
  /** `count` items rejected by `rule` (the FieldViolation rule id). */
  guardianRejected(rule: string, count = 1): void {
    this.families.guardianRejections.add(this.labels.rule.indexOf(rule), count);
  }
  setQuotaUsage(quota: string, ratio: number): void {
    this.families.quotaUsage.set(this.labels.quota.indexOf(quota), ratio);
  }
  quotaExceeded(quota: string, level: QuotaLevel): void {
    const f = this.families.quotaExceededTotal;
    f.add(f.series(this.labels.quota.indexOf(quota), level === "soft" ? 0 : 1), 1);
  }

  // ---- field ----
  fieldStep(seconds: number): void {
    this.families.fieldStepSeconds.observe(0, seconds);
  }

  // ---- actors ----
  /** Handle for one actor kind; resolve once, then each update is an array write. */
  actorKindMetrics(kind: string): ActorKindMetrics {
    const cached = this.actorHandles.get(kind);
    if (cached !== undefined) return cached;
    const i = this.labels.actorKind.indexOf(kind);
    const f = this.families;
    const handle: ActorKindMetrics = {
      messages: (n = 1) => f.actorMessages.add(i, n),
      restarted: () => f.actorRestarts.add(i, 1),
      overloaded: (n = 1) => f.overloadRejections.add(i, n),
    };
    // Only admitted kinds are cached, so the cache is as bounded as the label.
    if (i !== this.labels.actorKind.otherIndex) this.actorHandles.set(kind, handle);
    return handle;
  }
  actorMessage(kind: string, n = 1): void {
    this.families.actorMessages.add(this.labels.actorKind.indexOf(kind), n);
  }
  actorRestarted(kind: string): void {
    this.families.actorRestarts.add(this.labels.actorKind.indexOf(kind), 1);
  }
  actorOverloaded(kind: string, n = 1): void {
    this.families.overloadRejections.add(this.labels.actorKind.indexOf(kind), n);
  }
  /**
   * Replaces the actor gauges with an aggregate of `samples` (one per live actor): count, summed
   * and deepest mailbox per kind. Meant for a collect hook, so the message path pays nothing.
   */
  setActorMailboxes(samples: Iterable<ActorMailboxSample>): void {
    const { actors, mailboxDepth, mailboxDepthMax } = this.families;
    actors.zeroAll();
    mailboxDepth.zeroAll();
    mailboxDepthMax.zeroAll();
    for (const s of samples) {
      const i = this.labels.actorKind.indexOf(s.kind);
      actors.add(i, 1);
      mailboxDepth.add(i, s.mailboxDepth);
      mailboxDepthMax.set(i, Math.max(mailboxDepthMax.get(i), s.mailboxDepth));
    }
  }

  // ---- gRPC ----
  /** Handle for one gRPC method (full path or `Service/Method`); resolve once per handler. */
  grpcMethod(method: string): GrpcMethodMetrics {
    const cached = this.grpcHandles.get(method);
    if (cached !== undefined) return cached;
    const m = this.labels.grpcMethod.indexOf(normaliseGrpcMethod(method));
    const { grpcHandledTotal, grpcHandlingSeconds } = this.families;
    const handle: GrpcMethodMetrics = {
      handled: (code, seconds) => {
        // Unknown status numbers count as UNKNOWN (2).
        const c = Number.isInteger(code) && code >= 0 && code < GRPC_CODE_NAMES.length ? code : 2;
        grpcHandledTotal.add(grpcHandledTotal.series(m, c), 1);
        grpcHandlingSeconds.observe(m, seconds);
      },
    };
    if (m !== this.labels.grpcMethod.otherIndex) this.grpcHandles.set(method, handle);
    return handle;
  }
  grpcHandled(method: string, code: number, seconds: number): void {
    this.grpcMethod(method).handled(code, seconds);
  }

  // ---- NATS ----
  /** `messages` messages with `bytes` payload bytes on subjects of one kind, in or out. */
  natsMessages(subjectKind: NatsSubjectKind, direction: NatsDirection, messages = 1, bytes = 0): void {
    const { natsMessagesTotal, natsBytesTotal } = this.families;
    const s = natsMessagesTotal.series(this.labels.natsKind.indexOf(subjectKind), direction === "in" ? 0 : 1);
    natsMessagesTotal.add(s, messages);
    natsBytesTotal.add(s, bytes);
  }

  // ---- sampling ----
  samplingDecision(reason: string, outcome: SamplingOutcomeLabel, n = 1): void {
    const f = this.families.samplingDecisions;
    f.add(f.series(this.labels.samplingReason.indexOf(reason), OUTCOME_INDEX[outcome]), n);
  }
  /** Sets a cumulative total kept by a sampler itself (call from a collect hook). */
  setSamplingDecisionTotal(reason: string, outcome: SamplingOutcomeLabel, total: number): void {
    const f = this.families.samplingDecisions;
    f.setTotal(f.series(this.labels.samplingReason.indexOf(reason), OUTCOME_INDEX[outcome]), total);
  }
  samplingTailEvicted(traces: number): void {
    this.families.samplingTailEvictions.add(0, traces);
  }

  // ---- scraping ----
  /**
   * Registers a hook run at the start of every scrape, e.g. to copy shard sizes into gauges.
   * Hooks must be quick and synchronous; a throwing hook is counted and skipped. Returns an
   * unregister function.
   */
  onCollect(hook: () => void): () => void {
    this.hooks.add(hook);
    return () => this.hooks.delete(hook);
  }

  /** The `neurograph_*` families alone, in the text format (no default collectors). */
  renderOwn(): string {
    for (const hook of this.hooks) {
      try {
        hook();
      } catch {
        this.families.collectErrors.add(0, 1);
      }
    }
    const out: string[] = [];
    for (const f of this.ordered) f.render(out);
    out.push("");
    return out.join("\n");
  }

  /** The whole exposition: `neurograph_*` families, then process and Node.js metrics. */
  async metrics(): Promise<string> {
    const own = this.renderOwn();
    const defaults = await this.prometheus.metrics();
    return defaults.trim() === "" ? own : `${own}\n${defaults}`;
  }
}
