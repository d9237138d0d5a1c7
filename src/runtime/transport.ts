/**
 * The transport seam. An `ActorSystem` delivers to its own actors directly; everything addressed
 * to an actor it does not host goes through a `Transport`, and everything arriving from other
 * processes comes in through the system's `InboundEndpoint`. In-process (`LocalTransport`) and NATS
 * transports implement the same interface, so a ref to a remote actor behaves like a local one.
 *
 * On the wire (transports that cross a process): the NATS transport (`nats/nats-transport.ts`)
 * sends to `ng.<cluster>.actor.<kind>.<key>` a protobuf `ActorEnvelope` body (kind, type name,
 * correlation id, sender, codec payload; `proto/neurograph/v1/envelope.proto`) with the message
 * headers (W3C trace context, …) and the absolute `deadline` as NATS headers; the reply is an
 * `ActorEnvelope` of kind REPLY with the payload or an error. `wireHeaders`/`fromWireHeaders`
 * below are the header-only form (`ng-type`, `ng-corr`, `ng-from`, `deadline`) for transports
 * without a body envelope. Codecs are only used when a message crosses a process:
 * `LocalTransport` passes the live objects.
 */
import {
  AlreadyExistsError,
  CancelledError,
  DataLossError,
  DeadlineExceededError,
  ErrorCode,
  FailedPreconditionError,
  InternalError,
  NeuroGraphError,
  NotFoundError,
  OverloadedError,
  UnavailableError,
  ValidationError,
  type FieldViolation,
} from "../core/errors.ts";
import { EMPTY_HEADERS, HeaderName, type Headers, type Message } from "./message.ts";

export interface Envelope {
  /** Target address, `kind/key`. */
  readonly to: string;
  /** Sending actor's address when the sender is an actor. */
  readonly from: string | undefined;
  /** Where the reply goes; chosen by the transport for requests, absent for one-way messages. */
  readonly replyTo: string | undefined;
  /** Unique per request within the sending node; "" for one-way messages. */
  readonly correlationId: string;
  /** The message's `type`; selects the codec. */
  readonly typeName: string;
  /** The live message when `encoded` is false, its codec bytes (`Uint8Array`) when true. */
  readonly payload: unknown;
  readonly encoded: boolean;
  readonly headers: Headers;
  /** Absolute deadline, epoch ms; `Infinity` when none. Travels as the `deadline` header. */
  readonly deadline: number;
}

/** The serialisable form of a `NeuroGraphError`. */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly retryable: boolean;
  readonly violations?: readonly FieldViolation[];
}

export interface ReplyEnvelope {
  readonly correlationId: string;
  /** The request's type name (the same codec decodes the reply). */
  readonly typeName: string;
  /** Reply value (live or encoded like `Envelope.payload`); undefined when `error` is set. */
  readonly payload: unknown;
  readonly encoded: boolean;
  readonly error: WireError | undefined;
  readonly headers: Headers;
}

/** What a transport calls to hand an inbound envelope to the local actor system. */
export interface InboundEndpoint {
  readonly nodeId: string;
  /** Whether an actor with this address lives here. */
  hosts(address: string): boolean;
  /** One-way delivery; throws `OverloadedError`, `NotFoundError`, `UnavailableError`. */
  deliverTell(envelope: Envelope): void;
  /** Request delivery; never rejects: failures come back as a `ReplyEnvelope` with `error`. */
  deliverAsk(envelope: Envelope): Promise<ReplyEnvelope>;
}

