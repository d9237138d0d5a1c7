/**
 * The report of a load run: merged histograms, throughput, errors by status code, SLO verdicts.
 * `LoadReport` is what `--json` prints and `report.json` holds (schema `neurograph.load/v1`);
 * `formatReport` is the human summary.
 */
import { encodeHistogram, mergeEncoded, newHistogram, percentileCurve, summarize, type CurvePoint, type LatencySummary } from "./histogram.ts";
import type { IngestConsumerReport } from "./nats-ops.ts";
import { natsIngestNames } from "./nats-ops.ts";
import type { LoadPlan, OpKind, Slo } from "./plan.ts";
import type { WorkerResult } from "./protocol.ts";
import { formatBytes, formatCount, formatDurationMs, formatLatency, formatPercent } from "./units.ts";

export interface SloVerdict {
  /** The flag, e.g. `--max-p99`. */
  readonly flag: string;
  readonly threshold: number;
  readonly actual: number;
  readonly unit: "us" | "ops/s" | "tokens/s" | "fraction";
  readonly passed: boolean;
}

export interface OpReport {
  readonly op: OpKind;
  readonly count: number;
  readonly errors: number;
  readonly tokens: number;
  readonly rate: number;
  readonly latencyUs: LatencySummary;
}

export interface LoadReport {
  readonly schema: "neurograph.load/v1";
  readonly scenario: string;
  readonly mode: "open" | "closed";
  readonly target: string;
  readonly startedAt: string;
  readonly plan: {
    readonly rate: number | null;
    readonly concurrency: number | null;
    readonly durationMs: number | null;
    readonly count: number | null;
    readonly rampUpMs: number;
    readonly workers: number;
    readonly connections: number;
    readonly batch: number;
    readonly mix: readonly { readonly op: OpKind; readonly weight: number }[];
  };
  /** Length of the measured phase: first measured send to last measured completion. */
  readonly elapsedMs: number;
  readonly operations: number;
  readonly errors: number;
  readonly errorRate: number;
  readonly errorsByCode: Readonly<Record<string, number>>;
  readonly errorSamples: Readonly<Record<string, string>>;
  /**
   * Completed operations per second: with --duration, completions inside the measured window
   * over its length (what the node sustained); with --count, measured operations from the first
   * send to the last completion.
   */
  readonly rate: number;
  readonly tokens: number;
  readonly tokenRate: number;
  /** All ops, µs; failed operations included (a timeout is a latency too). */
  readonly latencyUs: LatencySummary;
  readonly byOp: readonly OpReport[];
  readonly curve: readonly CurvePoint[];
  /** The merged HDR histogram (compressed base64), for tools such as HdrHistogram's plotter. */
  readonly histogram: string;
  readonly client: {
    readonly lateSends: number;
    readonly maxSendLagUs: number;
    readonly queued: number;
    readonly cpuSeconds: number;
    readonly peakRssBytes: number;
    /** The workers fell behind the schedule: the figures understate what the node can do. */
    readonly saturated: boolean;
  };
  readonly slo: readonly SloVerdict[];
  readonly passed: boolean;
  /**
   * JetStream runs: what the node did with the stored messages (the op latency ends at the
   * PubAck; the node applies and acknowledges to the stream after it).
   */
  readonly jetstream?: IngestConsumerReport;
}

function sloVerdicts(slo: Slo, latency: LatencySummary, rate: number, tokenRate: number, errorRate: number): SloVerdict[] {
  const out: SloVerdict[] = [];
  const max = (flag: string, threshold: number | undefined, actual: number, unit: SloVerdict["unit"]): void => {
    if (threshold !== undefined) out.push({ flag, threshold, actual, unit, passed: actual <= threshold });
  };
  const min = (flag: string, threshold: number | undefined, actual: number, unit: SloVerdict["unit"]): void => {
    if (threshold !== undefined) out.push({ flag, threshold, actual, unit, passed: actual >= threshold });
  };
  max("--max-p50", slo.maxP50Us, latency.p50, "us");
  max("--max-p90", slo.maxP90Us, latency.p90, "us");
  max("--max-p99", slo.maxP99Us, latency.p99, "us");
  max("--max-p999", slo.maxP999Us, latency.p999, "us");
  max("--max-latency", slo.maxLatencyUs, latency.max, "us");
  min("--min-rate", slo.minRate, rate, "ops/s");
  min("--min-token-rate", slo.minTokenRate, tokenRate, "tokens/s");
  max("--max-error-rate", slo.maxErrorRate, errorRate, "fraction");
  return out;
}

