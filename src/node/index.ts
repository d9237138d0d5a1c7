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
export { NodeObservability, type NodeObservabilityOptions, type NodeTracingOptions } from "./node-observability.ts";
export { obsConfigSchema, samplingPatch, anonymousHeaderRights, TRACING_MODES, type TracingMode, type AnonymousHeaderRights } from "./obs-config.ts";
export { TracingInterceptor, statusCodeOf, type TracingInterceptorOptions } from "./tracing-interceptor.ts";
export { tracingObserver } from "./tracing-observer.ts";
export { TracedShardLog } from "./traced-shard-log.ts";
