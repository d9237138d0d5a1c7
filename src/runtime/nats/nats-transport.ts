/**
 * The NATS transport of the actor system (DESIGN §4). Actors this node hosts are subscribed on
 * `ng.<cluster>.actor.<kind>.<key>`; messages to actors elsewhere are published there. Local
 * addresses never reach this class: `RoutedActorRef` delivers to a local cell directly and only
 * hands the transport what no local actor takes.
 *
 * - ASK = NATS request/reply: body `ActorEnvelope` (protobuf), headers = message headers (W3C
 *   trace context, …) + `deadline`. The request's NATS timeout is the time left to its deadline;
 *   a timeout becomes `DeadlineExceededError`, "no responders" `UnavailableError` (retryable).
 * - TELL: by default also a request, answered by an acknowledgement once the message is in the
 *   actor's mailbox, so a missing actor or a full mailbox is reported (to the system's
 *   `undelivered` observer) instead of lost silently. `tellMode: "fire"` publishes without one.
 * - Every subscription is in the queue group `ng.<cluster>.actor`: when two nodes serve the same
 *   address (a shard handoff in progress, stateless actors on every node) each message is
 *   delivered to one of them, never to both.
 * - Outbound requests (and acknowledged tells) in flight are bounded (`maxInFlight`); beyond it
 *   senders get `OverloadedError`. `close()` stops new sends, waits for in-flight requests and
 *   inbound asks (up to `drainTimeoutMs`), then drains the connection if it owns it.
 * - Inbound messages are validated (size, envelope, kind, type, deadline header) and answered with
 *   a typed error when bad; nothing reaches an actor then.
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { errors as natsErrors } from "@nats-io/transport-node";
import {
  DeadlineExceededError,
  InternalError,
  OverloadedError,
  UnavailableError,
  ValidationError,
  toNeuroGraphError,
  type NeuroGraphError,
} from "../../core/errors.ts";
import { ActorEnvelope } from "../../gen/neurograph/v1/envelope.ts";
import { errorFromWire, errorToWire, type Envelope, type InboundEndpoint, type ReplyEnvelope, type Transport } from "../transport.ts";
import { connectNats, logStatus, silentNatsLogger, watchStatus, type NatsConnectionOptions, type NatsLogger, type NatsStatusEvent } from "./connection.ts";
import { ClusterSubjects, DEFAULT_CLUSTER, validateNodeId } from "./subjects.ts";
import { ActorEnvelopeKind, decodeAck, decodeReply, decodeRequest, encodeAck, encodeReply, encodeRequest, headerBytes, requestHeaders } from "./wire.ts";

/** Where NATS message counts go (`MetricsRegistry` of `src/telemetry` fits). */
export interface NatsMetricsSink {
  natsMessages(subjectKind: "actor", direction: "in" | "out", messages?: number, bytes?: number): void;
}

export interface NatsTransportOptions {
  readonly nodeId: string;
  /** Cluster name, the second subject token (default `neurograph`). */
  readonly cluster?: string;
  /** Outbound requests and acknowledged tells awaiting their reply (default 10 000). */
  readonly maxInFlight?: number;
  /** Largest message accepted or sent; default and upper bound: the server's `max_payload`. */
  readonly maxMessageBytes?: number;
  /** `ack` (default): tells are acknowledged and failures reported; `fire`: plain publish. */
  readonly tellMode?: "ack" | "fire";
  /** NATS timeout of a request or tell acknowledgement without a deadline (default 30 s). */
  readonly defaultTimeoutMs?: number;
  /** How long `close()` waits for requests and inbound asks in flight (default 10 s). */
  readonly drainTimeoutMs?: number;
  readonly metrics?: NatsMetricsSink;
  readonly logger?: NatsLogger;
}

export interface NatsTransportStats {
  readonly inFlight: number;
  readonly inboundInFlight: number;
  readonly subscriptions: number;
  readonly sent: number;
  readonly received: number;
  /** Inbound messages answered with an error before reaching an actor (bad input, moved actor). */
  readonly rejected: number;
}

export type NatsConnectionState = "connected" | "disconnected" | "closed";

const DEFAULT_MAX_IN_FLIGHT = 10_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_TIMER_MS = 2_147_483_647;
const { TELL, ASK } = { TELL: ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_TELL, ASK: ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_ASK } as const;

