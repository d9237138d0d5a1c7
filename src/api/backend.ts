/**
 * The seam between the gRPC layer and the node: everything the services need, in plain typed
 * arrays and core types, with no gRPC or protobuf types. The actor layer implements it (the
 * graph shard actors behind a coordinator); tests implement it in memory.
 *
 * Only core types appear here, so an implementation in `src/actors` satisfies it structurally
 * without importing `src/api` (imports flow `api → actors`, never back).
 *
 * Conventions:
 * - Token and connection payloads are packed 64-byte little-endian records (DESIGN §3.1,
 *   `src/core/connection/layout.ts`); `records.length` is a multiple of 64 (the API checks it).
 *   Incoming `records` are often Buffer views into a larger allocation: mind `byteOffset` when
 *   making a DataView, and copy (`new Uint8Array(view)`) anything kept after the call, since
 *   `Buffer#slice` does not copy. Returned arrays are sent as they are (no copy).
 * - The API has already checked sizes, counts and encodability; the backend checks everything that
 *   needs state or the constitution (ranges, existence, quotas) and throws the typed errors of
 *   `src/core/errors.ts`. A strict batch (`partial: false`) with any bad item throws (usually a
 *   `ValidationError` listing every violation) and applies nothing; a partial batch applies the
 *   valid items and returns the others as `ItemRejection`s.
 * - Every method receives a `RequestContext`: stop work and reject when `signal` aborts
 *   (`signal.reason` is a `DeadlineExceededError` or `CancelledError`), and pass `deadline` on
 *   to actor asks.
 */
import type { ErrorCode, FieldViolation } from "../core/errors.ts";
import type {
  WriteOptions,
  IngestOptions,
  WriteResult,
  CreateTokensResult,
  GetTokensResult,
  DeleteTokensResult,
  SpatialMatches,
  ConnectionKeys,
  GetConnectionsQuery,
  GetConnectionsResult,
  TraverseQuery,
  TraverseResult,
  ShortestPathQuery,
  ShortestPathResult,
  SpreadingActivationQuery,
  SpreadingActivationResult,
  WalShardStats,
  ShardSnapshotOutcome,
  NodeStats,
} from "../actors/router-types.ts";

// The coordinator (actors layer) defines these shapes; the API serves them as they are.
export type {
  WriteOptions,
  IngestOptions,
  WriteResult,
  CreateTokensResult,
  GetTokensResult,
  DeleteTokensResult,
  SpatialMatches,
  ConnectionKeys,
  GetConnectionsQuery,
  GetConnectionsResult,
  TraverseQuery,
  TraverseResult,
  ShortestPathQuery,
  ShortestPathResult,
  SpreadingActivationQuery,
  SpreadingActivationResult,
  WalShardStats,
  ShardSnapshotOutcome,
  NodeStats,
};

export interface RequestContext {
  /** Absolute deadline in ms since the epoch (`Date.now()` clock); `Infinity` when none. */
  readonly deadline: number;
  /** Aborted when the caller cancels, the deadline passes or the server is forced down. */
  readonly signal: AbortSignal;
}

/** One item a partial batch did not apply. */
export interface ItemRejection extends FieldViolation {
  readonly index: number;
  /** The item's id when it has one, else 0. */
  readonly id: number;
  /** Why: InvalidArgument, NotFound, AlreadyExists, FailedPrecondition or QuotaExceeded. */
  readonly code: ErrorCode;
}

/** Space index 0..7 (L1 physical … L8 abstract). */
export type SpaceIndex = number;

export interface NeighborsQuery {
  readonly id: number;
  readonly space: SpaceIndex;
  readonly radius: number;
  readonly limit: number;
  readonly withRecords: boolean;
}

export interface RangeQuery {
  readonly space: SpaceIndex;
  /** Decoded units. */
  readonly center: readonly [number, number, number];
  readonly radius: number;
  readonly limit: number;
  readonly withRecords: boolean;
}

export interface KNearestQuery {
  readonly space: SpaceIndex;
  /** Exactly one of `id` (that token excluded from the result) and `point`. */
  readonly id?: number;
  readonly point?: readonly [number, number, number];
  readonly k: number;
  readonly withRecords: boolean;
}

/** 256-bit set of connection types to follow (bit t = byte t >> 3, bit t & 7); null = all. */
export type TypeFilter = Uint8Array | null;

export const ShardState = {
  Starting: "starting",
  Serving: "serving",
  ReadOnly: "read_only",
  Stopping: "stopping",
  Stopped: "stopped",
  Failed: "failed",
} as const;
export type ShardState = (typeof ShardState)[keyof typeof ShardState];

export interface ShardStats {
  readonly shard: number;
  readonly nodeId: string;
  readonly state: ShardState;
  readonly tokens: number;
  readonly connections: number;
  readonly tokenBytes: number;
  readonly connectionBytes: number;
  readonly mailboxDepth: number;
  readonly mailboxCapacity: number;
  readonly restarts: number;
  /** The shard's WAL, when the node keeps one. */
  readonly wal?: WalShardStats | undefined;
}

/** What the gRPC services need from the node. */
export interface NodeBackend {
  // Tokens
  createTokens(records: Uint8Array, options: WriteOptions, ctx: RequestContext): Promise<CreateTokensResult>;
  getTokens(ids: Uint32Array, options: { readonly allowMissing: boolean }, ctx: RequestContext): Promise<GetTokensResult>;
  /** Replaces whole records matched by id. */
  updateTokens(records: Uint8Array, options: WriteOptions, ctx: RequestContext): Promise<WriteResult>;
  deleteTokens(ids: Uint32Array, options: WriteOptions, ctx: RequestContext): Promise<DeleteTokensResult>;
  /**
   * One message of a streaming ingest: like createTokens, but rejection indices are relative to
   * this chunk (the API offsets them) and `ids` may be empty unless `returnIds`.
   */
  ingestTokens(records: Uint8Array, options: IngestOptions, ctx: RequestContext): Promise<CreateTokensResult>;
  neighbors(query: NeighborsQuery, ctx: RequestContext): Promise<SpatialMatches>;
  range(query: RangeQuery, ctx: RequestContext): Promise<SpatialMatches>;
  kNearest(query: KNearestQuery, ctx: RequestContext): Promise<SpatialMatches>;

  // Graph
  connect(records: Uint8Array, options: WriteOptions, ctx: RequestContext): Promise<WriteResult>;
  /** `accepted` = connections removed (a key without a type may remove several). */
  disconnect(keys: ConnectionKeys, options: WriteOptions, ctx: RequestContext): Promise<WriteResult>;
  getConnections(query: GetConnectionsQuery, ctx: RequestContext): Promise<GetConnectionsResult>;
  traverse(query: TraverseQuery, ctx: RequestContext): Promise<TraverseResult>;
  shortestPath(query: ShortestPathQuery, ctx: RequestContext): Promise<ShortestPathResult>;
  spreadingActivation(query: SpreadingActivationQuery, ctx: RequestContext): Promise<SpreadingActivationResult>;

  // Admin
  stats(ctx: RequestContext): Promise<NodeStats>;
  listShards(ctx: RequestContext): Promise<readonly ShardStats[]>;
  /**
   * Snapshots the given shards (all when empty) now and prunes their logs; resolves once every
   * snapshot is durable. Absent on backends without durability (the API answers UNIMPLEMENTED).
   */
  snapshot?(shards: readonly number[], ctx: RequestContext): Promise<readonly ShardSnapshotOutcome[]>;
}