/** Merges the workers' results into the report. */
export function buildReport(plan: LoadPlan, results: readonly WorkerResult[], startedAt: Date, jetstream?: IngestConsumerReport): LoadReport {
  const total = newHistogram();
  const byOp: OpReport[] = [];
  const from = Math.min(...results.map((r) => (r.started > 0 ? r.measuredFromMs : Infinity)));
  const to = Math.max(0, ...results.map((r) => r.measuredToMs));
  const elapsedMs = Number.isFinite(from) && to > from ? to - from : 0;
  const perSecond = (n: number): number => (elapsedMs > 0 ? (n * 1000) / elapsedMs : 0);
  for (const [i, m] of plan.mix.entries()) {
    const h = newHistogram();
    let count = 0;
    let errors = 0;
    let tokens = 0;
    for (const r of results) {
      const o = r.ops[i];
      if (o === undefined) continue;
      mergeEncoded(h, o.histogram);
      count += o.count;
      errors += o.errors;
      tokens += o.tokens;
    }
    total.add(h);
    byOp.push({ op: m.op, count, errors, tokens, rate: perSecond(count), latencyUs: summarize(h) });
  }
  const errorsByCode: Record<string, number> = {};
  const errorSamples: Record<string, string> = {};
  for (const r of results) {
    for (const [code, n] of Object.entries(r.errorsByCode)) errorsByCode[code] = (errorsByCode[code] ?? 0) + n;
    for (const [code, msg] of Object.entries(r.errorSamples)) errorSamples[code] ??= msg;
  }
  const operations = byOp.reduce((s, o) => s + o.count, 0);
  const errors = byOp.reduce((s, o) => s + o.errors, 0);
  const tokens = byOp.reduce((s, o) => s + o.tokens, 0);
  const latencyUs = summarize(total);
  const windowed = plan.durationMs !== null && plan.durationMs > 0;
  const rate = windowed ? (results.reduce((s, r) => s + r.windowCompletions, 0) * 1000) / plan.durationMs : perSecond(operations);
  const tokenRate = windowed ? (results.reduce((s, r) => s + r.windowTokens, 0) * 1000) / plan.durationMs : perSecond(tokens);
  const errorRate = operations > 0 ? errors / operations : 0;
  const lateSends = results.reduce((s, r) => s + r.lateSends, 0);
  const slo = sloVerdicts(plan.slo, latencyUs, rate, tokenRate, errorRate);
  return {
    schema: "neurograph.load/v1",
    scenario: plan.scenario,
    mode: plan.mode,
    target: targetOf(plan),
    startedAt: startedAt.toISOString(),
    plan: {
      rate: plan.mode === "open" ? plan.rate : null,
      concurrency: plan.mode === "closed" ? plan.concurrency : null,
      durationMs: plan.durationMs,
      count: plan.count,
      rampUpMs: plan.rampUpMs,
      workers: plan.workers,
      connections: plan.connections,
      batch: plan.batch,
      mix: plan.mix,
    },
    elapsedMs: Math.round(elapsedMs),
    operations,
    errors,
    errorRate,
    errorsByCode,
    errorSamples,
    rate,
    tokens,
    tokenRate,
    latencyUs,
    byOp,
    curve: percentileCurve(total),
    histogram: encodeHistogram(total),
    client: {
      lateSends,
      maxSendLagUs: Math.max(0, ...results.map((r) => r.maxSendLagUs)),
      queued: results.reduce((s, r) => s + r.queued, 0),
      cpuSeconds: results.reduce((s, r) => s + r.cpuUserUs + r.cpuSystemUs, 0) / 1e6,
      peakRssBytes: Math.max(0, ...results.map((r) => r.peakRssBytes)),
      saturated: operations > 0 && lateSends / operations > 0.01,
    },
    slo,
    passed: slo.every((v) => v.passed),
    ...(jetstream === undefined ? {} : { jetstream }),
  };
}