export class NatsTransport implements Transport {
  readonly payloads = "bytes" as const;
  readonly nodeId: string;
  readonly subjects: ClusterSubjects;
  private readonly queue: string;
  private readonly maxInFlight: number;
  private readonly maxBytes: number;
  private readonly tellMode: "ack" | "fire";
  private readonly defaultTimeoutMs: number;
  private readonly drainTimeoutMs: number;
  private readonly metrics: NatsMetricsSink | undefined;
  private readonly logger: NatsLogger;
  private readonly subs = new Map<string, Subscription>();
  private readonly statusListeners = new Set<(event: NatsStatusEvent) => void>();
  private endpoint: InboundEndpoint | undefined;
  private state: NatsConnectionState = "connected";
  private closing: Promise<void> | undefined;
  private inFlight = 0;
  private inboundInFlight = 0;
  private idleWaiter: (() => void) | undefined;
  private sent = 0;
  private received = 0;
  private rejected = 0;

  /** Connects to NATS and returns a transport that owns (and on `close`, drains) the connection. */
  static async connect(connection: NatsConnectionOptions, options: NatsTransportOptions): Promise<NatsTransport> {
    const nodeId = validateNodeId(options.nodeId);
    const nc = await connectNats({ ...connection, name: connection.name ?? `neurograph-${nodeId}` });
    return new NatsTransport(nc, options, true);
  }

  /** A transport over an existing connection; `owned` decides whether `close` drains it. */
  constructor(
    readonly connection: NatsConnection,
    options: NatsTransportOptions,
    private readonly owned = false,
  ) {
    this.nodeId = validateNodeId(options.nodeId);
    this.subjects = new ClusterSubjects(options.cluster ?? DEFAULT_CLUSTER);
    this.queue = `${this.subjects.root}.actor`;
    const serverMax = connection.info?.max_payload ?? 1024 * 1024;
    this.maxBytes = Math.min(serverMax, options.maxMessageBytes ?? serverMax);
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.tellMode = options.tellMode ?? "ack";
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
    this.metrics = options.metrics;
    this.logger = options.logger ?? silentNatsLogger;
    const bad = [
      ["maxInFlight", this.maxInFlight, 1],
      ["maxMessageBytes", this.maxBytes, 64],
      ["defaultTimeoutMs", this.defaultTimeoutMs, 1],
      ["drainTimeoutMs", this.drainTimeoutMs, 0],
    ].filter(([, v, min]) => !Number.isInteger(v) || (v as number) < (min as number));
    if (bad.length > 0) {
      throw ValidationError.of(
        "NATS transport options",
        bad.map(([f, v, min]) => ({ field: f as string, value: String(v), rule: "range", description: `must be an integer ≥ ${min as number}` })),
      );
    }
    void watchStatus(connection, (event) => this.onStatusEvent(event)).catch(() => undefined);
  }

  /** Connection state as last reported by the client. */
  get connectionState(): NatsConnectionState {
    return this.state;
  }

