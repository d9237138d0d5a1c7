/**
 * A ShardLog for tests whose behaviour the test steers: recovery can wait on a gate, commits can
 * be held and released by hand, and commits can be made to fail. It keeps the mutations it was
 * given, so a test can replay them.
 */
import type {
  AppendTicket,
  RecoveryHandler,
  RecoveryReport,
  ShardLog,
  ShardLogStats,
  ShardMutation,
  ShardSnapshotData,
} from "../../../src/actors/index.ts";

interface Pending {
  readonly lsn: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class ControlledLog implements ShardLog {
  /** Recovery waits for this promise. */
  gate: Promise<void> | undefined;
  /** Commits wait for `release()`. */
  holdCommits = false;
  /** Appends from now on fail to commit with this error. */
  failCommits: Error | undefined;
  /** `append` throws this. */
  refuseAppends: Error | undefined;
  /** Every mutation appended (not those given to replay). */
  readonly mutations: ShardMutation[] = [];
  /** What a recovery replays: the initial records, then every durable append. */
  private readonly entries: { lsn: number; mutation: ShardMutation }[] = [];
  readonly snapshots: ShardSnapshotData[] = [];
  recoveries = 0;
  private lsn = 0;
  private durable = 0;
  private pending: Pending[] = [];

  constructor(replay: readonly ShardMutation[] = []) {
    for (const mutation of replay) this.entries.push({ lsn: ++this.lsn, mutation });
    this.durable = this.lsn;
  }

  /** Replays every durable mutation (also after a restart: what was not durable is gone). */
  async recover(handler: RecoveryHandler): Promise<RecoveryReport> {
    this.recoveries++;
    if (this.gate !== undefined) await this.gate;
    const durable = this.entries.filter((e) => e.lsn <= this.durable);
    for (const e of durable) handler.apply(e.mutation, e.lsn);
    return { snapshotLsn: 0, replayedRecords: durable.length, lastLsn: this.durable, durationMs: 0, warnings: [] };
  }

  append(mutation: ShardMutation): AppendTicket {
    if (this.refuseAppends !== undefined) throw this.refuseAppends;
    const lsn = ++this.lsn;
    this.mutations.push(mutation);
    this.entries.push({ lsn, mutation });
    if (this.failCommits !== undefined) {
      const durable = Promise.reject(this.failCommits);
      durable.catch(() => undefined);
      return { lsn, durable };
    }
    if (!this.holdCommits) {
      this.durable = lsn;
      return { lsn, durable: Promise.resolve() };
    }
    const durable = new Promise<void>((resolve, reject) => this.pending.push({ lsn, resolve, reject }));
    durable.catch(() => undefined);
    return { lsn, durable };
  }

  /** Makes every held commit durable, in order. */
  release(): void {
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) {
      this.durable = p.lsn;
      p.resolve();
    }
  }

  /** Fails every held commit. */
  failHeld(error: Error): void {
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) p.reject(error);
  }

  get held(): number {
    return this.pending.length;
  }

  snapshot(data: ShardSnapshotData): Promise<void> {
    this.snapshots.push(data);
    return Promise.resolve();
  }

  stats(): ShardLogStats {
    return {
      lastLsn: this.lsn,
      durableLsn: this.durable,
      pendingBytes: 0,
      lastCommitMs: 0,
      lastSnapshotLsn: 0,
      lastSnapshotAt: 0,
      degraded: this.failCommits?.message,
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
