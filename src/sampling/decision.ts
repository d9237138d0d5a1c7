/**
 * Shared pieces of every sampler in this folder: immutable cached results (the common paths
 * allocate nothing), the consistent R >= T decision with `rv` support, and the small internal
 * interface through which samplers compose without looking the parent up again.
 */
import { createTraceState, trace, type Attributes, type Context, type TraceState } from "@opentelemetry/api";
import type { SamplingDecision as SdkDecision, Sampler, SamplingResult, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { Threshold } from "./threshold.ts";
import { otInfo, setThreshold, eraseThreshold, OT_KEY } from "./tracestate.ts";

/**
 * The SDK's `SamplingDecision` values, without loading the tracing SDK (~0.1 s) into a node that
 * traces nothing: samplers are built at every start, the SDK is imported only when tracing is on.
 */
export const SamplingDecision: {
  readonly NOT_RECORD: SdkDecision.NOT_RECORD;
  readonly RECORD: SdkDecision.RECORD;
  readonly RECORD_AND_SAMPLED: SdkDecision.RECORD_AND_SAMPLED;
} = Object.freeze({ NOT_RECORD: 0, RECORD: 1, RECORD_AND_SAMPLED: 2 });

/** A span processor that does nothing (the SDK's `NoopSpanProcessor`, without loading the SDK). */
export const NOOP_SPAN_PROCESSOR: SpanProcessor = Object.freeze({
  onStart: () => undefined,
  onEnd: () => undefined,
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
});

/** NOT_RECORD, tracestate unchanged. */
export const DROP: SamplingResult = Object.freeze({ decision: SamplingDecision.NOT_RECORD });
/** RECORD without the sampled flag (spans reach processors, e.g. tail sampling), tracestate unchanged. */
export const RECORD_ONLY: SamplingResult = Object.freeze({ decision: SamplingDecision.RECORD });
/** RECORD_AND_SAMPLED, tracestate unchanged. */
export const SAMPLE_KEEP_STATE: SamplingResult = Object.freeze({ decision: SamplingDecision.RECORD_AND_SAMPLED });

const rootResults = new WeakMap<Threshold, SamplingResult>();

/** The result for a span sampled with threshold `th`: `th` written into the `ot` entry. */
export function sampledWith(th: Threshold, parentTs: TraceState | undefined): SamplingResult {
  if (parentTs === undefined) {
    let r = rootResults.get(th);
    if (r === undefined) {
      r = Object.freeze({ decision: SamplingDecision.RECORD_AND_SAMPLED, traceState: createTraceState(`${OT_KEY}=th:${th.tvalue}`) });
      rootResults.set(th, r);
    }
    return r;
  }
  return Object.freeze({ decision: SamplingDecision.RECORD_AND_SAMPLED, traceState: setThreshold(parentTs, th) });
}

/** A NOT_RECORD result whose context carries no threshold (a dropped span has no probability). */
export function droppedWith(parentTs: TraceState | undefined): SamplingResult {
  if (parentTs === undefined || !otInfo(parentTs).hasTh) return DROP;
  return Object.freeze({ decision: SamplingDecision.NOT_RECORD, traceState: eraseThreshold(parentTs) });
}

/**
 * The consistent decision R >= T. R is the explicit `rv` of the parent's tracestate when present
 * and valid, else the trace id's least-significant 56 bits.
 */
export function decideConsistent(th: Threshold, traceId: string, parentTs: TraceState | undefined): SamplingResult {
  if (parentTs === undefined) return th.sampledTraceId(traceId) ? sampledWith(th, undefined) : DROP;
  const info = otInfo(parentTs);
  const sampled = info.rv !== undefined ? th.sampledHex(info.rv, 0) : th.sampledTraceId(traceId);
  return sampled ? sampledWith(th, parentTs) : droppedWith(parentTs);
}

/** The tracestate of the context's parent span, when it belongs to this trace. */
export function parentTraceState(context: Context, traceId: string): TraceState | undefined {
  const sc = trace.getSpanContext(context);
  return sc !== undefined && sc.traceId === traceId ? sc.traceState : undefined;
}

/** True for RECORD_AND_SAMPLED. */
export function isSampled(r: SamplingResult): boolean {
  return r.decision === SamplingDecision.RECORD_AND_SAMPLED;
}

/** Use the sampler's own reason when counting. */
export const OWN_REASON = -1;

/**
 * A sampler that can decide a span starting a trace in this process, with the parent's
 * tracestate already looked up and the rate scaled by `multiplier` (a priority). `reason`
 * overrides the counted reason (a stats code), or is OWN_REASON.
 */
export interface RootSampler extends Sampler {
  decideRoot(
    context: Context,
    traceId: string,
    spanName: string,
    attributes: Attributes,
    parentTs: TraceState | undefined,
    multiplier: number,
    reason: number,
  ): SamplingResult;
}

export function isRootSampler(s: Sampler): s is RootSampler {
  return typeof (s as Partial<RootSampler>).decideRoot === "function";
}
