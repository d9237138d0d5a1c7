/**
 * The log-facing half of a graph shard: appends resolved mutations to the shard's `ShardLog`,
 * tracks what is durable for commit-wait, bounds the bytes waiting for a commit, turns a failed
 * commit into the read-only state, and takes snapshots of durable state. Used by one shard actor
 * incarnation; durability callbacks only touch this bookkeeping, never the store.
 */
import { FailedPreconditionError, OverloadedError, UnavailableError } from "../core/errors.ts";
import type { ShardStore } from "../core/store/index.ts";
import type { Logger } from "../telemetry/index.ts";
import { CommitWait } from "./commit-wait.ts";
import type { ShardBoard } from "./shard-board.ts";
import { VolatileShardLog, type ShardLog, type ShardMutation, type ShardSnapshotResult } from "./shard-log.ts";
import type { ShardOp } from "./shard-protocol.ts";

export interface SnapshotPolicy {
  /** Snapshot after this many logged mutations (0 = never by count). */
  readonly everyMutations: number;
  /** Also snapshot this often when something changed (0 = never by time). */
  readonly intervalMs: number;
}

export interface JournalEnv {
  readonly shard: number;
  readonly log: ShardLog;
  readonly board: ShardBoard;
  readonly maxPendingBytes: number;
  readonly snapshot?: SnapshotPolicy;
  readonly logger?: Logger;
}

/** Approximate bytes a write will log (for the pending-bytes bound, checked before applying). */
export function opBytes(op: ShardOp): number {
  switch (op.kind) {
    case "insert":
    case "update":
    case "connect":
      return op.records.byteLength;
    case "delete":
      return op.ids.byteLength;
    case "disconnect":
    case "unlink":
      return op.keys.sources.length * 9;
  }
}

