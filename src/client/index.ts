/**
 * The NeuroGraph client library (the package's main export): a typed client over gRPC with
 * batching helpers, retries and typed errors. Depends only on the generated code and the core
 * codecs, never on the server.
 *
 *   import { NeuroGraphClient } from "neurograph";
 *   const client = await NeuroGraphClient.connect({ address: "127.0.0.1:50051" });
 *   const { ids } = await client.createTokens([{ coords: { l1: [1, 2, 3] }, weight: 0.5 }]);
 */
import { NeuroGraphClient } from "./client.ts";
import type { ClientOptions } from "./options.ts";

export { NeuroGraphClient };

/** `NeuroGraphClient.connect(options)`: a client connected to a node. */
export function connect(options: ClientOptions = {}): Promise<NeuroGraphClient> {
  return NeuroGraphClient.connect(options);
}

export { DEFAULT_ADDRESS, resolveClientOptions, type ClientOptions, type ClientTlsOptions, type ResolvedClientOptions } from "./options.ts";
export type { CallOptions } from "./rpc.ts";
export { DEFAULT_RETRY_BUDGET, DEFAULT_RETRY_POLICY, backoffDelayMs, isRetryable, RetryBudget, type RetryBudgetOptions, type RetryPolicy } from "./retry.ts";
export { DEFAULT_INGEST_BATCH, TokenWriter, type IngestOptions, type IngestProgress, type IngestSummary, type TokenWriteInput } from "./ingest.ts";
export type { CreateManyOptions } from "./batch.ts";
export {
  CONNECTION_RECORD_SIZE,
  decodeConnectionRecords,
  decodeTokenRecords,
  encodeConnectionInputs,
  encodeTokenInputs,
  entityTypeName,
  TOKEN_RECORD_SIZE,
  tokenRecordIds,
  type Connection,
  type ConnectionInput,
  type ConnectionKey,
  type Point,
  type SpaceName,
  type Token,
  type TokenInput,
  type Vec3,
} from "./records.ts";
export type {
  CreateResult,
  DeleteResult,
  DirectionInput,
  GetConnectionsQuery,
  HealthStatus,
  ItemRejection,
  KNearestQuery,
  NeighborsQuery,
  NodeStats,
  RangeQuery,
  ShardInfo,
  ShardSnapshotInfo,
  WalInfo,
  ShardStateName,
  ShortestPathQuery,
  ShortestPathResult,
  SpaceInput,
  SpatialResult,
  SpreadingActivationQuery,
  SpreadingActivationResult,
  TraverseQuery,
  TraverseResult,
  WriteOptions,
  WriteResult,
} from "./types.ts";
export { decodeStatusDetails, serverRetryDelayMs, statusToError, type StatusDetails } from "./errors.ts";
// The typed errors a caller catches.
export {
  AlreadyExistsError,
  CancelledError,
  DataLossError,
  DeadlineExceededError,
  ErrorCode,
  FailedPreconditionError,
  InternalError,
  NeuroGraphError,
  NotFoundError,
  OverloadedError,
  QuotaExceededError,
  UnavailableError,
  ValidationError,
  type FieldViolation,
} from "../core/errors.ts";
export { FieldClient, type FieldHierarchy, type FieldRunStatus, type FieldStepReport, type ListFieldsOptions, type SemanticField } from "./field.ts";
