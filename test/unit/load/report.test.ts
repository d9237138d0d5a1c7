import { describe, expect, it } from "vitest";
import { latencyChartSvg, reportHtml } from "../../../src/load/chart.ts";
import { encodeHistogram, newHistogram, recordUs } from "../../../src/load/histogram.ts";
import { resolveLoadPlan } from "../../../src/load/plan.ts";
import type { WorkerResult } from "../../../src/load/protocol.ts";
import { buildReport, formatReport } from "../../../src/load/report.ts";

function worker(index: number, latencies: number[], errors: number, extra: Partial<WorkerResult> = {}): WorkerResult {
  const h = newHistogram();
  for (const us of latencies) recordUs(h, us);
  return {
    index,
    ops: [{ op: "create", count: latencies.length, errors, tokens: (latencies.length - errors) * 10, histogram: encodeHistogram(h) }],
    errorsByCode: errors > 0 ? { OVERLOADED: errors } : {},
    errorSamples: errors > 0 ? { OVERLOADED: "mailbox full" } : {},
    measuredFromMs: 1000,
    measuredToMs: 3000,
    windowCompletions: latencies.length,
    windowTokens: (latencies.length - errors) * 10,
    started: latencies.length,
    lateSends: 0,
    maxSendLagUs: 100,
    queued: 0,
    cpuUserUs: 1e6,
    cpuSystemUs: 0,
    peakRssBytes: 1 << 27,
    ...extra,
  };
}

describe("load reports", () => {
  const plan = resolveLoadPlan("create", { rate: "100", duration: "2s", batch: "10", maxP99: "5ms", minRate: "90", maxErrorRate: "1%" }, { address: "127.0.0.1:1" }, null);

  it("merges workers exactly and judges the SLOs", () => {
    const a = Array.from({ length: 100 }, (_, i) => 1000 + i * 10);
    const b = Array.from({ length: 100 }, (_, i) => 2000 + i * 10);
    const report = buildReport(plan, [worker(0, a, 0), worker(1, b, 3)], new Date(0));
    expect(report.operations).toBe(200);
    expect(report.errors).toBe(3);
    expect(report.errorsByCode).toEqual({ OVERLOADED: 3 });
    expect(report.rate).toBe(100);
    expect(report.tokenRate).toBe(985);
    expect(report.latencyUs.count).toBe(200);
    expect(report.latencyUs.min).toBe(1000);
    expect(report.latencyUs.max).toBeGreaterThanOrEqual(2990);
    expect(report.slo.map((v) => [v.flag, v.passed])).toEqual([
      ["--max-p99", true],
      ["--min-rate", true],
      ["--max-error-rate", false],
    ]);
    expect(report.passed).toBe(false);
    const text = formatReport(report);
    expect(text).toContain("OVERLOADED=3");
    expect(text).toContain("--max-error-rate");
    expect(text).toContain("MISSED");
  });

  it("flags a saturated client", () => {
    const report = buildReport(plan, [worker(0, [1000, 1000, 1000], 0, { lateSends: 2 })], new Date(0));
    expect(report.client.saturated).toBe(true);
    expect(formatReport(report)).toContain("WARNING");
  });

  it("draws the percentile curve, the SLO line and the markers", () => {
    const lat = Array.from({ length: 10_000 }, (_, i) => 500 + (i % 997) * 3);
    const report = buildReport(plan, [worker(0, lat, 0)], new Date(0));
    const svg = latencyChartSvg(report);
    expect(svg).toMatch(/^<svg[^>]+viewBox="0 0 900 480"/);
    expect(svg).toContain('id="curve"');
    expect(svg).toContain('id="slo-p99"');
    expect(svg).toContain(">99.9%<");
    expect(svg).toContain("p99 ");
    const points = /points="([^"]+)"/.exec(svg)![1]!.split(" ").map((p) => p.split(",").map(Number));
    expect(points.length).toBe(report.curve.length);
    for (const [x, y] of points) {
      expect(x).toBeGreaterThanOrEqual(80);
      expect(x).toBeLessThanOrEqual(870);
      expect(y).toBeGreaterThanOrEqual(50);
      expect(y).toBeLessThanOrEqual(420);
    }
    expect(reportHtml(report)).toContain('<pre id="summary">');
  });

  it("an empty run draws a note instead of a curve", () => {
    const report = buildReport(plan, [worker(0, [], 0, { started: 0, measuredToMs: 0, windowCompletions: 0 })], new Date(0));
    expect(report.operations).toBe(0);
    expect(latencyChartSvg(report)).toContain("no measured operations");
  });
});
