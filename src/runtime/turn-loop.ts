/**
 * The delivery half of an actor cell: the bounded mailbox, sending (tell/ask, deadlines), and the
 * turn loop that runs one message at a time (an async `receive` holds the turn until its promise
 * settles). Failures and stops are handed to the lifecycle half (`ActorCell`, in `cell.ts`).
 * Control (stop, a child's escalated failure) does not queue behind messages: the loop checks it
 * between turns, so it gets through a full mailbox.
 */
import {
  DeadlineExceededError,
  InternalError,
  OverloadedError,
  UnavailableError,
  toNeuroGraphError,
  type NeuroGraphError,
} from "../core/errors.ts";
import { formatAddress, type ActorAddress } from "./address.ts";
import { REPLY_DEFERRED, type Actor } from "./actor.ts";
import { askDeadline, type CellHost, type Phase, type StopRequest } from "./cell-host.ts";
import type { CellContext } from "./context.ts";
import { Letter, isPromiseLike, type DeadlineOwner } from "./letter.ts";
import { Mailbox } from "./mailbox.ts";
import { EMPTY_HEADERS, type Headers, type Message } from "./message.ts";
import type { ActorSystemObserver, ReceiveEvent } from "./observer.ts";
import type { AskOptions, TellOptions } from "./ref.ts";
import { ActorTimers } from "./timers.ts";

export abstract class TurnLoop<M extends Message> implements DeadlineOwner {
  readonly path: string;
  readonly mailbox: Mailbox<Letter>;
  readonly timers: ActorTimers<M>;
  protected readonly observer: ActorSystemObserver;
  protected abstract readonly ctx: CellContext<M>;
  private readonly throughput: number;
  private readonly timed: boolean;
  protected actor: Actor<M> | undefined;
  protected phase: Phase = "starting";
  /** A turn, a start or a restart is in progress: nothing else may run the actor. */
  protected running = true;
  protected scheduled = false;
  private active = false;
  /** Messages left in this event-loop turn (shared by async continuations, so they yield too). */
  private budget = 0;
  /** Bumped whenever an incarnation's pending work must be ignored (failure, restart, stop). */
  protected generation = 0;
  protected current: Letter | undefined;
  protected pendingPipes = 0;
  protected stopRequest: StopRequest | undefined;
  protected pendingFailure: NeuroGraphError | undefined;

  constructor(
    protected readonly host: CellHost,
    readonly address: ActorAddress,
    mailboxCapacity: number,
    throughput: number,
  ) {
    this.path = formatAddress(address);
    this.mailbox = new Mailbox<Letter>(mailboxCapacity);
    this.throughput = Math.max(1, throughput);
    this.observer = host.observer;
    this.timed = this.observer.beforeReceive !== undefined || this.observer.messageProcessed !== undefined || this.observer.runReceive !== undefined;
    this.timers = new ActorTimers<M>(host.clock, (key, gen, message) => this.enqueueTick(key, gen, message));
  }

  /** Applies supervision to a failure (of a message when `letter` is set). True = carry on. */
  protected abstract fail(letter: Letter | undefined, raw: unknown, error: NeuroGraphError): boolean;

  /** Ends the loop and stops the actor (called between turns when a stop was requested). */
  protected abstract toStop(): void;

  // ---- sending ------------------------------------------------------------------------------

  tell(message: M, options?: TellOptions): void {
    const letter = new Letter(message, options?.headers ?? this.outboundHeaders(), options?.deadline ?? Infinity, options?.sender, undefined, undefined);
    const refused = this.accept(letter);
    if (refused !== undefined) throw refused;
  }

  ask(message: Message, options?: AskOptions): Promise<unknown> {
    const deadline = askDeadline(this.host.clock.now(), options, this.host.askTimeoutMs);
    return new Promise<unknown>((resolve, reject) => {
      const letter = new Letter(message, options?.headers ?? this.outboundHeaders(), deadline, options?.sender, resolve, reject);
      this.submitAsk(letter);
    });
  }

  /** Headers for a send whose caller gave none (the observer's, e.g. the active trace context). */
  private outboundHeaders(): Headers {
    return this.observer.outboundHeaders?.() ?? EMPTY_HEADERS;
  }

  /** Enqueues an ask letter and arms its deadline; used for local and inbound remote asks. */
  submitAsk(letter: Letter): void {
    const refused = this.accept(letter);
    if (refused !== undefined) {
      letter.reject(refused);
      return;
    }
    if (letter.deadline !== Infinity) {
      letter.dlOwner = this;
      this.host.deadlines.track(letter);
    }
  }

  /** @internal An ask's deadline passed before its reply: reject it (a late reply is discarded). */
  deadlineExpired(letter: Letter): void {
    if (letter.settled) return;
    letter.reject(
      new DeadlineExceededError(`ask "${letter.typeName}" to ${this.path} got no reply within its deadline; the actor may be overloaded or stuck`),
    );
    this.observer.askTimedOut?.(this.address, letter.typeName);
  }

