import { ROOT_CONTEXT, SpanStatusCode, TraceFlags, trace, type Context, type Span } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SamplingDecision,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Sampler,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import {
  ManualClock,
  SeededIdGenerator,
  TailSamplingProcessor,
  seededRandom,
  type TailEviction,
  type TailSamplingConfig,
} from "../../../src/sampling/index.ts";

/** Head decision for every span: RECORD (tail decides) or RECORD_AND_SAMPLED. */
function fixedSampler(decision: SamplingDecision): Sampler {
  return { shouldSample: () => ({ decision }), toString: () => `Fixed(${decision})` };
}

class Collector implements SpanProcessor {
  readonly spans: ReadableSpan[] = [];
  shutdowns = 0;
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.spans.push(span);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    this.shutdowns++;
    return Promise.resolve();
  }
  traceIds(): Set<string> {
    return new Set(this.spans.map((s) => s.spanContext().traceId));
  }
}

const T0 = 1_700_000_000_000;

function setup(config: Partial<TailSamplingConfig>, head = SamplingDecision.RECORD, seed = 1) {
  const downstream = new Collector();
  const evictions: TailEviction[] = [];
  const clock = new ManualClock();
  const tail = new TailSamplingProcessor(
    { enabled: true, ...config },
    { downstream, clock, sweepIntervalMs: false, onEvict: (e) => evictions.push(e) },
  );
  const provider = new BasicTracerProvider({ sampler: fixedSampler(head), spanProcessors: [tail], idGenerator: new SeededIdGenerator(seededRandom(seed)) });
  const tracer = provider.getTracer("tail-test");
  const startRoot = (name = "request"): { root: Span; ctx: Context } => {
    const root = tracer.startSpan(name, { startTime: T0 }, ROOT_CONTEXT);
    return { root, ctx: trace.setSpan(ROOT_CONTEXT, root) };
  };
  const child = (ctx: Context, error = false, endMs = 2): Span => {
    const s = tracer.startSpan("step", { startTime: T0 }, ctx);
    if (error) s.setStatus({ code: SpanStatusCode.ERROR, message: "boom" });
    s.end(T0 + endMs);
    return s;
  };
  return { tail, downstream, evictions, clock, startRoot, child };
}

