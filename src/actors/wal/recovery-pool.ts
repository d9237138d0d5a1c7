/**
 * Recovery threads: at node start, the shards' newest snapshots are loaded on worker threads
 * (recovery-worker.ts) and by the main thread together, so the shards' bulk loads (chunk CRCs,
 * records into columns, the id table) run in parallel instead of one after the other. By default
 * there is one thread per core but one: the main thread is the last "thread" (it loads modules
 * first, then takes shards itself).
 *
 * Every thread gets the whole list of loads at once and claims them one by one, from the last
 * shard down, through a shared array (`Atomics.compareExchange`): a thread never waits for the
 * main thread's event loop to be handed work. The main thread recovers shards from the first up
 * and claims a shard for itself (`take`) when no thread has begun it, loading it with the
 * single-thread path; the two meet somewhere in the middle. A thread's arrays come back transferred, not
 * copied; the main thread adopts them and does the rest of the recovery (connections, log
 * replay, cleanup, any repair) as before.
 *
 * A thread only ever *reads*. When it cannot load a snapshot cleanly, or it fails, the shard is
 * recovered on the main thread as if there were no threads, so damage is reported and repaired
 * by exactly one code path (recovery.ts).
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { ValidationError } from "../../core/errors.ts";
import type { TokenState } from "../../core/store/index.ts";

/** Environment variable that sets the number of recovery threads (0 = recover on the main thread). */
export const RECOVERY_THREADS_ENV = "NG_RECOVERY_THREADS";
/** Smaller snapshots are loaded on the main thread: a worker's start and hand-off would cost more. */
export const DEFAULT_RECOVERY_WORKER_MIN_TOKENS = 65_536;
/** Environment variable that sets that threshold (tests use it to put small shards on threads). */
export const RECOVERY_THREAD_MIN_TOKENS_ENV = "NG_RECOVERY_THREAD_MIN_TOKENS";

/** Claim states of a load in the shared array: unclaimed, the main thread's, else thread w's as w + FIRST_THREAD. */
export const UNCLAIMED = 0;
export const MAIN_THREAD = 1;
export const FIRST_THREAD = 2;

export interface RecoveryJob {
  readonly walDir: string;
  readonly maxDbs: number;
  readonly shardCount: number;
  readonly shard: number;
  /** The snapshot to load (the newest with a manifest, as the main thread listed them). */
  readonly lsn: number;
}

/** What a thread is sent once: every load, the shared claims, its own claim value. */
export interface RecoveryWork {
  readonly jobs: readonly RecoveryJob[];
  readonly claims: Int32Array<ArrayBufferLike>;
  readonly claimAs: number;
}

/** A snapshot loaded on a recovery thread: its tokens as store arrays, the rest as read. */
export interface PreparedSnapshot {
  readonly ok: true;
  readonly index: number;
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

export type RecoveryJobResult =
  | PreparedSnapshot
  | { readonly ok: false; readonly index: number; readonly shard: number; readonly lsn: number; readonly detail: string };

/** A thread's messages: a result per load it claimed, then `done` when the list is through. */
export type RecoveryThreadMessage = RecoveryJobResult | { readonly done: true };

/** The number of recovery threads: `configured`, else $NG_RECOVERY_THREADS, else one per core but one. */
export function recoveryThreads(configured: number | undefined): number {
  return configured !== undefined ? Math.max(0, Math.floor(configured)) : (envCount(RECOVERY_THREADS_ENV) ?? Math.max(0, availableParallelism() - 1));
}

/** The smallest snapshot (tokens) loaded on a thread: `configured`, else $NG_RECOVERY_THREAD_MIN_TOKENS, else 65 536. */
export function recoveryThreadMinTokens(configured: number | undefined): number {
  return configured !== undefined ? Math.max(0, Math.floor(configured)) : (envCount(RECOVERY_THREAD_MIN_TOKENS_ENV) ?? DEFAULT_RECOVERY_WORKER_MIN_TOKENS);
}

/** A non-negative integer from the environment, undefined when unset; anything else is refused. */
function envCount(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const n = Number(raw);
  if (Number.isInteger(n) && n >= 0) return n;
  throw ValidationError.of("environment", [{ field: name, value: raw, rule: "non_negative_integer", description: `${name} must be a whole number ≥ 0 (0 = no recovery threads); unset it for the default` }]);
}

interface Load {
  readonly job: RecoveryJob;
  readonly result: Promise<RecoveryJobResult | undefined>;
  settle: ((r: RecoveryJobResult | undefined) => void) | undefined;
}

export class RecoveryPool {
  /** Told when a thread fails (its shards then recover on the main thread). */
  onThreadError: ((error: Error) => void) | undefined;
  private readonly loads: Load[] = [];
  private readonly byShard = new Map<number, number>();
  private claims: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private readonly workers: Worker[] = [];
  /** The main thread's turns (see `take`). */
  private lane: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    readonly size: number,
    /** Below this many snapshot tokens a shard is loaded on the main thread. */
    readonly minTokens: number = DEFAULT_RECOVERY_WORKER_MIN_TOKENS,
    /** Whether the main thread loads the shards no thread has begun when their recovery comes (else it waits for the threads). */
    readonly mainThreadLoads = true,
  ) {}

