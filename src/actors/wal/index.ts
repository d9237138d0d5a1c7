/** The WAL (DESIGN §5, docs/wal.md): LMDB environment, group commit, WAL actors, recovery, inspection. */
export { WAL_KIND, WalActor, type WalActorDeps, type WalMessage, type WalSnapshotResult } from "../wal.ts";
export { DEFAULT_WAL_TUNING, resolveWalTuning, type WalOptions, type WalTuning } from "./config.ts";
export { QUARANTINE_DIR_NAME, WAL_DIR_NAME, WalEnvironment, type ShardDatabases } from "./environment.ts";
export { GroupCommitter, type BackgroundJob, type CommitListener, type CommitOp, type CommitStats } from "./group-commit.ts";
export { LmdbShardLog, startWal, type NodeWal } from "./lmdb-shard-log.ts";
export type { QuarantineReport } from "./quarantine.ts";
export type { WalRecoveryReport } from "./recovery.ts";
export { listSnapshots, loadSnapshot, readManifest, type StoredSnapshot } from "./snapshot-store.ts";
export { WalShardState } from "./state.ts";
export { startWalRecoveryEarly, type EarlyRecoveryOptions } from "./early-recovery.ts";
export { RECOVERY_THREADS_ENV } from "./recovery-pool.ts";
