/**
 * An actor cell: one actor's mailbox, turn loop, lifecycle and supervision state. The cell runs
 * one message at a time (an async `receive` holds the turn until its promise settles), answers
 * asks, and handles failures with its supervision policy. Control (stop, a child's escalated
 * failure) does not queue behind messages: it is checked between turns, so it gets through a full
 * mailbox.
 */
import {
  CancelledError,
  DeadlineExceededError,
  InternalError,
  OverloadedError,
  UnavailableError,
  toNeuroGraphError,
  type NeuroGraphError,
} from "../core/errors.ts";
import { formatAddress, type ActorAddress } from "./address.ts";
import { REPLY_DEFERRED, type Actor, type ActorFactory, type Outcome, type SpawnOptions } from "./actor.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import { CellContext, type ContextOwner } from "./context.ts";
import type { DeadlineTimers } from "./deadlines.ts";
import { Letter, deferred, isPromiseLike, type DeadlineOwner } from "./letter.ts";
import { Mailbox } from "./mailbox.ts";
import { EMPTY_HEADERS, type Message, type ReplyFor } from "./message.ts";
import type { ActorSystemObserver, ReceiveEvent, StopReason } from "./observer.ts";
import type { ActorRef, ActorRefBase, AskOptions, TellOptions } from "./ref.ts";
import { RestartWindow, backoffDelay, resolveSupervision, type SupervisionOptions } from "./supervision.ts";
import { ActorTimers } from "./timers.ts";

/** What a cell needs from its actor system. */
export interface CellHost {
  readonly clock: Clock;
  readonly deadlines: DeadlineTimers;
  readonly observer: ActorSystemObserver;
  readonly askTimeoutMs: number;
  readonly mailboxCapacity: number;
  readonly throughput: number;
  readonly supervision: SupervisionOptions;
  /** Runs `task` soon (a microtask unless the event loop is owed a turn). */
  schedule(task: () => void): void;
  /** Runs `task` after pending I/O (the cell used up its throughput). */
  yieldThen(task: () => void): void;
  /** Adds the cell to the registry; throws `AlreadyExistsError` for a taken address. */
  register(cell: ActorCellBase): void;
  unregister(cell: ActorCellBase): void;
  /** A cell became busy (+1) or idle (−1). */
  activity(delta: 1 | -1): void;
  /** A top-level actor gave up: its failure leaves the actor tree. */
  escalateToRoot(address: ActorAddress, error: NeuroGraphError): void;
  refFor<N extends Message>(address: ActorAddress | string): ActorRef<N>;
  spawnCell<N extends Message>(
    parent: ActorCellBase | undefined,
    address: ActorAddress | string,
    factory: ActorFactory<N>,
    options?: SpawnOptions,
  ): ActorCell<N>;
}

/** A cell seen without its message type (registry, parents, routing). */
export interface ActorCellBase {
  readonly address: ActorAddress;
  readonly path: string;
  readonly ref: ActorRefBase;
  readonly mailbox: Mailbox<Letter>;
  readonly children: Map<string, ActorCellBase>;
  readonly started: Promise<void>;
  readonly stopped: Promise<void>;
  tell(message: Message, options?: TellOptions): void;
  ask(message: Message, options?: AskOptions): Promise<unknown>;
  submitAsk(letter: Letter): void;
  stop(reason?: StopReason, options?: { drain?: boolean; force?: boolean }): Promise<void>;
  childFailed(error: NeuroGraphError): void;
}

type Phase = "starting" | "running" | "suspended" | "stopping" | "stopped";

interface StopRequest {
  readonly reason: StopReason;
  /** Process what is queued first (new messages are refused meanwhile). */
  drain: boolean;
}

/** Computes an ask's absolute deadline from its options. */
export function askDeadline(now: number, options: AskOptions | undefined, defaultTimeoutMs: number): number {
  const timeout = options?.timeoutMs ?? (options?.deadline === undefined ? defaultTimeoutMs : Infinity);
  const fromTimeout = timeout === Infinity ? Infinity : now + timeout;
  return Math.min(fromTimeout, options?.deadline ?? Infinity);
}

