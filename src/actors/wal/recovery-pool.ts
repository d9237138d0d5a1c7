/**
 * Recovery threads: at node start, each shard's newest snapshot is loaded on a worker thread
 * (recovery-worker.ts; one per core by default), so the shards' bulk loads (chunk CRCs, records
 * into columns, the id table) run in parallel instead of one after the other on the main thread.
 * The arrays come back transferred, not copied; the main thread adopts them and does the rest of
 * the recovery (connections, log replay, cleanup, any repair) as before.
 *
 * A worker only ever *reads*. When it cannot load a snapshot cleanly, or a thread fails, the
 * shard is recovered on the main thread as if there were no pool, so damage is reported and
 * repaired by exactly one code path (recovery.ts).
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { TokenState } from "../../core/store/index.ts";

/** Environment variable that sets the number of recovery threads (0 = recover on the main thread). */
export const RECOVERY_THREADS_ENV = "NEUROGRAPH_RECOVERY_THREADS";
/** Smaller snapshots are loaded on the main thread: a worker's start and hand-off would cost more. */
export const DEFAULT_RECOVERY_WORKER_MIN_TOKENS = 65_536;
/** Environment variable that sets that threshold (tests use it to put small shards on threads). */
export const RECOVERY_THREAD_MIN_TOKENS_ENV = "NEUROGRAPH_RECOVERY_THREAD_MIN_TOKENS";
/** Idle threads stop after this long (recovery is over; a restarted shard reloads on the main thread). */
const IDLE_STOP_MS = 2_000;

export interface RecoveryJob {
  readonly walDir: string;
  readonly maxDbs: number;
  readonly shardCount: number;
  readonly shard: number;
  /** The snapshot to load (the newest with a manifest, as the main thread listed them). */
  readonly lsn: number;
}

/** A snapshot loaded on a recovery thread: its tokens as store arrays, the rest as read. */
export interface PreparedSnapshot {
  readonly ok: true;
  readonly shard: number;
  readonly lsn: number;
  readonly createdAtMs: number;
  readonly tokenCount: number;
  readonly headroomTokens: number;
  readonly tokens: TokenState;
  readonly connections: Uint8Array;
  readonly constitution: Uint8Array | undefined;
  /** Time the thread spent on it. */
  readonly busyMs: number;
}

export type RecoveryJobResult = PreparedSnapshot | { readonly ok: false; readonly shard: number; readonly lsn: number; readonly detail: string };

/** The number of recovery threads: `configured`, else $NEUROGRAPH_RECOVERY_THREADS, else one per core. */
export function recoveryThreads(configured: number | undefined): number {
  return configured !== undefined ? Math.max(0, Math.floor(configured)) : (envCount(RECOVERY_THREADS_ENV) ?? availableParallelism());
}

/** The smallest snapshot (tokens) loaded on a thread: `configured`, else $NEUROGRAPH_RECOVERY_THREAD_MIN_TOKENS, else 65 536. */
export function recoveryThreadMinTokens(configured: number | undefined): number {
  return configured !== undefined ? Math.max(0, Math.floor(configured)) : (envCount(RECOVERY_THREAD_MIN_TOKENS_ENV) ?? DEFAULT_RECOVERY_WORKER_MIN_TOKENS);
}

