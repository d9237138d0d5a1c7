/**
 * The catalogue of `neurograph_*` families (DESIGN §7): names, help, label sets and buckets.
 * Histograms keep ≤ 12 buckets so a scrape stays cheap.
 */
import { SPACES } from "../core/token/columns.ts";
import { CounterFamily, GaugeFamily, HistogramFamily, type AnyFamily, type LabelDim } from "./families.ts";
import { BoundedLabel, ShardLabel, closedLabel } from "./labels.ts";

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
/** Repairs of the edge reconciliation at node start (a cross-shard connection torn by a crash). */
export const EDGE_REPAIR_KINDS = ["mirror_added", "mirror_updated", "mirror_removed", "owner_removed"] as const;
export type EdgeRepairKind = (typeof EDGE_REPAIR_KINDS)[number];
export type QuotaLevel = "soft" | "hard";
/** Outcomes of a counted sampling event (`src/sampling`'s SamplingOutcome): the `outcome` label. */
export const SAMPLING_OUTCOME_LABELS = ["sampled", "dropped", "ignored"] as const;
export type SamplingOutcomeLabel = (typeof SAMPLING_OUTCOME_LABELS)[number];

export const DEFAULT_ACTOR_KINDS = ["shard", "wal", "guardian", "field", "ingest"] as const;
export const DEFAULT_QUOTAS = ["tokens", "connections", "memory_bytes"] as const;
export const DEFAULT_VALIDATION_KINDS = ["token", "connection", "constitution"] as const;

export const LINT_FAILING_DEFAULTS = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"];

const SECONDS_FAST = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const SECONDS_RPC = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];
const SECONDS_STEP = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SECONDS_REPLAY = [0.01, 0.05, 0.25, 1, 2, 5, 10, 30, 120];
const BATCH_RECORDS = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];

/** The label sets of a registry (bounded; see labels.ts). */
export interface RegistryLabels {
  readonly shard: ShardLabel;
  readonly actorKind: BoundedLabel;
  readonly grpcMethod: BoundedLabel;
  readonly rule: BoundedLabel;
  readonly quota: BoundedLabel;
  readonly validationKind: BoundedLabel;
  readonly samplingReason: BoundedLabel;
  readonly natsKind: BoundedLabel;
  readonly walOp: BoundedLabel;
  readonly edgeRepair: BoundedLabel;
}

