/**
 * The node's NATS side for producers (DESIGN §6), a component of `startNode` when `--nats` is
 * set: one NATS connection, the cluster event publisher (`ng.<cluster>.events.<type>`), core NATS
 * ingest (`ng.<cluster>.ingest.tokens|connections`) and, unless `--ingest-jetstream false`, the
 * durable JetStream ingest consumer. It starts after the shards and stops before them: ingest
 * stops taking batches, finishes (and acknowledges) the ones in flight, then the connection drains.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { EventPublisher, type ClusterEventSink } from "../runtime/cluster/events.ts";
import { defaultReplicas } from "../runtime/cluster/jetstream-setup.ts";
import { ClusterSubjects, connectNats, logStatus, watchStatus, type NatsSettings } from "../runtime/nats/index.ts";
import type { Component, StopContext } from "../runtime/index.ts";
import type { Logger, MetricsRegistry } from "../telemetry/index.ts";
import { JetStreamIngest } from "../actors/ingest/jetstream-ingest.ts";
import { NatsIngest, type NatsIngestStats } from "../actors/ingest/nats-ingest.ts";
import type { IngestCounters, IngestSink } from "../actors/ingest/ingest-apply.ts";

export interface NatsIngestSettings {
  readonly nats: NatsSettings;
  /** Run the durable JetStream consumer (needs JetStream on the servers). */
  readonly jetstream: boolean;
  /** Stream replicas; default min(3, servers known to the client). */
  readonly replicas?: number;
  readonly maxAckPending: number;
  readonly duplicateWindowMs: number;
  /** Batches applied at once per path on this node. */
  readonly concurrency: number;
}

export interface NatsIngestHandle extends Component {
  readonly events: ClusterEventSink;
  /** The connection (after start). */
  connection(): NatsConnection | undefined;
  stats(): { core: NatsIngestStats | undefined; jetstream: { acked: number; terminated: number; naked: number } | undefined };
}

export function natsIngestComponent(settings: NatsIngestSettings, sink: IngestSink, logger: Logger, metrics: MetricsRegistry): NatsIngestHandle {
  const subjects = new ClusterSubjects(settings.nats.cluster);
  const nodeId = settings.nats.nodeId;
  let nc: NatsConnection | undefined;
  let events: EventPublisher | undefined;
  let core: NatsIngest | undefined;
  let durable: JetStreamIngest | undefined;
  const counters: IngestCounters = {
    batch: (source, kind, outcome, accepted, rejected) => {
      if (outcome === "ok" || outcome === "failed" || outcome === "poison") logger.debug({ source, kind, outcome, accepted, rejected }, "ingest batch");
    },
  };
  const sinkEvents: ClusterEventSink = { publish: (type, fields) => events?.publish(type, fields) };
  const stopIngest = async (ctx: StopContext): Promise<void> => {
    const wait = ctx.force ? 0 : Math.max(0, ctx.deadline - Date.now());
    await Promise.all([core?.stop(wait), durable?.stop(wait)]);
  };
  return {
    name: "nats-ingest",
    events: sinkEvents,
    connection: () => nc,
    stats: () => ({
      core: core?.stats(),
      jetstream: durable === undefined ? undefined : { acked: durable.acked, terminated: durable.terminated, naked: durable.naked },
    }),
    async start() {
      nc = await connectNats(settings.nats.connection);
      const conn = nc;
      void watchStatus(conn, (e) => logStatus(logger, e, { nodeId }));
      events = new EventPublisher({ connection: conn, subjects, nodeId, onPublished: (bytes) => metrics.natsMessages("events", "out", 1, bytes) });
      core = new NatsIngest({
        connection: conn,
        subjects,
        sink,
        events: sinkEvents,
        nodeId,
        maxConcurrent: settings.concurrency,
        counters,
        logger,
        onMessage: (kind, bytes) => metrics.natsMessages(kind === "connections" ? "ingest_connections" : kind === "tokens" ? "ingest_tokens" : "other", "in", 1, bytes),
      });
      await core.start();
      if (settings.jetstream) {
        const replicas = settings.replicas ?? (await defaultReplicas(conn, await jetstreamManager(conn)));
        durable = new JetStreamIngest({
          connection: conn,
          subjects,
          sink,
          events: sinkEvents,
          nodeId,
          replicas,
          maxAckPending: settings.maxAckPending,
          duplicateWindowMs: settings.duplicateWindowMs,
          concurrency: settings.concurrency,
          counters,
          logger,
        });
        await durable.start();
      }
      logger.info({ nodeId, cluster: subjects.cluster, jetstream: settings.jetstream }, `NATS ingest on ${subjects.root}.ingest.*`);
    },
    async drain(ctx) {
      await stopIngest(ctx);
    },
    async stop(ctx) {
      await stopIngest({ ...ctx, force: true });
      if (nc !== undefined && !nc.isClosed()) {
        try {
          if (ctx.force) await nc.close();
          else await nc.drain();
        } catch {
          await nc.close().catch(() => undefined);
        }
      }
    },
  };
}