function mutationBytes(m: ShardMutation): number {
  switch (m.kind) {
    case "tokens.insert":
    case "tokens.update":
    case "connections.upsert":
      return m.records.byteLength;
    case "tokens.delete":
      return m.ids.byteLength;
    case "connections.remove":
      return m.sources.length * 9;
    case "constitution.set":
      return m.document.byteLength;
    case "field.result":
      return m.payload.byteLength;
  }
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class ShardJournal {
  readonly wait: CommitWait;
  /** Why the shard is read-only, once a commit failed. */
  degraded: string | undefined;
  /** A log that is durable at once (nothing ever waits). */
  readonly volatile: boolean;
  /** The log decides when a snapshot is due (a log with `snapshotDue()`, like the WAL's). */
  private readonly due: (() => boolean) | undefined;
  private pendingBytes = 0;
  private sinceSnapshot = 0;
  private snapshotting = false;

  constructor(
    private readonly env: JournalEnv,
    startLsn: number,
  ) {
    this.wait = new CommitWait(startLsn);
    this.volatile = env.log instanceof VolatileShardLog;
    const log = env.log as ShardLog & { snapshotDue?: unknown };
    this.due = typeof log.snapshotDue === "function" ? () => (log.snapshotDue as () => boolean).call(log) : undefined;
  }

  /** How often the shard should ask whether a snapshot is due (0 = never). */
  get snapshotCheckMs(): number {
    return this.env.snapshot?.intervalMs ?? (this.due !== undefined ? 1000 : 0);
  }

  /** Throws when the shard cannot take a write of about `bytes` now. */
  ensureWritable(bytes: number): void {
    const { shard, maxPendingBytes } = this.env;
    if (this.degraded !== undefined) {
      throw new UnavailableError(`shard ${shard} is read-only because its log failed (${this.degraded}); reads still work; restart the node to recover writes`);
    }
    if (this.pendingBytes > 0 && this.pendingBytes + bytes > maxPendingBytes) {
      throw new OverloadedError(`shard ${shard} has ${Math.round(this.pendingBytes / 1024)} KiB of writes waiting for the log to commit; retry with back-off`);
    }
    // The log's own queue bound (the WAL's), asked before the write is applied.
    this.env.log.checkCapacity?.(bytes);
  }

  /**
   * Appends a mutation that was just applied; a log that refuses it makes the shard read-only.
   * `counts` false: a record that carries state over a snapshot does not make the next one due.
   */
  append(mutation: ShardMutation, counts = true): void {
    const { log, board, shard } = this.env;
    let ticket;
    try {
      ticket = log.append(mutation);
    } catch (err) {
      this.degrade(this.wait.appliedLsn + 1, err);
      throw new UnavailableError(
        `shard ${shard}: the write was applied in memory but its log refused it (${reasonOf(err)}); the shard is now read-only; restart the node`,
        { cause: err },
      );
    }
    const lsn = ticket.lsn;
    this.wait.appliedLsn = lsn;
    if (counts) this.sinceSnapshot++;
    if (this.volatile) {
      this.wait.markDurable(lsn);
      return;
    }
    const bytes = mutationBytes(mutation);
    this.pendingBytes += bytes;
    ticket.durable.then(
      () => {
        this.pendingBytes -= bytes;
        this.wait.markDurable(lsn);
        board.durableLsn[shard] = this.wait.durableLsn;
      },
      (err: unknown) => {
        this.pendingBytes -= bytes;
        this.degrade(lsn, err);
      },
    );
  }

  private degrade(lsn: number, cause: unknown): void {
    const { board, shard, logger } = this.env;
    const reason = reasonOf(cause);
    if (this.degraded === undefined) {
      this.degraded = reason;
      board.setState(shard, "read_only", reason);
      logger?.error({ shard, lsn, err: cause }, "shard log commit failed; the shard is read-only");
    }
    this.wait.fail(lsn, new UnavailableError(`shard ${shard}: the log failed to commit this write (${reason}); the shard is read-only; restart the node`, { cause }));
  }

  /** Snapshots when the policy (or else the log) says so; `timer`: the periodic tick. */
  /** Returns true when a snapshot was started (the log before it will be pruned). */
  maybeSnapshot(store: ShardStore, timer: boolean): boolean {
    if (this.sinceSnapshot === 0 || this.snapshotting) return false;
    const p = this.env.snapshot;
    if (p !== undefined) {
      if (timer || (p.everyMutations > 0 && this.sinceSnapshot >= p.everyMutations)) return this.background(store);
    } else if (this.due?.() === true) {
      return this.background(store);
    }
    return false;
  }

  private background(store: ShardStore): boolean {
    if (this.snapshotting || this.volatile || this.degraded !== undefined) return false;
    const { logger, shard } = this.env;
    this.snapshot(store).catch((err: unknown) => logger?.warn({ shard, err }, "snapshot failed; the log keeps every record"));
    return true;
  }

  /**
   * Snapshots now (AdminService `Snapshot`): resolves with what the log wrote. Refuses a volatile
   * log (FAILED_PRECONDITION), a read-only shard (UNAVAILABLE) and a second snapshot while one is
   * being written (OVERLOADED).
   */
  snapshotNow(store: ShardStore): Promise<ShardSnapshotResult> {
    const { shard } = this.env;
    if (this.volatile) {
      return Promise.reject(new FailedPreconditionError(`shard ${shard} keeps no log (the node runs without a WAL), so there is nothing to snapshot`));
    }
    if (this.degraded !== undefined) {
      return Promise.reject(new UnavailableError(`shard ${shard} is read-only because its log failed (${this.degraded}); restart the node`));
    }
    if (this.snapshotting) return Promise.reject(new OverloadedError(`shard ${shard} is already writing a snapshot; retry when it completes`));
    return this.snapshot(store);
  }

  /** Exports the store now and hands it to the log once the exported LSN is durable. */
  private snapshot(store: ShardStore): Promise<ShardSnapshotResult> {
    this.snapshotting = true;
    this.sinceSnapshot = 0;
    const data = { lsn: this.wait.appliedLsn, tokens: store.exportTokens(), connections: store.exportConnections() };
    const { log } = this.env;
    const started = performance.now();
    // Only durable state may be snapshotted: a snapshot of a write whose commit then failed would resurrect it.
    const durable = new Promise<void>((resolve, reject) => {
      if (this.wait.durableLsn >= data.lsn) resolve();
      else this.wait.hold({ resolve: () => resolve(), reject }, undefined);
    });
    return durable
      .then(() => log.snapshot(data))
      .then((r) => r ?? { lsn: data.lsn, chunks: 0, bytes: 0, durationMs: performance.now() - started, unchanged: false })
      .finally(() => {
        this.snapshotting = false;
      });
  }
}
