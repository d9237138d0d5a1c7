/**
 * Sampling cost. `obs.sampler_decision`: one `shouldSample` of the standard stack
 * (KillSwitch(ParentBased(HeadControls(ConsistentProbability(0.01))))) for root spans, side by side
 * with OpenTelemetry's ParentBased(TraceIdRatioBased(0.01)) in the same run and process
 * (`obs.sampler_decision_otel`); the same for children of a sampled local parent; the consistent
 * sampler alone; the head-control, dynamic and kill-switch paths; the tail processor per span.
 *
 * Each group runs in its own child process (so one group's JIT feedback cannot slow another's
 * call sites); inside a group, cases are interleaved window by window so ours and
 * OpenTelemetry's see the same machine. `npm run bench -- obs [group]` runs one group.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
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
  Threshold,
  createSamplingStack,
  seededRandom,
  withHeadControls,
} from "../src/sampling/index.ts";
import { emit, gc, machine } from "./lib/report.ts";

const GROUPS = ["decision", "child", "variants", "tail"] as const;
type Group = (typeof GROUPS)[number];

const IDS = 4096;
const CALLS = 100_000;
const ROUNDS = 40;
const RATE = 0.01;
const ids = new SeededIdGenerator(seededRandom(42));
let sink = 0;

/**
 * CPU time of this process (user + system), in seconds. On a machine shared with other work,
 * wall-clock windows include time spent descheduled; CPU time does not. On a quiet machine the
 * two agree.
 */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

interface Case {
  readonly name: string;
  readonly sampler: Sampler;
  readonly contexts: readonly Context[];
  readonly traceIds: readonly string[];
  readonly details: Record<string, unknown>;
}

/** One timed window of CALLS decisions, in CPU seconds. */
function window(c: Case): number {
  const { sampler, contexts, traceIds } = c;
  const attributes = {};
  const t0 = cpuSeconds();
  let acc = 0;
  for (let i = 0; i < CALLS; i++) {
    const k = i & (IDS - 1);
    acc += sampler.shouldSample(contexts[k]!, traceIds[k]!, "ingest", SpanKind.SERVER, attributes, []).decision;
  }
  sink += acc;
  return cpuSeconds() - t0;
}

/** Nanoseconds per shouldSample of each case: the best of ROUNDS interleaved windows. */
function measure(cases: readonly Case[]): void {
  gc();
  const best = cases.map(() => Infinity);
  for (let round = 0; round < ROUNDS + 3; round++) {
    cases.forEach((c, i) => {
      const s = window(c);
      if (round >= 3) best[i] = Math.min(best[i]!, s);
    });
  }
  const env = { machine: machine(), calls: CALLS, rounds: ROUNDS, rate: RATE, clock: "process CPU time, best window" };
  cases.forEach((c, i) => emit(c.name, (best[i]! * 1e9) / CALLS, "ns", { ...env, ...c.details }));
}

function rootIds(): string[] {
  return Array.from({ length: IDS }, () => ids.generateTraceId());
}

function same<T>(value: T): T[] {
  return Array.from({ length: IDS }, () => value);
}

function groupDecision(): void {
  const traceIds = rootIds();
  const stack = createSamplingStack({ baseRate: RATE }, { timers: false });
  const otel = new OtelParentBasedSampler({ root: new TraceIdRatioBasedSampler(RATE) });
  const contexts = same(ROOT_CONTEXT);
  measure([
    { name: "obs.sampler_decision", sampler: stack.sampler, contexts, traceIds, details: { workload: "root span", stack: stack.sampler.toString(), budget_ns: 200 } },
    { name: "obs.sampler_decision_otel", sampler: otel, contexts, traceIds, details: { workload: "root span", stack: otel.toString() } },
  ]);
}

