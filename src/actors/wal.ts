/**
 * The WAL actor of one shard (`wal/<shard>`, DESIGN §5): encodes the shard's resolved mutations
 * as log records and hands them to the node's group committer, answers each append only once its
 * transaction is durable, writes snapshots and prunes behind them in the background, and runs
 * the shard's recovery. The shard talks to it through `LmdbShardLog` (the `ShardLog` seam).
 *
 * Appends reach this actor in LSN order (one sender, FIFO mailbox). The log must stay gap-free,
 * so anything that would leave a hole (an append arriving out of order, an encoding failure, a
 * failed commit) makes the shard's log read-only ("degraded") instead of skipping an LSN.
 */
import { InternalError, type NeuroGraphError, OverloadedError, ValidationError, toNeuroGraphError } from "../core/errors.ts";
import { encodeMutationRecord, type ShardMutation } from "../core/wal/index.ts";
import { Actor, type ActorContext, type Ask, REPLY_DEFERRED, type ReplyDeferred } from "../runtime/index.ts";
import type { BlackBox, Logger, MetricsRegistry } from "../telemetry/index.ts";
import type { RecoveryHandler, ShardLogStats, ShardSnapshotData, ShardSnapshotResult } from "./shard-log.ts";
import type { WalEnvironment } from "./wal/environment.ts";
import { type WalRecoveryReport, recoverShard } from "./wal/recovery.ts";
import type { RecoveryPool } from "./wal/recovery-pool.ts";
import { PruneJob, SnapshotJob } from "./wal/snapshot-writer.ts";
import type { WalShardState } from "./wal/state.ts";

export const WAL_KIND = "wal";

export type WalSnapshotResult = ShardSnapshotResult;

export type WalMessage =
  | Ask<{ readonly type: "wal.append"; readonly lsn: number; readonly mutation: ShardMutation; readonly charge: number }, void>
  | Ask<{ readonly type: "wal.snapshot"; readonly data: ShardSnapshotData }, WalSnapshotResult>
  | Ask<{ readonly type: "wal.recover"; readonly handler: RecoveryHandler }, WalRecoveryReport>
  | Ask<{ readonly type: "wal.flush" }, void>
  | Ask<{ readonly type: "wal.stats" }, ShardLogStats>;

export interface WalActorDeps {
  readonly env: WalEnvironment;
  readonly state: WalShardState;
  readonly repair: boolean;
  /** Quarantine directory of this start (shared by all shards). */
  readonly quarantineSession: string;
  readonly logger?: Logger | undefined;
  readonly metrics?: MetricsRegistry | undefined;
  readonly blackBox?: BlackBox | undefined;
  /** Threads loading the shards' snapshots ahead of their recovery (none: all on this thread). */
  readonly recoveryPool?: RecoveryPool | undefined;
}

const allocUnsafe = (n: number): Uint8Array => Buffer.allocUnsafe(n);

export class WalActor extends Actor<WalMessage> {
  private readonly flushWaiters: { lsn: number; done: (error?: NeuroGraphError) => void }[] = [];

  constructor(private readonly deps: WalActorDeps) {
    super();
  }

  receive(msg: WalMessage, ctx: ActorContext<WalMessage>): ShardLogStats | ReplyDeferred {
    switch (msg.type) {
      case "wal.append":
        return this.append(msg.lsn, msg.mutation, msg.charge, ctx);
      case "wal.snapshot":
        return this.snapshot(msg.data, ctx);
      case "wal.recover":
        return this.recover(msg.handler, ctx);
      case "wal.flush":
        return this.flush(ctx);
      case "wal.stats":
        return this.deps.state.stats();
    }
  }

