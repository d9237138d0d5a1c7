/**
 * Location transparency. `RoutedActorRef` looks the address up among local actors at every send
 * and otherwise hands the message to `RemoteDelivery`, which builds envelopes (encoding payloads
 * when the transport needs bytes), enforces the caller's deadline, and turns wire errors back
 * into typed errors. Inbound envelopes from the transport come in through the same object.
 */
import {
  DeadlineExceededError,
  NotFoundError,
  toNeuroGraphError,
  type NeuroGraphError,
} from "../core/errors.ts";
import type { ActorAddress } from "./address.ts";
import { formatAddress } from "./address.ts";
import type { ActorCellBase } from "./cell-host.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import { Letter, isPromiseLike } from "./letter.ts";
import { EMPTY_HEADERS, type Message, type ReplyFor } from "./message.ts";
import type { ActorSystemObserver } from "./observer.ts";
import type { ActorRef, AskOptions, TellOptions } from "./ref.ts";
import {
  errorFromWire,
  errorToWire,
  type CodecRegistry,
  type Envelope,
  type InboundEndpoint,
  type ReplyEnvelope,
  type Transport,
} from "./transport.ts";

/** What routing needs from the actor system. */
export interface Router {
  readonly nodeId: string;
  readonly clock: Clock;
  readonly observer: ActorSystemObserver;
  readonly codecs: CodecRegistry;
  localCell(path: string): ActorCellBase | undefined;
  /** Throws `NotFoundError` when there is no transport. */
  remoteDelivery(path: string): RemoteDelivery;
  deadlineFor(options: AskOptions | undefined): number;
}

export class RoutedActorRef<M extends Message> implements ActorRef<M> {
  readonly path: string;

  constructor(
    private readonly router: Router,
    readonly address: ActorAddress,
  ) {
    this.path = formatAddress(address);
  }

  tell(message: M, options?: TellOptions): void {
    const cell = this.router.localCell(this.path);
    if (cell !== undefined) cell.tell(message, options);
    else this.router.remoteDelivery(this.path).tell(this.address, this.path, message, options);
  }

  ask<T extends M>(message: T, options?: AskOptions): Promise<ReplyFor<M, T["type"]>> {
    const cell = this.router.localCell(this.path);
    if (cell !== undefined) return cell.ask(message, options) as Promise<ReplyFor<M, T["type"]>>;
    try {
      const remote = this.router.remoteDelivery(this.path);
      return remote.ask(this.address, this.path, message, options) as Promise<ReplyFor<M, T["type"]>>;
    } catch (err) {
      return Promise.reject(toNeuroGraphError(err));
    }
  }

  toString(): string {
    return this.path;
  }
}

export class RemoteDelivery implements InboundEndpoint {
  private seq = 0;

  constructor(
    private readonly router: Router,
    private readonly transport: Transport,
  ) {}

  get nodeId(): string {
    return this.router.nodeId;
  }

  advertise(path: string): void {
    this.transport.advertise(path);
  }

