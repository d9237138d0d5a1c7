/**
 * Where a node's shard logs come from. The default is the WAL (`<dataDir>/wal`, LMDB, one WAL
 * actor per shard) configured from `neurograph serve`'s settings; `volatileShardLogs`
 * (`--no-wal`) keeps nothing, so data is lost when the process stops.
 */
import { VolatileShardLog, type ShardLog, type ShardLogStats } from "../actors/index.ts";
import { startWal, type WalTuning } from "../actors/wal/index.ts";
import { join } from "node:path";
import type { ActorSystem } from "../runtime/index.ts";
import type { BlackBox, Logger, MetricsRegistry } from "../telemetry/index.ts";
import type { ServeConfig } from "./config.ts";

/** What a log provider is given to open the shards' logs. */
export interface ShardLogContext {
  /**
   * The node's actor system, e.g. to spawn WAL actors. Actors spawned here stop after the shard
   * logs were closed (the shard actors stop before).
   */
  readonly system: ActorSystem;
  /** Absolute data directory (created before the provider is called). */
  readonly dataDir: string;
  readonly shardCount: number;
  /** `--repair`: truncate a damaged log at its first bad record instead of refusing to start. */
  readonly repair: boolean;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** Record WAL errors here (`blackBox.walError`). */
  readonly blackBox: BlackBox;
}

/** Opens the log of each shard (once per shard, not per actor restart) and closes shared resources. */
export interface ShardLogProvider {
  open(shard: number): ShardLog | Promise<ShardLog>;
  /**
   * The guardian's own log (constitution changes as `constitution.set` records; never
   * snapshotted). Without it the constitution lives in memory, like volatile data.
   */
  openGuardianLog?(): ShardLog | Promise<ShardLog>;
  /** Runs after every shard's log was closed. */
  close?(): void | Promise<void>;
}

export type ShardLogSetup = (context: ShardLogContext) => ShardLogProvider | Promise<ShardLogProvider>;

/** Keeps nothing: data lives in memory for the life of the process. */
export const volatileShardLogs: ShardLogSetup = () => ({ open: () => new VolatileShardLog() });


/** The WAL settings of a serve configuration. */
export function walTuningOf(config: ServeConfig): Partial<WalTuning> {
  return {
    snapshotEveryRecords: config.snapshotEveryRecords,
    snapshotEveryMs: config.snapshotInterval,
    maxBatchBytes: config.walBatchBytes,
    maxBatchDelayMs: config.walBatchDelay,
    maxPendingBytes: config.walQueueBytes,
  };
}

/** Where the guardian's WAL lives (`<dataDir>/guardian/wal`): a one-shard WAL of its own. */
export const GUARDIAN_WAL_DIR = "guardian";

/**
 * Shard logs backed by the WAL in the data directory (recovery happens as each shard starts).
 * The guardian's constitution log is a separate one-shard WAL, so the shards' WAL keeps its
 * fixed shard count and the constitution is never dropped by a shard snapshot's pruning.
 */
export function walShardLogs(tuning: Partial<WalTuning> = {}): ShardLogSetup {
  return (ctx) => {
    const common = { repair: ctx.repair, logger: ctx.logger, blackBox: ctx.blackBox, ...tuning };
    const wal = startWal(ctx.system, { ...common, dataDir: ctx.dataDir, shardCount: ctx.shardCount, metrics: ctx.metrics });
    let guardianWal: ReturnType<typeof startWal> | undefined;
    return {
      open: (shard) => wal.logs[shard]!,
      openGuardianLog: () => {
        // No metrics: its shard 0 would be counted as the graph's shard 0.
        guardianWal ??= startWal(ctx.system, { ...common, dataDir: join(ctx.dataDir, GUARDIAN_WAL_DIR), shardCount: 1, actorKind: "wal-guardian" });
        return guardianWal.logs[0]!;
      },
      close: async () => {
        await Promise.all([wal.close(), guardianWal?.close()]);
      },
    };
  };
}

/** A shard's WAL figures, or undefined for a log that keeps nothing. */
export function walStatsOf(log: ShardLog | undefined): ShardLogStats | undefined {
  return log === undefined || log instanceof VolatileShardLog ? undefined : log.stats();
}
