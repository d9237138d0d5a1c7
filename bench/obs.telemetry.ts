/**
 * Telemetry costs: `/metrics` scrape time of a fully populated registry, metric updates on hot
 * paths (against prom-client's own labelled metrics for reference), and `withSpan` with tracing
 * off, on with a never-sampling sampler, and on with always-sampling into an in-memory exporter.
 *
 *   npm run bench -- obs
 */
import { AlwaysOffSampler, AlwaysOnSampler, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { Counter, Histogram, Registry } from "prom-client";
import {
  MetricsRegistry, extractHeaders, startMetricsServer, startTracing, traceHeaders, withSpan,
} from "../src/telemetry/index.ts";
import { emit, gc, machine } from "./lib/report.ts";

/** Nanoseconds per call of `fn(i)`, best of `repeat` runs of `n` calls after a warm-up. */
function nsPerOp(n: number, fn: (i: number) => void, repeat = 5): number {
  for (let i = 0; i < Math.min(n, 200_000); i++) fn(i);
  let best = Infinity;
  for (let r = 0; r < repeat; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(i);
    const ns = Number(process.hrtime.bigint() - t0) / n;
    if (ns < best) best = ns;
  }
  return best;
}

async function nsPerAsyncOp(n: number, fn: (i: number) => Promise<unknown>, repeat = 5): Promise<number> {
  for (let i = 0; i < Math.min(n, 20_000); i++) await fn(i);
  let best = Infinity;
  for (let r = 0; r < repeat; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await fn(i);
    const ns = Number(process.hrtime.bigint() - t0) / n;
    if (ns < best) best = ns;
  }
  return best;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

/** A registry with every bounded label set filled to its cap: the worst case a node can reach. */
function populated(): MetricsRegistry {
  const m = new MetricsRegistry({ shards: 16, version: "bench" });
  for (let s = 0; s < 16; s++) {
    m.setTokens(s, 1_000_000 + s);
    m.setConnections(s, 4_000_000 + s);
    m.setWalPendingBytes(s, 4096 * s);
  }
  for (let sp = 0; sp < 8; sp++) m.setFields(sp, 10 * sp);
  for (let i = 0; i < 10_000; i++) m.walCommit((i % 100) / 10_000, 1 + (i % 5000), 64 * (1 + (i % 5000)));
  for (let i = 0; i < 140; i++) {
    const h = m.grpcMethod(`/neurograph.v1.Service${i % 10}/Method${i}`);
    for (let code = 0; code < 17; code += 4) h.handled(code, (i % 50) / 1000);
  }
  for (let i = 0; i < 70; i++) m.guardianRejected(`rule_${i}`, i);
  for (const k of ["token", "connection", "constitution"]) m.guardianValidated(k, 1000);
  for (let i = 0; i < 40; i++) {
    m.samplingDecision(`reason_${i}`, "sampled");
    m.samplingDecision(`reason_${i}`, "dropped");
  }
  for (let i = 0; i < 40; i++) m.actorKindMetrics(`kind_${i}`).messages(10);
  m.setActorMailboxes(Array.from({ length: 64 }, (_, i) => ({ kind: i % 2 === 0 ? "shard" : "wal", mailboxDepth: i })));
  for (let i = 0; i < 100; i++) m.fieldStep(i / 100);
  m.walReplay(1_000_000, 1.2);
  return m;
}

async function benchScrape(): Promise<void> {
  const m = populated();
  const text = await m.metrics();
  const series = text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
  const samples: number[] = [];
  const own: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t0 = performance.now();
    await m.metrics();
    samples.push(performance.now() - t0);
    const t1 = performance.now();
    m.renderOwn();
    own.push(performance.now() - t1);
  }
  samples.sort((a, b) => a - b);
  own.sort((a, b) => a - b);
  emit("obs.scrape_ms", percentile(samples, 0.5), "ms", {
    p99_ms: percentile(samples, 0.99),
    bytes: Buffer.byteLength(text),
    series,
    blocking_render_p50_ms: percentile(own, 0.5),
    blocking_render_p99_ms: percentile(own, 0.99),
    note: "registry filled to every label cap; includes prom-client process/Node.js collectors",
    ...machine(),
  });

  const server = await startMetricsServer({ metrics: m, port: 0 });
  const http: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    const res = await fetch(`${server.url}/metrics`);
    await res.text();
    http.push(performance.now() - t0);
  }
  await server.close();
  http.sort((a, b) => a - b);
  emit("obs.scrape_http_ms", percentile(http, 0.5), "ms", { p99_ms: percentile(http, 0.99), via: "loopback fetch" });
}

