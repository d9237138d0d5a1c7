/**
 * The NATS scenarios of a load run: producer ingest into the node's NATS ingest (DESIGN §6).
 *
 * - `nats`: a request to `ng.<cluster>.ingest.tokens` carrying a protobuf `IngestBatch`, with a
 *   `deadline` header. The node answers a request (and only a request: a fire-and-forget publish
 *   gets no answer) with an `IngestAck` once every accepted token is durable, so the latency of
 *   one operation is publish → node applied and committed → ack back: end to end, the figure a
 *   producer waits for. A failed batch comes back as the ack's typed error (RESOURCE_EXHAUSTED,
 *   INVALID_ARGUMENT, …) and is counted under that code.
 * - `jetstream`: a JetStream publish to `ng.<cluster>.ingest.js.tokens` with a unique
 *   `Nats-Msg-Id` (the stream drops re-sent ids within its duplicate window) awaiting the PubAck:
 *   the batch is stored (replicated) in the stream, which is the durability point of this path.
 *   The node acknowledges to JetStream, not to the producer, once it applied a message; the
 *   coordinator measures that side over the whole run from the durable consumer's backlog
 *   (`watchIngestConsumer`): peak backlog and how long after the last PubAck the node had
 *   applied everything.
 *
 * Retries are off (no hidden re-send), like the gRPC operations.
 */
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { errors as natsErrors, headers as natsHeaders, nuid, type NatsConnection } from "@nats-io/transport-node";
import { DeadlineExceededError, FailedPreconditionError, NeuroGraphError, UnavailableError, ValidationError } from "../core/errors.ts";
import { decodeIngestAck, encodeIngestBatch } from "../actors/ingest/ingest-wire.ts";
import { INGEST_CONSUMER, ingestStreamName } from "../actors/ingest/jetstream-ingest.ts";
import { connectNats } from "../runtime/nats/index.ts";
import { tokenRecords, type Random } from "./data.ts";
import type { LoadPlan, NatsOp, NatsTarget } from "./plan.ts";

/** Subjects and names of the NATS ingest of a cluster. */
export function natsIngestNames(cluster: string): { core: string; jetstream: string; stream: string; consumer: string } {
  return { core: `ng.${cluster}.ingest.tokens`, jetstream: `ng.${cluster}.ingest.js.tokens`, stream: ingestStreamName(cluster), consumer: INGEST_CONSUMER };
}

/** A connection to the plan's NATS servers (no reconnect: a lost server is a failed run, not a stall). */
export function loadNatsConnection(target: NatsTarget, name: string, timeoutMs: number): Promise<NatsConnection> {
  return connectNats({
    servers: target.servers,
    name,
    ...(target.user === undefined ? {} : { user: target.user }),
    ...(target.password === undefined ? {} : { password: target.password }),
    ...(target.token === undefined ? {} : { token: target.token }),
    ...(target.credsFile === undefined ? {} : { credsFile: target.credsFile }),
    connectTimeoutMs: Math.max(timeoutMs, 5000),
    reconnect: false,
  });
}

/** Largest IngestBatch a server takes: records plus a little protobuf framing. */
export function checkBatchFits(nc: NatsConnection, batch: number): void {
  const max = nc.info?.max_payload ?? 1024 * 1024;
  const bytes = batch * 64 + 256;
  if (bytes > max) {
    throw ValidationError.of("load options", [
      { field: "--batch", value: String(batch), rule: "max_payload", description: `a batch of ${batch} tokens is ${bytes} bytes, over the NATS server's max_payload of ${max}; use --batch ${Math.floor((max - 256) / 64)} or less (or raise max_payload)` },
    ]);
  }
}

