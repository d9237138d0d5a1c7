/**
 * `GraphRouter`: the coordinator of one node, and the implementation of the API's `NodeBackend`.
 * It is not an actor but a thin object the gRPC handlers call concurrently: it splits each request
 * by shard (`groupByShard`, flat typed arrays), asks the shard actors in parallel with the
 * request's deadline, and merges their answers back into request order. Overload of a shard
 * mailbox surfaces as `OverloadedError` (RESOURCE_EXHAUSTED).
 *
 * The protocols (transactions across shards, cascades, graph walks, spatial merges) live in the
 * `router-*.ts` files; this file only wires them and reports node figures.
 */
import { ValidationError } from "../core/errors.ts";
import { DEFAULT_TOKEN_LIMITS, type TokenLimits } from "../core/limits.ts";
import type { ActorRef, ActorSystem } from "../runtime/index.ts";
import { shardAddress } from "../runtime/index.ts";
import { RECORD_BYTES_ESTIMATE, type GuardianHub } from "./guardian/index.ts";
import { EDGE_SOURCE_OFFSET, EDGE_TARGET_OFFSET, u32Column } from "./record-columns.ts";
import { RoundRobin } from "./router-batches.ts";
import { connect, disconnect, getConnections } from "./router-edges.ts";
import { activate, findPath, traverse, type GraphLimits } from "./router-graph.ts";
import { openShards, reconcileEdges, reconcileShardEdges, type EdgeRepairReport } from "./router-repair.ts";
import { kNearest, neighbors, range } from "./router-spatial.ts";
import { createTokens, deleteTokens, getTokens, updateTokens } from "./router-tokens.ts";
import type {
  ConnectionKeys,
  CreateTokensResult,
  DeleteTokensResult,
  GetConnectionsQuery,
  GetConnectionsResult,
  GetTokensResult,
  IngestOptions,
  KNearestQuery,
  NeighborsQuery,
  NodeStats,
  RangeQuery,
  ShardSnapshotOutcome,
  ShardStats,
  ShortestPathQuery,
  ShortestPathResult,
  SpatialMatches,
  SpreadingActivationQuery,
  SpreadingActivationResult,
  TraverseQuery,
  TraverseResult,
  WalShardStats,
  WriteOptions,
  WriteResult,
} from "./router-types.ts";
import { askOptions, type Fanout, type Scope } from "./router-writes.ts";
import type { ShardBoard } from "./shard-board.ts";
import type { ShardMessage } from "./shard-protocol.ts";

export interface GraphRouterOptions {
  readonly system: ActorSystem;
  readonly board: ShardBoard;
  readonly shardCount: number;
  readonly nodeId: string;
  readonly version: string;
  /** Most tokens a path search or spreading activation may touch (default 1 000 000). */
  readonly maxGraphNodes?: number;
  /** Value limits of tokens (default: the constitution's defaults); the shards check them too. */
  readonly tokenLimits?: TokenLimits;
  /**
   * The node's guardian state: token limits and strictness come from the active constitution,
   * and every write that adds tokens or connections is admitted by the quota gate first (whole
   * request, before any shard changes anything).
   */
  readonly guardian?: GuardianHub;
  /** The WAL figures of a shard (`ShardLog.stats`), when the node keeps a WAL. */
  readonly walStats?: (shard: number) => WalShardStats | undefined;
  /** Cluster mode: prepare transactions shard by shard in ascending order (see router-writes.ts). */
  readonly orderedPrepares?: boolean;
}

export class GraphRouter implements Fanout {
  readonly shardCount: number;
  readonly askTimeoutMs: number;
  readonly orderedPrepares: boolean;
  private readonly refs: ActorRef<ShardMessage>[];
  private readonly roundRobin: RoundRobin;
  private readonly graphLimits: GraphLimits;
  private readonly tokenLimits: TokenLimits;
  private readonly startedAt = Date.now();
  private txn = 0;

  constructor(private readonly options: GraphRouterOptions) {
    this.shardCount = options.shardCount;
    this.askTimeoutMs = options.system.askTimeoutMs;
    this.orderedPrepares = options.orderedPrepares ?? false;
    this.refs = Array.from({ length: options.shardCount }, (_, s) => options.system.ref<ShardMessage>(shardAddress(s)));
    this.roundRobin = new RoundRobin(options.shardCount);
    this.graphLimits = { maxNodes: options.maxGraphNodes ?? 1_000_000 };
    this.tokenLimits = options.tokenLimits ?? DEFAULT_TOKEN_LIMITS;
  }

