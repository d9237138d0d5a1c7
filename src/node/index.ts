/**
 * The embedded node: configuration of `neurograph serve` and `startNode`, which assembles the
 * shard actors, the coordinator, the gRPC server and the metrics endpoint into a running node.
 */
export { serveConfigSchema, checkServeConfig, type ServeConfig } from "./config.ts";
export {
  startNode,
  volatileShardLogs,
  walShardLogs,
  type NodeHandle,
  type ShardLogContext,
  type ShardLogProvider,
  type ShardLogSetup,
  type StartNodeOptions,
} from "./start-node.ts";
export { walStatsOf, walTuningOf } from "./shard-logs.ts";
export { MetricsInterceptor, collectNodeFigures, metricsObserver } from "./observability.ts";
