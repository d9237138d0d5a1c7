/**
 * WAL settings (docs/wal.md §6) with their defaults and validation. Sizes are bytes, times are
 * milliseconds.
 */
import { ValidationError, type FieldViolation } from "../../core/errors.ts";
import { DEFAULT_SNAPSHOT_CHUNK_BYTES } from "../../core/wal/index.ts";
import type { BlackBox, Logger, MetricsRegistry } from "../../telemetry/index.ts";

export interface WalTuning {
  /** Most bytes of log records one LMDB transaction takes (the rest waits for the next). */
  readonly maxBatchBytes: number;
  /**
   * How long the first queued record may wait for company before its transaction starts.
   * 0 = commit at the end of the current event-loop turn (setImmediate). A *maximum age*,
   * not an idle timer: a steady trickle cannot postpone a commit.
   */
  readonly maxBatchDelayMs: number;
  /** Per shard: bytes appended but not yet durable; beyond this, appends fail with OverloadedError. */
  readonly maxPendingBytes: number;
  /** Per shard: records appended but not yet durable (bounds the WAL actor's mailbox too). */
  readonly maxPendingRecords: number;
  /** A snapshot is due after this many records since the last one… */
  readonly snapshotEveryRecords: number;
  /** …or this many bytes of log since the last one… */
  readonly snapshotEveryBytes: number;
  /** …or this much time (ms) with at least one record since the last one. */
  readonly snapshotEveryMs: number;
  /** Size of one snapshot chunk (one LMDB value; at most one chunk joins each commit). */
  readonly snapshotChunkBytes: number;
  /** Log records removed per commit while pruning after a snapshot. */
  readonly pruneBatch: number;
}

export const DEFAULT_WAL_TUNING: WalTuning = {
  maxBatchBytes: 16 * 1024 * 1024,
  maxBatchDelayMs: 0,
  maxPendingBytes: 64 * 1024 * 1024,
  maxPendingRecords: 65_536,
  snapshotEveryRecords: 100_000,
  snapshotEveryBytes: 1024 * 1024 * 1024,
  snapshotEveryMs: 10 * 60 * 1000,
  snapshotChunkBytes: DEFAULT_SNAPSHOT_CHUNK_BYTES,
  pruneBatch: 4096,
};

export interface WalOptions extends Partial<WalTuning> {
  /** The node's data directory; the log lives in `<dataDir>/wal`. */
  readonly dataDir: string;
  /** Number of shards (fixed per data directory). */
  readonly shardCount: number;
  /** Keep everything up to the first damage and move the rest into `<dataDir>/wal-quarantine/`. */
  readonly repair?: boolean;
  /** LMDB map size limit in bytes; default: grow as needed. */
  readonly mapSize?: number;
  readonly metrics?: MetricsRegistry;
  readonly blackBox?: BlackBox;
  readonly logger?: Logger;
  /** Address kind of the WAL actors (`<kind>/<shard>`); a second WAL in one actor system needs its own. */
  readonly actorKind?: string;
  /**
   * Threads that load the shards' snapshots in parallel at start (recovery-pool.ts); 0 = all on
   * the main thread. Default: $NG_RECOVERY_THREADS, else one per core but one (the main
   * thread loads shards too).
   */
  readonly recoveryThreads?: number;
  /** Whether the main thread loads the shards no recovery thread has begun yet (default true; false waits for the threads). */
  readonly recoveryOnMainThread?: boolean;
  /** Snapshots with fewer tokens are loaded on the main thread (default: $NG_RECOVERY_THREAD_MIN_TOKENS, else 65 536). */
  readonly recoveryThreadMinTokens?: number;
}

const LIMITS: Readonly<Record<keyof WalTuning, readonly [number, number]>> = {
  maxBatchBytes: [64 * 1024, 1024 * 1024 * 1024],
  maxBatchDelayMs: [0, 1000],
  maxPendingBytes: [64 * 1024, 64 * 1024 * 1024 * 1024],
  maxPendingRecords: [1, 1_000_000],
  snapshotEveryRecords: [1, Number.MAX_SAFE_INTEGER],
  snapshotEveryBytes: [1, Number.MAX_SAFE_INTEGER],
  snapshotEveryMs: [1, Number.MAX_SAFE_INTEGER],
  snapshotChunkBytes: [64, 256 * 1024 * 1024],
  pruneBatch: [1, 1_000_000],
};

/** Fills in defaults and checks every setting; throws one ValidationError naming all bad ones. */
export function resolveWalTuning(options: Partial<WalTuning>): WalTuning {
  const violations: FieldViolation[] = [];
  const pick = (key: keyof WalTuning): number => {
    const v = options[key];
    if (v === undefined) return DEFAULT_WAL_TUNING[key];
    const [min, max] = LIMITS[key];
    if (Number.isInteger(v) && v >= min && v <= max) return v;
    violations.push({ field: `wal.${key}`, value: String(v), rule: "range", description: `must be an integer from ${min} to ${max}` });
    return DEFAULT_WAL_TUNING[key];
  };
  const tuning: WalTuning = {
    maxBatchBytes: pick("maxBatchBytes"),
    maxBatchDelayMs: pick("maxBatchDelayMs"),
    maxPendingBytes: pick("maxPendingBytes"),
    maxPendingRecords: pick("maxPendingRecords"),
    snapshotEveryRecords: pick("snapshotEveryRecords"),
    snapshotEveryBytes: pick("snapshotEveryBytes"),
    snapshotEveryMs: pick("snapshotEveryMs"),
    snapshotChunkBytes: pick("snapshotChunkBytes"),
    pruneBatch: pick("pruneBatch"),
  };
  if (violations.length > 0) throw ValidationError.of("WAL settings", violations);
  return tuning;
}
