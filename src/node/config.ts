/**
 * The configuration of an embedded node (`neurograph serve`): the runtime's node options plus
 * the gRPC server's (TLS, admin token, message sizes) and the WAL's (`--no-wal`, `--repair`,
 * snapshot and group-commit settings). Every option has
 * a flag, an `NG_*` variable and a config-file key (see `loadConfig`); `checkServeConfig` adds
 * the rules that involve several options.
 */
import { ValidationError, type FieldViolation } from "../core/errors.ts";
import { natsConfigSchema } from "../runtime/nats-config.ts";
import {
  boolean,
  byteSize,
  duration,
  integer,
  nodeConfigSchema,
  option,
  optional,
  path,
  string,
  type ConfigOf,
} from "../runtime/index.ts";
import { obsConfigSchema } from "./obs-config.ts";

const MAX_MESSAGE = 2 ** 31 - 1;

// The node id below serves both (its own alphabet is wider than NATS's, checked when --nats is set).
const { nodeId: _natsNodeId, ...natsOptions } = natsConfigSchema;

export const serveConfigSchema = {
  ...nodeConfigSchema,
  ...natsOptions,
  lease: option("lease", {
    key: "cluster.lease",
    default: "5s",
    description: "with --nats: how long a shard lease (and a node's heartbeat) lives without a refresh; a dead node's shards move after about this long",
    parser: duration({ minMs: 500, maxMs: 600_000 }),
  }),
  ingestJetstream: option("ingestJetstream", {
    key: "ingest.jetstream",
    default: "true",
    description: "with --nats: consume durable producer ingest from the JetStream stream NG_<cluster>_INGEST (needs JetStream on the servers)",
    parser: boolean(),
  }),
  ingestMaxAckPending: option("ingestMaxAckPending", {
    key: "ingest.maxAckPending",
    default: "64",
    description: "JetStream ingest messages unacknowledged at once over the whole cluster (back-pressure)",
    parser: integer({ min: 1, max: 100_000 }),
  }),
  ingestDuplicateWindow: option("ingestDuplicateWindow", {
    key: "ingest.duplicateWindow",
    default: "2m",
    description: "JetStream ingest: a message re-sent with the same Nats-Msg-Id within this window is dropped",
    parser: duration({ minMs: 100, maxMs: 7 * 86_400_000 }),
  }),
  ingestConcurrency: option("ingestConcurrency", {
    key: "ingest.concurrency",
    default: "8",
    description: "ingest batches this node applies at once, per path (core NATS, JetStream)",
    parser: integer({ min: 1, max: 1024 }),
  }),
  ...obsConfigSchema,
  nodeId: option("nodeId", {
    default: "",
    description: "name of this node in logs, stats and metrics (default: the host name)",
    parser: optional(string({ pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, expected: "letters, digits, '.', '_' or '-' (at most 64)" })),
  }),
  adminToken: option("adminToken", {
    default: "",
    description: "bearer token AdminService calls must carry (at least 16 characters; unset = no token needed)",
    parser: optional(string({ pattern: /^[\x21-\x7e]{16,}$/, expected: "at least 16 printable characters without spaces, e.g. from `openssl rand -hex 32`" })),
  }),
  tlsCert: option("tlsCert", { default: "", description: "PEM certificate chain of the gRPC server (enables TLS; needs --tls-key)", parser: optional(path()) }),
  tlsKey: option("tlsKey", { default: "", description: "PEM private key of the gRPC server", parser: optional(path()) }),
  tlsCa: option("tlsCa", { default: "", description: "PEM CA bundle that client certificates must chain to (with --tls-client-auth)", parser: optional(path()) }),
  tlsClientAuth: option("tlsClientAuth", { key: "tls.clientAuth", default: "false", description: "require and verify client certificates (mTLS; needs --tls-ca)", parser: boolean() }),
  maxRecvMessage: option("maxRecvMessage", {
    key: "grpc.maxRecvMessage",
    default: "16MiB",
    description: "largest gRPC request message accepted (larger ones get RESOURCE_EXHAUSTED)",
    parser: byteSize({ min: 1024, max: MAX_MESSAGE }),
  }),
  maxSendMessage: option("maxSendMessage", {
    key: "grpc.maxSendMessage",
    default: "64MiB",
    description: "largest gRPC response message sent",
    parser: byteSize({ min: 1024, max: MAX_MESSAGE }),
  }),
  fieldThreads: option("fieldThreads", {
    key: "field.threads",
    default: "0",
    description: "worker threads of the field engine's pool (0 = cores − 1, at least 1)",
    parser: integer({ min: 0, max: 256 }),
  }),
  fieldBatch: option("fieldBatch", {
    key: "field.batch",
    default: "10",
    description: "force steps per field batch (fields are detected and the hierarchy updated after each batch)",
    parser: integer({ min: 1, max: 10_000 }),
  }),
  repair: option("repair", {
    default: "false",
    description: "start even when a shard log is damaged, truncating it at the first bad record (data after it is lost)",
    parser: boolean(),
  }),
  wal: option("wal", {
    key: "wal.enabled",
    default: "true",
    description:
      "keep a write-ahead log (LMDB) in the data directory; --no-wal keeps tokens and connections ONLY IN MEMORY: everything is LOST when the process stops",
    parser: boolean(),
  }),
  snapshotEveryRecords: option("snapshotEveryRecords", {
    key: "wal.snapshotEveryRecords",
    default: "100000",
    description: "a shard writes a snapshot (and prunes its log) after this many log records…",
    parser: integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  }),
  snapshotInterval: option("snapshotInterval", {
    key: "wal.snapshotInterval",
    default: "10m",
    description: "…or when this much time passed since the first record after the last snapshot",
    parser: duration({ minMs: 1000, maxMs: 7 * 24 * 3_600_000 }),
  }),
  walBatchBytes: option("walBatchBytes", {
    key: "wal.batchBytes",
    default: "16MiB",
    description: "most log bytes one group commit (one LMDB transaction) takes",
    parser: byteSize({ min: 64 * 1024, max: 1024 * 1024 * 1024 }),
  }),
  walBatchDelay: option("walBatchDelay", {
    key: "wal.batchDelay",
    default: "0ms",
    description: "how long the first queued record may wait for company before its commit starts (0ms: end of the event-loop turn)",
    parser: duration({ minMs: 0, maxMs: 1000 }),
  }),
  walQueueBytes: option("walQueueBytes", {
    key: "wal.queueBytes",
    default: "256MiB",
    description: "per shard: bytes of writes waiting for the disk before writers get RESOURCE_EXHAUSTED",
    parser: byteSize({ min: 64 * 1024, max: 64 * 1024 * 1024 * 1024 }),
  }),
};