  /** Observes connection events (disconnect, reconnect, …); returns the unsubscribe function. */
  onStatus(listener: (event: NatsStatusEvent) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  stats(): NatsTransportStats {
    return {
      inFlight: this.inFlight,
      inboundInFlight: this.inboundInFlight,
      subscriptions: this.subs.size,
      sent: this.sent,
      received: this.received,
      rejected: this.rejected,
    };
  }

  /** Resolves once the server has every subscription made so far (actors spawned are reachable). */
  async flush(): Promise<void> {
    if (this.connection.isClosed()) return;
    await this.connection.flush();
  }

  // ---- Transport: binding -------------------------------------------------------------------

  bind(endpoint: InboundEndpoint): void {
    this.endpoint = endpoint;
  }

  advertise(address: string): void {
    if (this.closing !== undefined || this.subs.has(address)) return;
    const subject = this.subjects.actor(address);
    const sub = this.connection.subscribe(subject, {
      queue: this.queue,
      callback: (err, msg) => {
        if (err !== null) {
          this.logger.warn({ err, subject }, `NATS subscription for actor ${address} failed`);
          return;
        }
        this.onMessage(address, msg);
      },
    });
    this.subs.set(address, sub);
  }

  withdraw(address: string): void {
    const sub = this.subs.get(address);
    if (sub === undefined) return;
    this.subs.delete(address);
    if (!this.connection.isClosed()) sub.unsubscribe();
  }

  // ---- Transport: outbound ------------------------------------------------------------------

  send(envelope: Envelope): void | Promise<void> {
    this.checkOpen();
    const subject = this.subjects.actor(envelope.to);
    const data = encodeRequest(envelope, TELL);
    const headers = requestHeaders(envelope);
    this.checkSize(envelope, data.length + headerBytes(headers));
    if (this.tellMode === "fire") {
      if (this.state !== "connected") {
        throw new UnavailableError(`the NATS connection is down; "${envelope.typeName}" to ${envelope.to} was not sent (retry after reconnect)`);
      }
      this.publishOut(subject, data, headers);
      return;
    }
    this.acquire(envelope);
    const timeout = this.timeoutFor(envelope);
    this.countOut(data.length);
    return this.connection.request(subject, data, { timeout, ...(headers === undefined ? {} : { headers }) }).then(
      (msg) => {
        this.release();
        this.countIn(msg.data.length);
        const error = decodeAck(envelope, msg.data);
        if (error !== undefined) throw errorFromWire(error);
      },
      (err: unknown) => {
        this.release();
        throw this.requestError(err, envelope, timeout);
      },
    );
  }

  request(envelope: Envelope): Promise<ReplyEnvelope> {
    try {
      this.checkOpen();
      const remaining = Number.isFinite(envelope.deadline) ? Math.ceil(envelope.deadline - Date.now()) : this.defaultTimeoutMs;
      if (remaining <= 0) {
        return Promise.reject(new DeadlineExceededError(`ask "${envelope.typeName}" to ${envelope.to} was not sent: its deadline has passed`));
      }
      const subject = this.subjects.actor(envelope.to);
      const data = encodeRequest(envelope, ASK);
      const headers = requestHeaders(envelope);
      this.checkSize(envelope, data.length + headerBytes(headers));
      this.acquire(envelope);
      const timeout = Math.min(remaining, MAX_TIMER_MS);
      this.countOut(data.length);
      return this.connection.request(subject, data, { timeout, ...(headers === undefined ? {} : { headers }) }).then(
        (msg) => {
          this.release();
          this.countIn(msg.data.length);
          return decodeReply(envelope, msg.data);
        },
        (err: unknown) => {
          this.release();
          throw this.requestError(err, envelope, timeout);
        },
      );
    } catch (err) {
      return Promise.reject(toNeuroGraphError(err));
    }
  }

  // ---- Transport: inbound -------------------------------------------------------------------

  private onMessage(address: string, msg: Msg): void {
    this.countIn(msg.data.length);
    if (msg.data.length > this.maxBytes) {
      return this.reject(msg, ValidationError.of("actor message from NATS", [
        { field: "body", value: `${msg.data.length} bytes`, rule: "max_message_bytes", description: `the message is larger than this node accepts (${this.maxBytes} bytes); split the batch` },
      ]));
    }
    let kind: ActorEnvelopeKind;
    let envelope: Envelope;
    try {
      ({ kind, envelope } = decodeRequest(address, msg.data, msg.headers, msg.reply === "" ? undefined : msg.reply));
    } catch (err) {
      return this.reject(msg, toNeuroGraphError(err));
    }
    const endpoint = this.endpoint;
    if (endpoint === undefined || this.closing !== undefined || !this.subs.has(address) || !endpoint.hosts(address)) {
      return this.reject(msg, new UnavailableError(`actor ${address} is not (or no longer) on node ${this.nodeId}; it may be moving or stopping; retry`));
    }
    if (kind === TELL) {
      let error: NeuroGraphError | undefined;
      try {
        endpoint.deliverTell(envelope);
      } catch (err) {
        error = toNeuroGraphError(err);
      }
      if (msg.reply !== undefined && msg.reply !== "") this.respond(msg, encodeAck(envelope.typeName, error === undefined ? undefined : errorToWire(error)));
      else if (error !== undefined) this.noteRejected(msg, error);
      return;
    }
    this.inboundInFlight++;
    void endpoint.deliverAsk(envelope).then((reply) => {
      this.respondReply(msg, reply);
      this.inboundDone();
    });
  }

  private respondReply(msg: Msg, reply: ReplyEnvelope): void {
    const data = encodeReply(reply);
    if (data.length > this.maxBytes) {
      const tooBig = new ValidationError(
        `the reply to "${reply.typeName}" is ${data.length} bytes, more than NATS carries (${this.maxBytes}); ask for less at a time`,
        [{ field: "reply", value: `${data.length} bytes`, rule: "max_message_bytes", description: `replies are limited to ${this.maxBytes} bytes` }],
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
      const body = ActorEnvelope.decode(msg.data.length > this.maxBytes ? new Uint8Array(0) : msg.data);
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
      this.logger.warn({ subject: msg.subject, code: error.code, rejected_total: this.rejected }, `rejected an actor message from NATS: ${error.message}`);
    }
  }

  private respond(msg: Msg, data: Uint8Array): void {
    try {
      if (msg.respond(data)) this.countOut(data.length);
    } catch (err) {
      // The connection closed or the requester is gone: nothing left to answer.
      this.logger.warn({ err, subject: msg.subject }, "could not answer an actor message over NATS");
    }
  }

  // ---- bookkeeping --------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.closing !== undefined || this.connection.isClosed()) {
      throw new UnavailableError(`the NATS transport of node ${this.nodeId} is closed (node shutting down)`);
    }
  }

