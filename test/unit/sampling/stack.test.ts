import { ROOT_CONTEXT, SpanStatusCode, TraceFlags, defaultTextMapGetter, trace, type Context } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SamplingDecision, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../src/core/errors.ts";
import {
  DEFAULT_SAMPLING_CONFIG,
  ManualClock,
  SeededIdGenerator,
  createSamplingStack,
  resolveSamplingConfig,
  seededRandom,
  withHeadControls,
  type SamplingConfigPatch,
  type SamplingOutcome,
  type SamplingReason,
} from "../../../src/sampling/index.ts";
import { decide, idWith } from "./helpers.ts";

/** A provider wired the way the telemetry layer will wire it: stack sampler + stack processor → exporter. */
function traced(config: SamplingConfigPatch, seed = 1) {
  const exporter = new InMemorySpanExporter();
  const clock = new ManualClock();
  const stack = createSamplingStack(config, { downstream: new SimpleSpanProcessor(exporter), clock, timers: false });
  const provider = new BasicTracerProvider({ sampler: stack.sampler, spanProcessors: [stack.processor], idGenerator: new SeededIdGenerator(seededRandom(seed)) });
  return { stack, exporter, clock, tracer: provider.getTracer("stack-test") };
}

const randomnessOf = (traceId: string) => BigInt(`0x${traceId.slice(18)}`);