export class ActorCell<M extends Message> implements ContextOwner<M>, ActorCellBase, DeadlineOwner {
  readonly path: string;
  readonly ref: ActorRef<M>;
  readonly mailbox: Mailbox<Letter>;
  readonly timers: ActorTimers<M>;
  readonly children = new Map<string, ActorCellBase>();
  private readonly supervision: SupervisionOptions;
  private readonly restarts: RestartWindow;
  private readonly throughput: number;
  private readonly ctx: CellContext<M>;
  private readonly observer: ActorSystemObserver;
  private readonly timed: boolean;
  private readonly startedSignal = deferred<void>();
  private readonly stoppedSignal = deferred<void>();
  private readonly deferredLetters = new Set<Letter>();
  private actor: Actor<M> | undefined;
  private phase: Phase = "starting";
  private running = true;
  private scheduled = false;
  private active = false;
  private generation = 0;
  private current: Letter | undefined;
  private pendingPipes = 0;
  private stopRequest: StopRequest | undefined;
  private pendingFailure: NeuroGraphError | undefined;
  private restartTimer: TimerHandle | undefined;
  private finishing = false;

  constructor(
    private readonly host: CellHost,
    readonly address: ActorAddress,
    readonly parent: ActorCellBase | undefined,
    private readonly factory: ActorFactory<M>,
    options: SpawnOptions = {},
  ) {
    this.path = formatAddress(address);
    this.mailbox = new Mailbox<Letter>(options.mailboxCapacity ?? host.mailboxCapacity);
    this.supervision = resolveSupervision(host.supervision, options.supervision);
    this.restarts = new RestartWindow(this.supervision.maxRestarts, this.supervision.windowMs);
    this.throughput = Math.max(1, options.throughput ?? host.throughput);
    this.observer = host.observer;
    this.timed = this.observer.beforeReceive !== undefined || this.observer.messageProcessed !== undefined;
    this.timers = new ActorTimers<M>(host.clock, (key, gen, message) => this.enqueueTick(key, gen, message));
    this.ref = new LocalActorRef(this);
    this.ctx = new CellContext<M>(this);
  }

  /** Starts the first incarnation; called by the system once the cell is registered. */
  begin(): void {
    this.refreshActivity();
    this.host.schedule(() => void this.startInstance());
  }

  get clock(): Clock {
    return this.host.clock;
  }

  /** Resolves when the first incarnation's `preStart` succeeded; rejects if it stops first. */
  get started(): Promise<void> {
    return this.startedSignal.promise;
  }

  get stopped(): Promise<void> {
    return this.stoppedSignal.promise;
  }

  get isStopped(): boolean {
    return this.phase === "stopped";
  }

  // ---- sending ------------------------------------------------------------------------------

  tell(message: M, options?: TellOptions): void {
    const letter = new Letter(message, options?.headers ?? EMPTY_HEADERS, options?.deadline ?? Infinity, options?.sender, undefined, undefined);
    const refused = this.accept(letter);
    if (refused !== undefined) throw refused;
  }

