/**
 * The node-level configuration options known to the runtime. The CLI extends this schema with
 * its own options (`{ ...nodeConfigSchema, … }`) and loads it with `loadConfig`.
 */
import { option, type ConfigOf } from "./config.ts";
import { duration, hostPort, integer, oneOf, path } from "./config-parsers.ts";
import { DEFAULT_SHARD_COUNT } from "./placement.ts";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export const nodeConfigSchema = {
  grpcAddr: option("grpcAddr", {
    default: "127.0.0.1:50051",
    description: "address the gRPC API listens on (host:port; use 0.0.0.0 to listen beyond loopback)",
    parser: hostPort("127.0.0.1:50051"),
  }),
  dataDir: option("dataDir", {
    default: "./data",
    description: "directory for the WAL, snapshots and crash dumps",
    parser: path(),
  }),
  shards: option("shards", {
    default: String(DEFAULT_SHARD_COUNT),
    description: "number of virtual shards (fixed for the lifetime of the data)",
    parser: integer({ min: 1, max: 4096 }),
  }),
  metricsAddr: option("metricsAddr", {
    default: "127.0.0.1:9464",
    description: "address of the Prometheus /metrics endpoint (host:port)",
    parser: hostPort("127.0.0.1:9464"),
  }),
  mailboxCapacity: option("mailboxCapacity", {
    default: "1024",
    description: "messages an actor's mailbox holds before senders get RESOURCE_EXHAUSTED",
    parser: integer({ min: 1, max: 1_048_576 }),
  }),
  logLevel: option("logLevel", {
    default: "info",
    description: "log level",
    parser: oneOf(LOG_LEVELS),
  }),
  askTimeout: option("askTimeout", {
    default: "30s",
    description: "default deadline of requests between actors",
    parser: duration({ maxMs: 3_600_000 }),
  }),
  shutdownTimeout: option("shutdownTimeout", {
    default: "10s",
    description: "how long a graceful shutdown may take before it is forced",
    parser: duration({ maxMs: 3_600_000 }),
  }),
};

export type NodeConfig = ConfigOf<typeof nodeConfigSchema>;
