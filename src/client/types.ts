/**
 * The friendly request and result types of `NeuroGraphClient`, and their conversions from and
 * to the generated messages. Ids come back as `Uint32Array` (bulk-friendly); token objects only
 * where a caller asked for them.
 */
import { ErrorCode, ValidationError, type FieldViolation } from "../core/errors.ts";
import { Code } from "../gen/google/rpc/code.ts";
import { Direction as DirectionProto, type ItemError, type Space as SpaceProto } from "../gen/neurograph/v1/common.ts";
import { PathAlgorithm, TraversalOrder } from "../gen/neurograph/v1/graph_service.ts";
import type { Point, Token } from "./records.ts";

/** A space: `"l1"`…`"l8"` (any case, `"L1"` too) or its number 1..8. */
export type SpaceInput = string | number;
export type DirectionInput = "out" | "in" | "both";

/** One item a partial batch did not apply. */
export interface ItemRejection extends FieldViolation {
  readonly index: number;
  /** The item's id when it has one, else 0. */
  readonly id: number;
  readonly code: ErrorCode;
}

export interface WriteResult {
  readonly accepted: number;
  /** Only in partial mode (strict batches throw instead). */
  readonly rejected: readonly ItemRejection[];
}

export interface CreateResult extends WriteResult {
  /** One id per input token, in order: the given or allocated id; 0 for a rejected token. */
  readonly ids: Uint32Array;
}

export interface DeleteResult extends WriteResult {
  readonly connectionsRemoved: number;
}

export interface WriteOptions {
  /** false (default): all or nothing; true: apply the valid items and report the rest. */
  readonly partial?: boolean;
}

export interface SpatialResult {
  /** Ordered by distance, then id. */
  readonly ids: Uint32Array;
  readonly distances: Float64Array;
  /** More tokens matched than the limit; the nearest are returned. */
  readonly truncated: boolean;
  /** With `withTokens`: the packed records and the token objects, same order. */
  readonly records?: Uint8Array;
  readonly tokens?: readonly Token[];
}

export interface NeighborsQuery {
  readonly id: number;
  readonly space: SpaceInput;
  readonly radius: number;
  /** 0/absent = the server default (1000). */
  readonly limit?: number;
  readonly withTokens?: boolean;
}

export interface RangeQuery {
  readonly space: SpaceInput;
  readonly center: Point;
  readonly radius: number;
  readonly limit?: number;
  readonly withTokens?: boolean;
}

/** Nearest to a token (`id`, excluded from the result) or to a `point`. */
export interface KNearestQuery {
  readonly space: SpaceInput;
  readonly id?: number;
  readonly point?: Point;
  readonly k: number;
  readonly withTokens?: boolean;
}

interface GraphFilter {
  readonly direction?: DirectionInput;
  /** Connection types to follow (0..255); absent/empty = all. */
  readonly types?: readonly number[];
}

export interface GetConnectionsQuery extends GraphFilter {
  readonly limit?: number;
}

export interface TraverseQuery extends GraphFilter {
  readonly start: readonly number[] | Uint32Array;
  readonly order?: "bfs" | "dfs";
  /** Absent = 3; 0 = the start tokens only. */
  readonly maxDepth?: number;
  readonly maxNodes?: number;
  readonly withTokens?: boolean;
}

export interface TraverseResult {
  readonly ids: Uint32Array;
  readonly depths: Uint32Array;
  /** 0 for start tokens. */
  readonly parents: Uint32Array;
  readonly truncated: boolean;
  readonly records?: Uint8Array;
  readonly tokens?: readonly Token[];
}

export interface ShortestPathQuery extends GraphFilter {
  readonly source: number;
  readonly target: number;
  readonly algorithm?: "bfs" | "dijkstra";
  readonly maxDepth?: number;
}

export interface ShortestPathResult {
  readonly found: boolean;
  /** Source … target inclusive; empty when not found. */
  readonly path: Uint32Array;
  readonly cost: number;
  readonly visited: number;
}

export interface SpreadingActivationQuery extends GraphFilter {
  readonly seeds: readonly number[] | Uint32Array;
  /** One per seed; absent = 1.0 each. */
  readonly energies?: readonly number[];
  readonly decay?: number;
  readonly threshold?: number;
  readonly maxDepth?: number;
  readonly maxResults?: number;
}

