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
import { CounterFamily, GaugeFamily, HistogramFamily, type AnyFamily, type LabelDim } from "./families.ts";
import { BoundedLabel, ShardLabel, closedLabel } from "./labels.ts";
import { ValidationError } from "../core/errors.ts";

/** gRPC status code names by number (the `code` label of `neurograph_grpc_server_handled_total`). */
export const GRPC_CODE_NAMES = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
  "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
  "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
] as const;

export const NATS_SUBJECT_KINDS = ["ingest_tokens", "ingest_connections", "actor", "events", "kv", "stream"] as const;
export type NatsSubjectKind = (typeof NATS_SUBJECT_KINDS)[number] | "other";
export type NatsDirection = "in" | "out";
export const WAL_ERROR_OPS = ["append", "commit", "snapshot", "replay", "prune"] as const;
export type WalErrorOp = (typeof WAL_ERROR_OPS)[number] | "other";
export type QuotaLevel = "soft" | "hard";
/** OpenTelemetry's `SamplingDecision` numbering: 0 NOT_RECORD, 1 RECORD, 2 RECORD_AND_SAMPLED. */
export type SamplingDecisionCode = 0 | 1 | 2;
const SAMPLING_DECISIONS = ["drop", "record", "sample"] as const;

export const DEFAULT_ACTOR_KINDS = ["shard", "wal", "guardian", "field", "ingest"] as const;
export const DEFAULT_QUOTAS = ["tokens", "connections", "memory_bytes"] as const;
export const DEFAULT_VALIDATION_KINDS = ["token", "connection", "constitution"] as const;

const LINT_FAILING_DEFAULTS = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"];

const SECONDS_FAST = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const SECONDS_RPC = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];
const SECONDS_STEP = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SECONDS_REPLAY = [0.01, 0.05, 0.25, 1, 2, 5, 10, 30, 120];
const BATCH_RECORDS = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];

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

/** Every `neurograph_*` family (besides build info), by role. */
export interface RegistryFamilies {
  readonly tokens: GaugeFamily;
  readonly connections: GaugeFamily;
  readonly fields: GaugeFamily;
  readonly hierarchyDepth: GaugeFamily;
  readonly walAppends: CounterFamily;
  readonly walBytes: CounterFamily;
  readonly walCommitSeconds: HistogramFamily;
  readonly walBatchRecords: HistogramFamily;
  readonly walReplayRecords: CounterFamily;
  readonly walReplaySeconds: HistogramFamily;
  readonly walPendingBytes: GaugeFamily;
  readonly walErrors: CounterFamily;
  readonly guardianValidations: CounterFamily;
  readonly guardianRejections: CounterFamily;
  readonly quotaUsage: GaugeFamily;
  readonly quotaExceededTotal: CounterFamily;
  readonly fieldStepSeconds: HistogramFamily;
  readonly actors: GaugeFamily;
  readonly mailboxDepth: GaugeFamily;
  readonly mailboxDepthMax: GaugeFamily;
  readonly actorRestarts: CounterFamily;
  readonly actorMessages: CounterFamily;
  readonly overloadRejections: CounterFamily;
  readonly grpcHandledTotal: CounterFamily;
  readonly grpcHandlingSeconds: HistogramFamily;
  readonly natsMessagesTotal: CounterFamily;
  readonly natsBytesTotal: CounterFamily;
  readonly samplingDecisions: CounterFamily;
  readonly samplingTailEvictions: CounterFamily;
  readonly collectErrors: CounterFamily;
}

export class MetricsRegistry {
  /** prom-client registry holding the default collectors; others may add prom-client metrics to it. */
  readonly prometheus: Registry;
  readonly contentType: string;
  readonly shards: number;

