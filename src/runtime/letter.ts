/**
 * A message in a mailbox, with what the runtime needs to process and answer it. One object per
 * message (a monomorphic class: the hot path stays fast); for an ask it is also the pending
 * reply: `resolve`/`reject` settle the caller at most once, so a reply after the deadline, or
 * after a stop rejected the ask, is discarded.
 */
import type { NeuroGraphError } from "../core/errors.ts";
import type { DeadlineItem, DeadlineList } from "./deadlines.ts";
import type { Headers, Message } from "./message.ts";

export type ResolveFn = (value: unknown) => void;
export type RejectFn = (error: NeuroGraphError) => void;

/** Called when a tracked ask's deadline passes (the cell that owns the ask). */
export interface DeadlineOwner {
  deadlineExpired(letter: Letter): void;
}

export class Letter implements DeadlineItem {
  /** Set once the caller has been answered (or the ask expired / was cancelled). */
  settled = false;
  /** The actor took the reply into its own hands (`ctx.deferReply`). */
  deferred = false;
  /** Deadline tracking (see `DeadlineTimers`). */
  dlList: DeadlineList | undefined = undefined;
  dlPrev: DeadlineItem | undefined = undefined;
  dlNext: DeadlineItem | undefined = undefined;
  dlOwner: DeadlineOwner | undefined = undefined;
  /** For timer messages: the timer's key and generation (stale ticks are skipped). */
  timerKey: string | undefined = undefined;
  timerGen = 0;

  constructor(
    readonly message: Message,
    readonly headers: Headers,
    /** Absolute epoch ms; Infinity when none. */
    readonly deadline: number,
    /** Sender address (`kind/key`) when the sender is an actor. */
    readonly sender: string | undefined,
    private readonly onResolve: ResolveFn | undefined,
    private readonly onReject: RejectFn | undefined,
  ) {}

  get isAsk(): boolean {
    return this.onResolve !== undefined;
  }

  get typeName(): string {
    return this.message.type;
  }

  resolve(value: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.dlList?.timers.untrack(this);
    this.onResolve?.(value);
  }

  reject(error: NeuroGraphError): void {
    if (this.settled) return;
    this.settled = true;
    this.dlList?.timers.untrack(this);
    this.onReject?.(error);
  }

  expired(): void {
    this.dlOwner?.deadlineExpired(this);
  }
}

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"
  );
}

/** A promise with its settle functions (Node 20 has no `Promise.withResolvers`). */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
  readonly settled: () => boolean;
}

export function deferred<T>(): Deferred<T> {
  let res!: (value: T) => void;
  let rej!: (error: unknown) => void;
  let done = false;
  const promise = new Promise<T>((resolve, reject) => {
    res = resolve;
    rej = reject;
  });
  // The owner may never await it (e.g. nobody waits for a start that failed): no unhandled rejection.
  promise.catch(() => undefined);
  return {
    promise,
    resolve: (v) => {
      done = true;
      res(v);
    },
    reject: (e) => {
      done = true;
      rej(e);
    },
    settled: () => done,
  };
}