  ask(message: Message, options?: AskOptions): Promise<unknown> {
    const deadline = askDeadline(this.host.clock.now(), options, this.host.askTimeoutMs);
    return new Promise<unknown>((resolve, reject) => {
      const letter = new Letter(message, options?.headers ?? EMPTY_HEADERS, deadline, options?.sender, resolve, reject);
      this.submitAsk(letter);
    });
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
  private accept(letter: Letter): NeuroGraphError | undefined {
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

  private enqueueTick(key: string, gen: number, message: Message): void {
    if (this.stopRequest !== undefined) return;
    const letter = new Letter(message, EMPTY_HEADERS, Infinity, undefined, undefined, undefined);
    letter.timerKey = key;
    letter.timerGen = gen;
    this.mailbox.force(letter);
    this.wake();
  }

  private wake(): void {
    if (!this.running && !this.scheduled && this.phase === "running") {
      this.scheduled = true;
      this.host.schedule(this.runTask);
    }
    if (!this.active) this.refreshActivity();
  }

  private refreshActivity(): void {
    const busy = this.running || this.scheduled || this.mailbox.size > 0 || this.pendingPipes > 0;
    if (busy !== this.active) {
      this.active = busy;
      this.host.activity(busy ? 1 : -1);
    }
  }

  // ---- the turn loop ------------------------------------------------------------------------

  private readonly runTask = (): void => {
    this.scheduled = false;
    if (this.running || this.phase !== "running") {
      this.refreshActivity();
      return;
    }
    this.running = true;
    this.loop();
  };

  /** Processes messages while `running`; returns when idle, suspended, stopping or async. */
  private loop(): void {
    let budget = this.throughput;
    for (;;) {
      if (this.stopRequest !== undefined && !this.stopRequest.drain) return this.toStop();
      if (this.pendingFailure !== undefined) {
        const failure = this.pendingFailure;
        this.pendingFailure = undefined;
        this.fail(undefined, failure, failure);
        return;
      }
      if (budget === 0 && this.mailbox.size > 0) {
        this.running = false;
        this.scheduled = true;
        this.host.yieldThen(this.runTask);
        return;
      }
      const letter = this.mailbox.take();
      if (letter === undefined) break;
      if (!this.admit(letter)) continue;
      budget--;
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
      result = actor.receive(letter.message as M, this.ctx);
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

  // ---- failure and supervision --------------------------------------------------------------

  /** Applies supervision to a failure (of a message when `letter` is set). True = carry on. */
  private fail(letter: Letter | undefined, raw: unknown, error: NeuroGraphError): boolean {
    if (letter !== undefined) {
      this.deferredLetters.delete(letter);
      letter.reject(error);
    }
    let directive = this.supervision.decide(raw);
    if (directive === "resume" && letter === undefined) directive = "restart";
    this.observer.actorFailed?.(this.address, error, directive);
    if (directive === "resume") return true;
    this.generation++; // results of the failed incarnation's pending work are ignored from now on
    if (this.stopRequest !== undefined && !this.stopRequest.drain) {
      this.toStop();
      return false;
    }
    if (directive === "restart") {
      const attempt = this.restarts.record(this.host.clock.now());
      if (attempt > 0) {
        this.scheduleRestart(error, attempt);
        return false;
      }
      const { maxRestarts, windowMs } = this.supervision;
      this.stopAndEscalate(
        new InternalError(
          `actor ${this.path} failed more than ${maxRestarts} times within ${windowMs} ms and was stopped: ${error.message}`,
          { cause: error },
        ),
      );
      return false;
    }
    if (directive === "stop") {
      this.running = false;
      void this.stop("failed");
      return false;
    }
    this.stopAndEscalate(new InternalError(`actor ${this.path} failed and escalated: ${error.message}`, { cause: error }));
    return false;
  }

  private stopAndEscalate(error: NeuroGraphError): void {
    this.running = false;
    this.observer.failureEscalated?.(this.address, error);
    void this.stop("failed");
    if (this.parent !== undefined) this.parent.childFailed(error);
    else this.host.escalateToRoot(this.address, error);
  }

  /** A child gave up; its failure becomes this actor's failure, handled between turns. */
  childFailed(error: NeuroGraphError): void {
    if (this.stopRequest !== undefined || this.phase === "stopped" || this.phase === "stopping") return;
    if (this.phase === "suspended") return; // restarting anyway: the restart replaces all children
    this.pendingFailure = error;
    if (!this.running && !this.scheduled && this.phase === "running") {
      this.scheduled = true;
      this.host.schedule(this.runTask);
      this.refreshActivity();
    }
  }

  private scheduleRestart(error: NeuroGraphError, attempt: number): void {
    this.phase = "suspended";
    this.running = false;
    const delay = backoffDelay(attempt, this.supervision.backoff);
    this.observer.actorRestarted?.(this.address, error, attempt, delay);
    this.restartTimer = this.host.clock.setTimeout(() => {
      this.restartTimer = undefined;
      void this.restart(error);
    }, delay);
    this.refreshActivity();
  }

  private async restart(error: NeuroGraphError): Promise<void> {
    if (this.phase !== "suspended" || this.finishing) return;
    this.running = true;
    this.refreshActivity();
    const old = this.actor;
    this.actor = undefined;
    this.timers.cancelAll();
    this.rejectDeferred(new UnavailableError(`actor ${this.path} restarted before replying; retry`));
    if (old !== undefined) {
      try {
        await old.preRestart(error, this.ctx);
      } catch {
        // The old incarnation is being replaced anyway; its cleanup failure must not block that.
      }
    }
    await this.stopChildren("parent-restarted", false);
    if (this.finishing) return;
    if (this.stopRequest !== undefined && !this.stopRequest.drain) return this.toStop();
    await this.startInstance();
  }

  /** Creates an incarnation with the factory and runs its `preStart`. */
  private async startInstance(): Promise<void> {
    this.phase = "starting";
    this.running = true;
    try {
      this.actor = this.factory();
      const r = this.actor.preStart(this.ctx);
      if (isPromiseLike(r)) await r;
    } catch (err) {
      if (this.finishing) return;
      this.fail(undefined, err, toNeuroGraphError(err));
      return;
    }
    if (this.finishing) return;
    if (this.stopRequest !== undefined && !this.stopRequest.drain) return this.toStop();
    this.phase = "running";
    this.running = false;
    if (!this.startedSignal.settled()) {
      this.startedSignal.resolve();
      this.observer.actorStarted?.(this.address);
    }
    if (this.mailbox.size > 0 || this.pendingFailure !== undefined || this.stopRequest !== undefined) {
      this.scheduled = true;
      this.host.schedule(this.runTask);
    }
    this.refreshActivity();
  }

  // ---- stopping -----------------------------------------------------------------------------

  /**
   * Stops the actor. By default after the current turn, rejecting queued asks with
   * `UnavailableError`; `drain` processes what is queued first (refusing new messages);
   * `force` does not wait for the current turn (its ask is rejected with `CancelledError`).
   */
  stop(reason: StopReason = "requested", options: { drain?: boolean; force?: boolean } = {}): Promise<void> {
    if (this.phase === "stopped") return this.stoppedSignal.promise;
    if (this.stopRequest === undefined) this.stopRequest = { reason, drain: options.drain === true };
    else if (options.drain !== true) this.stopRequest.drain = false;
    this.timers.cancelAll();
    if (options.force === true) {
      void this.finishStop(true);
    } else if (!this.running) {
      const draining = this.stopRequest.drain && this.mailbox.size > 0;
      if (draining && this.phase === "running") this.wake();
      else if (!(draining && this.phase === "suspended")) void this.finishStop(false);
      // (suspended and draining: the pending restart drains the mailbox, then stops)
    }
    return this.stoppedSignal.promise;
  }

  private toStop(): void {
    this.running = false;
    void this.finishStop(false);
  }

  private async finishStop(force: boolean): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    const reason = this.stopRequest?.reason ?? "requested";
    this.phase = "stopping";
    this.running = true; // nothing else runs from here on
    if (this.restartTimer !== undefined) {
      this.host.clock.clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
    }
    this.timers.cancelAll();
    this.generation++;
    const current = this.current;
    if (current !== undefined) {
      this.current = undefined;
      current.reject(
        new CancelledError(`actor ${this.path} was stopped while processing "${current.typeName}"; the operation may or may not have completed`),
      );
    }
    this.host.unregister(this);
    await this.stopChildren("parent-stopped", force);
    this.mailbox.drain((letter) =>
      letter.reject(new UnavailableError(`actor ${this.path} stopped before processing "${letter.typeName}"; retry later`)),
    );
    this.rejectDeferred(new UnavailableError(`actor ${this.path} stopped before replying; retry later`));
    const actor = this.actor;
    this.actor = undefined;
    if (actor !== undefined) {
      try {
        const r = actor.postStop(this.ctx);
        if (isPromiseLike(r) && !force) await r;
      } catch {
        // Nothing left to supervise: the actor is gone either way.
      }
    }
    this.phase = "stopped";
    this.running = false;
    this.scheduled = false;
    if (!this.startedSignal.settled()) {
      this.startedSignal.reject(new UnavailableError(`actor ${this.path} stopped before it finished starting`));
    }
    this.parent?.children.delete(this.path);
    this.observer.actorStopped?.(this.address, reason);
    this.refreshActivity();
    this.stoppedSignal.resolve();
  }

  private async stopChildren(reason: StopReason, force: boolean): Promise<void> {
    const kids = [...this.children.values()].reverse();
    for (const kid of kids) await kid.stop(reason, { force });
  }

  private rejectDeferred(error: NeuroGraphError): void {
    const letters = [...this.deferredLetters];
    this.deferredLetters.clear();
    for (const l of letters) l.reject(error);
  }

  // ---- ContextOwner -------------------------------------------------------------------------

  spawnChild<N extends Message>(address: ActorAddress | string, factory: ActorFactory<N>, options?: SpawnOptions): ActorRef<N> {
    if (this.stopRequest !== undefined || this.finishing) {
      throw new UnavailableError(`actor ${this.path} is stopping and cannot spawn children`);
    }
    const child = this.host.spawnCell(this, address, factory, options);
    this.children.set(child.path, child);
    return child.ref;
  }

  childRefs(): readonly ActorRefBase[] {
    return [...this.children.values()].map((c) => c.ref);
  }

  stopChild(child: ActorRefBase): Promise<void> {
    const cell = this.children.get(child.path);
    return cell === undefined ? Promise.resolve() : cell.stop("requested");
  }

  stopSelf(): void {
    void this.stop("requested");
  }

  refFor<N extends Message>(address: ActorAddress | string): ActorRef<N> {
    return this.host.refFor<N>(address);
  }

  defer(letter: Letter): void {
    letter.deferred = true;
    this.deferredLetters.add(letter);
  }

  settleDeferred(letter: Letter): void {
    this.deferredLetters.delete(letter);
  }

  pipe<T>(work: PromiseLike<T>, toMessage: (outcome: Outcome<T>) => M): void {
    const gen = this.generation;
    this.pendingPipes++;
    const done = (outcome: Outcome<T>): void => {
      this.pendingPipes--;
      if (gen === this.generation && !this.finishing) {
        try {
          const message = toMessage(outcome);
          this.mailbox.force(new Letter(message, EMPTY_HEADERS, Infinity, this.path, undefined, undefined));
        } catch (err) {
          this.pendingFailure = toNeuroGraphError(err);
        }
        this.wake();
      }
      this.refreshActivity();
    };
    work.then(
      (value) => done({ ok: true, value }),
      (err: unknown) => done({ ok: false, error: toNeuroGraphError(err) }),
    );
  }
}

/** A ref bound to one incarnation chain of a local actor (stays valid across restarts). */
class LocalActorRef<M extends Message> implements ActorRef<M> {
  readonly address: ActorAddress;
  readonly path: string;

  constructor(private readonly cell: ActorCell<M>) {
    this.address = cell.address;
    this.path = cell.path;
  }

  tell(message: M, options?: TellOptions): void {
    this.cell.tell(message, options);
  }

  ask<T extends M>(message: T, options?: AskOptions): Promise<ReplyFor<M, T["type"]>> {
    return this.cell.ask(message, options) as Promise<ReplyFor<M, T["type"]>>;
  }

  toString(): string {
    return this.path;
  }
}