describe("configuration", () => {
  it("has the documented defaults", () => {
    const c = resolveSamplingConfig(undefined);
    expect(c).toEqual(DEFAULT_SAMPLING_CONFIG);
    expect([c.enabled, c.baseRate, c.precision, c.headControls.policy, c.parent.remote]).toEqual([true, 0.01, 4, "authenticated", "follow"]);
    expect([c.tail.slowThresholdMs, c.tail.slowShare, c.dynamic.maxIncrease, c.dynamic.deadBand]).toEqual([100, 0.5, 0.5, 0.3]);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("reports every violation at once: types, ranges, unknown keys, min > max", () => {
    let err: unknown;
    try {
      resolveSamplingConfig({ baseRate: 1.5, enabled: "yes", colour: 1, tail: { slowShare: -1, bogus: true }, dynamic: { minRate: 0.5, maxRate: 0.1 }, headControls: "x" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    const fields = (err as ValidationError).violations.map((v) => `${v.field}:${v.rule}`).sort();
    expect(fields).toEqual([
      "baseRate:range",
      "colour:unknown_field",
      "dynamic.minRate:min_le_max",
      "enabled:type_boolean",
      "headControls:type_object",
      "tail.bogus:unknown_field",
      "tail.slowShare:range",
    ]);
    expect(() => resolveSamplingConfig(42)).toThrow(ValidationError);
  });
});

describe("the standard stack", () => {
  it("samples root traces consistently at the base rate, children follow with the same th", async () => {
    const { exporter, tracer, stack } = traced({ baseRate: 0.25 });
    const expected = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const root = tracer.startSpan("request", {}, ROOT_CONTEXT);
      const id = root.spanContext().traceId;
      if (randomnessOf(id) >= 0xc0000000000000n) expected.add(id);
      tracer.startSpan("child", {}, trace.setSpan(ROOT_CONTEXT, root)).end();
      root.end();
    }
    await stack.processor.forceFlush();
    const spans = exporter.getFinishedSpans();
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(expected);
    expect(spans).toHaveLength(expected.size * 2);
    expect(spans.every((s) => s.spanContext().traceState?.get("ot") === "th:c")).toBe(true);
    expect(stack.stats.get("probability", "sampled")).toBe(expected.size);
    expect(stack.stats.get("parent_sampled", "sampled")).toBe(expected.size);
    expect(stack.stats.get("parent_unsampled", "dropped")).toBe(200 - expected.size);
  });

  it("follows a remote sampled traceparent and propagates its tracestate; drops an unsampled one", () => {
    const { exporter, tracer } = traced({ baseRate: 1 });
    const propagator = new W3CTraceContextPropagator();
    const extract = (carrier: Record<string, string>): Context => propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
    const traceId = idWith("f0000000000000");
    const sampledCtx = extract({ traceparent: `00-${traceId}-00f067aa0ba902b7-01`, tracestate: "ot=th:8,congo=t61" });
    tracer.startSpan("server", {}, sampledCtx).end();
    const unsampledCtx = extract({ traceparent: `00-${idWith("f1000000000000")}-00f067aa0ba902b7-00` });
    tracer.startSpan("server", {}, unsampledCtx).end();
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(1);
    expect(spans[0]?.spanContext().traceId).toBe(traceId);
    expect(spans[0]?.spanContext().traceState?.serialize()).toBe("ot=th:8,congo=t61");
    expect(spans[0]?.parentSpanContext?.isRemote).toBe(true);
  });

  it("a forced request is traced with th:0 even at rate 0 and under an unsampled remote parent", () => {
    const { exporter, tracer, stack } = traced({ baseRate: 0 });
    const parent = new W3CTraceContextPropagator().extract(ROOT_CONTEXT, { traceparent: `00-${idWith("00000000000001")}-00f067aa0ba902b7-00` }, defaultTextMapGetter);
    tracer.startSpan("forced", {}, withHeadControls(parent, { "x-force-trace": "1" }, true)).end();
    tracer.startSpan("anonymous", {}, withHeadControls(ROOT_CONTEXT, { "x-force-trace": "1" }, false)).end();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(["forced"]);
    expect(spans[0]?.spanContext().traceState?.get("ot")).toBe("th:0");
    expect(stack.stats.get("header_not_allowed", "ignored")).toBe(1);
  });

  it("kill switch: enabled=false records nothing, and can be switched back at run time", () => {
    const { exporter, tracer, stack } = traced({ enabled: false, baseRate: 1 });
    tracer.startSpan("a", {}, ROOT_CONTEXT).end();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    expect(stack.stats.get("disabled", "dropped")).toBe(1);
    expect(stack.sampler.toString()).toBe("Disabled");
    stack.configure({ enabled: true });
    tracer.startSpan("b", {}, ROOT_CONTEXT).end();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(["b"]);
  });

  it("configure is atomic: an invalid patch throws and leaves configuration and decisions unchanged", () => {
    const { stack } = traced({ baseRate: 0.5 });
    const id = idWith("90000000000000");
    expect(decide(stack.sampler, ROOT_CONTEXT, id).decision).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    const before = stack.config;
    expect(() => stack.configure({ baseRate: 0.0001, tail: { maxTraces: -5 } })).toThrow(ValidationError);
    expect(stack.config).toBe(before);
    expect(decide(stack.sampler, ROOT_CONTEXT, id).decision).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    stack.configure({ baseRate: 0.0001 });
    expect(decide(stack.sampler, ROOT_CONTEXT, id).decision).toBe(SamplingDecision.NOT_RECORD);
    expect(stack.config.baseRate).toBe(0.0001);
  });

  it("switches the root sampler to dynamic rates and back at run time", () => {
    const { stack, clock } = traced({ baseRate: 0.5 });
    stack.configure({ dynamic: { enabled: true, targetTracesPerSecond: 1, minRate: 0.001, maxRate: 1 } });
    expect(stack.sampler.toString()).toContain("DynamicRate");
    const ids = new SeededIdGenerator(seededRandom(2));
    for (let i = 0; i < 1000; i++) decide(stack.sampler, ROOT_CONTEXT, ids.generateTraceId(), "ingest");
    clock.advance(1000);
    stack.dynamic?.tick();
    expect(stack.dynamic?.rateOf("ingest")).toBeCloseTo(0.001, 6);
    expect(stack.stats.get("dynamic", "sampled")).toBeGreaterThan(0);
    stack.configure({ dynamic: { enabled: false } });
    expect(stack.sampler.toString()).toContain("ConsistentProbability{rate=0.5");
  });

  it("with tail sampling on, head-dropped error traces are still exported, ordinary ones are not", async () => {
    const { exporter, tracer, stack } = traced({ baseRate: 0, tail: { enabled: true } });
    const events: [SamplingReason, SamplingOutcome][] = [];
    const unsubscribe = stack.stats.subscribe({ onCount: (r, o) => events.push([r, o]) });
    for (let i = 0; i < 20; i++) {
      const root = tracer.startSpan("request", {}, ROOT_CONTEXT);
      const step = tracer.startSpan("shard", {}, trace.setSpan(ROOT_CONTEXT, root));
      if (i % 5 === 0) step.setStatus({ code: SpanStatusCode.ERROR });
      step.end();
      root.end();
    }
    unsubscribe();
    await stack.processor.forceFlush();
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(8); // 4 error traces × 2 spans
    expect(spans.every((s) => (s.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0 && s.spanContext().traceState?.get("ot") === undefined)).toBe(true);
    expect(events.filter(([r]) => r === "tail_error")).toHaveLength(4);
    expect(events.filter(([r]) => r === "tail_dropped")).toHaveLength(16);
    expect(stack.stats.snapshot().tail_error.sampled).toBe(4);
    await stack.close();
  });
});

describe("the SDK's values without the SDK", () => {
  it("SamplingDecision and the no-op span processor match @opentelemetry/sdk-trace-base", async () => {
    const sdk = await import("@opentelemetry/sdk-trace-base");
    const { SamplingDecision, NOOP_SPAN_PROCESSOR } = await import("../../../src/sampling/decision.ts");
    expect({ ...SamplingDecision }).toEqual({ NOT_RECORD: sdk.SamplingDecision.NOT_RECORD, RECORD: sdk.SamplingDecision.RECORD, RECORD_AND_SAMPLED: sdk.SamplingDecision.RECORD_AND_SAMPLED });
    await expect(NOOP_SPAN_PROCESSOR.forceFlush()).resolves.toBeUndefined();
  });
});