describe("TailSamplingProcessor", () => {
  it("keeps every error trace whole under a flood, bounded by maxTraces, reporting evictions", () => {
    const { tail, downstream, evictions, startRoot, child } = setup({ maxTraces: 20 });
    const traces = Array.from({ length: 2000 }, () => startRoot());
    const errorTraces = new Set<string>();
    traces.forEach(({ root, ctx }, t) => {
      const error = t % 37 === 0;
      if (error) errorTraces.add(root.spanContext().traceId);
      child(ctx);
      child(ctx, error);
      child(ctx);
      expect(tail.pendingTraces).toBeLessThanOrEqual(20);
    });
    for (const { root } of traces) root.end(T0 + 5);
    expect(downstream.traceIds()).toEqual(errorTraces);
    for (const id of errorTraces) expect(downstream.spans.filter((s) => s.spanContext().traceId === id)).toHaveLength(4);
    expect(evictions.length).toBeGreaterThan(1900);
    expect(tail.stats.get("evicted", "dropped")).toBe(evictions.length);
    expect(tail.stats.get("tail_error", "sampled")).toBe(errorTraces.size);
    expect(evictions.every((e) => e.cause === "traces" && e.spans >= 1 && e.bytes > 0)).toBe(true);
    expect(tail.pendingTraces).toBe(0);
  });

  it("still keeps the error span and the rest of a trace evicted before its error arrived", () => {
    const { downstream, evictions, startRoot, child } = setup({ maxTraces: 5 });
    const traces = Array.from({ length: 50 }, () => startRoot());
    for (const { ctx } of traces) child(ctx); // flood: every trace pending, most evicted
    const victim = traces[0]!;
    expect(evictions.some((e) => e.traceId === victim.root.spanContext().traceId)).toBe(true);
    const errorSpan = child(victim.ctx, true);
    victim.root.end(T0 + 5);
    const kept = downstream.spans.map((s) => s.spanContext().spanId);
    expect(kept).toEqual([errorSpan.spanContext().spanId, victim.root.spanContext().spanId]);
  });

  it("keeps the configured share of slow traces, consistently by trace id, and drops fast ones", () => {
    const { tail, downstream, startRoot, child } = setup({ slowShare: 0.5, slowThresholdMs: 100 });
    const expected = new Set<string>();
    for (let t = 0; t < 400; t++) {
      const { root, ctx } = startRoot();
      child(ctx);
      const slow = t % 2 === 0;
      const id = root.spanContext().traceId;
      // slowShare 0.5 = th:8: kept iff the randomness' first hex digit is 8..f.
      if (slow && parseInt(id[18]!, 16) >= 8) expected.add(id);
      root.end(T0 + (slow ? 150 : 20));
    }
    expect(downstream.traceIds()).toEqual(expected);
    expect(tail.stats.get("tail_slow", "sampled")).toBe(expected.size);
    expect(tail.stats.get("tail_slow", "sampled") + tail.stats.get("tail_slow", "dropped")).toBe(200);
    expect(tail.stats.get("tail_dropped", "dropped")).toBe(200);
  });

  it("hands kept spans to the downstream as sampled, so a standard exporter exports them", () => {
    const exporter = new InMemorySpanExporter();
    const tail = new TailSamplingProcessor({ enabled: true }, { downstream: new SimpleSpanProcessor(exporter), sweepIntervalMs: false });
    const provider = new BasicTracerProvider({ sampler: fixedSampler(SamplingDecision.RECORD), spanProcessors: [tail] });
    const tracer = provider.getTracer("t");
    const root = tracer.startSpan("request", {}, ROOT_CONTEXT);
    const s = tracer.startSpan("step", {}, trace.setSpan(ROOT_CONTEXT, root));
    s.setStatus({ code: SpanStatusCode.ERROR });
    s.end();
    root.end();
    const exported = exporter.getFinishedSpans();
    expect(exported.map((x) => x.name)).toEqual(["step", "request"]);
    expect(exported.every((x) => (x.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0)).toBe(true);
    expect(exported[0]?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it("keeps head-sampled traces when keepSampled, and judges them like others otherwise", () => {
    const a = setup({}, SamplingDecision.RECORD_AND_SAMPLED);
    const ta = a.startRoot();
    a.child(ta.ctx);
    ta.root.end(T0 + 5);
    expect(a.downstream.spans).toHaveLength(2);
    expect(a.tail.stats.get("tail_head_sampled", "sampled")).toBe(1);
    const b = setup({ keepSampled: false }, SamplingDecision.RECORD_AND_SAMPLED);
    const tb = b.startRoot();
    b.child(tb.ctx);
    tb.root.end(T0 + 5);
    expect(b.downstream.spans).toHaveLength(0);
  });

  it("bounds the buffer by estimated bytes", () => {
    const { tail, evictions, startRoot, child } = setup({ maxBytes: 4096, maxTraces: 1000 });
    for (let t = 0; t < 30; t++) {
      const { ctx } = startRoot();
      child(ctx);
      child(ctx);
      expect(tail.pendingBytes).toBeLessThanOrEqual(4096);
    }
    expect(evictions.length).toBeGreaterThan(20);
    expect(evictions.every((e) => e.cause === "bytes")).toBe(true);
  });

  it("decides traces whose root never ends after the timeout, as slow ones", () => {
    const { tail, downstream, clock, startRoot, child } = setup({ decisionTimeoutMs: 10_000, slowShare: 0.5 });
    const ids: string[] = [];
    for (let t = 0; t < 40; t++) {
      const { root, ctx } = startRoot();
      child(ctx);
      ids.push(root.spanContext().traceId);
    }
    clock.advance(5_000);
    tail.sweep();
    expect(tail.pendingTraces).toBe(40);
    clock.advance(5_000);
    tail.sweep();
    expect(tail.pendingTraces).toBe(0);
    expect(downstream.traceIds()).toEqual(new Set(ids.filter((id) => parseInt(id[18]!, 16) >= 8)));
  });

  it("late spans follow their trace's decision, and a late error turns a drop into a keep", () => {
    const { downstream, startRoot, child } = setup({});
    const { root, ctx } = startRoot();
    child(ctx);
    root.end(T0 + 5); // fast, no error: dropped
    child(ctx, false, 9);
    expect(downstream.spans).toHaveLength(0);
    child(ctx, true, 10);
    child(ctx, false, 11);
    expect(downstream.spans.map((s) => s.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.UNSET]);
  });

  it("passes spans straight through when disabled, and disabling decides what is buffered", async () => {
    const { tail, downstream, startRoot, child } = setup({ enabled: false });
    const { root, ctx } = startRoot();
    child(ctx);
    expect(downstream.spans).toHaveLength(1);
    tail.configure({ enabled: true, slowThresholdMs: 0, slowShare: 1 });
    const second = startRoot();
    child(second.ctx);
    expect(tail.pendingTraces).toBe(1);
    tail.configure({ enabled: false });
    expect(tail.pendingTraces).toBe(0);
    expect(downstream.spans).toHaveLength(2); // slow rule with share 1 kept the buffered span
    root.end(T0 + 1);
    expect(downstream.spans).toHaveLength(3);
    expect(() => tail.configure({ maxTraces: 0 })).toThrow(/maxTraces/);
    await tail.shutdown();
    expect(downstream.shutdowns).toBe(1);
  });

  it("shutdown decides buffered traces and ignores spans that end afterwards", async () => {
    const { tail, downstream, startRoot, child } = setup({ slowThresholdMs: 0, slowShare: 1 });
    const { root, ctx } = startRoot();
    child(ctx);
    await tail.shutdown();
    expect(downstream.spans).toHaveLength(1);
    root.end(T0 + 1);
    expect(downstream.spans).toHaveLength(1);
    await tail.shutdown();
    expect(downstream.shutdowns).toBe(1);
  });
});