export interface SpreadingActivationResult {
  /** By energy descending, then id. */
  readonly ids: Uint32Array;
  readonly energies: Float32Array;
  readonly depths: Uint32Array;
  readonly truncated: boolean;
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

export type ShardStateName = "unspecified" | "starting" | "serving" | "read_only" | "stopping" | "stopped" | "failed";

export interface ShardInfo {
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
  /** The shard's write-ahead log; absent when the node runs without one (`--no-wal`). */
  readonly wal?: WalInfo | undefined;
}

/** A shard's write-ahead log figures. */
export interface WalInfo {
  /** Highest log sequence number handed out, and the highest one durable. */
  readonly lastLsn: number;
  readonly durableLsn: number;
  /** Bytes appended but not yet durable. */
  readonly pendingBytes: number;
  /** Duration of the last group commit, milliseconds. */
  readonly lastCommitMs: number;
  /** LSN covered by the last snapshot (0: none) and when it was taken (Unix ms, 0: none). */
  readonly lastSnapshotLsn: number;
  readonly lastSnapshotUnixMs: number;
  /** Non-empty when a commit failed: the shard is read-only until the node restarts. */
  readonly degraded: string;
}

/** What `snapshot` did for one shard. */
export interface ShardSnapshotInfo {
  readonly shard: number;
  /** The LSN the snapshot covers. */
  readonly lsn: number;
  readonly chunks: number;
  readonly bytes: number;
  readonly durationMs: number;
  /** Nothing was logged since the last snapshot, so none was written. */
  readonly unchanged: boolean;
}

export type HealthStatus = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

function invalid(field: string, value: unknown, rule: string, description: string): ValidationError {
  return ValidationError.of("request", [{ field, value: String(value), rule, description }]);
}

/** `"L1"`, `"l1"`, `"1"` or 1 → the proto Space (1..8). */
export function toSpace(space: SpaceInput): SpaceProto {
  const text = String(space).trim().toLowerCase();
  const m = /^l?([1-8])(?:[_-][a-z]+)?$/.exec(text);
  if (m === null) throw invalid("space", space, "space_known", "space must be one of L1 … L8 (or 1 … 8)");
  return Number(m[1]);
}

export function toDirection(d: DirectionInput | undefined): DirectionProto {
  switch (d) {
    case undefined:
      return DirectionProto.DIRECTION_UNSPECIFIED;
    case "out":
      return DirectionProto.DIRECTION_OUT;
    case "in":
      return DirectionProto.DIRECTION_IN;
    case "both":
      return DirectionProto.DIRECTION_BOTH;
    default:
      throw invalid("direction", d, "direction_known", "direction must be out, in or both");
  }
}

export function toOrder(o: "bfs" | "dfs" | undefined): TraversalOrder {
  if (o === undefined) return TraversalOrder.TRAVERSAL_ORDER_UNSPECIFIED;
  if (o === "bfs") return TraversalOrder.TRAVERSAL_ORDER_BFS;
  if (o === "dfs") return TraversalOrder.TRAVERSAL_ORDER_DFS;
  throw invalid("order", o, "order_known", "order must be bfs or dfs");
}

export function toAlgorithm(a: "bfs" | "dijkstra" | undefined): PathAlgorithm {
  if (a === undefined) return PathAlgorithm.PATH_ALGORITHM_UNSPECIFIED;
  if (a === "bfs") return PathAlgorithm.PATH_ALGORITHM_BFS;
  if (a === "dijkstra") return PathAlgorithm.PATH_ALGORITHM_DIJKSTRA;
  throw invalid("algorithm", a, "algorithm_known", "algorithm must be bfs or dijkstra");
}

export function toVec3(p: Point): { x: number; y: number; z: number } {
  if ("x" in p) return { x: p.x, y: p.y, z: p.z };
  return { x: p[0], y: p[1], z: p[2] };
}

const ITEM_CODES: Readonly<Partial<Record<Code, ErrorCode>>> = {
  [Code.INVALID_ARGUMENT]: ErrorCode.InvalidArgument,
  [Code.NOT_FOUND]: ErrorCode.NotFound,
  [Code.ALREADY_EXISTS]: ErrorCode.AlreadyExists,
  [Code.FAILED_PRECONDITION]: ErrorCode.FailedPrecondition,
  [Code.RESOURCE_EXHAUSTED]: ErrorCode.QuotaExceeded,
  [Code.UNAVAILABLE]: ErrorCode.Unavailable,
};

export function fromItemError(e: ItemError, indexOffset = 0): ItemRejection {
  return {
    index: e.index + indexOffset,
    id: e.id,
    code: ITEM_CODES[e.code] ?? ErrorCode.Internal,
    field: e.field,
    ...(e.value === "" ? {} : { value: e.value }),
    rule: e.rule,
    description: e.description,
  };
}

const SHARD_STATES: readonly ShardStateName[] = ["unspecified", "starting", "serving", "read_only", "stopping", "stopped", "failed"];

export function shardStateName(state: number): ShardStateName {
  return SHARD_STATES[state] ?? "unspecified";
}

const HEALTH: readonly HealthStatus[] = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];

export function healthStatusName(status: number): HealthStatus {
  return HEALTH[status] ?? "UNKNOWN";
}

/** A Buffer view (no copy) of bytes, as the generated messages want. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Ids as a plain array for a request, each checked to be a u32. */
export function idList(ids: ArrayLike<number>, field = "ids"): number[] {
  const out = Array.from(ids);
  const bad: FieldViolation[] = [];
  out.forEach((id, index) => {
    if (!Number.isInteger(id) || id < 0 || id > 0xffff_ffff) bad.push({ index, field, value: String(id), rule: "id_range", description: "ids are unsigned 32-bit integers" });
  });
  if (bad.length > 0) throw ValidationError.of("request", bad);
  return out;
}
