/**
 * Cluster events on `ng.<cluster>.events.<type>` (DESIGN §6): one JSON object per message
 * (`{"type","node","time",…fields}`, header `Content-Type: application/json`), so operators can
 * watch them with `nats sub 'ng.<cluster>.events.>'`. Publishing never blocks or throws: events
 * are best effort, and each type is rate-limited (a burst of rejections turns into one event per
 * interval that counts the ones it stands for, `suppressed`).
 *
 * Types published by the node: `ingest-rejected`, `ingest-dropped`, `shard-state`,
 * `shard-owner`, `node-joined`, `node-left`, `shard-fenced`.
 */
import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import type { ClusterSubjects } from "../nats/subjects.ts";

export interface ClusterEventSink {
  /** Publishes an event of `type` (a-z, 0-9, '-', '_'); extra fields are merged in. */
  publish(type: string, fields: Readonly<Record<string, unknown>>): void;
}

export const noopEvents: ClusterEventSink = { publish: () => undefined };

export interface EventPublisherOptions {
  readonly connection: NatsConnection;
  readonly subjects: ClusterSubjects;
  readonly nodeId: string;
  /** Events of one type per interval (default 20 per second); the rest are counted. */
  readonly maxPerInterval?: number;
  readonly intervalMs?: number;
  /** Count of published events (metrics). */
  readonly onPublished?: (bytes: number) => void;
}

interface Window {
  start: number;
  sent: number;
  suppressed: number;
}

export class EventPublisher implements ClusterEventSink {
  private readonly windows = new Map<string, Window>();
  private readonly maxPerInterval: number;
  private readonly intervalMs: number;
  private readonly encoder = new TextEncoder();
  /** Events published and suppressed so far (for tests and stats). */
  published = 0;
  suppressed = 0;

  constructor(private readonly options: EventPublisherOptions) {
    this.maxPerInterval = options.maxPerInterval ?? 20;
    this.intervalMs = options.intervalMs ?? 1000;
  }

  publish(type: string, fields: Readonly<Record<string, unknown>>): void {
    const now = Date.now();
    let w = this.windows.get(type);
    if (w === undefined || now - w.start >= this.intervalMs) {
      const carried = w?.suppressed ?? 0;
      w = { start: now, sent: 0, suppressed: 0 };
      this.windows.set(type, w);
      if (carried > 0) fields = { ...fields, suppressed: carried };
    }
    if (w.sent >= this.maxPerInterval) {
      w.suppressed++;
      this.suppressed++;
      return;
    }
    w.sent++;
    const { connection, subjects, nodeId } = this.options;
    if (connection.isClosed() || connection.isDraining()) return;
    try {
      const body = this.encoder.encode(JSON.stringify({ ...fields, type, node: nodeId, time: new Date(now).toISOString() }));
      const h = natsHeaders();
      h.set("Content-Type", "application/json");
      connection.publish(subjects.events(type), body, { headers: h });
      this.published++;
      this.options.onPublished?.(body.length);
    } catch {
      // Best effort: a closing connection or a bad type name must not fail the caller.
    }
  }
}