  ref(shard: number): ActorRef<ShardMessage> {
    return this.refs[shard]!;
  }

  nextTxn(): number {
    this.txn = this.txn >= Number.MAX_SAFE_INTEGER ? 1 : this.txn + 1;
    return this.txn;
  }

  // ---- tokens --------------------------------------------------------------------------------

  /** The request's `partial`, unless the constitution makes every batch strict. */
  private partial(requested: boolean): boolean {
    return requested && this.options.guardian?.view.compiled.strict !== true;
  }

  private limits(): TokenLimits {
    return this.options.guardian?.view.compiled.tokens ?? this.tokenLimits;
  }

  /**
   * Runs a write that may add `tokens` tokens and `connections` connection entries under a quota
   * reservation: refused whole (RESOURCE_EXHAUSTED naming the quota) before any shard is asked.
   * `run` gets the reservation's ticket for its shard parts: each part settles its share in the
   * turn it applies (so an applied write in flight counts once); the rest ends with the write.
   */
  private async admitted<R>(tokens: number, connections: number, run: (quota: number | undefined) => Promise<R>): Promise<R> {
    const gate = this.options.guardian?.quotas;
    if (gate === undefined) return run(undefined);
    const ticket = gate.reserve(tokens, connections, (tokens + connections) * RECORD_BYTES_ESTIMATE);
    try {
      return await run(ticket);
    } finally {
      gate.release(ticket);
    }
  }

  createTokens(records: Uint8Array, options: WriteOptions, ctx: Scope): Promise<CreateTokensResult> {
    return this.admitted(records.byteLength >>> 6, 0, (quota) => createTokens(this, this.roundRobin, records, this.partial(options.partial), ctx, this.limits(), quota));
  }

  ingestTokens(records: Uint8Array, options: IngestOptions, ctx: Scope): Promise<CreateTokensResult> {
    return this.admitted(records.byteLength >>> 6, 0, (quota) => createTokens(this, this.roundRobin, records, this.partial(options.partial), ctx, this.limits(), quota));
  }

  getTokens(ids: Uint32Array, options: { readonly allowMissing: boolean }, ctx: Scope): Promise<GetTokensResult> {
    return getTokens(this, ids, options.allowMissing, ctx);
  }

  updateTokens(records: Uint8Array, options: WriteOptions, ctx: Scope): Promise<WriteResult> {
    return updateTokens(this, records, this.partial(options.partial), ctx);
  }

  deleteTokens(ids: Uint32Array, options: WriteOptions, ctx: Scope): Promise<DeleteTokensResult> {
    return deleteTokens(this, ids, this.partial(options.partial), ctx);
  }

  neighbors(query: NeighborsQuery, ctx: Scope): Promise<SpatialMatches> {
    return neighbors(this, query, ctx);
  }

  range(query: RangeQuery, ctx: Scope): Promise<SpatialMatches> {
    return range(this, query, ctx);
  }

  kNearest(query: KNearestQuery, ctx: Scope): Promise<SpatialMatches> {
    return kNearest(this, query, ctx);
  }

  // ---- graph ---------------------------------------------------------------------------------

  connect(records: Uint8Array, options: WriteOptions, ctx: Scope): Promise<WriteResult> {
    // Entries: one per connection, plus a mirror on the target's shard when that is another one.
    const n = records.byteLength >>> 6;
    let entries = n;
    if (this.options.guardian !== undefined && this.shardCount > 1) {
      const sources = u32Column(records, EDGE_SOURCE_OFFSET);
      const targets = u32Column(records, EDGE_TARGET_OFFSET);
      for (let i = 0; i < n; i++) if (sources[i]! % this.shardCount !== targets[i]! % this.shardCount) entries++;
    }
    return this.admitted(0, entries, (quota) => connect(this, records, this.partial(options.partial), ctx, quota));
  }

  disconnect(keys: ConnectionKeys, options: WriteOptions, ctx: Scope): Promise<WriteResult> {
    return disconnect(this, keys, this.partial(options.partial), ctx);
  }

  getConnections(query: GetConnectionsQuery, ctx: Scope): Promise<GetConnectionsResult> {
    return getConnections(this, query, ctx);
  }

