/**
 * The node: starts its components in order (stores, actor system, gRPC server, …) and stops them
 * in reverse. Shutdown is graceful and bounded: every component first gets `drain` (stop taking
 * new work, finish what is in flight), newest first, then `stop`, newest first; past the shutdown
 * timeout the remaining steps run with `force`. `stop()` is idempotent. With `handleSignals()`,
 * SIGINT/SIGTERM start that shutdown and a second signal exits at once.
 */
import { FailedPreconditionError, InternalError, toNeuroGraphError, type NeuroGraphError } from "../core/errors.ts";
import { systemClock, type Clock } from "./clock.ts";
import type { ActorSystem } from "./system.ts";

export interface StopContext {
  /** Skip waiting: the shutdown timeout passed or a second signal arrived. */
  readonly force: boolean;
  /** Absolute epoch ms by which the whole shutdown should be done. */
  readonly deadline: number;
}

export interface Component {
  readonly name: string;
  start(): void | Promise<void>;
  /** Stop accepting new work and finish in-flight work (optional). */
  drain?(context: StopContext): void | Promise<void>;
  /** Release everything (close servers, stores). */
  stop(context: StopContext): void | Promise<void>;
}

export type NodeState = "created" | "starting" | "running" | "draining" | "stopping" | "stopped" | "failed";

export interface NodeOptions {
  readonly clock?: Clock;
  /** Bound of the whole graceful shutdown (default 10 s, `NG_SHUTDOWN_TIMEOUT`). */
  readonly shutdownTimeoutMs?: number;
  /** Progress lines (default: stderr). */
  readonly log?: (line: string) => void;
}

export interface ShutdownResult {
  /** Everything drained and stopped before the timeout, without errors. */
  readonly clean: boolean;
  readonly forced: boolean;
  readonly errors: readonly { readonly component: string; readonly error: NeuroGraphError }[];
}

export interface SignalOptions {
  readonly signals?: readonly NodeJS.Signals[];
  /** Called with the exit code when the node is done (default `process.exit`). */
  readonly exit?: (code: number) => void;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

export class Node {
  private readonly components: Component[] = [];
  private readonly startedComponents: Component[] = [];
  private readonly clock: Clock;
  private readonly shutdownTimeoutMs: number;
  private readonly log: (line: string) => void;
  private current: NodeState = "created";
  private stopping: Promise<ShutdownResult> | undefined;
  private forceRequested = false;
  private readonly forceListeners = new Set<() => void>();
  private inFlightStart: Promise<unknown> | undefined;
  private readonly stateListeners: ((state: NodeState) => void)[] = [];

