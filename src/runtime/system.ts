/**
 * The actor system of one node: spawns top-level actors, keeps the registry of local actors by
 * address, routes messages (local cells directly, other addresses through the transport), takes
 * inbound envelopes from the transport, and shuts down gracefully (drain, then stop in reverse
 * order of creation).
 */
import {
  AlreadyExistsError,
  NotFoundError,
  UnavailableError,
  ValidationError,
  type NeuroGraphError,
} from "../core/errors.ts";
import { formatAddress, parseAddress, type ActorAddress } from "./address.ts";
import type { ActorFactory, SpawnOptions } from "./actor.ts";
import { ActorCell } from "./cell.ts";
import { askDeadline, type ActorCellBase, type CellHost } from "./cell-host.ts";
import { systemClock, type Clock } from "./clock.ts";
import { DeadlineTimers } from "./deadlines.ts";
import { deferred, type Deferred } from "./letter.ts";
import type { Message } from "./message.ts";
import { noopObserver, type ActorSystemObserver } from "./observer.ts";
import type { ActorRef, ActorRefBase } from "./ref.ts";
import { RemoteDelivery, RoutedActorRef, type Router } from "./routing.ts";
import { DEFAULT_SUPERVISION, resolveSupervision, type SupervisionOptions } from "./supervision.ts";
import { CodecRegistry, type Transport } from "./transport.ts";

export interface ActorSystemOptions {
  /** This node's id (correlation ids, logs). Default `local`. */
  readonly nodeId?: string;
  readonly clock?: Clock;
  readonly observer?: ActorSystemObserver;
  /** Reaches actors on other nodes; without one, every actor is local. */
  readonly transport?: Transport;
  /** Codecs for messages that cross a process (used with a `bytes` transport). */
  readonly codecs?: CodecRegistry;
  /** Default mailbox capacity per actor (default 1024). */
  readonly mailboxCapacity?: number;
  /** Default ask timeout when the caller gives none (default 30 s). */
  readonly askTimeoutMs?: number;
  /** Messages an actor processes before yielding to the event loop (default 64). */
  readonly throughput?: number;
  /** Default supervision of every actor (overridable per spawn). */
  readonly supervision?: Partial<SupervisionOptions>;
  /**
   * A top-level actor failed beyond its restart limit (or escalated). The node usually records it
   * and shuts down; the default writes the error to stderr.
   */
  readonly onFatal?: (error: NeuroGraphError, address: ActorAddress) => void;
}

export interface MailboxStats {
  readonly address: ActorAddress;
  readonly depth: number;
  readonly capacity: number;
}

export interface ShutdownOptions {
  /** How long to wait for mailboxes to drain before stopping actors anyway (default 10 s). */
  readonly timeoutMs?: number;
  /** Stop at once: in-flight and queued asks get `UnavailableError` (in-flight ones may have completed). */
  readonly force?: boolean;
}

export interface ShutdownReport {
  /** Every mailbox was empty and no actor busy before the actors were stopped. */
  readonly drained: boolean;
  /** Messages still queued when the drain gave up. */
  readonly undrained: number;
}

export const DEFAULT_MAILBOX_CAPACITY = 1024;
export const DEFAULT_ASK_TIMEOUT_MS = 30_000;
const YIELD_AFTER_TURNS = 1024;

export class ActorSystem implements CellHost, Router {
  readonly nodeId: string;
  readonly clock: Clock;
  readonly deadlines: DeadlineTimers;
  readonly observer: ActorSystemObserver;
  readonly codecs: CodecRegistry;
  readonly askTimeoutMs: number;
  readonly mailboxCapacity: number;
  readonly throughput: number;
  readonly supervision: SupervisionOptions;
  private readonly cells = new Map<string, ActorCellBase>();
  private readonly topLevel = new Map<string, ActorCellBase>();
  private readonly remote: RemoteDelivery | undefined;
  private readonly onFatal: (error: NeuroGraphError, address: ActorAddress) => void;
  private busyCells = 0;
  private idleWaiters: Deferred<void>[] = [];
  private turnsSinceYield = 0;
  private yieldResetScheduled = false;
  private shuttingDown: Promise<ShutdownReport> | undefined;
  /** Set once the drain is over and actors are being stopped: no new actors from then on. */
  private closing = false;