/** Where the ops went: the gRPC address, and the NATS servers and subjects of NATS ops. */
function targetOf(plan: LoadPlan): string {
  const ops = plan.mix.map((m) => m.op);
  const parts: string[] = [];
  if (ops.some((op) => op !== "nats" && op !== "jetstream")) parts.push(plan.grpc.address);
  if (plan.nats !== null) {
    const names = natsIngestNames(plan.nats.cluster);
    const subjects = [...(ops.includes("nats") ? [names.core] : []), ...(ops.includes("jetstream") ? [names.jetstream] : [])];
    if (subjects.length > 0) parts.push(`${plan.nats.servers.join(",")} ${subjects.join(" ")}`);
  }
  return parts.join(" + ");
}

function sloValue(v: SloVerdict, x: number): string {
  switch (v.unit) {
    case "us":
      return formatLatency(x);
    case "fraction":
      return formatPercent(x, 3);
    default:
      return `${formatCount(x)}/s`;
  }
}

/** The human summary (wrk2/ghz style). */
export function formatReport(r: LoadReport): string {
  const lines: string[] = [];
  const how = r.mode === "open" ? `open loop at ${formatCount(r.plan.rate ?? 0)} ops/s (latency from intended send time)` : `closed loop, ${r.plan.concurrency} clients`;
  lines.push(`neurograph load ${r.scenario} → ${r.target}: ${how}, ${r.plan.workers} worker(s) × ${r.plan.connections} connection(s)`);
  lines.push(`  measured ${formatDurationMs(r.elapsedMs)}: ${formatCount(r.operations)} ops, ${formatCount(r.rate)} ops/s${r.tokens > 0 ? `, ${formatCount(r.tokens)} tokens, ${formatCount(r.tokenRate)} tokens/s` : ""}`);
  lines.push(`  errors: ${formatCount(r.errors)} (${formatPercent(r.errorRate, 3)})${Object.keys(r.errorsByCode).length > 0 ? `  ${Object.entries(r.errorsByCode).map(([c, n]) => `${c}=${n}`).join(" ")}` : ""}`);
  for (const [code, msg] of Object.entries(r.errorSamples)) lines.push(`    ${code}: ${msg.split("\n")[0]}`);
  lines.push("");
  lines.push(`  latency    ${["min", "p50", "p90", "p99", "p99.9", "max"].map((h) => h.padStart(9)).join("")}`);
  const row = (name: string, s: LatencySummary): string => `  ${name.padEnd(10)} ${[s.min, s.p50, s.p90, s.p99, s.p999, s.max].map((us) => formatLatency(us).padStart(9)).join("")}`;
  lines.push(row("all", r.latencyUs));
  if (r.byOp.length > 1) for (const o of r.byOp) lines.push(row(o.op, o.latencyUs));
  if (r.slo.length > 0) {
    lines.push("");
    for (const v of r.slo) lines.push(`  SLO ${v.flag} ${sloValue(v, v.threshold)}: ${sloValue(v, v.actual)}  ${v.passed ? "ok" : "MISSED"}`);
  }
  lines.push("");
  lines.push(`  client: ${r.client.cpuSeconds.toFixed(1)} CPU s, peak RSS ${formatBytes(r.client.peakRssBytes)}, ${r.client.queued} op(s) waited for --max-in-flight, max send lag ${formatLatency(r.client.maxSendLagUs)}`);
  if (r.client.saturated) lines.push(`  WARNING: the workers fell behind the schedule (${r.client.lateSends} late sends): add --workers; the figures understate the node`);
  const js = r.jetstream;
  if (js !== undefined) {
    const drained = js.drainedAfterMs === null ? `NOT drained: ${formatCount(js.backlogAtEnd)} message(s) still unapplied` : `drained ${formatDurationMs(js.drainedAfterMs)} after the last PubAck`;
    lines.push(`  jetstream: latency ends at the PubAck (stored in ${js.stream}); node consumer ${js.consumer}: peak backlog ${formatCount(js.maxBacklog)} message(s), ${formatCount(js.acknowledged)} acknowledged, ${drained}`);
  }
  lines.push(r.passed ? (r.slo.length > 0 ? "  result: all SLOs met" : "  result: done") : `  result: ${r.slo.filter((v) => !v.passed).length} SLO(s) MISSED`);
  return lines.join("\n");
}
