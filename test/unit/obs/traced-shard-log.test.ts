/**
 * WAL commit spans around any shard log: one span per traced commit, child of the writer's span,
 * shared by the appends of one group commit (linked to the further writers), failed with the
 * commit's error; untraced appends make none.
 */
import { AlwaysOnSampler, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { AppendTicket, RecoveryReport, ShardLog, ShardLogStats, ShardMutation } from "../../../src/actors/index.ts";
import { DataLossError } from "../../../src/core/errors.ts";
import { TracedShardLog } from "../../../src/node/index.ts";
import { startTracing, withSpan, type TracingHandle } from "../../../src/telemetry/index.ts";

/** A log whose commits the test settles by hand; appends made before `commit()` share one promise. */
class ManualLog implements ShardLog {
  private lsn = 0;
  private batch: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | undefined;
  recover(): Promise<RecoveryReport> {
    return Promise.resolve({ snapshotLsn: 0, replayedRecords: 0, lastLsn: 0, durationMs: 0, warnings: [] });
  }
  append(_m: ShardMutation): AppendTicket {
    if (this.batch === undefined) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => undefined);
      this.batch = { promise, resolve, reject };
    }
    return { lsn: ++this.lsn, durable: this.batch.promise };
  }
  commit(error?: unknown): void {
    const b = this.batch;
    this.batch = undefined;
    if (error === undefined) b?.resolve();
    else b?.reject(error);
  }
  snapshot(): Promise<void> {
    return Promise.resolve();
  }
  stats(): ShardLogStats {
    return { lastLsn: this.lsn, durableLsn: this.lsn, pendingBytes: 0, lastCommitMs: 0, lastSnapshotLsn: 0, lastSnapshotAt: 0, degraded: undefined };
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const insert: ShardMutation = { kind: "tokens.insert", records: new Uint8Array(64) };
const exporter = new InMemorySpanExporter();
let handle: TracingHandle;

beforeAll(async () => {
  handle = await startTracing({ serviceName: "traced-log-test", sampler: new AlwaysOnSampler(), spanProcessors: [new SimpleSpanProcessor(exporter)], env: {} });
});
afterAll(async () => {
  await handle.shutdown();
});
beforeEach(() => exporter.reset());

async function commits(): Promise<ReadableSpan[]> {
  await handle.forceFlush();
  return exporter.getFinishedSpans().filter((s) => s.name === "wal.commit");
}

describe("TracedShardLog", () => {
  it("opens one span per group commit, child of the first writer and linked to the others", async () => {
    const inner = new ManualLog();
    const log = new TracedShardLog(inner, 3);
    const writers = ["w1", "w2", "w3"].map((name) =>
      withSpan(name, undefined, (span) => ({ ticket: log.append(insert), ids: span.spanContext() })),
    );
    log.append(insert); // outside any trace: part of the commit, no link
    expect(await commits()).toEqual([]); // not durable yet
    inner.commit();
    await Promise.all(writers.map((w) => w.ticket.durable));
    const [span, ...rest] = await commits();
    expect(rest).toEqual([]);
    expect(span?.parentSpanContext?.spanId).toBe(writers[0]?.ids.spanId);
    expect(span?.spanContext().traceId).toBe(writers[0]?.ids.traceId);
    expect(span?.links.map((l) => l.context.spanId)).toEqual([writers[1]?.ids.spanId, writers[2]?.ids.spanId]);
    expect(span?.attributes).toMatchObject({ "wal.shard": 3, "wal.lsn": 1, "wal.records": 3, "wal.mutation": "tokens.insert" });
    expect(span?.status.code).toBe(0);
  });

  it("starts a new span for the next commit and records a failed commit", async () => {
    const inner = new ManualLog();
    const log = new TracedShardLog(inner, 0);
    const first = withSpan("a", undefined, () => log.append(insert));
    inner.commit();
    await first.durable;
    const second = withSpan("b", undefined, () => log.append(insert));
    inner.commit(new DataLossError("disk said no"));
    await expect(second.durable).rejects.toThrow("disk said no");
    const spans = await commits();
    expect(spans.map((s) => s.attributes["wal.lsn"])).toEqual([1, 2]);
    expect(spans[1]?.status.code).toBe(2);
    expect(spans[1]?.attributes["error.type"]).toBe("DATA_LOSS");
  });

  it("makes no span for appends outside a sampled trace", async () => {
    const inner = new ManualLog();
    const log = new TracedShardLog(inner, 0);
    const t = log.append(insert);
    inner.commit();
    await t.durable;
    expect(await commits()).toEqual([]);
    expect(log.stats().lastLsn).toBe(1);
  });
});