export interface CatalogOptions {
  readonly shards: number;
  readonly version?: string;
  readonly actorKinds?: readonly string[];
  readonly grpcMethods?: readonly string[];
  readonly guardianRules?: readonly string[];
  readonly quotas?: readonly string[];
  readonly samplingReasons?: readonly string[];
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
  readonly walEdgeRepairs: CounterFamily;
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

/** `/neurograph.v1.TokenService/Get` → `neurograph.v1.TokenService/Get` (the label value). */
export function normaliseGrpcMethod(method: string): string {
  return method.startsWith("/") ? method.slice(1) : method;
}

/** Builds every family, in exposition order, with its known series initialised. */
export function buildCatalog(options: CatalogOptions): { labels: RegistryLabels; families: RegistryFamilies; ordered: AnyFamily[] } {
  const labels: RegistryLabels = {
    shard: new ShardLabel(options.shards),
    actorKind: new BoundedLabel({ known: options.actorKinds ?? DEFAULT_ACTOR_KINDS, maxDynamic: 32 }),
    grpcMethod: new BoundedLabel({ known: (options.grpcMethods ?? []).map(normaliseGrpcMethod), maxDynamic: 128 }),
    rule: new BoundedLabel({ known: options.guardianRules ?? [], maxDynamic: 64 }),
    quota: new BoundedLabel({ known: options.quotas ?? DEFAULT_QUOTAS, maxDynamic: 16 }),
    validationKind: new BoundedLabel({ known: DEFAULT_VALIDATION_KINDS, maxDynamic: 8 }),
    samplingReason: new BoundedLabel({ known: options.samplingReasons ?? [], maxDynamic: 32 }),
    natsKind: closedLabel([...NATS_SUBJECT_KINDS]),
    walOp: closedLabel([...WAL_ERROR_OPS]),
    edgeRepair: closedLabel([...EDGE_REPAIR_KINDS]),
  };
  const ordered: AnyFamily[] = [];
  const add = <F extends AnyFamily>(family: F): F => {
    ordered.push(family);
    return family;
  };

    const shard: LabelDim = { name: "shard", label: labels.shard };
    const kind: LabelDim = { name: "kind", label: labels.actorKind };
    const method: LabelDim = { name: "method", label: labels.grpcMethod };
    const quota: LabelDim = { name: "quota", label: labels.quota };
    const natsDims: LabelDim[] = [
      { name: "subject_kind", label: labels.natsKind },
      { name: "direction", label: closedLabel(["in", "out"]) },
    ];

    const build = add(new GaugeFamily("neurograph_build_info", "NeuroGraph build; the value is always 1", [
      { name: "version", label: closedLabel([options.version ?? "unknown"]) },
      { name: "node_version", label: closedLabel([process.version]) },
    ]));
    build.set(0, 1);

    const tokens = add(new GaugeFamily("neurograph_tokens", "Tokens stored, by shard", [shard]));
    const connections = add(new GaugeFamily("neurograph_connections", "Connections stored, by shard", [shard]));
    const fields = add(new GaugeFamily("neurograph_fields", "Semantic fields currently detected, by space (L1..L8)", [
      { name: "space", label: closedLabel(Array.from({ length: SPACES }, (_, i) => `L${i + 1}`)) },
    ]));
    const hierarchyDepth = add(new GaugeFamily("neurograph_hierarchy_depth", "Deepest level of the emergent token hierarchy", []));

    const walAppends = add(new CounterFamily("neurograph_wal_appends_total", "WAL records appended and committed", []));
    const walBytes = add(new CounterFamily("neurograph_wal_bytes_total", "Bytes of WAL records committed", []));
    const walCommitSeconds = add(new HistogramFamily("neurograph_wal_commit_duration_seconds", "Time of one durable WAL group commit", [], SECONDS_FAST));
    const walBatchRecords = add(new HistogramFamily("neurograph_wal_batch_records", "Records per WAL group commit", [], BATCH_RECORDS));
    const walReplayRecords = add(new CounterFamily("neurograph_wal_replay_records_total", "WAL records replayed during recovery", []));
    const walReplaySeconds = add(new HistogramFamily("neurograph_wal_replay_duration_seconds", "Time to recover one shard (snapshot load and replay)", [], SECONDS_REPLAY));
    const walPendingBytes = add(new GaugeFamily("neurograph_wal_pending_bytes", "Bytes queued for the next WAL commit, by shard", [shard]));
    const walErrors = add(new CounterFamily("neurograph_wal_errors_total", "WAL operations that failed, by operation", [{ name: "op", label: labels.walOp }]));
    const walEdgeRepairs = add(
      new CounterFamily("neurograph_wal_edge_repairs_total", "Cross-shard connection sides repaired at node start (torn by a crash), by kind", [{ name: "kind", label: labels.edgeRepair }]),
    );

    const guardianValidations = add(new CounterFamily("neurograph_guardian_validations_total", "Items validated by the guardian, by kind", [{ name: "kind", label: labels.validationKind }]));
    const guardianRejections = add(new CounterFamily("neurograph_guardian_rejections_total", "Items rejected by the guardian, by rule", [{ name: "rule", label: labels.rule }]));
    guardianRejections.add(labels.rule.otherIndex, 0);
    const quotaUsage = add(new GaugeFamily("neurograph_quota_usage_ratio", "Quota usage as a fraction of its limit, by quota", [quota]));
    const quotaExceededTotal = add(new CounterFamily("neurograph_quota_exceeded_total", "Quota thresholds crossed, by quota and level (soft, hard)", [
      quota,
      { name: "level", label: closedLabel(["soft", "hard"]) },
    ]));

    const fieldStepSeconds = add(new HistogramFamily("neurograph_field_step_duration_seconds", "Time of one force step", [], SECONDS_STEP));

    const actors = add(new GaugeFamily("neurograph_actors", "Live actors, by kind", [kind]));
    const mailboxDepth = add(new GaugeFamily("neurograph_actor_mailbox_depth", "Messages queued in mailboxes, summed over the actors of a kind", [kind]));
    const mailboxDepthMax = add(new GaugeFamily("neurograph_actor_mailbox_depth_max", "Deepest mailbox among the actors of a kind", [kind]));
    const actorRestarts = add(new CounterFamily("neurograph_actor_restarts_total", "Actor restarts by their supervisor, by kind", [kind]));
    const actorMessages = add(new CounterFamily("neurograph_actor_messages_total", "Messages processed by actors, by kind", [kind]));
    const overloadRejections = add(new CounterFamily("neurograph_actor_overload_rejections_total", "Messages rejected because a mailbox was full, by kind", [kind]));

    const grpcHandledTotal = add(new CounterFamily("neurograph_grpc_server_handled_total", "gRPC calls completed, by method and status code", [
      method,
      { name: "code", label: closedLabel(GRPC_CODE_NAMES) },
    ]));
    const grpcHandlingSeconds = add(new HistogramFamily("neurograph_grpc_server_handling_seconds", "gRPC call handling time, by method", [method], SECONDS_RPC));
    const natsMessagesTotal = add(new CounterFamily("neurograph_nats_messages_total", "NATS messages, by subject kind and direction", natsDims));
    const natsBytesTotal = add(new CounterFamily("neurograph_nats_bytes_total", "NATS payload bytes, by subject kind and direction", natsDims));

    const samplingDecisions = add(new CounterFamily("neurograph_sampling_decisions_total", "Trace sampling decisions, by reason and outcome (sampled, dropped; ignored for header and consistency events)", [
      { name: "reason", label: labels.samplingReason },
      { name: "outcome", label: closedLabel(SAMPLING_OUTCOME_LABELS) },
    ]));
    const samplingTailEvictions = add(new CounterFamily("neurograph_sampling_tail_evicted_traces_total", "Traces evicted from the full tail-sampling buffer", []));
    const collectErrors = add(new CounterFamily("neurograph_metrics_collect_errors_total", "Collect hooks that threw during a scrape", []));

    const families: RegistryFamilies = {
      tokens, connections, fields, hierarchyDepth, walAppends, walBytes, walCommitSeconds, walBatchRecords, walReplayRecords, walReplaySeconds, walPendingBytes, walErrors, walEdgeRepairs, guardianValidations, guardianRejections, quotaUsage, quotaExceededTotal, fieldStepSeconds, actors, mailboxDepth, mailboxDepthMax, actorRestarts, actorMessages, overloadRejections, grpcHandledTotal, grpcHandlingSeconds, natsMessagesTotal, natsBytesTotal, samplingDecisions, samplingTailEvictions, collectErrors,
    };

  return { labels, families, ordered };
}