/** A NATS client failure as a typed error naming what to check. */
function natsFailure(err: unknown, subject: string, timeoutMs: number): NeuroGraphError {
  if (err instanceof NeuroGraphError) return err;
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
  if (err instanceof natsErrors.TimeoutError || cause instanceof natsErrors.TimeoutError) {
    return new DeadlineExceededError(`no answer on ${subject} within ${timeoutMs} ms (--timeout)`, { cause: err });
  }
  const noResponders = (err instanceof natsErrors.RequestError && err.isNoResponders()) || err instanceof natsErrors.NoRespondersError || cause instanceof natsErrors.NoRespondersError;
  if (noResponders) {
    return new UnavailableError(`nothing answers on ${subject}: start the nodes with --nats (and the same --cluster) so they take NATS ingest`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new UnavailableError(`NATS ${subject}: ${message}`, { cause: err });
}

/** One operation of a NATS scenario over the given connections (round-robin). */
export function makeNatsOperation(op: NatsOp, plan: LoadPlan, connections: readonly NatsConnection[], rng: Random, producer: string): () => Promise<number> {
  const names = natsIngestNames(plan.nats?.cluster ?? "neurograph");
  let turn = 0;
  const next = (): NatsConnection => connections[turn++ % connections.length]!;
  const timeout = plan.timeoutMs;
  if (op === "nats") {
    return async () => {
      const body = encodeIngestBatch(tokenRecords(plan.batch, 0, rng), { producer });
      const h = natsHeaders();
      h.set("deadline", String(Date.now() + timeout));
      let data: Uint8Array;
      try {
        data = (await next().request(names.core, body, { timeout, headers: h })).data;
      } catch (err) {
        throw natsFailure(err, names.core, timeout);
      }
      const ack = decodeIngestAck(data);
      if (ack.error !== undefined) throw ack.error;
      return ack.accepted;
    };
  }
  const clients = connections.map((nc) => jetstream(nc, { timeout }));
  const prefix = `${producer}-${nuid.next()}`;
  let seq = 0;
  return async () => {
    const records = tokenRecords(plan.batch, 0, rng);
    const body = encodeIngestBatch(records, { producer });
    const js = clients[turn++ % clients.length]!;
    try {
      const ack = await js.publish(names.jetstream, body, { msgID: `${prefix}-${seq++}`, timeout, retries: 0 });
      // A duplicate was stored once already: it carries no new tokens.
      return ack.duplicate ? 0 : plan.batch;
    } catch (err) {
      throw natsFailure(err, names.jetstream, timeout);
    }
  };
}

/** What the node did with a JetStream run's messages: its durable consumer's backlog. */
export interface IngestConsumerReport {
  readonly stream: string;
  readonly consumer: string;
  /** Largest backlog seen during the run (messages stored but not yet acknowledged by a node). */
  readonly maxBacklog: number;
  /** After the last worker finished: ms until the backlog was 0 (null: not within the wait). */
  readonly drainedAfterMs: number | null;
  readonly backlogAtEnd: number;
  /** Messages the consumer has acknowledged (its ack floor moved) over the run. */
  readonly acknowledged: number;
}

export interface IngestConsumerWatch {
  /** Waits up to `waitMs` for the backlog to reach 0 and reports. */
  finish(waitMs: number): Promise<IngestConsumerReport>;
  close(): Promise<void>;
}

/**
 * Checks that the stream and consumer exist (a node with JetStream ingest made them) and samples
 * the consumer's backlog every `everyMs` until `finish`.
 */
export async function watchIngestConsumer(target: NatsTarget, timeoutMs: number, everyMs = 500): Promise<IngestConsumerWatch> {
  const names = natsIngestNames(target.cluster);
  const nc = await loadNatsConnection(target, "neurograph-load-monitor", timeoutMs);
  let jsm: JetStreamManager;
  let floor0: number;
  try {
    jsm = await jetstreamManager(nc, { timeout: Math.max(timeoutMs, 5000) });
    floor0 = (await jsm.consumers.info(names.stream, names.consumer)).ack_floor.stream_seq;
  } catch (err) {
    await nc.close();
    const message = err instanceof Error ? err.message : String(err);
    throw new FailedPreconditionError(
      `the JetStream ingest consumer ${names.consumer} of stream ${names.stream} is not there (${message}): start the nodes with --nats ${target.servers.join(",")} --cluster ${target.cluster} and JetStream ingest on (the default; not --ingest-jetstream false), on NATS servers with JetStream enabled`,
    );
  }
  const backlog = async (): Promise<{ backlog: number; floor: number }> => {
    const info = await jsm.consumers.info(names.stream, names.consumer);
    return { backlog: info.num_pending + info.num_ack_pending, floor: info.ack_floor.stream_seq };
  };
  let maxBacklog = 0;
  let sampling = false;
  const timer = setInterval(() => {
    if (sampling) return;
    sampling = true;
    backlog().then(
      (b) => {
        if (b.backlog > maxBacklog) maxBacklog = b.backlog;
        sampling = false;
      },
      () => (sampling = false),
    );
  }, everyMs);
  const close = async (): Promise<void> => {
    clearInterval(timer);
    if (!nc.isClosed()) await nc.close();
  };
  return {
    close,
    async finish(waitMs) {
      clearInterval(timer);
      const t0 = performance.now();
      let last = await backlog();
      maxBacklog = Math.max(maxBacklog, last.backlog);
      while (last.backlog > 0 && performance.now() - t0 < waitMs) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        last = await backlog();
      }
      const drained = last.backlog === 0 ? performance.now() - t0 : null;
      await close();
      return { stream: names.stream, consumer: names.consumer, maxBacklog, drainedAfterMs: drained === null ? null : Math.round(drained), backlogAtEnd: last.backlog, acknowledged: Math.max(0, last.floor - floor0) };
    },
  };
}