  constructor(options: ActorSystemOptions = {}) {
    this.nodeId = options.nodeId ?? "local";
    this.clock = options.clock ?? systemClock;
    this.deadlines = new DeadlineTimers(this.clock);
    this.observer = options.observer ?? noopObserver;
    this.codecs = options.codecs ?? new CodecRegistry();
    this.mailboxCapacity = options.mailboxCapacity ?? DEFAULT_MAILBOX_CAPACITY;
    this.askTimeoutMs = options.askTimeoutMs ?? DEFAULT_ASK_TIMEOUT_MS;
    this.throughput = options.throughput ?? 64;
    this.supervision = resolveSupervision(DEFAULT_SUPERVISION, options.supervision);
    this.onFatal = options.onFatal ?? defaultOnFatal;
    if (!(this.askTimeoutMs > 0)) {
      throw ValidationError.of("actor system options", [
        { field: "askTimeoutMs", value: String(this.askTimeoutMs), rule: "positive", description: "must be > 0 (or Infinity)" },
      ]);
    }
    if (options.transport !== undefined) {
      this.remote = new RemoteDelivery(this, options.transport);
      options.transport.bind(this.remote);
    }
  }

  // ---- spawning and lookup ------------------------------------------------------------------

  /** Spawns a top-level actor (supervised by the system: beyond its limit, `onFatal`). */
  spawn<M extends Message>(address: ActorAddress | string, factory: ActorFactory<M>, options?: SpawnOptions): ActorRef<M> {
    const cell = this.spawnCell(undefined, address, factory, options);
    this.topLevel.set(cell.path, cell);
    return cell.ref;
  }

  /** Resolves once the actor's first `preStart` succeeded (e.g. its state is recovered). */
  started(ref: ActorRefBase): Promise<void> {
    const cell = this.cells.get(ref.path);
    return cell === undefined
      ? Promise.reject(new NotFoundError(`no local actor ${ref.path}`))
      : cell.started;
  }

  /** A location-transparent ref: local if the actor is here at send time, else via the transport. */
  ref<M extends Message>(address: ActorAddress | string): ActorRef<M> {
    const a = typeof address === "string" ? parseAddress(address) : address;
    return new RoutedActorRef<M>(this, a);
  }

  /** The local actor at `address`, if any. */
  lookup<M extends Message>(address: ActorAddress | string): ActorRef<M> | undefined {
    const path = typeof address === "string" ? formatAddress(parseAddress(address)) : formatAddress(address);
    return this.cells.get(path)?.ref as ActorRef<M> | undefined;
  }

  /** Stops a local actor (and its children); see `ActorCell.stop` for the options. */
  stop(ref: ActorRefBase, options: { drain?: boolean; force?: boolean } = {}): Promise<void> {
    const cell = this.cells.get(ref.path);
    return cell === undefined ? Promise.resolve() : cell.stop("requested", options);
  }

  /** Depth of every local mailbox, for a metrics scrape. */
  *mailboxes(): IterableIterator<MailboxStats> {
    for (const cell of this.cells.values()) {
      yield { address: cell.address, depth: cell.mailbox.size, capacity: cell.mailbox.capacity };
    }
  }

  get actorCount(): number {
    return this.cells.size;
  }

  // ---- quiescence and shutdown --------------------------------------------------------------

  /** Whether no actor is processing, scheduled, or has queued messages. */
  get idle(): boolean {
    return this.busyCells === 0;
  }

