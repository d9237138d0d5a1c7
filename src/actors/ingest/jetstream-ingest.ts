/**
 * Durable producer ingest over JetStream (DESIGN §6). Producers publish `IngestBatch` messages to
 * `ng.<cluster>.ingest.js.tokens` / `.js.connections` with a `Nats-Msg-Id`; the stream
 * `NG_<cluster>_INGEST` (work queue, file storage, replicas = min(3, servers), duplicate window
 * configurable) drops re-sent ids. Every node pulls from one durable consumer (`ingest`), so each
 * message is applied by one node, and acknowledges it only once the write is durable.
 *
 * - `max_ack_pending` bounds the messages in flight over the whole cluster (back-pressure: the
 *   stream keeps the rest); each node applies at most `concurrency` at once.
 * - Poison (undecodable, invalid, an unknown subject, a strict batch the shards reject) is
 *   terminated (`term`) at once, counted and reported as an `ingest-rejected` event: it is never
 *   redelivered.
 * - Retryable failures (overload, a shard moving, a deadline) are `nak`ed with a growing delay.
 * - A redelivered message whose strict batch fails with ALREADY_EXISTS was applied by the earlier
 *   delivery (whose node died before the ack): it is acknowledged as a duplicate.
 */
import { AckPolicy, DiscardPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { ErrorCode, ValidationError, toNeuroGraphError, type NeuroGraphError } from "../../core/errors.ts";
import type { ClusterEventSink } from "../../runtime/cluster/events.ts";
import { ensureConsumer, ensureStream } from "../../runtime/cluster/jetstream-setup.ts";
import type { ClusterSubjects } from "../../runtime/nats/index.ts";
import type { Logger } from "../../telemetry/index.ts";
import { RejectionReporter, applyBatch, noopCounters, type IngestCounters, type IngestSink } from "./ingest-apply.ts";
import { DEFAULT_INGEST_LIMITS, decodeIngestBatch, type IngestKind, type IngestLimits } from "./ingest-wire.ts";

export interface JetStreamIngestOptions {
  readonly connection: NatsConnection;
  readonly subjects: ClusterSubjects;
  readonly sink: IngestSink;
  readonly events: ClusterEventSink;
  readonly nodeId: string;
  /** Stream replicas (min(3, servers) in a cluster). */
  readonly replicas: number;
  /** `Nats-Msg-Id` de-duplication window (default 2 min). */
  readonly duplicateWindowMs?: number;
  /** Unacknowledged messages over the whole cluster (default 64). */
  readonly maxAckPending?: number;
  /** Messages this node applies at once (default 8). */
  readonly concurrency?: number;
  /** Time to apply one message (default 30 s); the consumer's ack wait is twice this. */
  readonly timeoutMs?: number;
  /** Largest message the stream stores (default: the server's max payload). */
  readonly maxMessageBytes?: number;
  readonly limits?: IngestLimits;
  readonly counters?: IngestCounters;
  readonly logger?: Logger;
}

export const INGEST_CONSUMER = "ingest";

export function ingestStreamName(cluster: string): string {
  return `NG_${cluster}_INGEST`;
}

const RETRYABLE: ReadonlySet<ErrorCode> = new Set([ErrorCode.Overloaded, ErrorCode.Unavailable, ErrorCode.DeadlineExceeded, ErrorCode.Cancelled]);
const MS = 1_000_000;

export class JetStreamIngest {
  readonly stream: string;
  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private readonly limits: IngestLimits;
  private readonly counters: IngestCounters;
  private readonly reporter: RejectionReporter;
  private readonly prefix: string;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private inFlight = 0;
  private slotWaiter: (() => void) | undefined;
  private idleWaiter: (() => void) | undefined;
  private stopping = false;
  /** Messages acknowledged, terminated and nak'ed by this node. */
  acked = 0;
  terminated = 0;
  naked = 0;

  constructor(private readonly options: JetStreamIngestOptions) {
    this.stream = ingestStreamName(options.subjects.cluster);
    this.concurrency = options.concurrency ?? 8;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.limits = options.limits ?? DEFAULT_INGEST_LIMITS;
    this.counters = options.counters ?? noopCounters;
    this.reporter = new RejectionReporter(options.logger, options.events);
    this.prefix = `${options.subjects.root}.ingest.js.`;
  }

  /** Creates or updates the stream and the durable consumer, then starts pulling. */
  async start(): Promise<void> {
    const o = this.options;
    const jsm = await jetstreamManager(o.connection);
    const maxMsg = o.maxMessageBytes ?? o.connection.info?.max_payload ?? 1024 * 1024;
    await ensureStream(jsm, {
      name: this.stream,
      subjects: [`${this.prefix}>`],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      num_replicas: o.replicas,
      duplicate_window: (o.duplicateWindowMs ?? 120_000) * MS,
      max_msg_size: maxMsg,
    });
    await ensureConsumer(jsm, this.stream, {
      durable_name: INGEST_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      ack_wait: 2 * this.timeoutMs * MS,
      max_ack_pending: o.maxAckPending ?? 64,
      max_deliver: -1,
    });
    const consumer = await jetstream(o.connection).consumers.get(this.stream, INGEST_CONSUMER);
    this.messages = await consumer.consume({ max_messages: Math.max(1, this.concurrency) });
    this.loop = this.pull(this.messages);
  }

  /** Stops pulling and waits (up to `timeoutMs`) for the messages being applied to be acknowledged. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    try {
      await this.messages?.close();
    } catch {
      // the connection is gone: unacknowledged messages are redelivered elsewhere
    }
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.idleWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await this.loop?.catch(() => undefined);
  }

  private async pull(messages: ConsumerMessages): Promise<void> {
    for await (const m of messages) {
      if (this.stopping) {
        m.nak(); // not ours to apply any more: another node takes it
        continue;
      }
      while (this.inFlight >= this.concurrency) await new Promise<void>((r) => (this.slotWaiter = r));
      this.inFlight++;
      void this.process(m).finally(() => {
        this.inFlight--;
        const w = this.slotWaiter;
        this.slotWaiter = undefined;
        w?.();
        if (this.inFlight === 0) this.idleWaiter?.();
      });
    }
  }

  private async process(m: JsMsg): Promise<void> {
    const kind = m.subject.slice(this.prefix.length);
    const where = { source: "jetstream", subject: m.subject.slice(0, 128), stream_seq: m.seq, msg_id: m.headers?.get("Nats-Msg-Id") ?? "" };
    if (kind !== "tokens" && kind !== "connections") {
      return this.poison(m, "unknown", where, "", 0, ValidationError.of("ingest subject", [
        { field: "subject", value: m.subject.slice(0, 128), rule: "ingest_subject", description: `unknown ingest subject; publish to ${this.prefix}tokens or ${this.prefix}connections` },
      ]));
    }
    let batch;
    try {
      batch = decodeIngestBatch(kind, m.data, this.limits);
    } catch (err) {
      return this.poison(m, kind, where, "", 0, toNeuroGraphError(err));
    }
    try {
      const outcome = await applyBatch(this.options.sink, batch, Date.now() + this.timeoutMs);
      this.counters.batch("jetstream", kind, "ok", outcome.accepted, outcome.rejected.length);
      if (outcome.rejected.length > 0) this.reporter.itemsRejected({ ...where, producer: batch.producer }, outcome);
      this.ack(m);
    } catch (err) {
      const error = toNeuroGraphError(err);
      if (m.info.redelivered && error.code === ErrorCode.AlreadyExists) {
        // An earlier delivery applied it and its node died before acknowledging.
        this.counters.batch("jetstream", kind, "ok", batch.count, 0);
        this.ack(m);
      } else if (RETRYABLE.has(error.code) && error.retryable !== false) {
        this.counters.batch("jetstream", kind, "retry", 0, 0);
        this.naked++;
        m.nak(Math.min(10_000, 250 * 2 ** Math.min(6, m.info.deliveryCount - 1)));
      } else {
        this.poison(m, kind, where, batch.producer, batch.count, error);
      }
    }
  }

  private ack(m: JsMsg): void {
    this.acked++;
    m.ack();
  }

  private poison(m: JsMsg, kind: IngestKind | "unknown", where: Readonly<Record<string, unknown>>, producer: string, items: number, error: NeuroGraphError): void {
    this.terminated++;
    this.counters.batch("jetstream", kind, "poison", 0, items);
    this.reporter.batchFailed("ingest message terminated", { ...where, producer, items }, error);
    m.term(); // no reason text: servers before 2.10 do not parse one
  }
}