export interface Transport {
  /** `live`: payloads stay objects (same process). `bytes`: they must be codec-encoded. */
  readonly payloads: "live" | "bytes";
  /** Called once by the actor system that owns this transport. */
  bind(endpoint: InboundEndpoint): void;
  /** The bound system now hosts `address` (kind/key); route envelopes for it here. */
  advertise(address: string): void;
  withdraw(address: string): void;
  /**
   * One-way send. Throws (or rejects with) typed errors it knows of (no route → `NotFoundError`,
   * disconnected → `UnavailableError`, the remote mailbox full → `OverloadedError` where known).
   */
  send(envelope: Envelope): void | Promise<void>;
  /** Request/reply; honours `envelope.deadline`; rejects only for transport failures. */
  request(envelope: Envelope): Promise<ReplyEnvelope>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Codecs

/** Encodes one message type (and its reply) to bytes, e.g. with protobuf. */
export interface MessageCodec<M extends Message = Message, R = unknown> {
  readonly typeName: M["type"];
  encode(message: M): Uint8Array;
  decode(bytes: Uint8Array): M;
  /** Absent for one-way messages; the reply body is then empty. */
  encodeReply?(reply: R): Uint8Array;
  decodeReply?(bytes: Uint8Array): R;
}

const EMPTY_BYTES = new Uint8Array(0);

export class CodecRegistry {
  private readonly codecs = new Map<string, MessageCodec>();

  register(...codecs: MessageCodec[]): this {
    for (const codec of codecs) {
      if (this.codecs.has(codec.typeName)) {
        throw new InternalError(`a codec for message type "${codec.typeName}" is already registered`);
      }
      this.codecs.set(codec.typeName, codec);
    }
    return this;
  }

  has(typeName: string): boolean {
    return this.codecs.has(typeName);
  }

  encode(typeName: string, message: unknown): Uint8Array {
    return this.get(typeName).encode(message as Message);
  }

  /**
   * Decodes a request body that arrived from another process. An unknown type or a body the
   * codec rejects is bad input there, so both become a `ValidationError`.
   */
  decode(typeName: string, bytes: Uint8Array): Message {
    const codec = this.codecs.get(typeName);
    if (codec === undefined) {
      throw ValidationError.of("message", [
        {
          field: "type",
          value: typeName.slice(0, 128),
          rule: "known_message_type",
          description: `message type "${typeName.slice(0, 128)}" is unknown to this node (no codec registered); check that sender and receiver run compatible versions`,
        },
      ]);
    }
    let message: Message;
    try {
      message = codec.decode(bytes);
    } catch (err) {
      throw undecodable(typeName, "message", err);
    }
    if (typeof message !== "object" || message === null || message.type !== typeName) {
      const actual = typeof message === "object" && message !== null ? String(message.type).slice(0, 128) : typeof message;
      throw ValidationError.of("message", [
        { field: "type", value: actual, rule: "type_matches_envelope", description: `the payload declares type "${actual}" but was sent as "${typeName.slice(0, 128)}"` },
      ]);
    }
    return message;
  }

  encodeReply(typeName: string, reply: unknown): Uint8Array {
    const codec = this.get(typeName);
    return codec.encodeReply === undefined ? EMPTY_BYTES : codec.encodeReply(reply);
  }

  decodeReply(typeName: string, bytes: Uint8Array): unknown {
    const codec = this.get(typeName);
    if (codec.decodeReply === undefined) return undefined;
    try {
      return codec.decodeReply(bytes);
    } catch (err) {
      throw undecodable(typeName, "reply", err);
    }
  }