  withdraw(path: string): void {
    this.transport.withdraw(path);
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  // ---- outbound -----------------------------------------------------------------------------

  tell(address: ActorAddress, path: string, message: Message, options: TellOptions | undefined): void {
    let sent: void | Promise<void>;
    try {
      sent = this.transport.send(this.envelope(path, message, "", options?.deadline ?? Infinity, options));
    } catch (err) {
      throw toNeuroGraphError(err);
    }
    if (isPromiseLike(sent)) {
      sent.then(undefined, (err: unknown) => this.router.observer.undelivered?.(address, message.type, toNeuroGraphError(err)));
    }
  }

  ask(address: ActorAddress, path: string, message: Message, options: AskOptions | undefined): Promise<unknown> {
    const { clock, observer, codecs } = this.router;
    const deadline = this.router.deadlineFor(options);
    const started = clock.now();
    const envelope = this.envelope(path, message, `${this.router.nodeId}:${++this.seq}`, deadline, options);
    return new Promise<unknown>((resolve, reject) => {
      let done = false;
      let timer: TimerHandle | undefined;
      const settle = (): boolean => {
        if (done) return false;
        done = true;
        if (timer !== undefined) clock.clearTimeout(timer);
        return true;
      };
      if (deadline !== Infinity) {
        timer = clock.setTimeout(() => {
          if (!settle()) return;
          observer.askTimedOut?.(address, message.type);
          reject(
            new DeadlineExceededError(
              `ask "${message.type}" to ${path} got no reply within its deadline (${Math.max(0, deadline - started)} ms); the actor may be overloaded or stuck`,
            ),
          );
        }, deadline - started);
      }
      this.transport.request(envelope).then(
        (reply) => {
          if (!settle()) return; // a reply after the deadline is discarded
          if (reply.error !== undefined) return reject(errorFromWire(reply.error));
          try {
            resolve(reply.encoded ? codecs.decodeReply(reply.typeName, reply.payload as Uint8Array) : reply.payload);
          } catch (err) {
            reject(toNeuroGraphError(err));
          }
        },
        (err: unknown) => {
          if (settle()) reject(toNeuroGraphError(err));
        },
      );
    });
  }

  private envelope(path: string, message: Message, correlationId: string, deadline: number, options: TellOptions | AskOptions | undefined): Envelope {
    const encoded = this.transport.payloads === "bytes";
    return {
      to: path,
      from: options?.sender,
      replyTo: undefined,
      correlationId,
      typeName: message.type,
      payload: encoded ? this.router.codecs.encode(message.type, message) : message,
      encoded,
      headers: options?.headers ?? this.router.observer.outboundHeaders?.() ?? EMPTY_HEADERS,
      deadline,
    };
  }

  // ---- inbound ------------------------------------------------------------------------------

  hosts(address: string): boolean {
    return this.router.localCell(address) !== undefined;
  }

  deliverTell(envelope: Envelope): void {
    const cell = this.cellFor(envelope.to);
    cell.tell(this.decode(envelope), { headers: envelope.headers, deadline: envelope.deadline, sender: envelope.from });
  }

  deliverAsk(envelope: Envelope): Promise<ReplyEnvelope> {
    let cell: ActorCellBase;
    let message: Message;
    try {
      cell = this.cellFor(envelope.to);
      message = this.decode(envelope);
    } catch (err) {
      return Promise.resolve(this.errorReply(envelope, toNeuroGraphError(err)));
    }
    return new Promise<ReplyEnvelope>((resolve) => {
      const letter = new Letter(
        message,
        envelope.headers,
        envelope.deadline,
        envelope.from,
        (value) => {
          try {
            resolve(this.okReply(envelope, value));
          } catch (err) {
            resolve(this.errorReply(envelope, toNeuroGraphError(err)));
          }
        },
        (error) => resolve(this.errorReply(envelope, error)),
      );
      cell.submitAsk(letter);
    });
  }

  private cellFor(path: string): ActorCellBase {
    const cell = this.router.localCell(path);
    if (cell === undefined) throw new NotFoundError(`no actor ${path} on node ${this.router.nodeId}`);
    return cell;
  }

  private decode(envelope: Envelope): Message {
    return envelope.encoded
      ? this.router.codecs.decode(envelope.typeName, envelope.payload as Uint8Array)
      : (envelope.payload as Message);
  }

  private okReply(envelope: Envelope, value: unknown): ReplyEnvelope {
    return {
      correlationId: envelope.correlationId,
      typeName: envelope.typeName,
      payload: envelope.encoded ? this.router.codecs.encodeReply(envelope.typeName, value) : value,
      encoded: envelope.encoded,
      error: undefined,
      headers: EMPTY_HEADERS,
    };
  }

  private errorReply(envelope: Envelope, error: NeuroGraphError): ReplyEnvelope {
    return {
      correlationId: envelope.correlationId,
      typeName: envelope.typeName,
      payload: undefined,
      encoded: envelope.encoded,
      error: errorToWire(error),
      headers: EMPTY_HEADERS,
    };
  }
}
