/**
 * Messages arriving on this node's actor subjects: size limit, envelope validation, hand-over to
 * the actor system (`InboundEndpoint`), and the reply or acknowledgement. A message that cannot
 * reach an actor (bad input, actor gone) is answered with a typed error when it has a reply
 * subject and counted (and, bounded, logged) either way; it never changes anything.
 */
import type { Msg } from "@nats-io/transport-node";
import { UnavailableError, ValidationError, toNeuroGraphError, type NeuroGraphError } from "../../core/errors.ts";
import { ActorEnvelope } from "../../gen/neurograph/v1/envelope.ts";
import { errorToWire, type Envelope, type InboundEndpoint, type ReplyEnvelope } from "../transport.ts";
import type { NatsLogger } from "./connection.ts";
import { ActorEnvelopeKind, decodeRequest, encodeAck, encodeReply } from "./wire.ts";

/** What inbound handling needs from the transport. */
export interface InboundHost {
  readonly nodeId: string;
  readonly maxBytes: number;
  readonly logger: NatsLogger;
  /** The actor system's endpoint, once bound. */
  endpoint(): InboundEndpoint | undefined;
  /** The transport still serves `address` (subscribed, not closing). */
  accepting(address: string): boolean;
  countIn(bytes: number): void;
  countOut(bytes: number): void;
  /** Called when the last inbound ask in flight has been answered. */
  inboundIdle(): void;
}

const TELL = ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_TELL;

export class ActorInbound {
  /** Inbound asks handed to actors and not yet answered. */
  inFlight = 0;
  /** Messages refused before or when handed to an actor (bad input, actor gone, mailbox full). */
  rejected = 0;

  constructor(private readonly host: InboundHost) {}

  onMessage(address: string, msg: Msg): void {
    this.host.countIn(msg.data.length);
    if (msg.data.length > this.host.maxBytes) {
      return this.reject(msg, ValidationError.of("actor message from NATS", [
        { field: "body", value: `${msg.data.length} bytes`, rule: "max_message_bytes", description: `the message is larger than this node accepts (${this.host.maxBytes} bytes); split the batch` },
      ]));
    }
    let kind: ActorEnvelopeKind;
    let envelope: Envelope;
    try {
      ({ kind, envelope } = decodeRequest(address, msg.data, msg.headers, msg.reply === "" ? undefined : msg.reply));
    } catch (err) {
      return this.reject(msg, toNeuroGraphError(err));
    }
    const endpoint = this.host.endpoint();
    if (endpoint === undefined || !this.host.accepting(address) || !endpoint.hosts(address)) {
      return this.reject(msg, new UnavailableError(`actor ${address} is not (or no longer) on node ${this.host.nodeId}; it may be moving or stopping; retry`));
    }
    if (kind === TELL) {
      let error: NeuroGraphError | undefined;
      try {
        endpoint.deliverTell(envelope);
      } catch (err) {
        error = toNeuroGraphError(err);
      }
      if (error !== undefined) this.noteRejected(msg, error);
      if (msg.reply !== undefined && msg.reply !== "") this.respond(msg, encodeAck(envelope.typeName, error === undefined ? undefined : errorToWire(error)));
      return;
    }
    this.inFlight++;
    void endpoint.deliverAsk(envelope).then((reply) => {
      this.respondReply(msg, reply);
      this.inFlight--;
      if (this.inFlight === 0) this.host.inboundIdle();
    });
  }

  private respondReply(msg: Msg, reply: ReplyEnvelope): void {
    const data = encodeReply(reply);
    if (data.length > this.host.maxBytes) {
      const tooBig = new ValidationError(
        `the reply to "${reply.typeName}" is ${data.length} bytes, more than NATS carries (${this.host.maxBytes}); ask for less at a time`,
        [{ field: "reply", value: `${data.length} bytes`, rule: "max_message_bytes", description: `replies are limited to ${this.host.maxBytes} bytes` }],
      );
      this.respond(msg, encodeReply({ ...reply, payload: undefined, error: errorToWire(tooBig) }));
      return;
    }
    this.respond(msg, data);
  }

  /** Answers a message that never reached an actor with `error` (when it has a reply subject). */
  private reject(msg: Msg, error: NeuroGraphError): void {
    this.noteRejected(msg, error);
    if (msg.reply === undefined || msg.reply === "") return;
    let correlationId = "";
    let typeName = "";
    try {
      const body = ActorEnvelope.decode(msg.data.length > this.host.maxBytes ? new Uint8Array(0) : msg.data);
      correlationId = body.correlationId.slice(0, 128);
      typeName = body.type.slice(0, 128);
    } catch {
      // garbage: answer without correlation
    }
    const wire = errorToWire(error);
    this.respond(msg, correlationId === "" ? encodeAck(typeName, wire) : encodeReply({ correlationId, typeName, payload: undefined, encoded: true, error: wire, headers: {} }));
  }

  private noteRejected(msg: Msg, error: NeuroGraphError): void {
    this.rejected++;
    // Bounded logging: a flood of bad input must not flood the log.
    if (this.rejected <= 10 || this.rejected % 1000 === 0) {
      this.host.logger.warn({ subject: msg.subject, code: error.code, rejected_total: this.rejected }, `rejected an actor message from NATS: ${error.message}`);
    }
  }

  private respond(msg: Msg, data: Uint8Array): void {
    try {
      if (msg.respond(data)) this.host.countOut(data.length);
    } catch (err) {
      // The connection closed or the requester is gone: nothing left to answer.
      this.host.logger.warn({ err, subject: msg.subject }, "could not answer an actor message over NATS");
    }
  }
}