  private get(typeName: string): MessageCodec {
    const codec = this.codecs.get(typeName);
    if (codec === undefined) {
      throw new NotFoundError(
        `no codec registered for message type "${typeName}"; messages that cross a process need one (CodecRegistry.register)`,
      );
    }
    return codec;
  }
}

function undecodable(typeName: string, what: string, err: unknown): ValidationError {
  const detail = err instanceof Error ? err.message : String(err);
  return ValidationError.of(what, [
    { field: "payload", rule: "decodable", value: typeName, description: `could not decode ${what} of type "${typeName}": ${detail}` },
  ]);
}

/** A JSON codec, for development and tests; production messages use protobuf codecs. */
export function jsonCodec<M extends Message, R = unknown>(typeName: M["type"]): MessageCodec<M, R> {
  const enc = new TextEncoder();
  const dec = new TextDecoder("utf-8", { fatal: true });
  return {
    typeName,
    encode: (m) => enc.encode(JSON.stringify(m)),
    decode: (b) => JSON.parse(dec.decode(b)) as M,
    encodeReply: (r) => (r === undefined ? EMPTY_BYTES : enc.encode(JSON.stringify(r))),
    decodeReply: (b) => (b.length === 0 ? undefined : JSON.parse(dec.decode(b))) as R,
  };
}

// ---------------------------------------------------------------------------------------------
// Errors and headers on the wire

export function errorToWire(err: NeuroGraphError): WireError {
  const violations = (err as { violations?: readonly FieldViolation[] }).violations;
  return violations !== undefined && violations.length > 0
    ? { code: err.code, message: err.message, retryable: err.retryable, violations }
    : { code: err.code, message: err.message, retryable: err.retryable };
}

/** Rebuilds a typed error; the code (not the class name) decides, so any sender language works. */
export function errorFromWire(wire: WireError): NeuroGraphError {
  const o = { retryable: wire.retryable };
  switch (wire.code) {
    case ErrorCode.InvalidArgument:
      return new ValidationError(wire.message, wire.violations ?? [], o);
    case ErrorCode.NotFound:
      return new NotFoundError(wire.message, o);
    case ErrorCode.AlreadyExists:
      return new AlreadyExistsError(wire.message, o);
    case ErrorCode.FailedPrecondition:
      return new FailedPreconditionError(wire.message, wire.violations ?? [], o);
    case ErrorCode.Overloaded:
      return new OverloadedError(wire.message, o);
    case ErrorCode.Unavailable:
      return new UnavailableError(wire.message, o);
    case ErrorCode.DeadlineExceeded:
      return new DeadlineExceededError(wire.message, o);
    case ErrorCode.Cancelled:
      return new CancelledError(wire.message, o);
    case ErrorCode.DataLoss:
      return new DataLossError(wire.message, o);
    case ErrorCode.Internal:
      return new InternalError(wire.message, o);
    default:
      // QuotaExceeded (its class takes structured fields), Unauthenticated, PermissionDenied.
      return new NeuroGraphError(wire.code, wire.message, o);
  }
}

export const WireHeader = {
  type: "ng-type",
  correlation: "ng-corr",
  from: "ng-from",
  error: "ng-error",
} as const;

/** The headers a byte transport sends for `envelope` (user headers + runtime headers). */
export function wireHeaders(envelope: Envelope): Record<string, string> {
  const out: Record<string, string> = { ...envelope.headers };
  out[WireHeader.type] = envelope.typeName;
  if (envelope.correlationId !== "") out[WireHeader.correlation] = envelope.correlationId;
  if (envelope.from !== undefined) out[WireHeader.from] = envelope.from;
  if (Number.isFinite(envelope.deadline)) out[HeaderName.deadline] = String(envelope.deadline);
  return out;
}

/** Splits received wire headers back into runtime fields and user headers. */
export function fromWireHeaders(wire: Readonly<Record<string, string>>): {
  typeName: string;
  correlationId: string;
  from: string | undefined;
  deadline: number;
  headers: Headers;
} {
  // fromEntries defines own properties, so a hostile `__proto__` header stays a plain header.
  const user = Object.entries(wire).filter(
    ([k]) => k !== WireHeader.type && k !== WireHeader.correlation && k !== WireHeader.from && k !== HeaderName.deadline,
  );
  const headers: Headers = user.length === 0 ? EMPTY_HEADERS : Object.fromEntries(user);
  const rawDeadline = wire[HeaderName.deadline];
  const deadline = rawDeadline === undefined ? Infinity : Number(rawDeadline);
  return {
    typeName: wire[WireHeader.type] ?? "",
    correlationId: wire[WireHeader.correlation] ?? "",
    from: wire[WireHeader.from],
    deadline: Number.isFinite(deadline) ? deadline : Infinity,
    headers,
  };
}
