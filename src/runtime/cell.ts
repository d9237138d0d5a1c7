/**
 * An actor cell: the lifecycle half (start, supervision with back-off restarts and escalation,
 * stop) on top of the delivery half in `turn-loop.ts`, plus what the actor's context does on its
 * behalf (children, deferred replies, `pipeToSelf`).
 */
import { InternalError, UnavailableError, toNeuroGraphError, type NeuroGraphError } from "../core/errors.ts";
import type { ActorAddress } from "./address.ts";
import type { ActorFactory, Outcome, SpawnOptions } from "./actor.ts";
import type { ActorCellBase, CellHost } from "./cell-host.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import { CellContext, type ContextOwner } from "./context.ts";
import { Letter, deferred, isPromiseLike } from "./letter.ts";
import { LocalActorRef } from "./local-ref.ts";
import { EMPTY_HEADERS, type Message } from "./message.ts";
import type { StopReason } from "./observer.ts";
import type { ActorRef, ActorRefBase } from "./ref.ts";
import { RestartWindow, backoffDelay, resolveSupervision, type SupervisionOptions } from "./supervision.ts";
import { TurnLoop } from "./turn-loop.ts";

export class ActorCell<M extends Message> extends TurnLoop<M> implements ContextOwner<M>, ActorCellBase {
  readonly ref: ActorRef<M>;
  readonly children = new Map<string, ActorCellBase>();
  protected readonly ctx: CellContext<M>;
  private readonly supervision: SupervisionOptions;
  private readonly restarts: RestartWindow;
  private readonly startedSignal = deferred<void>();
  private readonly stoppedSignal = deferred<void>();
  private readonly deferredLetters = new Set<Letter>();
  private restartTimer: TimerHandle | undefined;
  private finishing = false;

  constructor(
    host: CellHost,
    address: ActorAddress,
    readonly parent: ActorCellBase | undefined,
    private readonly factory: ActorFactory<M>,
    options: SpawnOptions = {},
  ) {
    super(host, address, options.mailboxCapacity ?? host.mailboxCapacity, options.throughput ?? host.throughput);
    this.supervision = resolveSupervision(host.supervision, options.supervision);
    this.restarts = new RestartWindow(this.supervision.maxRestarts, this.supervision.windowMs);
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

  // ---- failure and supervision --------------------------------------------------------------

  /** Applies supervision to a failure (of a message when `letter` is set). True = carry on. */
  protected fail(letter: Letter | undefined, raw: unknown, error: NeuroGraphError): boolean {
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
    this.pendingFailure = undefined;
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
   * `force` does not wait for the current turn (its ask is rejected with `UnavailableError` saying
   * the operation may have completed: the server went away, the caller did not cancel).
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

  protected toStop(): void {
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
        new UnavailableError(`actor ${this.path} was stopped while processing "${current.typeName}"; the operation may or may not have completed: retry only if it is idempotent`),
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
    if (this.parent?.children.get(this.path) === this) this.parent.children.delete(this.path);
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
