/** The ref to a local actor, bound to its cell (it stays valid across restarts). */
import type { ActorAddress } from "./address.ts";
import type { Message, ReplyFor } from "./message.ts";
import type { ActorRef, AskOptions, TellOptions } from "./ref.ts";

/** What the ref needs from the cell. */
export interface LocalCell<M extends Message> {
  readonly address: ActorAddress;
  readonly path: string;
  tell(message: M, options?: TellOptions): void;
  ask(message: Message, options?: AskOptions): Promise<unknown>;
}

export class LocalActorRef<M extends Message> implements ActorRef<M> {
  readonly address: ActorAddress;
  readonly path: string;

  constructor(private readonly cell: LocalCell<M>) {
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
