/**
 * The `ActorContext` handed to an actor: its identity, the current message's headers/deadline,
 * and the operations that act on behalf of the actor (sending with itself as sender, children,
 * timers, deferred replies). The cell sets the per-message fields at the start of each turn.
 */
import { FailedPreconditionError, type NeuroGraphError } from "../core/errors.ts";
import type { ActorAddress } from "./address.ts";
import type { ActorContext, ActorFactory, Outcome, ReplyHandle, SpawnOptions } from "./actor.ts";
import type { Clock } from "./clock.ts";
import type { Letter } from "./letter.ts";
import { EMPTY_HEADERS, type Headers, type Message, type ReplyFor, type ReplyOf } from "./message.ts";
import type { ActorRef, ActorRefBase, AskOptions, TellOptions } from "./ref.ts";
import type { ActorTimers } from "./timers.ts";

/** What the context needs from the cell that owns it. */
export interface ContextOwner<M extends Message> {
  readonly ref: ActorRef<M>;
  readonly timers: ActorTimers<M>;
  readonly clock: Clock;
  spawnChild<N extends Message>(address: ActorAddress | string, factory: ActorFactory<N>, options?: SpawnOptions): ActorRef<N>;
  childRefs(): readonly ActorRefBase[];
  stopChild(child: ActorRefBase): Promise<void>;
  stopSelf(): void;
  refFor<N extends Message>(address: ActorAddress | string): ActorRef<N>;
  /** Marks the letter's reply as deferred and tracks it (rejected if the actor restarts/stops). */
  defer(letter: Letter): void;
  settleDeferred(letter: Letter): void;
  pipe<T>(work: PromiseLike<T>, toMessage: (outcome: Outcome<T>) => M): void;
}

const NO_REPLY: ReplyHandle<never> = Object.freeze({ resolve: () => undefined, reject: () => undefined });

export class CellContext<M extends Message> implements ActorContext<M> {
  headers: Headers = EMPTY_HEADERS;
  deadline = Infinity;
  sender: string | undefined = undefined;
  private letter: Letter | undefined = undefined;

  constructor(private readonly owner: ContextOwner<M>) {}

  get self(): ActorRef<M> {
    return this.owner.ref;
  }

  get address(): ActorAddress {
    return this.owner.ref.address;
  }

  get timers(): ActorTimers<M> {
    return this.owner.timers;
  }

  get clock(): Clock {
    return this.owner.clock;
  }

  begin(letter: Letter): void {
    this.letter = letter;
    this.headers = letter.headers;
    this.deadline = letter.deadline;
    this.sender = letter.sender;
  }

  end(): void {
    this.letter = undefined;
    this.headers = EMPTY_HEADERS;
    this.deadline = Infinity;
    this.sender = undefined;
  }

  tell<N extends Message>(ref: ActorRef<N>, message: N, options?: TellOptions): void {
    ref.tell(message, {
      headers: options?.headers ?? this.headers,
      deadline: options?.deadline,
      sender: options?.sender ?? this.owner.ref.path,
    });
  }

  ask<N extends Message, K extends string>(ref: ActorRef<N>, message: N & { readonly type: K }, options?: AskOptions): Promise<ReplyFor<N, K>> {
    if (ref.path === this.owner.ref.path && this.letter !== undefined) {
      // The reply would need this actor's next turn, which waits for this one: a sure deadlock.
      return Promise.reject(
        new FailedPreconditionError(`actor ${ref.path} asked itself "${message.type}" during a turn; use tell, or handle the message inline`),
      );
    }
    const inherited = this.deadline;
    const own = options?.deadline;
    const deadline = own === undefined ? (inherited === Infinity ? undefined : inherited) : Math.min(own, inherited);
    return ref.ask(message, {
      timeoutMs: options?.timeoutMs,
      deadline,
      headers: options?.headers ?? this.headers,
      sender: options?.sender ?? this.owner.ref.path,
    }) as Promise<ReplyFor<N, K>>;
  }

  spawn<N extends Message>(address: ActorAddress | string, factory: ActorFactory<N>, options?: SpawnOptions): ActorRef<N> {
    return this.owner.spawnChild(address, factory, options);
  }

  children(): readonly ActorRefBase[] {
    return this.owner.childRefs();
  }

  stop(child: ActorRefBase): Promise<void> {
    return this.owner.stopChild(child);
  }

  stopSelf(): void {
    this.owner.stopSelf();
  }

  ref<N extends Message>(address: ActorAddress | string): ActorRef<N> {
    return this.owner.refFor<N>(address);
  }

  deferReply(): ReplyHandle<ReplyOf<M>> {
    const letter = this.letter;
    if (letter === undefined || !letter.isAsk) return NO_REPLY;
    this.owner.defer(letter);
    const owner = this.owner;
    return {
      resolve(value: ReplyOf<M>): void {
        owner.settleDeferred(letter);
        letter.resolve(value);
      },
      reject(error: NeuroGraphError): void {
        owner.settleDeferred(letter);
        letter.reject(error);
      },
    };
  }

  pipeToSelf<T>(work: PromiseLike<T>, toMessage: (outcome: Outcome<T>) => M): void {
    this.owner.pipe(work, toMessage);
  }
}