  private readonly ordered: AnyFamily[] = [];
  private readonly hooks = new Set<() => void>();
  private readonly shardLabel: ShardLabel;
  private readonly actorKind: BoundedLabel;
  private readonly grpcMethodLabel: BoundedLabel;
  private readonly ruleLabel: BoundedLabel;
  private readonly quotaLabel: BoundedLabel;
  private readonly validationKind: BoundedLabel;
  private readonly samplingReason: BoundedLabel;
  private readonly natsKind = closedLabel([...NATS_SUBJECT_KINDS]);
  private readonly walOps = closedLabel([...WAL_ERROR_OPS]);
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
    this.shardLabel = new ShardLabel(shards);
    this.actorKind = new BoundedLabel({ known: options.actorKinds ?? DEFAULT_ACTOR_KINDS, maxDynamic: 32 });
    this.grpcMethodLabel = new BoundedLabel({ known: (options.grpcMethods ?? []).map(normaliseGrpcMethod), maxDynamic: 128 });
    this.ruleLabel = new BoundedLabel({ known: options.guardianRules ?? [], maxDynamic: 64 });
    this.quotaLabel = new BoundedLabel({ known: options.quotas ?? DEFAULT_QUOTAS, maxDynamic: 16 });
    this.validationKind = new BoundedLabel({ known: DEFAULT_VALIDATION_KINDS, maxDynamic: 8 });
    this.samplingReason = new BoundedLabel({ known: options.samplingReasons ?? [], maxDynamic: 32 });

    const shard: LabelDim = { name: "shard", label: this.shardLabel };
    const kind: LabelDim = { name: "kind", label: this.actorKind };
    const method: LabelDim = { name: "method", label: this.grpcMethodLabel };
    const quota: LabelDim = { name: "quota", label: this.quotaLabel };
    const natsDims: LabelDim[] = [
      { name: "subject_kind", label: this.natsKind },
      { name: "direction", label: closedLabel(["in", "out"]) },
    ];

    const build = this.add(new GaugeFamily("neurograph_build_info", "NeuroGraph build; the value is always 1", [
      { name: "version", label: closedLabel([options.version ?? "unknown"]) },
      { name: "node_version", label: closedLabel([process.version]) },
    ]));
    build.set(0, 1);

    const tokens = this.add(new GaugeFamily("neurograph_tokens", "Tokens stored, by shard", [shard]));
    const connections = this.add(new GaugeFamily("neurograph_connections", "Connections stored, by shard", [shard]));
    const fields = this.add(new GaugeFamily("neurograph_fields", "Semantic fields currently detected, by space (L1..L8)", [
      { name: "space", label: closedLabel(Array.from({ length: SPACES }, (_, i) => `L${i + 1}`)) },
    ]));
    const hierarchyDepth = this.add(new GaugeFamily("neurograph_hierarchy_depth", "Deepest level of the emergent token hierarchy", []));

    const walAppends = this.add(new CounterFamily("neurograph_wal_appends_total", "WAL records appended and committed", []));
    const walBytes = this.add(new CounterFamily("neurograph_wal_bytes_total", "Bytes of WAL records committed", []));
    const walCommitSeconds = this.add(new HistogramFamily("neurograph_wal_commit_duration_seconds", "Time of one durable WAL group commit", [], SECONDS_FAST));
    const walBatchRecords = this.add(new HistogramFamily("neurograph_wal_batch_records", "Records per WAL group commit", [], BATCH_RECORDS));
    const walReplayRecords = this.add(new CounterFamily("neurograph_wal_replay_records_total", "WAL records replayed during recovery", []));
    const walReplaySeconds = this.add(new HistogramFamily("neurograph_wal_replay_duration_seconds", "Time to recover one shard (snapshot load and replay)", [], SECONDS_REPLAY));
    const walPendingBytes = this.add(new GaugeFamily("neurograph_wal_pending_bytes", "Bytes queued for the next WAL commit, by shard", [shard]));
    const walErrors = this.add(new CounterFamily("neurograph_wal_errors_total", "WAL operations that failed, by operation", [{ name: "op", label: this.walOps }]));

    const guardianValidations = this.add(new CounterFamily("neurograph_guardian_validations_total", "Items validated by the guardian, by kind", [{ name: "kind", label: this.validationKind }]));
    const guardianRejections = this.add(new CounterFamily("neurograph_guardian_rejections_total", "Items rejected by the guardian, by rule", [{ name: "rule", label: this.ruleLabel }]));
    guardianRejections.add(this.ruleLabel.otherIndex, 0);
    const quotaUsage = this.add(new GaugeFamily("neurograph_quota_usage_ratio", "Quota usage as a fraction of its limit, by quota", [quota]));
    const quotaExceededTotal = this.add(new CounterFamily("neurograph_quota_exceeded_total", "Quota thresholds crossed, by quota and level (soft, hard)", [
      quota,
      { name: "level", label: closedLabel(["soft", "hard"]) },
    ]));