  /** Whether a snapshot of `tokenCount` tokens should go to the threads. */
  wants(tokenCount: number): boolean {
    return this.size > 0 && tokenCount >= this.minTokens;
  }

  /** Starts the threads on these loads (once). */
  start(jobs: readonly RecoveryJob[]): void {
    if (this.workers.length > 0 || this.closed || jobs.length === 0) return;
    this.claims = new Int32Array(new SharedArrayBuffer(4 * jobs.length));
    jobs.forEach((job, i) => {
      let settle: Load["settle"];
      const result = new Promise<RecoveryJobResult | undefined>((resolve) => (settle = resolve));
      this.loads.push({ job, result, settle });
      this.byShard.set(job.shard, i);
    });
    for (let w = 0; w < Math.min(this.size, jobs.length); w++) this.spawn(w, jobs);
  }

  /**
   * The load of `shard`'s snapshot at `lsn`, in the main thread's turn: `pending` is undefined when
   * the main thread is to load it itself (no load was started for it, no thread has begun it, or
   * it was of another snapshot), else the thread's result, which is undefined when the thread
   * could not load it (never rejects). Turns come one at a time, each after the previous one's
   * synchronous load and a pass of the event loop (threads' results arrive in between): the main
   * thread claims a shard only when it is about to load it, so the threads keep the rest. A shard
   * that recovers without the load should still take it, so no thread begins it after that.
   */
  async take(shard: number, lsn: number | undefined): Promise<{ readonly pending: Promise<RecoveryJobResult | undefined> | undefined }> {
    const turn = this.lane;
    let release!: () => void;
    this.lane = new Promise((resolve) => (release = resolve));
    await turn;
    await new Promise((resolve) => setImmediate(resolve));
    // The caller's synchronous load runs before this fires (it continues in microtasks).
    setImmediate(release);
    const i = this.byShard.get(shard);
    if (i === undefined) return { pending: undefined };
    this.byShard.delete(shard);
    const load = this.loads[i]!;
    const wanted = load.job.lsn === lsn;
    if ((this.mainThreadLoads || !wanted) && Atomics.compareExchange(this.claims, i, UNCLAIMED, MAIN_THREAD) === UNCLAIMED) {
      load.settle?.(undefined);
      return { pending: undefined };
    }
    return { pending: wanted ? load.result : undefined };
  }

  /** Stops every thread; loads not yet answered resolve undefined. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.byShard.clear();
    for (const l of this.loads) l.settle?.(undefined);
    await Promise.all(this.workers.splice(0).map((w) => w.terminate()));
  }

  private spawn(w: number, jobs: readonly RecoveryJob[]): void {
    const worker = new Worker(workerUrl());
    // The threads never keep the process alive; pending loads hold their callers' promises.
    worker.unref();
    this.workers.push(worker);
    const claimAs = FIRST_THREAD + w;
    let finished = false;
    worker.on("message", (m: RecoveryThreadMessage) => {
      if ("done" in m) {
        finished = true;
        void worker.terminate();
        return;
      }
      const load = this.loads[m.index];
      load?.settle?.(m);
      if (load !== undefined) load.settle = undefined;
    });
    const fail = (err: Error): void => {
      if (finished || this.closed) return;
      finished = true;
      this.onThreadError?.(err);
      // Its claimed loads that did not come back go to the main thread; unclaimed ones stay for the others.
      this.loads.forEach((l, i) => {
        if (Atomics.load(this.claims, i) === claimAs) l.settle?.(undefined);
      });
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`recovery thread exited with code ${code} before its loads were through`)));
    const work: RecoveryWork = { jobs, claims: this.claims, claimAs };
    worker.postMessage(work);
  }
}

/** The worker's entry: the compiled module in a build, a loader trampoline in a checkout. */
function workerUrl(): URL {
  return import.meta.url.endsWith(".ts") ? new URL("./recovery-worker.mjs", import.meta.url) : new URL("./recovery-worker.js", import.meta.url);
}
