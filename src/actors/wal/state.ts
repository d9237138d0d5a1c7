/**
 * The state of one shard's log that both its WAL actor and the shard's `LmdbShardLog` client
 * read synchronously (same process): LSNs, queue sizes for back-pressure, snapshot bookkeeping,
 * and the degraded flag. It outlives WAL actor restarts.
 */
import type { NeuroGraphError } from "../../core/errors.ts";
import type { ShardLogStats } from "../shard-log.ts";
import type { WalTuning } from "./config.ts";

export class WalShardState {
  /** False until recovery finished; appends before that would reuse LSNs. */
  recovered = false;
  /** Highest LSN handed out. */
  lastLsn = 0;
  /** Highest LSN handed to the group committer (appends reach it in LSN order, without holes). */
  lastEnqueuedLsn = 0;
  /** Highest LSN known durable. */
  durableLsn = 0;
  pendingBytes = 0;
  pendingRecords = 0;
  lastCommitMs = 0;
  lastSnapshotLsn = 0;
  lastSnapshotAt = 0;
  /** Since the last snapshot: records, bytes, and when the first of them was appended. */
  recordsSinceSnapshot = 0;
  bytesSinceSnapshot = 0;
  firstSinceSnapshotAt = 0;
  /** LSN of the snapshot being written, or 0. */
  snapshotInProgress = 0;
  /** A snapshot was requested and has not finished (set by the client before it asks). */
  snapshotPending = false;
  /** Set when a commit failed or an append went missing: the log accepts no more writes. */
  degraded: NeuroGraphError | undefined;

  constructor(readonly shard: number) {}

  degrade(error: NeuroGraphError): void {
    this.degraded ??= error;
  }

  /** Called when a record became durable (in LSN order). */
  settled(lsn: number, charge: number, commitMs: number): void {
    if (lsn > this.durableLsn) this.durableLsn = lsn;
    this.pendingBytes -= charge;
    this.pendingRecords--;
    this.lastCommitMs = commitMs;
  }

  /** Called when a record's write failed. */
  failed(charge: number): void {
    this.pendingBytes -= charge;
    this.pendingRecords--;
  }

  /** True when the tuning's record, byte or age threshold for a new snapshot is reached. */
  snapshotDue(tuning: WalTuning, now: number): boolean {
    if (this.snapshotPending || this.degraded !== undefined || this.recordsSinceSnapshot === 0) return false;
    return (
      this.recordsSinceSnapshot >= tuning.snapshotEveryRecords ||
      this.bytesSinceSnapshot >= tuning.snapshotEveryBytes ||
      now - this.firstSinceSnapshotAt >= tuning.snapshotEveryMs
    );
  }

  stats(): ShardLogStats {
    return {
      lastLsn: this.lastLsn,
      durableLsn: this.durableLsn,
      pendingBytes: this.pendingBytes,
      lastCommitMs: this.lastCommitMs,
      lastSnapshotLsn: this.lastSnapshotLsn,
      lastSnapshotAt: this.lastSnapshotAt,
      degraded: this.degraded?.message,
    };
  }
}