  /** Returns the error to give the sender, or undefined when the letter was queued. */
  protected accept(letter: Letter): NeuroGraphError | undefined {
    if (this.stopRequest !== undefined || this.phase === "stopped") {
      return new UnavailableError(`actor ${this.path} is stopping or stopped and takes no new messages; retry later`);
    }
    if (!this.mailbox.offer(letter)) {
      this.observer.overloadRejected?.(this.address, letter.typeName, this.mailbox.capacity);
      return new OverloadedError(
        `mailbox of actor ${this.path} is full (capacity ${this.mailbox.capacity}); retry with back-off or raise the mailbox capacity (NG_MAILBOX_CAPACITY)`,
      );
    }
    this.observer.mailboxDepth?.(this.address, this.mailbox.size, this.mailbox.capacity);
    this.wake();
    return undefined;
  }

  protected enqueueTick(key: string, gen: number, message: Message): void {
    if (this.stopRequest !== undefined) return;
    const letter = new Letter(message, EMPTY_HEADERS, Infinity, undefined, undefined, undefined);
    letter.timerKey = key;
    letter.timerGen = gen;
    this.mailbox.force(letter);
    this.wake();
  }

  protected wake(): void {
    if (!this.running && !this.scheduled && this.phase === "running") {
      this.scheduled = true;
      this.host.schedule(this.runTask);
    }
    if (!this.active) this.refreshActivity();
  }

  protected refreshActivity(): void {
    const busy = this.running || this.scheduled || this.mailbox.size > 0 || this.pendingPipes > 0;
    if (busy !== this.active) {
      this.active = busy;
      this.host.activity(busy ? 1 : -1);
    }
  }

  // ---- the turn loop ------------------------------------------------------------------------

  protected readonly runTask = (): void => {
    this.scheduled = false;
    if (this.running || this.phase !== "running") {
      this.refreshActivity();
      return;
    }
    this.running = true;
    this.budget = this.throughput;
    this.loop();
  };

  /** Processes messages while `running`; returns when idle, suspended, stopping or async. */
  protected loop(): void {
    for (;;) {
      if (this.stopRequest !== undefined && !this.stopRequest.drain) return this.toStop();
      if (this.pendingFailure !== undefined) {
        const failure = this.pendingFailure;
        this.pendingFailure = undefined;
        this.fail(undefined, failure, failure);
        return;
      }
      if (this.budget <= 0 && this.mailbox.size > 0) {
        this.running = false;
        this.scheduled = true;
        this.host.yieldThen(this.runTask);
        return;
      }
      const letter = this.mailbox.take();
      if (letter === undefined) break;
      if (!this.admit(letter)) continue;
      this.budget--;
      if (!this.process(letter)) return;
    }
    if (this.stopRequest !== undefined) return this.toStop();
    this.running = false;
    this.refreshActivity();
  }

  /** Whether a dequeued letter should be processed (not expired, not a stale timer tick). */
  private admit(letter: Letter): boolean {
    if (letter.timerKey !== undefined) return this.timers.consume(letter.timerKey, letter.timerGen);
    if (letter.settled) {
      this.observer.expiredSkipped?.(this.address, letter.typeName);
      return false;
    }
    if (letter.deadline !== Infinity && letter.deadline <= this.host.clock.now()) {
      letter.reject(
        new DeadlineExceededError(`"${letter.typeName}" to ${this.path} expired in the mailbox before its turn; the actor is overloaded`),
      );
      this.observer.expiredSkipped?.(this.address, letter.typeName);
      return false;
    }
    return true;
  }

  /** Runs one turn. True when it completed synchronously and the loop may go on. */
  private process(letter: Letter): boolean {
    const actor = this.actor as Actor<M>;
    this.current = letter;
    this.ctx.begin(letter);
    let event: ReceiveEvent | undefined;
    let t0 = 0;
    if (this.timed) {
      event = { address: this.address, typeName: letter.typeName, headers: letter.headers, startedAt: this.host.clock.now() };
      const headers = this.observer.beforeReceive?.(event);
      if (headers !== undefined) this.ctx.headers = headers;
      t0 = performance.now();
    }
    let result: unknown;
    try {
      result = this.observer.runReceive === undefined || event === undefined
        ? actor.receive(letter.message as M, this.ctx)
        : this.observer.runReceive(event, () => actor.receive(letter.message as M, this.ctx));
    } catch (err) {
      return this.turnEnded(letter, undefined, err, true, event, t0);
    }
    if (isPromiseLike(result)) {
      const gen = this.generation;
      result.then(
        (value) => {
          if (gen === this.generation && this.turnEnded(letter, value, undefined, false, event, t0)) this.loop();
        },
        (err: unknown) => {
          if (gen === this.generation && this.turnEnded(letter, undefined, err, true, event, t0)) this.loop();
        },
      );
      return false;
    }
    return this.turnEnded(letter, result, undefined, false, event, t0);
  }

  private turnEnded(
    letter: Letter,
    value: unknown,
    raw: unknown,
    failed: boolean,
    event: ReceiveEvent | undefined,
    t0: number,
  ): boolean {
    this.current = undefined;
    this.ctx.end();
    if (!failed && value === REPLY_DEFERRED && !letter.deferred && letter.isAsk) {
      failed = true;
      raw = new InternalError(`actor ${this.path} returned REPLY_DEFERRED for "${letter.typeName}" without calling ctx.deferReply()`);
    }
    if (!failed) {
      if (!letter.deferred) letter.resolve(value);
      if (event !== undefined) this.observer.messageProcessed?.(event, performance.now() - t0, undefined);
      return true;
    }
    const error = toNeuroGraphError(raw);
    if (event !== undefined) this.observer.messageProcessed?.(event, performance.now() - t0, error);
    return this.fail(letter, raw, error);
  }
}
