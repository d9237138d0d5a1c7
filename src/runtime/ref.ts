/**
 * Actor references: what callers hold to talk to an actor. A ref behaves the same whether the
 * actor is in this process or on another node (overload, deadlines and errors are the same typed
 * errors); only the system knows which.
 */
import type { ActorAddress } from "./address.ts";
import type { Headers, Message, ReplyFor } from "./message.ts";

export interface TellOptions {
  /** Headers for the receiver (`ctx.headers`), e.g. W3C trace context. */
  readonly headers?: Headers;
  /** Skip the message if it is still queued at this absolute epoch ms. */
  readonly deadline?: number;
  /** Sending actor (set by `ctx.tell`). */
  readonly sender?: string;
}

export interface AskOptions {
  /** Relative deadline. Default: the system's ask timeout. `Infinity` for none. */
  readonly timeoutMs?: number;
  /** Absolute deadline (epoch ms); the earlier of this and `timeoutMs` wins. */
  readonly deadline?: number;
  readonly headers?: Headers;
  readonly sender?: string;
}

/**
 * What every ref has, whatever its protocol: use it to hold refs of different message types
 * together (`ActorRef<A>` is not assignable to `ActorRef<B>`, by design).
 */
export interface ActorRefBase {
  readonly address: ActorAddress;
  /** `kind/key`. */
  readonly path: string;
}

export interface ActorRef<M extends Message> extends ActorRefBase {
  /**
   * One-way message. Throws `OverloadedError` when the mailbox is full and `UnavailableError` /
   * `NotFoundError` when the actor is stopped or unknown: nothing is dropped silently.
   */
  tell(message: M, options?: TellOptions): void;
  /**
   * Request/reply. Rejects with `OverloadedError` (mailbox full), `DeadlineExceededError` (no reply
   * in time; a late reply is discarded), the error the actor failed with (as a `NeuroGraphError`),
   * or `UnavailableError` when the actor stops first (saying so when the operation may have run).
   */
  ask<T extends M>(message: T, options?: AskOptions): Promise<ReplyFor<M, T["type"]>>;
}

/** Sends `message` to `ref` (same as `ref.tell`). */
export function tell<M extends Message>(ref: ActorRef<M>, message: M, options?: TellOptions): void {
  ref.tell(message, options);
}

/** Asks `ref` (same as `ref.ask`). */
export function ask<M extends Message, K extends string>(
  ref: ActorRef<M>,
  message: M & { readonly type: K },
  options?: AskOptions,
): Promise<ReplyFor<M, K>> {
  return ref.ask(message, options) as Promise<ReplyFor<M, K>>;
}
