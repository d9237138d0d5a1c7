/**
 * The gRPC layer: server, services, error mapping, health, reflection, auth. Service logic lives
 * behind `NodeBackend`, which the actor layer implements.
 */
export type {
  ConnectionKeys,
  CreateTokensResult,
  DeleteTokensResult,
  GetConnectionsQuery,
  GetConnectionsResult,
  GetTokensResult,
  IngestOptions,
  ItemRejection,
  KNearestQuery,
  NeighborsQuery,
  NodeBackend,
  NodeStats,
  RangeQuery,
  RequestContext,
  ShardStats,
  ShortestPathQuery,
  ShortestPathResult,
  SpaceIndex,
  SpatialMatches,
  SpreadingActivationQuery,
  SpreadingActivationResult,
  TraverseQuery,
  TraverseResult,
  TypeFilter,
  WriteOptions,
  WriteResult,
} from "./backend.ts";
export { ShardState } from "./backend.ts";
export type { ActivateResult, ConstitutionState, FeedbackResult, GuardianBackend, RollbackOptions, WatchOptions } from "./guardian-backend.ts";
export { GUARDIAN_ADMIN_METHODS, GUARDIAN_GRAPH_METHODS, GuardianServiceHandlers, MAX_WATCH_BUFFER } from "./guardian-service.ts";
export {
  DEFAULT_API_LIMITS,
  DEFAULT_GRPC_ADDRESS,
  formatAddress,
  parseAddress,
  resolveApiServerConfig,
  type ApiLimits,
  type ApiServerConfig,
  type ApiServerOptions,
  type KeepaliveOptions,
  type ParsedAddress,
  type TlsOptions,
} from "./config.ts";
export {
  decodeStatusDetails,
  ERROR_DOMAIN,
  errorToStatus,
  GRPC_CODE_OF,
  parseViolationPath,
  STATUS_DETAILS_KEY,
  statusToError,
  violationPath,
  type StatusDetails,
  type StatusOptions,
} from "./errors.ts";
export { clientStreaming, serverStreaming, unary, type CallContext, type CallInfo, type CallInterceptor, type CallKind, type HandlerEnv, type MethodOptions } from "./handlers.ts";
export { BearerTokenAuth } from "./auth.ts";
export { HealthRegistry, ServingStatus } from "./health.ts";
export { addReflection, loadReflectionDefinition, PROTO_ROOT } from "./reflection.ts";
export { decodeConnections, decodeTokens, encodeConnectionKeys, encodeConnections, encodeTokens, CONNECTION_DEFAULTS, SPACE_SCALES } from "./records.ts";
export { GRAPH_QUERY_DEFAULTS } from "./graph-service.ts";
export {
  FieldServiceHandlers,
  type FieldBackend,
  type FieldEventData,
  type FieldEventName,
  type FieldRunState,
  type FieldStepResult,
  type FieldSummary,
  type ParentSummary,
} from "./field-service.ts";
export {
  BLACK_BOX_KINDS,
  ObservabilityServiceHandlers,
  type BlackBoxEventView,
  type BlackBoxView,
  type ObservabilityBackend,
  type SamplingView,
} from "./observability-service.ts";
export { ApiServer, SERVICE_NAMES, startApiServer, type ApiServerDeps, type BoundAddress } from "./server.ts";
