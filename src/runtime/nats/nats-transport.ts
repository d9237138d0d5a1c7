/**
 * The NATS transport of the actor system (DESIGN §4). Actors this node hosts are subscribed on
 * `ng.<cluster>.actor.<kind>.<key>`; messages to actors elsewhere are published there. Local
 * addresses never reach this class: `RoutedActorRef` delivers to a local cell directly and only
 * hands the transport what no local actor takes.
 *
 * - ASK = NATS request/reply: body `ActorEnvelope` (protobuf), headers = message headers (W3C
 *   trace context, …) + `deadline`. Replies come back on one wildcard inbox (`ReplyMux`), which
 *   expires requests at their deadline (`DeadlineExceededError`) and turns the server's "no
 *   responders" status into `UnavailableError` (retryable).
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
import type { Msg, MsgHdrs, NatsConnection, Subscription } from "@nats-io/transport-node";
import {
  DeadlineExceededError,
  OverloadedError,
  UnavailableError,
  ValidationError,
  toNeuroGraphError,
  type NeuroGraphError,
} from "../../core/errors.ts";
import { errorFromWire, type Envelope, type InboundEndpoint, type ReplyEnvelope, type Transport } from "../transport.ts";
import { connectNats, logStatus, silentNatsLogger, watchStatus, type NatsConnectionOptions, type NatsLogger, type NatsStatusEvent } from "./connection.ts";
import { ActorInbound } from "./inbound.ts";
import { ReplyMux } from "./reply-mux.ts";
import { publishError, requestFailure } from "./request-errors.ts";
import { ClusterSubjects, DEFAULT_CLUSTER, validateNodeId } from "./subjects.ts";
import { ActorEnvelopeKind, decodeAck, decodeReply, encodeRequest, headerBytes, requestHeaders } from "./wire.ts";

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
  private readonly mux: ReplyMux;
  private readonly inbound: ActorInbound;
  private readonly statusListeners = new Set<(event: NatsStatusEvent) => void>();
  private endpoint: InboundEndpoint | undefined;
  private state: NatsConnectionState = "connected";
  private closing: Promise<void> | undefined;
  private inFlight = 0;
  private idleWaiter: (() => void) | undefined;
  private sent = 0;
  private received = 0;
  private timeouts = 0;

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
    this.mux = new ReplyMux(connection);
    this.inbound = new ActorInbound({
      nodeId: this.nodeId,
      maxBytes: this.maxBytes,
      logger: this.logger,
      endpoint: () => this.endpoint,
      accepting: (address) => this.closing === undefined && this.subs.has(address),
      countIn: (bytes) => this.countIn(bytes),
      countOut: (bytes) => this.countOut(bytes),
      inboundIdle: () => {
        if (this.inFlight === 0) this.idleWaiter?.();
      },
    });
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
      inboundInFlight: this.inbound.inFlight,
      subscriptions: this.subs.size,
      sent: this.sent,
      received: this.received,
      rejected: this.inbound.rejected,
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
    let sub: Subscription;
    try {
      sub = this.connection.subscribe(subject, {
        queue: this.queue,
        callback: (err, msg) => {
          if (err !== null) {
            this.logger.warn({ err, subject }, `NATS subscription for actor ${address} failed`);
            return;
          }
          this.inbound.onMessage(address, msg);
        },
      });
    } catch (err) {
      // The connection is closed or draining: the actor still works locally, just not for other nodes.
      this.logger.warn({ err, subject }, `actor ${address} is not reachable over NATS: the connection is closing`);
      return;
    }
    this.subs.set(address, sub);
  }

  withdraw(address: string): void {
    const sub = this.subs.get(address);
    if (sub === undefined) return;
    this.subs.delete(address);
    // Drain, not unsubscribe: the server may already have sent messages for this subscription.
    // An unsubscribed one drops them silently and their requesters wait out their deadline; a
    // draining one still hands them to `inbound`, which answers UNAVAILABLE (the address is no
    // longer served here) so the sender retries at once, on the new owner.
    try {
      sub.drain().catch(() => undefined);
    } catch {
      // closed: the subscription ended with the connection
    }
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
      this.publishOut(envelope, subject, data, headers);
      return;
    }
    const deadline = this.deadlineOf(envelope);
    return this.call(envelope, subject, data, headers, deadline).then((msg) => {
      const error = decodeAck(envelope, msg.data);
      if (error !== undefined) throw errorFromWire(error);
    });
  }

  request(envelope: Envelope): Promise<ReplyEnvelope> {
    try {
      this.checkOpen();
      if (envelope.deadline <= Date.now()) {
        return Promise.reject(new DeadlineExceededError(`ask "${envelope.typeName}" to ${envelope.to} was not sent: its deadline has passed`));
      }
      const subject = this.subjects.actor(envelope.to);
      const data = encodeRequest(envelope, ASK);
      const headers = requestHeaders(envelope);
      this.checkSize(envelope, data.length + headerBytes(headers));
      return this.call(envelope, subject, data, headers, this.deadlineOf(envelope)).then((msg) => decodeReply(envelope, msg.data));
    } catch (err) {
      return Promise.reject(toNeuroGraphError(err));
    }
  }

  /** Sends a request through the reply mux, bounded by `maxInFlight`; throws what fails before sending. */
  private call(envelope: Envelope, subject: string, data: Uint8Array, headers: MsgHdrs | undefined, deadline: number): Promise<Msg> {
    this.acquire(envelope);
    let resolve!: (msg: Msg) => void;
    let reject!: (err: NeuroGraphError) => void;
    const promise = new Promise<Msg>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const started = Date.now();
    try {
      this.mux.request(subject, data, headers, deadline, {
        reply: (msg) => {
          this.release();
          this.countIn(msg.data.length);
          resolve(msg);
        },
        fail: (reason, detail) => {
          this.release();
          const error = requestFailure(reason, detail, envelope, deadline - started, this.subjects.cluster, this.nodeId);
          if (reason === "timeout") this.noteTimeout(subject, error);
          reject(error);
        },
      });
    } catch (err) {
      this.release();
      throw publishError(err, envelope, this.nodeId);
    }
    this.countOut(data.length);
    return promise;
  }

  /**
   * The actor at `address` moved to another node (cluster mode: its shard lease changed hands):
   * requests to it sent at or before `sentBefore` that are still unanswered fail now with
   * UNAVAILABLE instead of waiting out their deadline (a request NATS was delivering to the old
   * owner as it unsubscribed is lost without a reply). Returns how many failed.
   */
  failInFlight(address: string, sentBefore: number): number {
    const failed = this.mux.failSent(this.subjects.actor(address), sentBefore);
    if (failed > 0) this.logger.warn({ address, failed }, `failed ${failed} request(s) to ${address} whose owner changed before they were answered; their senders retry`);
    return failed;
  }

  // ---- Transport: inbound -------------------------------------------------------------------

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
    if (this.inFlight === 0 && this.inbound.inFlight === 0) this.idleWaiter?.();
  }

  /** The request's deadline, or the default timeout from now; capped so timers stay valid. */
  private deadlineOf(envelope: Envelope): number {
    const now = Date.now();
    const deadline = Number.isFinite(envelope.deadline) ? envelope.deadline : now + this.defaultTimeoutMs;
    return Math.min(deadline, now + MAX_TIMER_MS);
  }

  private publishOut(envelope: Envelope, subject: string, data: Uint8Array, headers: MsgHdrs | undefined): void {
    try {
      this.connection.publish(subject, data, headers === undefined ? undefined : { headers });
    } catch (err) {
      throw publishError(err, envelope, this.nodeId);
    }
    this.countOut(data.length);
  }

  /** A request nobody answered before its deadline: a lost message or a stuck actor (bounded log). */
  private noteTimeout(subject: string, error: NeuroGraphError): void {
    this.timeouts++;
    if (this.timeouts <= 10 || this.timeouts % 1000 === 0) this.logger.warn({ subject, timeouts_total: this.timeouts }, error.message);
  }

  private countOut(bytes: number): void {
    this.sent++;
    this.metrics?.natsMessages("actor", "out", 1, bytes);
  }

  private countIn(bytes: number): void {
    this.received++;
    this.metrics?.natsMessages("actor", "in", 1, bytes);
  }

  private onStatusEvent(event: NatsStatusEvent): void {
    if (event.type === "disconnect" || event.type === "reconnecting") this.state = "disconnected";
    else if (event.type === "reconnect") this.state = "connected";
    else if (event.type === "close") {
      this.state = "closed";
      this.mux.close();
    }
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
    if (this.inFlight > 0 || this.inbound.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.drainTimeoutMs);
        this.idleWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.idleWaiter = undefined;
    }
    this.mux.close();
    if (!this.owned || this.connection.isClosed()) return;
    try {
      await this.connection.drain();
    } catch {
      await this.connection.close();
    }
  }
}
