/**
 * Core NATS producer ingest (DESIGN §6): batches published to `ng.<cluster>.ingest.tokens` and
 * `.connections` (protobuf `IngestBatch`). Every node subscribes to `ng.<cluster>.ingest.*` in
 * the queue group `ng.<cluster>.ingest`, so each batch is processed by one node.
 *
 * - A request (with a reply subject) gets an `IngestAck` once every accepted item is durable (the
 *   coordinator resolves only after commit-wait), or `error` when nothing was applied.
 * - A fire-and-forget publish is applied, counted and, when rejected, logged (rate-limited) and
 *   published as an `ingest-rejected` event.
 * - Concurrency is bounded: `maxConcurrent` batches are applied at once and `maxQueued` wait;
 *   beyond that a request is answered RESOURCE_EXHAUSTED (retryable) and a fire-and-forget batch
 *   is dropped, counted, logged and reported (`ingest-dropped`). Nothing is dropped silently.
 * - Bad input (undecodable payload, wrong size, oversized, an unknown subject under the ingest
 *   prefix) is answered with INVALID_ARGUMENT and changes nothing.
 *
 * Subjects under `ng.<cluster>.ingest.js.>` belong to the JetStream stream (`jetstream-ingest.ts`)
 * and are not subscribed here: a core subscriber there would answer JetStream publishes.
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { OverloadedError, ValidationError, toNeuroGraphError, type NeuroGraphError } from "../../core/errors.ts";
import type { ClusterEventSink } from "../../runtime/cluster/events.ts";
import { readHeaders, type ClusterSubjects } from "../../runtime/nats/index.ts";
import type { Logger } from "../../telemetry/index.ts";
import { RejectionReporter, applyBatch, noopCounters, type IngestCounters, type IngestSink } from "./ingest-apply.ts";
import { DEFAULT_INGEST_LIMITS, decodeIngestBatch, encodeIngestAck, encodeIngestError, type DecodedBatch, type IngestKind, type IngestLimits } from "./ingest-wire.ts";

export interface NatsIngestOptions {
  readonly connection: NatsConnection;
  readonly subjects: ClusterSubjects;
  readonly sink: IngestSink;
  readonly events: ClusterEventSink;
  readonly nodeId: string;
  /** Batches applied at once (default 8). */
  readonly maxConcurrent?: number;
  /** Batches waiting for a slot (default 256). */
  readonly maxQueued?: number;
  /** Deadline of a batch without a `deadline` header (default 30 s). */
  readonly timeoutMs?: number;
  readonly limits?: IngestLimits;
  readonly counters?: IngestCounters;
  readonly logger?: Logger;
  /** Bytes in (metrics). */
  readonly onMessage?: (kind: IngestKind | "unknown", bytes: number) => void;
}

export interface NatsIngestStats {
  readonly received: number;
  readonly inFlight: number;
  readonly queued: number;
  readonly dropped: number;
}

const KINDS: ReadonlySet<string> = new Set(["tokens", "connections"]);

export class NatsIngest {
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  private readonly timeoutMs: number;
  private readonly limits: IngestLimits;
  private readonly counters: IngestCounters;
  private readonly reporter: RejectionReporter;
  private readonly prefix: string;
  private sub: Subscription | undefined;
  private readonly queue: Msg[] = [];
  private inFlight = 0;
  private received = 0;
  private dropped = 0;
  private idle: (() => void) | undefined;
  private stopping = false;

  constructor(private readonly options: NatsIngestOptions) {
    this.maxConcurrent = options.maxConcurrent ?? 8;
    this.maxQueued = options.maxQueued ?? 256;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.limits = options.limits ?? DEFAULT_INGEST_LIMITS;
    this.counters = options.counters ?? noopCounters;
    this.reporter = new RejectionReporter(options.logger, options.events);
    this.prefix = `${options.subjects.root}.ingest.`;
  }

  /** Subscribes; resolves once the server has the subscription. */
  async start(): Promise<void> {
    const { connection, subjects } = this.options;
    this.sub = connection.subscribe(`${this.prefix}*`, {
      queue: `${subjects.root}.ingest`,
      callback: (err, msg) => {
        if (err === null) this.onMessage(msg);
      },
    });
    await connection.flush();
  }

