/**
 * Starting the recovery threads (recovery-pool.ts), as early as possible. `startWal` starts them
 * when it opens the WAL; `neurograph serve` starts them sooner, right after reading its settings
 * and before loading the rest of the node (≈ 0.5 s of modules), with `startWalRecoveryEarly`:
 * that opens the WAL for writing ahead (taking the data directory's lock, environment.ts
 * `preopenWal`) and sets the threads loading each shard's newest snapshot; `startWal` then takes
 * over both. Best effort: no WAL yet, another shard count, a directory in use or a damaged
 * manifest leave everything to `startWal`, which reports it as always.
 */
import { type PreopenedWal, preopenWal, walMaxDbs } from "./environment.ts";
import { type RecoveryJob, RecoveryPool, recoveryThreadMinTokens, recoveryThreads } from "./recovery-pool.ts";
import { listSnapshots, readManifest } from "./snapshot-store.ts";

export interface EarlyRecoveryOptions {
  readonly dataDir: string;
  readonly shardCount: number;
  readonly mapSize?: number;
  readonly recoveryThreads?: number;
  readonly recoveryThreadMinTokens?: number;
  readonly recoveryOnMainThread?: boolean;
}

/** Pools started by `startWalRecoveryEarly`, by WAL directory, until `startWal` takes them. */
const early = new Map<string, RecoveryPool>();

/** See the file comment. Returns whether threads are loading now. */
export function startWalRecoveryEarly(options: EarlyRecoveryOptions): boolean {
  if (recoveryThreads(options.recoveryThreads) === 0) return false;
  const wal = preopenWal(options.dataDir, options.shardCount, options.mapSize);
  if (wal === undefined) return false;
  const pool = startRecoveryThreads(wal, options);
  if (pool !== undefined) early.set(wal.walDir, pool);
  return pool !== undefined;
}

/** The pool `startWalRecoveryEarly` started for `walDir`, if any (taken once). */
export function takeEarlyRecovery(walDir: string): RecoveryPool | undefined {
  const pool = early.get(walDir);
  early.delete(walDir);
  return pool;
}

/**
 * Starts loading every shard's newest snapshot on recovery threads; each shard's recovery takes
 * its load (recovery.ts). Undefined when nothing is worth a thread: no threads configured, or
 * only small snapshots.
 */
export function startRecoveryThreads(wal: PreopenedWal, options: Omit<EarlyRecoveryOptions, "dataDir" | "shardCount">): RecoveryPool | undefined {
  const threads = recoveryThreads(options.recoveryThreads);
  if (threads === 0) return undefined;
  const pool = new RecoveryPool(threads, recoveryThreadMinTokens(options.recoveryThreadMinTokens), options.recoveryOnMainThread ?? true);
  const jobs: RecoveryJob[] = [];
  for (let shard = 0; shard < wal.shardCount; shard++) {
    const dbs = wal.shard(shard);
    const newest = listSnapshots(dbs).find((s) => s.hasManifest);
    if (newest === undefined) continue;
    const m = readManifest(dbs, shard, newest.lsn);
    // A damaged manifest is the main thread's to report.
    if ("detail" in m || !pool.wants(m.manifest.tokenBytes / 64)) continue;
    jobs.push({ walDir: wal.walDir, maxDbs: walMaxDbs(wal.shardCount), shardCount: wal.shardCount, shard, lsn: newest.lsn });
  }
  if (jobs.length === 0) return undefined;
  pool.start(jobs);
  return pool;
}