  constructor(options: NodeOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  get state(): NodeState {
    return this.current;
  }

  onStateChange(listener: (state: NodeState) => void): void {
    this.stateListeners.push(listener);
  }

  /** Adds a component; components start in the order added and stop in reverse. */
  add(component: Component): this {
    if (this.current !== "created") {
      throw new FailedPreconditionError(`cannot add component ${component.name}: the node is ${this.current}`);
    }
    this.components.push(component);
    return this;
  }

  /** Starts every component in order; if one fails, stops those already started and rethrows. */
  async start(): Promise<void> {
    if (this.current !== "created") throw new FailedPreconditionError(`node cannot start: it is ${this.current}`);
    this.setState("starting");
    for (const component of this.components) {
      if (this.stopping !== undefined) break;
      try {
        const started = Promise.resolve(component.start());
        this.inFlightStart = started.catch(() => undefined);
        await started;
        this.startedComponents.push(component);
      } catch (err) {
        const error = toNeuroGraphError(err);
        this.log(`node: ${component.name} failed to start: ${error.message}`);
        await this.stop();
        this.setState("failed");
        throw new InternalError(`component ${component.name} failed to start: ${error.message}`, { cause: err });
      }
    }
    if (this.stopping === undefined) this.setState("running");
  }

  /** Graceful, bounded shutdown; idempotent (later calls return the same result). */
  stop(options: { force?: boolean } = {}): Promise<ShutdownResult> {
    if (options.force === true && !this.forceRequested) {
      this.forceRequested = true;
      for (const l of [...this.forceListeners]) l();
    }
    this.stopping ??= this.runStop();
    return this.stopping;
  }

  private async runStop(): Promise<ShutdownResult> {
    // A component still starting is either started (and stopped below) or failed: wait for it.
    await this.inFlightStart;
    const deadline = this.clock.now() + this.shutdownTimeoutMs;
    const errors: { component: string; error: NeuroGraphError }[] = [];
    let timedOut = false;
    const context = (): StopContext => ({ force: this.forceRequested || timedOut, deadline });
    const order = [...this.startedComponents].reverse();

    this.setState("draining");
    for (const c of order) {
      if (c.drain === undefined || context().force) continue; // forced: no more waiting for drains
      this.log(`node: draining ${c.name}`);
      const outcome = await this.bounded(() => c.drain?.(context()), deadline, true);
      if (outcome === "timeout") {
        timedOut = true;
        this.log(`node: ${c.name} did not drain within the shutdown timeout; forcing`);
      } else if (outcome !== "ok") errors.push({ component: c.name, error: outcome });
    }

    this.setState("stopping");
    for (const c of order) {
      this.log(`node: stopping ${c.name}`);
      const outcome = await this.bounded(() => c.stop(context()), deadline, false);
      if (outcome === "timeout") {
        timedOut = true;
        this.log(`node: ${c.name} did not stop in time; continuing`);
      } else if (outcome !== "ok") errors.push({ component: c.name, error: outcome });
    }
    this.setState("stopped");
    const forced = this.forceRequested || timedOut;
    this.log(`node: stopped${forced ? " (forced)" : ""}${errors.length > 0 ? ` with ${errors.length} error(s)` : ""}`);
    return { clean: !forced && errors.length === 0, forced, errors };
  }

  /** Runs `step`, giving up at `deadline` (the step keeps running; we stop waiting for it). */
  private bounded(
    step: () => void | Promise<void>,
    until: number,
    abortOnForce: boolean,
  ): Promise<"ok" | "timeout" | NeuroGraphError> {
    // Forced: no waiting for drains; stops get a short grace period to close files cleanly.
    const deadline = this.forceRequested ? Math.min(until, this.clock.now() + 1_000) : until;
    if (abortOnForce && this.forceRequested) return Promise.resolve("timeout");
    return new Promise((resolve) => {
      let done = false;
      const finish = (v: "ok" | "timeout" | NeuroGraphError): void => {
        if (done) return;
        done = true;
        this.clock.clearTimeout(timer);
        this.forceListeners.delete(onForce);
        resolve(v);
      };
      const onForce = (): void => finish("timeout");
      const timer = this.clock.setTimeout(() => finish("timeout"), Math.max(0, deadline - this.clock.now()));
      if (abortOnForce) this.forceListeners.add(onForce);
      try {
        Promise.resolve(step()).then(
          () => finish("ok"),
          (err: unknown) => finish(toNeuroGraphError(err)),
        );
      } catch (err) {
        finish(toNeuroGraphError(err));
      }
    });
  }

  /**
   * Installs SIGINT/SIGTERM handlers: the first signal starts a graceful stop and exits with 0
   * (1 if the shutdown was not clean); a second one exits at once with 128 + signal number.
   * Returns a function that removes the handlers.
   */
  handleSignals(options: SignalOptions = {}): () => void {
    const signals = options.signals ?? ["SIGINT", "SIGTERM"];
    const exit = options.exit ?? ((code: number) => process.exit(code));
    let received = 0;
    const handler = (signal: NodeJS.Signals): void => {
      received++;
      if (received === 1) {
        this.log(`node: received ${signal}, shutting down gracefully (send ${signal} again to force)`);
        void this.stop().then((r) => exit(r.clean ? 0 : 1));
      } else {
        this.log(`node: received ${signal} again, forcing exit`);
        this.forceRequested = true;
        exit(128 + (SIGNAL_NUMBERS[signal] ?? 0));
      }
    };
    for (const s of signals) process.on(s, handler);
    return () => {
      for (const s of signals) process.off(s, handler);
    };
  }

  private setState(state: NodeState): void {
    this.current = state;
    for (const l of this.stateListeners) l(state);
  }
}

/** The actor system as a node component: drain = wait until idle, stop = stop every actor. */
export function actorSystemComponent(system: ActorSystem, name = "actor-system"): Component {
  return {
    name,
    start() {},
    async drain(ctx) {
      if (ctx.force) return;
      await system.whenIdle(Math.max(0, ctx.deadline - system.clock.now()));
    },
    async stop(ctx) {
      await system.shutdown({ force: ctx.force, timeoutMs: Math.max(0, ctx.deadline - system.clock.now()) });
    },
  };
}