  /** Resolves true once idle, or false after `timeoutMs`. */
  whenIdle(timeoutMs = Infinity): Promise<boolean> {
    if (this.busyCells === 0) return Promise.resolve(true);
    const waiter = deferred<void>();
    this.idleWaiters.push(waiter);
    if (timeoutMs === Infinity) return waiter.promise.then(() => true);
    return new Promise<boolean>((resolve) => {
      const timer = this.clock.setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      void waiter.promise.then(() => {
        this.clock.clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /**
   * Graceful shutdown: wait until every mailbox is drained (up to `timeoutMs`), then stop the
   * top-level actors in reverse order of creation (each stops its children first). Idempotent.
   */
  shutdown(options: ShutdownOptions = {}): Promise<ShutdownReport> {
    if (this.shuttingDown !== undefined) {
      if (options.force === true) for (const cell of [...this.topLevel.values()].reverse()) void cell.stop("shutdown", { force: true });
      return this.shuttingDown;
    }
    this.shuttingDown = this.runShutdown(options);
    return this.shuttingDown;
  }

  private async runShutdown(options: ShutdownOptions): Promise<ShutdownReport> {
    const drained = options.force === true ? this.idle : await this.whenIdle(options.timeoutMs ?? 10_000);
    let undrained = 0;
    for (const cell of this.cells.values()) undrained += cell.mailbox.size;
    const force = options.force === true || !drained;
    this.closing = true;
    for (const cell of [...this.topLevel.values()].reverse()) await cell.stop("shutdown", { force });
    this.topLevel.clear();
    await this.remote?.close();
    return { drained, undrained };
  }

  // ---- CellHost -----------------------------------------------------------------------------

  /** @internal */
  spawnCell<N extends Message>(
    parent: ActorCellBase | undefined,
    address: ActorAddress | string,
    factory: ActorFactory<N>,
    options?: SpawnOptions,
  ): ActorCell<N> {
    if (this.closing) {
      throw new UnavailableError(`the actor system of node ${this.nodeId} is shutting down; no new actors`);
    }
    const a = typeof address === "string" ? parseAddress(address) : address;
    const cell = new ActorCell<N>(this, a, parent, factory, options);
    this.register(cell);
    cell.begin();
    return cell;
  }

  /** @internal */
  register(cell: ActorCellBase): void {
    if (this.cells.has(cell.path)) {
      throw new AlreadyExistsError(`an actor ${cell.path} already exists on node ${this.nodeId}; stop it first or pick another key`);
    }
    this.cells.set(cell.path, cell);
    this.remote?.advertise(cell.path);
  }

  /** @internal */
  unregister(cell: ActorCellBase): void {
    if (this.cells.get(cell.path) !== cell) return;
    this.cells.delete(cell.path);
    this.topLevel.delete(cell.path);
    this.remote?.withdraw(cell.path);
  }

  /** @internal */
  schedule(task: () => void): void {
    if (this.turnsSinceYield++ < YIELD_AFTER_TURNS) {
      queueMicrotask(task);
      if (!this.yieldResetScheduled) {
        this.yieldResetScheduled = true;
        setImmediate(this.resetYield);
      }
    } else {
      setImmediate(task);
    }
  }

  private readonly resetYield = (): void => {
    this.turnsSinceYield = 0;
    this.yieldResetScheduled = false;
  };

  /** @internal */
  yieldThen(task: () => void): void {
    setImmediate(task);
  }

  /** @internal */
  activity(delta: 1 | -1): void {
    this.busyCells += delta;
    if (this.busyCells === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w.resolve();
    }
  }

  /** @internal */
  escalateToRoot(address: ActorAddress, error: NeuroGraphError): void {
    try {
      this.onFatal(error, address);
    } catch {
      // onFatal must not take the failing actor's caller down with it.
    }
  }

  /** @internal */
  refFor<N extends Message>(address: ActorAddress | string): ActorRef<N> {
    return this.ref<N>(address);
  }

  // ---- Router (used by RoutedActorRef and inbound delivery) ---------------------------------

  /** @internal */
  localCell(path: string): ActorCellBase | undefined {
    return this.cells.get(path);
  }

  /** @internal */
  remoteDelivery(path: string): RemoteDelivery {
    if (this.remote === undefined) {
      throw new NotFoundError(`no actor ${path} on node ${this.nodeId}, and no transport to reach other nodes`);
    }
    return this.remote;
  }

  /** @internal */
  deadlineFor(options: { timeoutMs?: number; deadline?: number } | undefined): number {
    return askDeadline(this.clock.now(), options, this.askTimeoutMs);
  }
}

function defaultOnFatal(error: NeuroGraphError, address: ActorAddress): void {
  process.stderr.write(`neurograph: actor ${formatAddress(address)} failed fatally: ${error.message}\n`);
}