export type ServeConfig = ConfigOf<typeof serveConfigSchema>;

/** Rules across options; throws one ValidationError naming the flags and variables involved. */
export function checkServeConfig(config: ServeConfig): void {
  const problems: FieldViolation[] = [];
  const add = (field: string, description: string): void => {
    problems.push({ field, rule: "config", description });
  };
  const s = serveConfigSchema;
  const name = (o: { flag: string; env: string }): string => `--${o.flag} / ${o.env}`;
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    add("tlsCert", `${name(s.tlsCert)} and ${name(s.tlsKey)} go together: give both to enable TLS, or neither`);
  }
  if (config.tlsClientAuth && config.tlsCa === undefined) {
    add("tlsCa", `${name(s.tlsClientAuth)} needs ${name(s.tlsCa)}: the CA that client certificates must chain to`);
  }
  if (config.tlsClientAuth && config.tlsCert === undefined) {
    add("tlsCert", `${name(s.tlsClientAuth)} needs TLS: give ${name(s.tlsCert)} and ${name(s.tlsKey)}`);
  }
  if (config.metricsAddr.port !== 0 && config.metricsAddr.port === config.grpcAddr.port && config.metricsAddr.host === config.grpcAddr.host) {
    add("metricsAddr", `${name(s.metricsAddr)} (${config.metricsAddr.address}) must differ from ${name(s.grpcAddr)}`);
  }
  if (config.nats !== undefined && config.nodeId !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(config.nodeId)) {
    add("nodeId", `with ${name(s.nats)}, ${name(s.nodeId)} may hold only A-Z, a-z, 0-9, '-', '_' (it names the node in NATS subjects), got ${config.nodeId}`);
  }
  if (problems.length > 0) {
    const lines = problems.map((p) => `  ${p.description}`).join("\n");
    throw new ValidationError(`invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${lines}`, problems);
  }
}
