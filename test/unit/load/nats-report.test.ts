import { describe, expect, it } from "vitest";
import { encodeHistogram, newHistogram, recordUs } from "../../../src/load/histogram.ts";
import { natsIngestNames } from "../../../src/load/nats-ops.ts";
import { resolveLoadPlan } from "../../../src/load/plan.ts";
import type { WorkerResult } from "../../../src/load/protocol.ts";
import { buildReport, formatReport } from "../../../src/load/report.ts";
import { metricValue } from "../../../src/load/stress-limit.ts";

function result(op: "nats" | "jetstream", n: number, batch: number): WorkerResult {
  const h = newHistogram();
  for (let i = 0; i < n; i++) recordUs(h, 2000 + i);
  return {
    index: 0,
    ops: [{ op, count: n, errors: 0, tokens: n * batch, histogram: encodeHistogram(h) }],
    errorsByCode: {},
    errorSamples: {},
    measuredFromMs: 0,
    measuredToMs: 1000,
    windowCompletions: n,
    windowTokens: n * batch,
    started: n,
    lateSends: 0,
    maxSendLagUs: 0,
    queued: 0,
    cpuUserUs: 0,
    cpuSystemUs: 0,
    peakRssBytes: 0,
  };
}

describe("NATS load reports", () => {
  const nats = { servers: ["nats://127.0.0.1:4222"], cluster: "c1" };

  it("names the subjects and stream of a cluster as the node's ingest does", () => {
    expect(natsIngestNames("c1")).toEqual({ core: "ng.c1.ingest.tokens", jetstream: "ng.c1.ingest.js.tokens", stream: "NG_c1_INGEST", consumer: "ingest" });
  });

  it("a core NATS run targets the servers and subject, not the gRPC address", () => {
    const plan = resolveLoadPlan("nats", { rate: "10", duration: "1s", batch: "100" }, { address: "127.0.0.1:1" }, nats);
    const report = buildReport(plan, [result("nats", 10, 100)], new Date(0));
    expect(report.target).toBe("nats://127.0.0.1:4222 ng.c1.ingest.tokens");
    expect(report.tokens).toBe(1000);
    expect(report.jetstream).toBeUndefined();
  });

  it("a JetStream run carries the node consumer's backlog into the report and its text", () => {
    const plan = resolveLoadPlan("jetstream", { rate: "10", duration: "1s", batch: "100" }, { address: "127.0.0.1:1" }, nats);
    const drained = { stream: "NG_c1_INGEST", consumer: "ingest", maxBacklog: 7, drainedAfterMs: 120, backlogAtEnd: 0, acknowledged: 10 };
    const report = buildReport(plan, [result("jetstream", 10, 100)], new Date(0), drained);
    expect(report.target).toBe("nats://127.0.0.1:4222 ng.c1.ingest.js.tokens");
    expect(report.jetstream).toEqual(drained);
    expect(formatReport(report)).toContain("peak backlog 7 message(s), 10 acknowledged, drained 120ms after the last PubAck");
    const stuck = buildReport(plan, [result("jetstream", 10, 100)], new Date(0), { ...drained, drainedAfterMs: null, backlogAtEnd: 3 });
    expect(formatReport(stuck)).toContain("NOT drained: 3 message(s) still unapplied");
  });

  it("a NATS op without --nats is a usage error naming the flag", () => {
    expect(() => resolveLoadPlan("jetstream", { rate: "10" }, { address: "127.0.0.1:1" }, null)).toThrow(/--nats/);
  });
});

describe("stress: Prometheus text", () => {
  const text = [
    "# TYPE neurograph_quota_exceeded_total counter",
    'neurograph_quota_exceeded_total{node="n",quota="tokens",level="soft"} 1',
    'neurograph_quota_exceeded_total{node="n",quota="tokens",level="hard"} 2',
    'neurograph_quota_exceeded_total{node="n",quota="connections",level="soft"} 5',
    "neurograph_other 9",
  ].join("\n");

  it("sums the samples whose labels include the given ones", () => {
    expect(metricValue(text, "neurograph_quota_exceeded_total", { quota: "tokens", level: "soft" })).toBe(1);
    expect(metricValue(text, "neurograph_quota_exceeded_total", { quota: "tokens" })).toBe(3);
    expect(metricValue(text, "neurograph_quota_exceeded_total", { level: "soft" })).toBe(6);
    expect(metricValue(text, "neurograph_other", {})).toBe(9);
    expect(metricValue(text, "neurograph_missing", {})).toBe(0);
  });
});
