/**
 * The actor programming model. Subclass `Actor`, implement `receive`, and spawn it with a factory
 * (`() => new ShardActor(...)`): the factory is called again for every restart, so each
 * incarnation starts from a fresh instance and recovers its state in `preStart`.
 *
 * Delivery is turn-based: `receive` runs for one message at a time; when it returns a promise, the
 * next message waits until that promise settles. The value `receive` returns (or resolves to) is
 * the reply to an ask; what it throws (or rejects with) goes to the asker and to supervision.
 */
import type { NeuroGraphError } from "../core/errors.ts";
import type { ActorAddress } from "./address.ts";
import type { Clock } from "./clock.ts";
import type { Headers, Message, ReplyFor, ReplyOf } from "./message.ts";
import type { ActorRef, ActorRefBase, AskOptions, TellOptions } from "./ref.ts";
import type { SupervisionOptions } from "./supervision.ts";
import type { TimerScheduler } from "./timers.ts";

/**
 * What `receive` returns after `ctx.deferReply()`: the reply will come through the handle.
 * (Returning it without having called `deferReply` is a bug and fails the message.)
 */
export const REPLY_DEFERRED: unique symbol = Symbol("REPLY_DEFERRED");
export type ReplyDeferred = typeof REPLY_DEFERRED;

export abstract class Actor<M extends Message> {
  /**
   * Runs before the first message of each incarnation (after spawn and after every restart).
   * Recover state here (e.g. replay the shard's log). May be async: messages queue meanwhile. A
   * failure here is supervised like a failing message.
   */
  preStart(_ctx: ActorContext<M>): void | Promise<void> {}

  abstract receive(message: M, ctx: ActorContext<M>): ReplyOf<M> | ReplyDeferred | Promise<ReplyOf<M> | ReplyDeferred>;

  /** Runs on the failed incarnation before it is replaced (children are stopped after it). */
  preRestart(_error: NeuroGraphError, _ctx: ActorContext<M>): void | Promise<void> {}

  /** Runs once when the actor stops (after its children stopped). */
  postStop(_ctx: ActorContext<M>): void | Promise<void> {}
}

export type ActorFactory<M extends Message> = () => Actor<M>;

export interface SpawnOptions {
  /** Bounded mailbox capacity (default: the system's, `NG_MAILBOX_CAPACITY`). */
  readonly mailboxCapacity?: number;
  /** Overrides of the supervision applied to this actor by its parent. */
  readonly supervision?: Partial<SupervisionOptions>;
  /** Messages processed per turn of the event loop before yielding to I/O (default 64). */
  readonly throughput?: number;
}

/** Settles a reply outside `receive` (after `ctx.deferReply()`); at most once, deadline honoured. */
export interface ReplyHandle<R> {
  resolve(value: R): void;
  reject(error: NeuroGraphError): void;
}

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: NeuroGraphError };

export interface ActorContext<M extends Message> {
  readonly self: ActorRef<M>;
  readonly address: ActorAddress;
  /** Headers of the message being processed (trace context, …); empty between turns. */
  readonly headers: Headers;
  /** Deadline of the message being processed (absolute epoch ms, Infinity when none). */
  readonly deadline: number;
  /** Sender of the message being processed (`kind/key`), when it came from an actor. */
  readonly sender: string | undefined;
  readonly timers: TimerScheduler<M>;
  readonly clock: Clock;

  /** `ref.tell` with this actor as sender, passing the current message's headers on. */
  tell<N extends Message>(ref: ActorRef<N>, message: N, options?: TellOptions): void;
  /**
   * `ref.ask` with this actor as sender, passing the current headers on; the deadline is the
   * earlier of the given one and the current message's (deadline propagation).
   */
  ask<N extends Message, K extends string>(ref: ActorRef<N>, message: N & { readonly type: K }, options?: AskOptions): Promise<ReplyFor<N, K>>;
  /** Spawns a child, supervised by this actor, stopped when this actor stops or restarts. */
  spawn<N extends Message>(address: ActorAddress | string, factory: ActorFactory<N>, options?: SpawnOptions): ActorRef<N>;
  children(): readonly ActorRefBase[];
  /** Stops a child of this actor (queued asks to it are rejected). */
  stop(child: ActorRefBase): Promise<void>;
  /** Stops this actor after the current turn; queued asks are rejected with `UnavailableError`. */
  stopSelf(): void;
  /** A location-transparent ref to any actor by address (local or remote). */
  ref<N extends Message>(address: ActorAddress | string): ActorRef<N>;
  /**
   * Takes over the reply of the current message: `receive` then returns `REPLY_DEFERRED` and the
   * ask settles when the handle is used (at most once; deadline honoured; rejected with
   * `UnavailableError` if the actor restarts or stops first). The next message is processed at
   * once, so use this with `pipeToSelf` for long work that must not hold the mailbox.
   */
  deferReply(): ReplyHandle<ReplyOf<M>>;
  /** Delivers the outcome of `work` back to this actor as a message, in turn. */
  pipeToSelf<T>(work: PromiseLike<T>, toMessage: (outcome: Outcome<T>) => M): void;
}