  stats(): NatsIngestStats {
    return { received: this.received, inFlight: this.inFlight, queued: this.queue.length, dropped: this.dropped };
  }

  /** Stops taking batches and waits (up to `timeoutMs`) for the ones in flight and queued. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    try {
      this.sub?.unsubscribe();
    } catch {
      // closed connection: nothing more arrives anyway
    }
    if (this.inFlight === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private onMessage(msg: Msg): void {
    this.received++;
    const kind = msg.subject.slice(this.prefix.length);
    this.options.onMessage?.(KINDS.has(kind) ? (kind as IngestKind) : "unknown", msg.data.length);
    if (!KINDS.has(kind)) {
      const hint = kind === "js" ? `; durable producers publish to ${this.prefix}js.tokens or ${this.prefix}js.connections through JetStream` : "";
      this.fail(msg, "unknown", ValidationError.of("ingest subject", [
        { field: "subject", value: msg.subject.slice(0, 128), rule: "ingest_subject", description: `unknown ingest subject; publish to ${this.prefix}tokens or ${this.prefix}connections${hint}` },
      ]));
      return;
    }
    if (this.inFlight < this.maxConcurrent) {
      this.run(msg, kind as IngestKind);
      return;
    }
    if (this.queue.length < this.maxQueued) {
      this.queue.push(msg);
      return;
    }
    this.dropped++;
    const error = new OverloadedError(`node ${this.options.nodeId} has ${this.inFlight} ingest batches in flight and ${this.queue.length} queued; retry with back-off`);
    if (!hasReply(msg)) this.options.events.publish("ingest-dropped", { subject: msg.subject, dropped_total: this.dropped });
    this.fail(msg, kind as IngestKind, error, "dropped");
  }

  private run(msg: Msg, kind: IngestKind): void {
    this.inFlight++;
    void this.process(msg, kind).finally(() => {
      this.inFlight--;
      this.next();
    });
  }

  private next(): void {
    while (this.inFlight < this.maxConcurrent && this.queue.length > 0) {
      const msg = this.queue.shift()!;
      this.run(msg, msg.subject.slice(this.prefix.length) as IngestKind);
    }
    if (this.inFlight === 0 && this.queue.length === 0) this.idle?.();
  }

  private async process(msg: Msg, kind: IngestKind): Promise<void> {
    let batch: DecodedBatch;
    let deadline: number;
    try {
      batch = decodeIngestBatch(kind, msg.data, this.limits);
      const d = readHeaders(msg.headers).deadline;
      deadline = Number.isFinite(d) ? d : Date.now() + this.timeoutMs;
    } catch (err) {
      this.fail(msg, kind, toNeuroGraphError(err));
      return;
    }
    try {
      const outcome = await applyBatch(this.options.sink, batch, deadline);
      this.counters.batch("nats", kind, "ok", outcome.accepted, outcome.rejected.length);
      if (outcome.rejected.length > 0) this.reporter.itemsRejected({ source: "nats", subject: msg.subject, producer: batch.producer }, outcome);
      if (hasReply(msg)) respond(msg, encodeIngestAck(outcome, this.limits));
    } catch (err) {
      this.fail(msg, kind, toNeuroGraphError(err), "failed", batch.producer, batch.count);
    }
  }

  private fail(msg: Msg, kind: IngestKind | "unknown", error: NeuroGraphError, outcome: "failed" | "dropped" = "failed", producer = "", items = 0): void {
    this.counters.batch("nats", kind, outcome, 0, items);
    this.reporter.batchFailed(outcome === "dropped" ? "ingest batch dropped" : "ingest batch rejected", { source: "nats", subject: msg.subject.slice(0, 128), producer, items }, error);
    if (hasReply(msg)) respond(msg, encodeIngestError(error));
  }
}

function hasReply(msg: Msg): boolean {
  return msg.reply !== undefined && msg.reply !== "";
}

function respond(msg: Msg, data: Uint8Array): void {
  try {
    msg.respond(data);
  } catch {
    // the connection closed: the producer's request times out and it retries
  }
}
