/**
 * What both ingest paths (core NATS and JetStream) share: applying a decoded batch through the
 * coordinator (which resolves only once the write is durable), the counters, and rejection
 * reporting that cannot flood the log (at most one line per interval and kind, with the number
 * of the ones it stands for) plus an `ingest-rejected` event.
 */
import { DeadlineExceededError } from "../../core/errors.ts";
import type { NeuroGraphError } from "../../core/errors.ts";
import type { ClusterEventSink } from "../../runtime/cluster/events.ts";
import type { Logger } from "../../telemetry/index.ts";
import type { CreateTokensResult, IngestOptions, WriteOptions, WriteResult } from "../router-types.ts";
import type { Scope } from "../router-writes.ts";
import type { DecodedBatch, IngestKind, IngestOutcome } from "./ingest-wire.ts";

/** The writes ingest needs (the node's `GraphRouter`). */
export interface IngestSink {
  ingestTokens(records: Uint8Array, options: IngestOptions, scope: Scope): Promise<CreateTokensResult>;
  connect(records: Uint8Array, options: WriteOptions, scope: Scope): Promise<WriteResult>;
}

export type IngestSource = "nats" | "jetstream";
/** ok: applied (possibly with rejected items); failed: nothing applied; dropped: not processed (overload); poison: terminated. */
export type BatchOutcome = "ok" | "failed" | "dropped" | "poison" | "retry";

export interface IngestCounters {
  batch(source: IngestSource, kind: IngestKind | "unknown", outcome: BatchOutcome, accepted: number, rejected: number): void;
}

export const noopCounters: IngestCounters = { batch: () => undefined };

/** Applies `batch`; resolves once every accepted item is durable. */
export async function applyBatch(sink: IngestSink, batch: DecodedBatch, deadline: number): Promise<IngestOutcome> {
  const now = Date.now();
  if (deadline <= now) throw new DeadlineExceededError("the ingest batch's deadline passed before it could be applied; nothing was applied");
  const signal = Number.isFinite(deadline) ? AbortSignal.timeout(Math.max(1, deadline - now)) : new AbortController().signal;
  const scope: Scope = { deadline, signal };
  if (batch.kind === "tokens") {
    const r = await sink.ingestTokens(batch.records, { partial: batch.partial, returnIds: batch.returnIds }, scope);
    return batch.returnIds ? { accepted: r.accepted, rejected: r.rejected, ids: r.ids } : { accepted: r.accepted, rejected: r.rejected };
  }
  const r = await sink.connect(batch.records, { partial: batch.partial }, scope);
  return { accepted: r.accepted, rejected: r.rejected };
}

/** Logs and publishes rejections, bounded per interval and kind of report. */
export class RejectionReporter {
  private readonly windows = new Map<string, { start: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger | undefined,
    private readonly events: ClusterEventSink,
    private readonly intervalMs = 1000,
  ) {}

  /** A whole batch failed (or was dropped, or terminated). */
  batchFailed(what: string, fields: Readonly<Record<string, unknown>>, error: NeuroGraphError): void {
    this.events.publish("ingest-rejected", { ...fields, code: error.code, message: error.message.slice(0, 512), retryable: error.retryable });
    this.log(`${what}:${error.code}`, { ...fields, code: error.code }, `${what}: ${error.message}`);
  }

  /** A partial batch applied with some items rejected. */
  itemsRejected(fields: Readonly<Record<string, unknown>>, outcome: IngestOutcome): void {
    const first = outcome.rejected[0];
    if (first === undefined) return;
    const sample = { index: first.index, id: first.id, code: first.code, field: first.field, rule: first.rule, description: first.description };
    this.events.publish("ingest-rejected", { ...fields, accepted: outcome.accepted, rejected: outcome.rejected.length, first: sample });
    this.log(`items:${first.code}`, { ...fields, accepted: outcome.accepted, rejected: outcome.rejected.length }, `ingest batch applied with rejected items, e.g. item ${first.index}: ${first.description}`);
  }

  private log(key: string, fields: Readonly<Record<string, unknown>>, message: string): void {
    if (this.logger === undefined) return;
    const now = Date.now();
    const w = this.windows.get(key);
    if (w !== undefined && now - w.start < this.intervalMs) {
      w.suppressed++;
      return;
    }
    const suppressed = w?.suppressed ?? 0;
    this.windows.set(key, { start: now, suppressed: 0 });
    this.logger.warn(suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }
}