  private append(lsn: number, mutation: ShardMutation, charge: number, ctx: ActorContext<WalMessage>): ReplyDeferred {
    const { env, state } = this.deps;
    const reply = ctx.deferReply();
    const refuse = (error: NeuroGraphError): ReplyDeferred => {
      state.failed(charge);
      this.degrade(error, "append");
      reply.reject(error);
      return REPLY_DEFERRED;
    };
    if (state.degraded !== undefined) return refuse(state.degraded);
    if (lsn !== state.lastEnqueuedLsn + 1) {
      return refuse(new InternalError(`shard ${state.shard}: WAL append of LSN ${lsn} arrived after LSN ${state.lastEnqueuedLsn}; the log is read-only to stay gap-free`));
    }
    let record: Uint8Array;
    try {
      record = encodeMutationRecord(lsn, state.shard, mutation, allocUnsafe);
    } catch (err) {
      return refuse(toNeuroGraphError(err));
    }
    state.lastEnqueuedLsn = lsn;
    env.committer.enqueue({ db: env.shard(state.shard).log, key: lsn, value: record }, record.length, {
      committed: () => {
        state.settled(lsn, charge, env.committer.lastCommitMs);
        this.deps.metrics?.setWalPendingBytes(state.shard, state.pendingBytes);
        reply.resolve(undefined);
        this.releaseFlushes();
      },
      failed: (error) => {
        state.failed(charge);
        this.degrade(error, "commit");
        reply.reject(error);
        this.releaseFlushes();
      },
    });
    return REPLY_DEFERRED;
  }

  private snapshot(data: ShardSnapshotData, ctx: ActorContext<WalMessage>): ReplyDeferred {
    const { env, state } = this.deps;
    const reply = ctx.deferReply();
    const started = performance.now();
    if (state.degraded !== undefined) {
      reply.reject(state.degraded);
      return REPLY_DEFERRED;
    }
    if (!Number.isSafeInteger(data.lsn) || data.lsn > state.lastEnqueuedLsn || data.lsn < state.lastSnapshotLsn) {
      reply.reject(
        new ValidationError(`shard ${state.shard}: a snapshot at LSN ${data.lsn} must lie between the last snapshot (LSN ${state.lastSnapshotLsn}) and the last append (LSN ${state.lastEnqueuedLsn})`, [
          { field: "lsn", value: String(data.lsn), rule: "snapshot_lsn", description: "must be within the logged range" },
        ]),
      );
      return REPLY_DEFERRED;
    }
    if (state.snapshotInProgress !== 0) {
      reply.reject(new OverloadedError(`shard ${state.shard} is still writing its snapshot at LSN ${state.snapshotInProgress}; retry when it completes`));
      return REPLY_DEFERRED;
    }
    if (data.lsn === state.lastSnapshotLsn && state.lastSnapshotAt !== 0) {
      reply.resolve({ lsn: data.lsn, chunks: 0, bytes: 0, durationMs: 0, unchanged: true });
      return REPLY_DEFERRED;
    }
    state.snapshotInProgress = data.lsn;
    const bytesAtRequest = state.bytesSinceSnapshot;
    const dbs = env.shard(state.shard);
    env.committer.addJob(
      new SnapshotJob(dbs, state.shard, data, env.tuning.snapshotChunkBytes, (outcome) => {
        state.snapshotInProgress = 0;
        if (!("lsn" in outcome)) {
          // Aborted: the committer failed (the log is degraded) or the node is closing.
          if (env.committer.failed !== undefined) this.degrade(outcome, "snapshot");
          reply.reject(outcome);
          return;
        }
        state.lastSnapshotLsn = outcome.lsn;
        state.lastSnapshotAt = outcome.createdAtMs;
        state.recordsSinceSnapshot = state.lastLsn - outcome.lsn;
        state.bytesSinceSnapshot = Math.max(0, state.bytesSinceSnapshot - bytesAtRequest);
        state.firstSinceSnapshotAt = Date.now();
        const durationMs = performance.now() - started;
        this.deps.logger?.info({ shard: state.shard, lsn: outcome.lsn, chunks: outcome.chunks, bytes: outcome.bytes, durationMs }, "WAL snapshot written");
        env.committer.addJob(
          new PruneJob(dbs, outcome.lsn, env.tuning.pruneBatch, (removed, error) => {
            if (error !== undefined && env.committer.failed !== undefined) this.degrade(error, "prune");
            else this.deps.logger?.debug({ shard: state.shard, lsn: outcome.lsn, removed }, "WAL pruned");
          }),
        );
        reply.resolve({ lsn: outcome.lsn, chunks: outcome.chunks, bytes: outcome.bytes, durationMs, unchanged: false });
      }),
    );
    return REPLY_DEFERRED;
  }