  traverse(query: TraverseQuery, ctx: Scope): Promise<TraverseResult> {
    return traverse(this, query, ctx);
  }

  shortestPath(query: ShortestPathQuery, ctx: Scope): Promise<ShortestPathResult> {
    return findPath(this, query, this.graphLimits, ctx);
  }

  spreadingActivation(query: SpreadingActivationQuery, ctx: Scope): Promise<SpreadingActivationResult> {
    return activate(this, query, this.graphLimits, ctx);
  }

  // ---- admin ---------------------------------------------------------------------------------

  /** Recovery: makes both sides of every cross-shard connection agree (run before serving). */
  reconcileEdges(timeoutMs = Math.max(60_000, this.askTimeoutMs)): Promise<EdgeRepairReport> {
    return reconcileEdges(this, timeoutMs);
  }

  /** Cluster mode: reconciles the cross-shard connections of one shard just taken over. */
  reconcileShardEdges(shard: number, timeoutMs = Math.max(30_000, this.askTimeoutMs)): Promise<EdgeRepairReport> {
    return reconcileShardEdges(this, shard, timeoutMs);
  }

  /** Recovery is complete: the shards serve the calls their recovery gate held. */
  openShards(): void {
    openShards(this);
  }

  /** Figures from the shard board (never queued behind a busy shard). */
  stats(_ctx: Scope): Promise<NodeStats> {
    const b = this.options.board;
    let tokens = 0;
    let connections = 0;
    let tokenBytes = 0;
    let connectionBytes = 0;
    for (let s = 0; s < this.shardCount; s++) {
      tokens += b.tokens[s]!;
      connections += b.connections[s]!;
      tokenBytes += b.tokenBytes[s]!;
      connectionBytes += b.connectionBytes[s]!;
    }
    return Promise.resolve({
      nodeId: this.options.nodeId,
      version: this.options.version,
      uptimeSeconds: (Date.now() - this.startedAt) / 1000,
      shardCount: this.shardCount,
      localShards: this.shardCount,
      tokens,
      connections,
      tokenBytes,
      connectionBytes,
      rssBytes: process.memoryUsage.rss(),
    });
  }

  listShards(_ctx: Scope): Promise<readonly ShardStats[]> {
    const depth = new Float64Array(this.shardCount);
    const capacity = new Float64Array(this.shardCount);
    for (const m of this.options.system.mailboxes()) {
      if (m.address.kind !== "shard") continue;
      const s = Number(m.address.key);
      if (s >= 0 && s < this.shardCount) {
        depth[s] = m.depth;
        capacity[s] = m.capacity;
      }
    }
    const out: ShardStats[] = [];
    for (let s = 0; s < this.shardCount; s++) {
      const row = this.options.board.row(s);
      out.push({
        shard: s,
        nodeId: this.options.nodeId,
        state: row.state,
        tokens: row.tokens,
        connections: row.connections,
        tokenBytes: row.tokenBytes,
        connectionBytes: row.connectionBytes,
        mailboxDepth: depth[s]!,
        mailboxCapacity: capacity[s]!,
        restarts: row.restarts,
        wal: this.options.walStats?.(s),
      });
    }
    return Promise.resolve(out);
  }

  /** Snapshots the shards (all when `shards` is empty) in parallel; each reply waits for durability. */
  async snapshot(shards: readonly number[], ctx: Scope): Promise<readonly ShardSnapshotOutcome[]> {
    const bad = shards.filter((s) => !Number.isInteger(s) || s < 0 || s >= this.shardCount);
    if (bad.length > 0) {
      throw ValidationError.of("snapshot request", bad.map((s) => ({ field: "shards", value: String(s), rule: "shard_range", description: `shards are 0..${this.shardCount - 1}` })));
    }
    const targets = shards.length === 0 ? Array.from({ length: this.shardCount }, (_, s) => s) : [...new Set(shards)].sort((a, b) => a - b);
    const opts = askOptions(ctx);
    const results = await Promise.all(targets.map((s) => this.ref(s).ask({ type: "shard.snapshot" }, opts)));
    return results.map((r, i) => ({ shard: targets[i]!, lsn: r.lsn, chunks: r.chunks, bytes: r.bytes, durationMs: r.durationMs, unchanged: r.unchanged }));
  }
}