  private checkSize(envelope: Envelope, bytes: number): void {
    if (bytes <= this.maxBytes) return;
    throw ValidationError.of("actor message", [
      {
        field: "payload",
        value: `${bytes} bytes`,
        rule: "max_message_bytes",
        description: `message "${envelope.typeName}" to ${envelope.to} is ${bytes} bytes, more than NATS carries (${this.maxBytes}); split it into smaller batches`,
      },
    ]);
  }

  private acquire(envelope: Envelope): void {
    if (this.inFlight >= this.maxInFlight) {
      throw new OverloadedError(`${this.inFlight} requests are in flight over NATS (limit ${this.maxInFlight}); "${envelope.typeName}" to ${envelope.to} was not sent; retry later`);
    }
    this.inFlight++;
  }

  private release(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.inboundInFlight === 0) this.idleWaiter?.();
  }

  private inboundDone(): void {
    this.inboundInFlight--;
    if (this.inFlight === 0 && this.inboundInFlight === 0) this.idleWaiter?.();
  }

  private timeoutFor(envelope: Envelope): number {
    if (!Number.isFinite(envelope.deadline)) return this.defaultTimeoutMs;
    return Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(envelope.deadline - Date.now())));
  }

  private publishOut(subject: string, data: Uint8Array, headers: ReturnType<typeof requestHeaders>): void {
    this.connection.publish(subject, data, headers === undefined ? undefined : { headers });
    this.countOut(data.length);
  }

  private countOut(bytes: number): void {
    this.sent++;
    this.metrics?.natsMessages("actor", "out", 1, bytes);
  }

  private countIn(bytes: number): void {
    this.received++;
    this.metrics?.natsMessages("actor", "in", 1, bytes);
  }

  private requestError(err: unknown, envelope: Envelope, timeoutMs: number): NeuroGraphError {
    const what = `"${envelope.typeName}" to ${envelope.to}`;
    if (err instanceof natsErrors.TimeoutError) {
      return new DeadlineExceededError(`${what} over NATS got no reply within ${timeoutMs} ms; the actor may be overloaded or stuck, or its node unreachable`);
    }
    const noResponders = err instanceof natsErrors.NoRespondersError || (err instanceof natsErrors.RequestError && err.isNoResponders());
    if (noResponders) {
      return new UnavailableError(`no node of cluster ${this.subjects.cluster} serves actor ${envelope.to} (NATS: no responders); it may be starting, moving or down; retry`);
    }
    if (err instanceof natsErrors.ClosedConnectionError || err instanceof natsErrors.DrainingConnectionError) {
      return new UnavailableError(`the NATS connection of node ${this.nodeId} is closing; ${what} was not answered`);
    }
    if (err instanceof natsErrors.InvalidArgumentError && /max_payload/.test(err.message)) {
      return ValidationError.of("actor message", [
        { field: "payload", rule: "max_message_bytes", description: `${what} is larger than the NATS server's max_payload; split it into smaller batches` },
      ]);
    }
    if (err instanceof InternalError || err instanceof ValidationError) return err;
    const detail = err instanceof Error ? err.message : String(err);
    return new UnavailableError(`${what} failed over NATS (${detail}); retry`, { cause: err });
  }

  private onStatusEvent(event: NatsStatusEvent): void {
    if (event.type === "disconnect" || event.type === "reconnecting") this.state = "disconnected";
    else if (event.type === "reconnect") this.state = "connected";
    else if (event.type === "close") this.state = "closed";
    logStatus(this.logger, event, { node_id: this.nodeId });
    for (const listener of this.statusListeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.warn({ err }, "a NATS status listener threw");
      }
    }
  }

  // ---- shutdown -----------------------------------------------------------------------------

  close(): Promise<void> {
    this.closing ??= this.runClose();
    return this.closing;
  }

  private async runClose(): Promise<void> {
    for (const address of [...this.subs.keys()]) this.withdraw(address);
    if (this.inFlight > 0 || this.inboundInFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.drainTimeoutMs);
        this.idleWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.idleWaiter = undefined;
    }
    if (!this.owned || this.connection.isClosed()) return;
    try {
      await this.connection.drain();
    } catch {
      await this.connection.close();
    }
  }
}