function groupChild(): void {
  // Children of sampled parents: trace ids a 1 % sampler keeps (R >= T), as in a real trace.
  const keep = Threshold.fromProbability(RATE);
  const traceIds: string[] = [];
  while (traceIds.length < IDS) {
    const id = ids.generateTraceId();
    if (keep.sampledTraceId(id)) traceIds.push(id);
  }
  const contexts = traceIds.map((traceId) =>
    trace.setSpanContext(ROOT_CONTEXT, {
      traceId,
      spanId: ids.generateSpanId(),
      traceFlags: TraceFlags.SAMPLED,
      isRemote: false,
      traceState: createTraceState(`ot=th:${keep.tvalue}`),
    }),
  );
  const stack = createSamplingStack({ baseRate: RATE }, { timers: false });
  const otel = new OtelParentBasedSampler({ root: new TraceIdRatioBasedSampler(RATE) });
  measure([
    { name: "obs.sampler_decision_child", sampler: stack.sampler, contexts, traceIds, details: { workload: "child of a sampled local parent with th" } },
    { name: "obs.sampler_decision_child_otel", sampler: otel, contexts, traceIds, details: { workload: "child of a sampled local parent" } },
  ]);
}

function groupVariants(): void {
  const traceIds = rootIds();
  const roots = same(ROOT_CONTEXT);
  const stack = createSamplingStack({ baseRate: RATE }, { timers: false });
  const head = traceIds.map(() => withHeadControls(ROOT_CONTEXT, { "x-sampling-priority": "high" }, true));
  measure([
    { name: "obs.sampler_consistent", sampler: new ConsistentProbabilitySampler({ rate: RATE }), contexts: roots, traceIds, details: { workload: "root span, ConsistentProbabilitySampler alone" } },
    { name: "obs.sampler_head_controls", sampler: stack.sampler, contexts: head, traceIds, details: { workload: "root span, authenticated x-sampling-priority: high" } },
    {
      name: "obs.sampler_dynamic",
      sampler: createSamplingStack({ baseRate: RATE, dynamic: { enabled: true } }, { timers: false }).sampler,
      contexts: roots,
      traceIds,
      details: { workload: "root span, standard stack with dynamic rates, one operation" },
    },
    { name: "obs.sampler_disabled", sampler: createSamplingStack({ enabled: false }, { timers: false }).sampler, contexts: roots, traceIds, details: { workload: "kill switch (tracing off)" } },
  ]);
}

/**
 * Tail processor cost per ended span: traces of 1 root + 4 children recorded without the sampled
 * flag; 1 in 50 has an error, 1 in 10 a slow root. A fresh processor per run, so every trace is new.
 */
function groupTail(): void {
  const TRACES = 20_000;
  const SPANS_PER_TRACE = 5;
  const hr = (ms: number): HrTime => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];
  const spans: ReadableSpan[] = [];
  for (let t = 0; t < TRACES; t++) {
    const traceId = ids.generateTraceId();
    const rootId = ids.generateSpanId();
    for (let s = 1; s <= SPANS_PER_TRACE; s++) {
      const isRoot = s === SPANS_PER_TRACE;
      const spanContext = { traceId, spanId: isRoot ? rootId : ids.generateSpanId(), traceFlags: TraceFlags.NONE };
      const error = !isRoot && s === 2 && t % 50 === 0;
      const fake: Partial<ReadableSpan> = {
        name: isRoot ? "grpc.ingest" : "shard.ask",
        kind: SpanKind.INTERNAL,
        spanContext: () => spanContext,
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
  let best = Infinity;
  for (let round = 0; round < 17; round++) {
    const tail = new TailSamplingProcessor({ enabled: true }, { downstream: new NoopSpanProcessor(), sweepIntervalMs: false });
    const t0 = cpuSeconds();
    for (const s of spans) tail.onEnd(s);
    const seconds = cpuSeconds() - t0;
    if (round >= 2) best = Math.min(best, seconds);
    sink += tail.pendingTraces;
  }
  emit("obs.tail_per_span", (best * 1e9) / spans.length, "ns", {
    machine: machine(),
    clock: "process CPU time, best of 15",
    spans: spans.length,
    spansPerTrace: SPANS_PER_TRACE,
    errorShare: 0.02,
    slowShare: 0.1,
  });
}

const RUN: Record<Group, () => void> = { decision: groupDecision, child: groupChild, variants: groupVariants, tail: groupTail };
const requested = process.argv[2];

if (requested !== undefined && (GROUPS as readonly string[]).includes(requested)) {
  RUN[requested as Group]();
  if (sink === -1) console.error("unreachable");
} else {
  const self = fileURLToPath(import.meta.url);
  let failed = false;
  for (const group of GROUPS) {
    const r = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", self, group], { stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) {
      console.error(`obs.sampler: group ${group} failed with ${r.status ?? r.signal}`);
      failed = true;
    }
  }
  if (failed) process.exit(1);
}
