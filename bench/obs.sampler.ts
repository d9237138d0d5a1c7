/**
 * Sampling cost. `obs.sampler_decision`: one `shouldSample` of the standard stack
 * (KillSwitch(ParentBased(HeadControls(ConsistentProbability(0.01))))) for root spans, side by side
 * with OpenTelemetry's ParentBased(TraceIdRatioBased(0.01)) in the same run
 * (`obs.sampler_decision_otel`); the same for children of a sampled local parent; the consistent
 * sampler alone; the dynamic and head-control paths; and the tail processor's cost per span.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, createTraceState, trace, type Context, type HrTime } from "@opentelemetry/api";
import {
  NoopSpanProcessor,
  ParentBasedSampler as OtelParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Sampler,
} from "@opentelemetry/sdk-trace-base";
import {
  ConsistentProbabilitySampler,
  SeededIdGenerator,
  TailSamplingProcessor,
  createSamplingStack,
  seededRandom,
  withHeadControls,
} from "../src/sampling/index.ts";
import { bestOf, emit, gc, machine } from "./lib/report.ts";

const IDS = 4096;
const CALLS = 200_000;
const RATE = 0.01;
const ids = new SeededIdGenerator(seededRandom(42));
const traceIds = Array.from({ length: IDS }, () => ids.generateTraceId());
const rootContexts: Context[] = traceIds.map(() => ROOT_CONTEXT);
const childContexts: Context[] = traceIds.map((traceId) =>
  trace.setSpanContext(ROOT_CONTEXT, {
    traceId,
    spanId: ids.generateSpanId(),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: false,
    traceState: createTraceState("ot=th:fd70a"),
  }),
);
const headContexts: Context[] = traceIds.map(() => withHeadControls(ROOT_CONTEXT, { "x-sampling-priority": "high" }, true));
const noAttributes = {};
let sink = 0;

/** Nanoseconds per shouldSample: the best of 40 short runs, so a busy machine disturbs it less. */
function nsPerDecision(sampler: Sampler, contexts: readonly Context[]): number {
  const seconds = bestOf(40, 5, () => {
    let acc = 0;
    for (let i = 0; i < CALLS; i++) {
      const k = i & (IDS - 1);
      acc += sampler.shouldSample(contexts[k]!, traceIds[k]!, "ingest", SpanKind.SERVER, noAttributes, []).decision;
    }
    sink += acc;
  });
  return (seconds * 1e9) / CALLS;
}

const env = { machine: machine(), calls: CALLS, rate: RATE };
const stack = createSamplingStack({ baseRate: RATE }, { timers: false });
const otel = new OtelParentBasedSampler({ root: new TraceIdRatioBasedSampler(RATE) });

// Interleave ours and OpenTelemetry's so both see the same machine state.
gc();
const oursRoot = nsPerDecision(stack.sampler, rootContexts);
const otelRoot = nsPerDecision(otel, rootContexts);
const oursChild = nsPerDecision(stack.sampler, childContexts);
const otelChild = nsPerDecision(otel, childContexts);
emit("obs.sampler_decision", oursRoot, "ns", { ...env, workload: "root span", stack: stack.sampler.toString(), budget_ns: 200 });
emit("obs.sampler_decision_otel", otelRoot, "ns", { ...env, workload: "root span", stack: otel.toString() });
emit("obs.sampler_decision_child", oursChild, "ns", { ...env, workload: "child of a sampled local parent with th" });
emit("obs.sampler_decision_child_otel", otelChild, "ns", { ...env, workload: "child of a sampled local parent" });

const consistent = new ConsistentProbabilitySampler({ rate: RATE });
emit("obs.sampler_consistent", nsPerDecision(consistent, rootContexts), "ns", { ...env, workload: "root span" });

emit("obs.sampler_head_controls", nsPerDecision(stack.sampler, headContexts), "ns", {
  ...env,
  workload: "root span, authenticated x-sampling-priority: high",
});

const dynamicStack = createSamplingStack({ baseRate: RATE, dynamic: { enabled: true } }, { timers: false });
emit("obs.sampler_dynamic", nsPerDecision(dynamicStack.sampler, rootContexts), "ns", { ...env, workload: "root span, one operation" });

const disabled = createSamplingStack({ enabled: false }, { timers: false });
emit("obs.sampler_disabled", nsPerDecision(disabled.sampler, rootContexts), "ns", { ...env, workload: "kill switch" });

// Tail processor: traces of 1 root + 4 children, recorded without the sampled flag; 1 in 50 has
// an error, 1 in 10 a slow root. Fresh processor per run so every trace is new to it.
const TRACES = 20_000;
const SPANS_PER_TRACE = 5;
function hr(ms: number): HrTime {
  return [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];
}
const spans: ReadableSpan[] = [];
for (let t = 0; t < TRACES; t++) {
  const traceId = ids.generateTraceId();
  const rootId = ids.generateSpanId();
  for (let s = 1; s <= SPANS_PER_TRACE; s++) {
    const isRoot = s === SPANS_PER_TRACE;
    const spanId = isRoot ? rootId : ids.generateSpanId();
    const error = !isRoot && s === 2 && t % 50 === 0;
    const fake: Partial<ReadableSpan> = {
      name: isRoot ? "grpc.ingest" : "shard.ask",
      kind: SpanKind.INTERNAL,
      spanContext: () => ({ traceId, spanId, traceFlags: TraceFlags.NONE }),
      ...(isRoot ? {} : { parentSpanContext: { traceId, spanId: rootId, traceFlags: TraceFlags.NONE } }),
      startTime: hr(0),
      endTime: hr(5),
      duration: hr(isRoot && t % 10 === 0 ? 150 : 5),
      status: { code: error ? SpanStatusCode.ERROR : SpanStatusCode.UNSET },
      attributes: { "neurograph.shard": s, "rpc.method": "Ingest" },
      links: [],
      events: [],
      ended: true,
    };
    spans.push(fake as ReadableSpan);
  }
}
gc();
const tailSeconds = bestOf(15, 2, () => {
  const tail = new TailSamplingProcessor({ enabled: true }, { downstream: new NoopSpanProcessor(), sweepIntervalMs: false });
  for (const s of spans) tail.onEnd(s);
  sink += tail.pendingTraces;
});
emit("obs.tail_per_span", (tailSeconds * 1e9) / spans.length, "ns", {
  machine: machine(),
  spans: spans.length,
  spansPerTrace: SPANS_PER_TRACE,
  errorShare: 0.02,
  slowShare: 0.1,
});

if (sink === -1) console.error("unreachable");
