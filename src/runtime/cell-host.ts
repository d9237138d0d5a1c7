/**
 * The contracts between actor cells and their actor system, shared by `turn-loop.ts`,
 * `cell.ts`, `routing.ts` and `system.ts`.
 */
import type { NeuroGraphError } from "../core/errors.ts";
import type { ActorAddress } from "./address.ts";
import type { ActorFactory, SpawnOptions } from "./actor.ts";
import type { Clock } from "./clock.ts";
import type { DeadlineTimers } from "./deadlines.ts";
import type { Letter } from "./letter.ts";
import type { Mailbox } from "./mailbox.ts";
import type { Message } from "./message.ts";
import type { ActorSystemObserver, StopReason } from "./observer.ts";
import type { ActorRef, ActorRefBase, AskOptions, TellOptions } from "./ref.ts";
import type { SupervisionOptions } from "./supervision.ts";

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
  ): SpawnedCell<N>;
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

export interface StopRequest {
  readonly reason: StopReason;
  /** Process what is queued first (new messages are refused meanwhile). */
  drain: boolean;
}

/** A cell just spawned, with its typed ref. */
export interface SpawnedCell<N extends Message> extends ActorCellBase {
  readonly ref: ActorRef<N>;
}

export type Phase = "starting" | "running" | "suspended" | "stopping" | "stopped";

/** Computes an ask's absolute deadline from its options. */
export function askDeadline(now: number, options: AskOptions | undefined, defaultTimeoutMs: number): number {
  const timeout = options?.timeoutMs ?? (options?.deadline === undefined ? defaultTimeoutMs : Infinity);
  const fromTimeout = timeout === Infinity ? Infinity : now + timeout;
  return Math.min(fromTimeout, options?.deadline ?? Infinity);
}

