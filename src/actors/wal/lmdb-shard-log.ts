/**
 * `LmdbShardLog`: the `ShardLog` a graph shard uses when the node has a data directory. A thin
 * client of the shard's WAL actor: it hands out LSNs and applies back-pressure synchronously (so a
 * refused append never consumed an LSN), and forwards the work to the actor.
 *
 * `startWal` opens the node's WAL environment and spawns one WAL actor per shard.
 */
import { FailedPreconditionError, type NeuroGraphError, OverloadedError, toNeuroGraphError } from "../../core/errors.ts";
import { RECORD_OVERHEAD, checkMutationShape, mutationPayloadSize, type ShardMutation } from "../../core/wal/index.ts";
import type { ActorRef, ActorSystem } from "../../runtime/index.ts";
import type { AppendTicket, RecoveryHandler, ShardLog, ShardLogStats, ShardSnapshotData } from "../shard-log.ts";
import { WAL_KIND, WalActor, type WalMessage, type WalSnapshotResult } from "../wal.ts";
import type { WalOptions } from "./config.ts";
import { startRecoveryThreads, takeEarlyRecovery } from "./early-recovery.ts";
import { WalEnvironment } from "./environment.ts";
import { quarantineSessionDir } from "./quarantine.ts";
import type { WalRecoveryReport } from "./recovery.ts";
import { WalShardState } from "./state.ts";

const FOREVER = { timeoutMs: Infinity } as const;

export class LmdbShardLog implements ShardLog {
  constructor(
    private readonly ref: ActorRef<WalMessage>,
    readonly state: WalShardState,
    private readonly env: WalEnvironment,
  ) {}

  get shard(): number {
    return this.state.shard;
  }

  recover(handler: RecoveryHandler): Promise<WalRecoveryReport> {
    return this.ref.ask({ type: "wal.recover", handler }, FOREVER);
  }

  append(mutation: ShardMutation): AppendTicket {
    const s = this.state;
    if (!s.recovered) {
      throw new FailedPreconditionError(`shard ${s.shard}: append before the log was recovered; call recover() first`);
    }
    const degraded = s.degraded ?? this.env.committer.failed;
    if (degraded !== undefined) {
      s.degrade(degraded);
      throw degraded;
    }
    checkMutationShape(mutation);
    const charge = mutationPayloadSize(mutation) + RECORD_OVERHEAD;
    this.checkCharge(charge);
    const lsn = ++s.lastLsn;
    s.pendingBytes += charge;
    s.pendingRecords++;
    if (s.recordsSinceSnapshot++ === 0) s.firstSinceSnapshotAt = Date.now();
    s.bytesSinceSnapshot += charge;
    const durable = this.ref.ask({ type: "wal.append", lsn, mutation, charge }, FOREVER).catch((err: unknown) => {
      const error = toNeuroGraphError(err);
      if (s.lastEnqueuedLsn < lsn) {
        // The append never reached the committer: a later LSN must not be written after this hole.
        s.failed(charge);
        s.degrade(error);
      }
      throw error;
    });
    return { lsn, durable };
  }

  /** Writes a snapshot covering `data.lsn`; resolves once its manifest is durable (pruning follows). */
  snapshot(data: ShardSnapshotData): Promise<WalSnapshotResult> {
    return this.snapshotWithResult(data);
  }

  /** Throws OverloadedError when a record of about `bytes` payload bytes would not be admitted now. */
  checkCapacity(bytes: number): void {
    this.checkCharge(bytes + RECORD_OVERHEAD + 8);
  }

  private checkCharge(charge: number): void {
    const s = this.state;
    const tuning = this.env.tuning;
    if (s.pendingRecords >= tuning.maxPendingRecords || (s.pendingRecords > 0 && s.pendingBytes + charge > tuning.maxPendingBytes)) {
      throw new OverloadedError(
        `shard ${s.shard}: ${s.pendingBytes} bytes in ${s.pendingRecords} WAL records are waiting for the disk ` +
          `(limits ${tuning.maxPendingBytes} bytes, ${tuning.maxPendingRecords} records); retry with back-off`,
      );
    }
  }

  /** Like `snapshot`, with what was written. Refuses (OverloadedError) while a snapshot is pending. */
  snapshotWithResult(data: ShardSnapshotData): Promise<WalSnapshotResult> {
    const s = this.state;
    if (s.snapshotPending) {
      return Promise.reject(new OverloadedError(`shard ${s.shard} is still writing a snapshot; retry when it completes`));
    }
    s.snapshotPending = true;
    return this.ref.ask({ type: "wal.snapshot", data }, FOREVER).finally(() => {
      s.snapshotPending = false;
    });
  }

  /** True when the configured record, byte or age threshold for a snapshot is reached. */
  snapshotDue(now = Date.now()): boolean {
    return this.state.snapshotDue(this.env.tuning, now);
  }

  stats(): ShardLogStats {
    const st = this.state.stats();
    const failed = this.env.committer.failed;
    return st.degraded === undefined && failed !== undefined ? { ...st, degraded: failed.message } : st;
  }

  /** Waits until every append made so far is durable (or failed). */
  close(): Promise<void> {
    return this.ref.ask({ type: "wal.flush" }, FOREVER);
  }
}

export interface NodeWal {
  readonly env: WalEnvironment;
  readonly logs: readonly LmdbShardLog[];
  readonly refs: readonly ActorRef<WalMessage>[];
  /** Flushes every shard, stops the WAL actors and closes LMDB. */
  close(): Promise<void>;
}

/** Opens `<dataDir>/wal` and spawns `wal/0` … `wal/<n-1>` in `system`. */
export function startWal(system: ActorSystem, options: WalOptions): NodeWal {
  const env = WalEnvironment.open(options);
  const session = quarantineSessionDir(env.quarantineRoot);
  const recoveryPool = takeEarlyRecovery(env.walDir) ?? startRecoveryThreads(env, options);
  if (recoveryPool !== undefined) {
    recoveryPool.onThreadError = (err) => options.logger?.warn({ err: toNeuroGraphError(err) }, "a recovery thread failed; the shards recover on the main thread");
  }
  const logs: LmdbShardLog[] = [];
  const refs: ActorRef<WalMessage>[] = [];
  for (let shard = 0; shard < env.shardCount; shard++) {
    const state = new WalShardState(shard);
    env.onFailure((error: NeuroGraphError) => state.degrade(error));
    const deps = {
      env,
      state,
      repair: options.repair === true,
      quarantineSession: session,
      logger: options.logger,
      metrics: options.metrics,
      blackBox: options.blackBox,
      recoveryPool,
    };
    const ref = system.spawn<WalMessage>(`${options.actorKind ?? WAL_KIND}/${shard}`, () => new WalActor(deps), {
      mailboxCapacity: env.tuning.maxPendingRecords + 1024,
      throughput: 1024,
    });
    refs.push(ref);
    logs.push(new LmdbShardLog(ref, state, env));
  }
  let closing: Promise<void> | undefined;
  return {
    env,
    logs,
    refs,
    close: () =>
      (closing ??= (async () => {
        await Promise.allSettled(logs.map((l) => l.close()));
        await recoveryPool?.close();
        // Abort background work first, so pending snapshot requests get a clear answer.
        await env.committer.close();
        await Promise.allSettled(refs.map((r) => system.stop(r)));
        await env.close();
      })()),
  };
}