  /**
   * The first call of a start recovers (and may truncate a torn tail or repair). Later calls come
   * from a restarted shard actor: they wait until every append so far settled, then replay the
   * same durable state read-only.
   */
  private recover(handler: RecoveryHandler, ctx: ActorContext<WalMessage>): ReplyDeferred {
    const { env, state } = this.deps;
    // Deferred rather than thrown: a refusal to start is the shard's to report, not a reason
    // to restart this actor.
    const reply = ctx.deferReply();
    const reload = state.recovered;
    const settled = reload ? new Promise<void>((resolve) => this.flushWaiters.push({ lsn: state.lastEnqueuedLsn, done: () => resolve() })) : Promise.resolve();
    if (reload) this.releaseFlushes();
    settled
      .then(() =>
        recoverShard(env, state, handler, {
          repair: this.deps.repair,
          reload,
          quarantineSession: this.deps.quarantineSession,
          pool: this.deps.recoveryPool,
          warn: (message, fields) => {
            this.deps.logger?.warn(fields, message);
            this.deps.blackBox?.walError(`wal/${state.shard}`, new Error(message), { phase: "recovery" });
          },
        }),
      )
      .then(
        (report) => {
          this.deps.metrics?.walReplay(report.replayedRecords, report.durationMs / 1000);
          this.deps.logger?.info(
            {
              shard: state.shard,
              reload,
              snapshotLsn: report.snapshotLsn,
              snapshotOnThread: report.snapshotOnThread,
              replayed: report.replayedRecords,
              lastLsn: report.lastLsn,
              durationMs: report.durationMs,
            },
            "WAL recovered",
          );
          reply.resolve(report);
        },
        (err: unknown) => {
          const error = toNeuroGraphError(err);
          this.deps.metrics?.walError("replay");
          this.deps.blackBox?.walError(`wal/${state.shard}`, error, { phase: "recovery" });
          reply.reject(error);
        },
      );
    return REPLY_DEFERRED;
  }

  /** Answers once every append enqueued so far is durable (or failed). */
  private flush(ctx: ActorContext<WalMessage>): ReplyDeferred {
    const reply = ctx.deferReply();
    const lsn = this.deps.state.lastEnqueuedLsn;
    this.flushWaiters.push({ lsn, done: (error) => (error === undefined ? reply.resolve(undefined) : reply.reject(error)) });
    this.releaseFlushes();
    return REPLY_DEFERRED;
  }

  private releaseFlushes(): void {
    const { state } = this.deps;
    while (this.flushWaiters.length > 0) {
      const w = this.flushWaiters[0]!;
      if (state.degraded !== undefined) w.done(state.degraded);
      else if (state.durableLsn >= w.lsn) w.done();
      else return;
      this.flushWaiters.shift();
    }
  }

  private degrade(error: NeuroGraphError, op: "append" | "commit" | "snapshot" | "prune"): void {
    const { state } = this.deps;
    if (state.degraded !== undefined) return;
    state.degrade(error);
    this.deps.metrics?.walError(op);
    this.deps.blackBox?.walError(`wal/${state.shard}`, error, { op });
    this.deps.logger?.error({ shard: state.shard, err: error, op }, "WAL degraded: the shard's log is read-only until restart");
  }
}
