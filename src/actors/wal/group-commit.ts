/**
 * Group commit for one LMDB environment (all shards of a node share it, so one fsync covers the
 * writes of every shard in a turn). Writes queue here; the queue is committed as one LMDB
 * transaction at the end of the event-loop turn (or after `maxBatchDelayMs`), at most
 * `maxBatchBytes` of records at a time, plus at most one unit of background work (a snapshot
 * chunk, a batch of prunes), so background work never holds up writes for more than one unit.
 *
 * Exactly one transaction is in flight at a time. That bounds nothing useful away (while one
 * commits, the next batch gathers, so batches grow with load) and it keeps the log gap-free: when
 * a commit fails, nothing after it has been handed to LMDB, every queued write fails with the
 * same error, and the committer refuses all further work (the log is read-only until restart).
 *
 * Durability: the environment is opened with `overlappingSync: false`, so LMDB's
 * `mdb_txn_commit` writes the data pages, fsyncs them and writes the meta page synchronously
 * (O_DSYNC) before lmdb-js marks the transaction committed; the batch promise resolves after
 * that. See docs/wal.md §3.
 */
import type { Database, Key, RootDatabase } from "lmdb";
import { type NeuroGraphError, UnavailableError } from "../../core/errors.ts";
import type { MetricsRegistry } from "../../telemetry/index.ts";

/** One write: a put of `value`, or a remove when `value` is undefined. */
export interface CommitOp {
  readonly db: Database<Uint8Array, Key>;
  readonly key: Key;
  readonly value: Uint8Array | undefined;
}

export interface CommitListener {
  /** The write is durable. */
  committed(): void;
  /** The write's transaction failed (or the committer had failed before it ran). */
  failed(error: NeuroGraphError): void;
}

/** Background work (snapshots, pruning) handed out one unit per commit. */
export interface BackgroundJob {
  /** The next unit (at least one op), or undefined when the job has nothing more to write now. */
  nextUnit(): BackgroundUnit | undefined;
  /** The committer failed; the job will get no more commits. */
  abort(error: NeuroGraphError): void;
}

export interface BackgroundUnit {
  readonly ops: readonly CommitOp[];
  readonly bytes: number;
  readonly listener: CommitListener;
}

interface Pending {
  readonly op: CommitOp;
  readonly bytes: number;
  readonly listener: CommitListener;
}

export interface CommitterOptions {
  readonly maxBatchBytes: number;
  readonly maxBatchDelayMs: number;
  readonly metrics?: MetricsRegistry | undefined;
  /** Called once, when a commit fails (after every pending write was failed). */
  readonly onFailure?: (error: NeuroGraphError) => void;
}

export interface CommitStats {
  readonly commits: number;
  readonly records: number;
  readonly bytes: number;
  readonly lastCommitMs: number;
  readonly queuedBytes: number;
}

export class GroupCommitter {
  private queue: Pending[] = [];
  private head = 0;
  private queuedBytes = 0;
  private readonly jobs: BackgroundJob[] = [];
  private inFlight = false;
  private scheduled = false;
  private firstQueuedAt = 0;
  private failure: NeuroGraphError | undefined;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private commits = 0;
  private records = 0;
  private bytes = 0;
  private lastCommitDuration = 0;

  constructor(
    private readonly root: RootDatabase,
    private readonly options: CommitterOptions,
  ) {}

  /** The error that stopped the committer, if any. */
  get failed(): NeuroGraphError | undefined {
    return this.failure;
  }

  /** Duration of the last successful commit, ms. */
  get lastCommitMs(): number {
    return this.lastCommitDuration;
  }

  stats(): CommitStats {
    return { commits: this.commits, records: this.records, bytes: this.bytes, lastCommitMs: this.lastCommitDuration, queuedBytes: this.queuedBytes };
  }

  /** Queues a foreground write; `listener` hears when it is durable or failed. */
  enqueue(op: CommitOp, bytes: number, listener: CommitListener): void {
    if (this.failure !== undefined) {
      listener.failed(this.failure);
      return;
    }
    if (this.closed) {
      listener.failed(new UnavailableError("the WAL is closed; the node is shutting down"));
      return;
    }
    if (this.queue.length === this.head) this.firstQueuedAt = performance.now();
    this.queue.push({ op, bytes, listener });
    this.queuedBytes += bytes;
    this.schedule();
  }

  /** Adds background work; it gets one unit per commit until `nextUnit` returns undefined. */
  addJob(job: BackgroundJob): void {
    if (this.failure !== undefined || this.closed) {
      job.abort(this.failure ?? new UnavailableError("the WAL is closed; the node is shutting down"));
      return;
    }
    this.jobs.push(job);
    this.schedule();
  }