function benchUpdates(): void {
  const m = new MetricsRegistry({ defaultMetrics: false });
  const n = 5_000_000;
  emit("obs.metric_wal_commit_ns", nsPerOp(n, (i) => m.walCommit((i & 1023) * 1e-5, 512, 32_768)), "ns", { updates: "2 counters + 2 histograms" });
  const grpc = m.grpcMethod("/neurograph.v1.TokenService/Get");
  emit("obs.metric_grpc_handled_ns", nsPerOp(n, (i) => grpc.handled(i & 7, (i & 1023) * 1e-5)), "ns", { updates: "counter by method+code + histogram by method, pre-resolved handle" });
  const shard = m.actorKindMetrics("shard");
  emit("obs.metric_actor_message_ns", nsPerOp(n, () => shard.messages(1)), "ns", { updates: "counter by kind, pre-resolved handle" });
  emit("obs.metric_guardian_validated_ns", nsPerOp(n, (i) => m.guardianValidated("token", i & 255)), "ns", { updates: "counter, label resolved by string each call" });
  emit("obs.metric_set_tokens_ns", nsPerOp(n, (i) => m.setTokens(i & 15, i)), "ns", { updates: "gauge by shard" });

  // prom-client's own labelled metrics, same work, for reference.
  const r = new Registry();
  const c = new Counter({ name: "c_total", help: "h", labelNames: ["kind"], registers: [r] }).labels("shard");
  const h = new Histogram({ name: "h_seconds", help: "h", labelNames: ["method"], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5], registers: [r] }).labels("TokenService/Get");
  emit("obs.promclient_counter_labelled_ns", nsPerOp(1_000_000, () => c.inc(1)), "ns", { reference: "prom-client 15 Counter.labels().inc" });
  emit("obs.promclient_histogram_labelled_ns", nsPerOp(1_000_000, (i) => h.observe((i & 1023) * 1e-5)), "ns", { reference: "prom-client 15 Histogram.labels().observe" });
}

async function benchSpans(): Promise<void> {
  const n = 1_000_000;
  const work = (i: number): number => i ^ 0x5bd1e995;
  let sink = 0;
  emit("obs.span_baseline_ns", nsPerOp(n, (i) => (sink ^= work(i))), "ns", { what: "the wrapped function alone" });

  emit("obs.span_off_ns", nsPerOp(n, (i) => (sink ^= withSpan("bench", undefined, () => work(i)))), "ns", { tracing: "off (kill switch / not configured)" });
  emit("obs.span_off_async_ns", await nsPerAsyncOp(200_000, (i) => withSpan("bench", undefined, () => Promise.resolve(work(i)))), "ns", { tracing: "off", fn: "async" });

  let handle = await startTracing({ serviceName: "bench", sampler: new AlwaysOffSampler(), spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())], env: {} });
  emit("obs.span_never_sampled_ns", nsPerOp(n, (i) => (sink ^= withSpan("bench", undefined, () => work(i)))), "ns", { tracing: "on, AlwaysOffSampler" });
  emit("obs.span_never_sampled_async_ns", await nsPerAsyncOp(200_000, (i) => withSpan("bench", undefined, () => Promise.resolve(work(i)))), "ns", { tracing: "on, AlwaysOffSampler", fn: "async" });
  await handle.shutdown();

  const exporter = new InMemorySpanExporter();
  handle = await startTracing({ serviceName: "bench", sampler: new AlwaysOnSampler(), spanProcessors: [new SimpleSpanProcessor(exporter)], env: {} });
  const m = 200_000;
  const sampled = nsPerOp(m, (i) => {
    sink ^= withSpan("bench", { i }, () => work(i));
    if ((i & 4095) === 0) exporter.reset();
  });
  await handle.forceFlush();
  exporter.reset();
  emit("obs.span_sampled_ns", sampled, "ns", { tracing: "on, AlwaysOnSampler, SimpleSpanProcessor + InMemorySpanExporter", attributes: 1 });
  const inject = nsPerOp(m, () => {
    withSpan("parent", undefined, () => {
      const h = traceHeaders();
      sink ^= extractHeaders(h) === undefined ? 0 : 1;
    });
    exporter.reset();
  });
  await handle.forceFlush();
  await handle.shutdown();
  emit("obs.span_sampled_with_propagation_ns", inject, "ns", { what: "sampled span + traceHeaders() + extractHeaders()" });
  if (sink === 42) process.stderr.write("");
}

await benchScrape();
gc();
benchUpdates();
gc();
await benchSpans();
