/**
 * AdminService: node figures and shard list, straight from the backend. Authentication (the
 * optional bearer token) is an interceptor configured by the server, not part of this file.
 */
import { FailedPreconditionError } from "../core/errors.ts";
import {
  ShardState as ShardStateProto,
  type AdminServiceServer,
  type GetStatsRequest,
  type GetStatsResponse,
  type ListShardsRequest,
  type ListShardsResponse,
  type SnapshotRequest,
  type SnapshotResponse,
  type WalStats,
} from "../gen/neurograph/v1/admin_service.ts";
import { ShardState, type NodeBackend, type WalShardStats } from "./backend.ts";
import { unary, type CallContext, type HandlerEnv } from "./handlers.ts";

const SHARD_STATE: Readonly<Record<ShardState, ShardStateProto>> = {
  [ShardState.Starting]: ShardStateProto.SHARD_STATE_STARTING,
  [ShardState.Serving]: ShardStateProto.SHARD_STATE_SERVING,
  [ShardState.ReadOnly]: ShardStateProto.SHARD_STATE_READ_ONLY,
  [ShardState.Stopping]: ShardStateProto.SHARD_STATE_STOPPING,
  [ShardState.Stopped]: ShardStateProto.SHARD_STATE_STOPPED,
  [ShardState.Failed]: ShardStateProto.SHARD_STATE_FAILED,
};

export class AdminServiceHandlers {
  constructor(private readonly backend: NodeBackend) {}

  async getStats(_req: GetStatsRequest, ctx: CallContext): Promise<GetStatsResponse> {
    const s = await this.backend.stats(ctx);
    return {
      nodeId: s.nodeId,
      version: s.version,
      uptimeSeconds: s.uptimeSeconds,
      shardCount: s.shardCount,
      localShards: s.localShards,
      tokens: s.tokens,
      connections: s.connections,
      tokenBytes: s.tokenBytes,
      connectionBytes: s.connectionBytes,
      rssBytes: s.rssBytes,
    };
  }

  async listShards(_req: ListShardsRequest, ctx: CallContext): Promise<ListShardsResponse> {
    const shards = await this.backend.listShards(ctx);
    return {
      shards: shards.map((s) => ({
        shard: s.shard,
        nodeId: s.nodeId,
        state: SHARD_STATE[s.state] ?? ShardStateProto.SHARD_STATE_UNSPECIFIED,
        tokens: s.tokens,
        connections: s.connections,
        tokenBytes: s.tokenBytes,
        connectionBytes: s.connectionBytes,
        mailboxDepth: s.mailboxDepth,
        mailboxCapacity: s.mailboxCapacity,
        restarts: s.restarts,
        wal: s.wal === undefined ? undefined : walStats(s.wal),
      })),
    };
  }

  async snapshot(req: SnapshotRequest, ctx: CallContext): Promise<SnapshotResponse> {
    if (this.backend.snapshot === undefined) {
      throw new FailedPreconditionError("this node keeps no write-ahead log (it runs without a WAL), so there is nothing to snapshot");
    }
    const done = await this.backend.snapshot(req.shards, ctx);
    return {
      shards: done.map((d) => ({ shard: d.shard, lsn: d.lsn, chunks: d.chunks, bytes: d.bytes, durationMs: d.durationMs, unchanged: d.unchanged })),
    };
  }

  /** The grpc-js methods of this file (observability RPCs: observability-service.ts; guardian RPCs: guardian-service.ts). */
  service(env: HandlerEnv): Pick<AdminServiceServer, "getStats" | "listShards" | "snapshot"> {
    return {
      getStats: unary(env, (r: GetStatsRequest, c) => this.getStats(r, c)),
      listShards: unary(env, (r: ListShardsRequest, c) => this.listShards(r, c)),
      snapshot: unary(env, (r: SnapshotRequest, c) => this.snapshot(r, c)),
    };
  }
}

function walStats(w: WalShardStats): WalStats {
  return {
    lastLsn: w.lastLsn,
    durableLsn: w.durableLsn,
    pendingBytes: w.pendingBytes,
    lastCommitMs: w.lastCommitMs,
    lastSnapshotLsn: w.lastSnapshotLsn,
    lastSnapshotUnixMs: w.lastSnapshotAt,
    degraded: w.degraded ?? "",
  };
}