    const fieldStepSeconds = this.add(new HistogramFamily("neurograph_field_step_duration_seconds", "Time of one force step", [], SECONDS_STEP));

    const actors = this.add(new GaugeFamily("neurograph_actors", "Live actors, by kind", [kind]));
    const mailboxDepth = this.add(new GaugeFamily("neurograph_actor_mailbox_depth", "Messages queued in mailboxes, summed over the actors of a kind", [kind]));
    const mailboxDepthMax = this.add(new GaugeFamily("neurograph_actor_mailbox_depth_max", "Deepest mailbox among the actors of a kind", [kind]));
    const actorRestarts = this.add(new CounterFamily("neurograph_actor_restarts_total", "Actor restarts by their supervisor, by kind", [kind]));
    const actorMessages = this.add(new CounterFamily("neurograph_actor_messages_total", "Messages processed by actors, by kind", [kind]));
    const overloadRejections = this.add(new CounterFamily("neurograph_actor_overload_rejections_total", "Messages rejected because a mailbox was full, by kind", [kind]));

    const grpcHandledTotal = this.add(new CounterFamily("neurograph_grpc_server_handled_total", "gRPC calls completed, by method and status code", [
      method,
      { name: "code", label: closedLabel(GRPC_CODE_NAMES) },
    ]));
    const grpcHandlingSeconds = this.add(new HistogramFamily("neurograph_grpc_server_handling_seconds", "gRPC call handling time, by method", [method], SECONDS_RPC));
    const natsMessagesTotal = this.add(new CounterFamily("neurograph_nats_messages_total", "NATS messages, by subject kind and direction", natsDims));
    const natsBytesTotal = this.add(new CounterFamily("neurograph_nats_bytes_total", "NATS payload bytes, by subject kind and direction", natsDims));

    const samplingDecisions = this.add(new CounterFamily("neurograph_sampling_decisions_total", "Trace sampling decisions, by reason and decision (drop, record, sample)", [
      { name: "reason", label: this.samplingReason },
      { name: "decision", label: closedLabel(SAMPLING_DECISIONS) },
    ]));
    const samplingTailEvictions = this.add(new CounterFamily("neurograph_sampling_tail_evicted_traces_total", "Traces evicted from the full tail-sampling buffer", []));
    const collectErrors = this.add(new CounterFamily("neurograph_metrics_collect_errors_total", "Collect hooks that threw during a scrape", []));

    this.families = {
      tokens, connections, fields, hierarchyDepth, walAppends, walBytes, walCommitSeconds, walBatchRecords, walReplayRecords, walReplaySeconds, walPendingBytes, walErrors, guardianValidations, guardianRejections, quotaUsage, quotaExceededTotal, fieldStepSeconds, actors, mailboxDepth, mailboxDepthMax, actorRestarts, actorMessages, overloadRejections, grpcHandledTotal, grpcHandlingSeconds, natsMessagesTotal, natsBytesTotal, samplingDecisions, samplingTailEvictions, collectErrors,
    };