/** A non-negative integer from the environment; anything else counts as unset. */
function envCount(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

interface Pending {
  readonly job: RecoveryJob;
  readonly done: (result: RecoveryJobResult | undefined) => void;
}

interface Thread {
  readonly worker: Worker;
  busy: Pending | undefined;
  /** Terminated by the pool (its exit is expected). */
  stopping: boolean;
}

export class RecoveryPool {
  private readonly threads: Thread[] = [];
  /** Loads started ahead of the shards' recoveries, by shard. */
  private readonly ahead = new Map<number, { readonly lsn: number; readonly result: Promise<RecoveryJobResult | undefined> }>();
  private readonly queue: Pending[] = [];
  private idleTimer: NodeJS.Timeout | undefined;
  /** Set when a thread failed: every later load runs on the main thread. */
  private broken = false;
  private closed = false;

  /** Told when a thread fails (the shards then recover on the main thread). */
  onThreadError: ((error: Error) => void) | undefined;

  constructor(
    readonly size: number,
    /** Below this many snapshot tokens a shard is loaded on the main thread. */
    readonly minTokens: number = DEFAULT_RECOVERY_WORKER_MIN_TOKENS,
  ) {}

  /** Whether a snapshot of `tokenCount` tokens should go to a thread. */
  wants(tokenCount: number): boolean {
    return !this.closed && !this.broken && this.size > 0 && tokenCount >= this.minTokens;
  }

  /** Starts loading a shard's snapshot now, for its recovery to `take` later. */
  loadAhead(job: RecoveryJob): void {
    this.ahead.set(job.shard, { lsn: job.lsn, result: this.load(job) });
  }

  /**
   * The load started ahead for `shard`, if it was of the snapshot at `lsn` (else it is dropped).
   * Each is taken once: a shard that recovers without it frees its arrays by taking it too.
   */
  take(shard: number, lsn: number | undefined): Promise<RecoveryJobResult | undefined> | undefined {
    const a = this.ahead.get(shard);
    this.ahead.delete(shard);
    return a !== undefined && a.lsn === lsn ? a.result : undefined;
  }

  /**
   * Loads a snapshot on a thread. Resolves undefined when the thread could not (the caller then
   * loads it itself); never rejects.
   */
  load(job: RecoveryJob): Promise<RecoveryJobResult | undefined> {
    if (this.closed || this.broken) return Promise.resolve(undefined);
    return new Promise((done) => {
      this.queue.push({ job, done });
      this.pump();
    });
  }

  /** Stops every thread; pending loads resolve undefined. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.ahead.clear();
    await this.stopThreads();
  }

  private pump(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    while (this.queue.length > 0) {
      let t = this.threads.find((x) => x.busy === undefined);
      if (t === undefined && this.threads.length < this.size) t = this.spawn();
      if (t === undefined) return;
      const p = this.queue.shift()!;
      t.busy = p;
      t.worker.postMessage(p.job);
    }
    if (this.threads.every((t) => t.busy === undefined)) {
      this.idleTimer = setTimeout(() => void this.stopThreads(), IDLE_STOP_MS);
      this.idleTimer.unref();
    }
  }

  private spawn(): Thread {
    const worker = new Worker(workerUrl());
    // The pool never keeps the process alive; pending loads hold their callers' promises.
    worker.unref();
    const t: Thread = { worker, busy: undefined, stopping: false };
    worker.on("message", (result: RecoveryJobResult) => {
      const p = t.busy;
      t.busy = undefined;
      p?.done(result);
      this.pump();
    });
    worker.on("error", (err) => {
      if (!t.stopping) this.fail(t, err);
    });
    worker.on("exit", (code) => {
      if (!t.stopping) this.fail(t, new Error(`recovery thread exited with code ${code}`));
    });
    this.threads.push(t);
    return t;
  }

  private fail(t: Thread, err: Error): void {
    t.stopping = true;
    if (this.broken && t.busy === undefined) return;
    this.broken = true;
    this.onThreadError?.(err);
    const p = t.busy;
    t.busy = undefined;
    p?.done(undefined);
    for (const q of this.queue.splice(0)) q.done(undefined);
    void this.stopThreads();
  }

  private async stopThreads(): Promise<void> {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const threads = this.threads.splice(0);
    for (const q of this.queue.splice(0)) q.done(undefined);
    for (const t of threads) {
      t.stopping = true;
      const p = t.busy;
      t.busy = undefined;
      p?.done(undefined);
    }
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }
}

/** The worker's entry: the compiled module in a build, a loader trampoline in a checkout. */
function workerUrl(): URL {
  return import.meta.url.endsWith(".ts") ? new URL("./recovery-worker.mjs", import.meta.url) : new URL("./recovery-worker.js", import.meta.url);
}
