/**
 * The request and result shapes of the coordinator. They mirror the API's `NodeBackend` seam
 * (`src/api/backend.ts`) field for field — actors cannot import the API layer — and `src/node`
 * assigns the router to a `NodeBackend` so the compiler checks they stay in step.
 */
import type { Direction } from "../core/graph/expansion.ts";
import type { ItemRejection } from "./router-rejections.ts";
import type { ShardStateName } from "./shard-board.ts";
import type { TypeFilter } from "./shard-protocol.ts";

export type { ItemRejection, TypeFilter };

export interface WriteOptions {
  readonly partial: boolean;
}

export interface IngestOptions extends WriteOptions {
  readonly returnIds: boolean;
}

export interface WriteResult {
  readonly accepted: number;
  readonly rejected: readonly ItemRejection[];
}

export interface CreateTokensResult extends WriteResult {
  readonly ids: Uint32Array;
}

export interface GetTokensResult {
  readonly records: Uint8Array;
  readonly missing: Uint32Array;
}

export interface DeleteTokensResult extends WriteResult {
  readonly connectionsRemoved: number;
}

export interface SpatialMatches {
  readonly ids: Uint32Array;
  readonly distances: Float64Array;
  readonly truncated: boolean;
  readonly records?: Uint8Array;
}

export interface NeighborsQuery {
  readonly id: number;
  readonly space: number;
  readonly radius: number;
  readonly limit: number;
  readonly withRecords: boolean;
}

export interface RangeQuery {
  readonly space: number;
  readonly center: readonly [number, number, number];
  readonly radius: number;
  readonly limit: number;
  readonly withRecords: boolean;
}

export interface KNearestQuery {
  readonly space: number;
  readonly id?: number;
  readonly point?: readonly [number, number, number];
  readonly k: number;
  readonly withRecords: boolean;
}

export interface ConnectionKeys {
  readonly sources: Uint32Array;
  readonly targets: Uint32Array;
  /** −1 = every type between source and target. */
  readonly types: Int16Array;
}

export interface GetConnectionsQuery {
  readonly ids: Uint32Array;
  readonly direction: Direction;
  readonly types: TypeFilter;
  readonly limit: number;
}

export interface GetConnectionsResult {
  readonly records: Uint8Array;
  readonly truncated: boolean;
}

export interface TraverseQuery {
  readonly start: Uint32Array;
  readonly order: "bfs" | "dfs";
  readonly direction: Direction;
  readonly maxDepth: number;
  readonly maxNodes: number;
  readonly types: TypeFilter;
  readonly withRecords: boolean;
}

export interface TraverseResult {
  readonly ids: Uint32Array;
  readonly depths: Uint32Array;
  readonly parents: Uint32Array;
  readonly truncated: boolean;
  readonly records?: Uint8Array;
}

export interface ShortestPathQuery {
  readonly source: number;
  readonly target: number;
  readonly algorithm: "bfs" | "dijkstra";
  readonly direction: Direction;
  readonly maxDepth: number;
  readonly types: TypeFilter;
}

export interface ShortestPathResult {
  readonly path: Uint32Array | null;
  readonly cost: number;
  readonly visited: number;
}

export interface SpreadingActivationQuery {
  readonly seeds: Uint32Array;
  readonly energies: Float32Array;
  readonly decay: number;
  readonly threshold: number;
  readonly maxDepth: number;
  readonly direction: Direction;
  readonly maxResults: number;
  readonly types: TypeFilter;
}

export interface SpreadingActivationResult {
  readonly ids: Uint32Array;
  readonly energies: Float32Array;
  readonly depths: Uint32Array;
  readonly truncated: boolean;
}

/** A shard's WAL figures (ShardLogStats, as the API shows them). */
export interface WalShardStats {
  readonly lastLsn: number;
  readonly durableLsn: number;
  readonly pendingBytes: number;
  readonly lastCommitMs: number;
  readonly lastSnapshotLsn: number;
  /** Unix ms of the last snapshot, 0 when none. */
  readonly lastSnapshotAt: number;
  /** Why the log is read-only, when it is. */
  readonly degraded: string | undefined;
}

/** What `Snapshot` did for one shard. */
export interface ShardSnapshotOutcome {
  readonly shard: number;
  readonly lsn: number;
  readonly chunks: number;
  readonly bytes: number;
  readonly durationMs: number;
  /** Nothing was logged since the last snapshot, so none was written. */
  readonly unchanged: boolean;
}

export interface ShardStats {
  readonly shard: number;
  readonly nodeId: string;
  readonly state: ShardStateName;
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

export interface NodeStats {
  readonly nodeId: string;
  readonly version: string;
  readonly uptimeSeconds: number;
  readonly shardCount: number;
  readonly localShards: number;
  readonly tokens: number;
  readonly connections: number;
  readonly tokenBytes: number;
  readonly connectionBytes: number;
  readonly rssBytes: number;
}