    this.prometheus = new Registry();
    this.contentType = this.prometheus.contentType;
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.prometheus });
      // Gauges named `*_total` fail `promtool check metrics`; each is the sum of its by-type family.
      for (const name of LINT_FAILING_DEFAULTS) this.prometheus.removeSingleMetric(name);
    }
  }

  private add<F extends AnyFamily>(family: F): F {
    this.ordered.push(family);
    return family;
  }

  /** Names of the `neurograph_*` families, in exposition order. */
  familyNames(): string[] {
    return this.ordered.map((f) => f.name);
  }

  // ---- graph ----
  setTokens(shard: number, count: number): void {
    this.families.tokens.set(this.shardLabel.indexOfShard(shard), count);
  }
  setConnections(shard: number, count: number): void {
    this.families.connections.set(this.shardLabel.indexOfShard(shard), count);
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
    this.families.walPendingBytes.set(this.shardLabel.indexOfShard(shard), bytes);
  }
  walError(op: WalErrorOp): void {
    this.families.walErrors.add(this.walOps.indexOf(op), 1);
  }

  // ---- guardian ----
  /** `count` items of `kind` (token, connection, constitution) validated. */
  guardianValidated(kind: string, count = 1): void {
    this.families.guardianValidations.add(this.validationKind.indexOf(kind), count);
  }
  /** `count` items rejected by `rule` (the FieldViolation rule id). */
  guardianRejected(rule: string, count = 1): void {
    this.families.guardianRejections.add(this.ruleLabel.indexOf(rule), count);
  }
  setQuotaUsage(quota: string, ratio: number): void {
    this.families.quotaUsage.set(this.quotaLabel.indexOf(quota), ratio);
  }
  quotaExceeded(quota: string, level: QuotaLevel): void {
    const f = this.families.quotaExceededTotal;
    f.add(f.series(this.quotaLabel.indexOf(quota), level === "soft" ? 0 : 1), 1);
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
    const i = this.actorKind.indexOf(kind);
    const f = this.families;
    const handle: ActorKindMetrics = {
      messages: (n = 1) => f.actorMessages.add(i, n),
      restarted: () => f.actorRestarts.add(i, 1),
      overloaded: (n = 1) => f.overloadRejections.add(i, n),
    };
    this.actorHandles.set(kind, handle);
    return handle;
  }
  actorMessage(kind: string, n = 1): void {
    this.families.actorMessages.add(this.actorKind.indexOf(kind), n);
  }
  actorRestarted(kind: string): void {
    this.families.actorRestarts.add(this.actorKind.indexOf(kind), 1);
  }
  actorOverloaded(kind: string, n = 1): void {
    this.families.overloadRejections.add(this.actorKind.indexOf(kind), n);
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
      const i = this.actorKind.indexOf(s.kind);
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
    const m = this.grpcMethodLabel.indexOf(normaliseGrpcMethod(method));
    const { grpcHandledTotal, grpcHandlingSeconds } = this.families;
    const handle: GrpcMethodMetrics = {
      handled: (code, seconds) => {
        // Unknown status numbers count as UNKNOWN (2).
        const c = Number.isInteger(code) && code >= 0 && code < GRPC_CODE_NAMES.length ? code : 2;
        grpcHandledTotal.add(grpcHandledTotal.series(m, c), 1);
        grpcHandlingSeconds.observe(m, seconds);
      },
    };
    this.grpcHandles.set(method, handle);
    return handle;
  }
  grpcHandled(method: string, code: number, seconds: number): void {
    this.grpcMethod(method).handled(code, seconds);
  }

  // ---- NATS ----
  /** `messages` messages with `bytes` payload bytes on subjects of one kind, in or out. */
  natsMessages(subjectKind: NatsSubjectKind, direction: NatsDirection, messages = 1, bytes = 0): void {
    const { natsMessagesTotal, natsBytesTotal } = this.families;
    const s = natsMessagesTotal.series(this.natsKind.indexOf(subjectKind), direction === "in" ? 0 : 1);
    natsMessagesTotal.add(s, messages);
    natsBytesTotal.add(s, bytes);
  }

  // ---- sampling ----
  samplingDecision(reason: string, decision: SamplingDecisionCode, n = 1): void {
    const f = this.families.samplingDecisions;
    f.add(f.series(this.samplingReason.indexOf(reason), decision), n);
  }
  /** Sets a cumulative total kept by a sampler itself (call from a collect hook). */
  setSamplingDecisionTotal(reason: string, decision: SamplingDecisionCode, total: number): void {
    const f = this.families.samplingDecisions;
    f.setTotal(f.series(this.samplingReason.indexOf(reason), decision), total);
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

/** `/neurograph.v1.TokenService/Get` → `neurograph.v1.TokenService/Get` (the label value). */
function normaliseGrpcMethod(method: string): string {
  return method.startsWith("/") ? method.slice(1) : method;
}
