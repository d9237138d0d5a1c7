/**
 * Telemetry: Prometheus metrics and their HTTP endpoint, OpenTelemetry tracing with W3C
 * propagation helpers, structured logging with trace ids, the black box and fatal-error handling.
 * Samplers live in `src/sampling`; pass one to `startTracing({ sampler })`.
 */
export {
  MetricsRegistry, SAMPLING_OUTCOME_LABELS, GRPC_CODE_NAMES, NATS_SUBJECT_KINDS, WAL_ERROR_OPS, EDGE_REPAIR_KINDS, type EdgeRepairKind, DEFAULT_ACTOR_KINDS, DEFAULT_QUOTAS, DEFAULT_VALIDATION_KINDS,
  type MetricsRegistryOptions, type RegistryFamilies, type GrpcMethodMetrics, type ActorKindMetrics, type ActorMailboxSample,
  type NatsSubjectKind, type NatsDirection, type WalErrorOp, type QuotaLevel, type SamplingOutcomeLabel,
} from "./metrics.ts";
export { CounterFamily, GaugeFamily, HistogramFamily } from "./families.ts";
export { OTHER } from "./labels.ts";
export {
  startMetricsServer, parseListenAddress, validateListenAddress, DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT,
  type MetricsServer, type MetricsServerOptions, type ListenAddress, type Readiness, type ReadinessCheck,
} from "./http-server.ts";
export {
  startTracing, decideTracing, createTraceExporter, isTracingActive,
  type TracingOptions, type TracingHandle, type TracingDecision, type TraceExporterName, type OtlpProtocol,
} from "./tracing.ts";
export {
  withSpan, startSpan, withActiveSpan, recordSpanError, activeTraceIds, NOOP_SPAN, SpanKind,
  type SpanOptions, type TraceIds, type Attributes, type Context, type Span,
} from "./spans.ts";
export {
  injectHeaders, extractHeaders, traceHeaders, activeTraceHeaders, injectGrpcMetadata, extractGrpcMetadata, injectNatsHeaders, extractNatsHeaders,
  type GrpcMetadataLike, type NatsHeadersLike, type HeaderRecord,
} from "./propagation.ts";
export { createLogger, componentLogger, parseLogLevel, LOG_LEVELS, type Logger, type LoggerOptions, type LogLevel } from "./logger.ts";
export {
  BlackBox, errorAttributes, errorSummary,
  type BlackBoxEvent, type BlackBoxEventKind, type BlackBoxStats, type BlackBoxOptions, type BlackBoxDump, type BlackBoxAttributes,
  type BlackBoxAttributeValue,
} from "./black-box.ts";
export { installFatalHandlers, type FatalHandlerOptions, type FatalOrigin } from "./fatal.ts";
export { SampledContextManager, needsAsyncPropagation } from "./context-manager.ts";
export {
  captureTraceContext, startWalCommitSpan, withFieldStepSpan, withNatsIngestSpan, MAX_COMMIT_LINKS,
} from "./trace-hooks.ts";