  /** Resolves when nothing is queued or in flight. */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking work and waits for what is queued to commit (or fail). */
  async close(): Promise<void> {
    this.closed = true;
    const jobs = this.jobs.splice(0);
    const stopping = new UnavailableError("the WAL is closing; the node is shutting down");
    for (const j of jobs) j.abort(stopping);
    await this.whenIdle();
  }

  private isIdle(): boolean {
    return !this.inFlight && !this.scheduled && this.queue.length === this.head && this.jobs.length === 0;
  }

  private schedule(): void {
    if (this.inFlight || this.scheduled || this.failure !== undefined) return;
    if (this.queue.length === this.head && this.jobs.length === 0) return;
    this.scheduled = true;
    const wait = this.options.maxBatchDelayMs - (performance.now() - this.firstQueuedAt);
    if (this.options.maxBatchDelayMs > 0 && this.queue.length > this.head && wait > 0) setTimeout(this.run, wait);
    else setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.scheduled = false;
    if (this.failure !== undefined) return;
    const batch: Pending[] = [];
    let bytes = 0;
    while (this.head < this.queue.length && (batch.length === 0 || bytes + this.queue[this.head]!.bytes <= this.options.maxBatchBytes)) {
      const p = this.queue[this.head++]!;
      batch.push(p);
      bytes += p.bytes;
    }
    this.queuedBytes -= bytes;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else {
      // What is left has waited a whole commit already: its transaction starts right after this one.
      this.firstQueuedAt = Number.NEGATIVE_INFINITY;
    }
    const unit = this.takeUnit();
    if (batch.length === 0 && unit === undefined) {
      this.settleIdle();
      return;
    }
    this.inFlight = true;
    const started = performance.now();
    let committing: Promise<boolean>;
    try {
      committing = this.root.batch(() => {
        for (const p of batch) write(p.op);
        if (unit !== undefined) for (const op of unit.ops) write(op);
      });
    } catch (err) {
      committing = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    committing.then(
      () => this.succeeded(batch, bytes, unit, started),
      (err: unknown) => void this.commitFailed(batch, unit, err),
    );
  };

  private takeUnit(): BackgroundUnit | undefined {
    while (this.jobs.length > 0) {
      const unit = this.jobs[0]!.nextUnit();
      if (unit !== undefined) return unit;
      this.jobs.shift();
    }
    return undefined;
  }

  private succeeded(batch: readonly Pending[], bytes: number, unit: BackgroundUnit | undefined, started: number): void {
    const ms = performance.now() - started;
    this.inFlight = false;
    this.commits++;
    this.records += batch.length;
    this.bytes += bytes;
    this.lastCommitDuration = ms;
    this.options.metrics?.walCommit(ms / 1000, batch.length, bytes + (unit?.bytes ?? 0));
    for (const p of batch) p.listener.committed();
    unit?.listener.committed();
    this.schedule();
    this.settleIdle();
  }

  private async commitFailed(batch: readonly Pending[], unit: BackgroundUnit | undefined, err: unknown): Promise<void> {
    const cause = await lmdbCommitError(err);
    const error = new UnavailableError(
      `WAL commit failed: ${describe(cause)}. The log is read-only until the node restarts; writes are refused. ` +
        `Check the disk holding the data directory (space, permissions, I/O errors), then restart the node.`,
      { cause, retryable: false },
    );
    this.inFlight = false;
    this.failure = error;
    const queued = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    const jobs = this.jobs.splice(0);
    for (const p of batch) p.listener.failed(error);
    unit?.listener.failed(error);
    for (const p of queued) p.listener.failed(error);
    for (const j of jobs) j.abort(error);
    this.options.onFailure?.(error);
    this.settleIdle();
  }

  private settleIdle(): void {
    if (!this.isIdle() || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

const ignore = (): void => {};

function write(op: CommitOp): void {
  // Inside a batch lmdb-js returns a settled placeholder; the batch's promise reports the
  // outcome, so per-op rejections are deliberately ignored (never left unhandled).
  const p: Promise<boolean> = op.value === undefined ? op.db.remove(op.key) : op.db.put(op.key, op.value);
  p.catch(ignore);
}

/** lmdb-js rejects with "Commit failed (see commitError for details)" and the real error in a promise. */
async function lmdbCommitError(err: unknown): Promise<unknown> {
  if (typeof err === "object" && err !== null && "commitError" in err) {
    const detail = err.commitError;
    if (detail instanceof Promise) {
      try {
        await detail;
      } catch (real) {
        return real;
      }
    }
  }
  return err;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "number" || typeof code === "string" ? `${err.message} (code ${code})` : err.message;
  }
  return String(err);
}
