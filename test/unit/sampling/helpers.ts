/** Shared test fixtures for the sampling tests (not a test file itself). */
import { ROOT_CONTEXT, SpanKind, TraceFlags, createTraceState, trace, type Attributes, type Context } from "@opentelemetry/api";
import type { Sampler, SamplingResult } from "@opentelemetry/sdk-trace-base";

/** A trace id whose 56-bit randomness is the given 14 hex digits. */
export function idWith(randomness: string): string {
  if (randomness.length !== 14) throw new Error("randomness needs 14 hex digits");
  return `0123456789abcdef01${randomness}`;
}

export interface ParentSpec {
  readonly traceId: string;
  readonly sampled: boolean;
  readonly remote?: boolean;
  readonly traceState?: string;
  readonly spanId?: string;
}

/** A context whose (non-recording) parent span has the given span context. */
export function parentContext(p: ParentSpec, base: Context = ROOT_CONTEXT): Context {
  return trace.setSpanContext(base, {
    traceId: p.traceId,
    spanId: p.spanId ?? "00f067aa0ba902b7",
    traceFlags: p.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: p.remote ?? false,
    ...(p.traceState === undefined ? {} : { traceState: createTraceState(p.traceState) }),
  });
}

export function decide(sampler: Sampler, ctx: Context, traceId: string, name = "op", attributes: Attributes = {}): SamplingResult {
  return sampler.shouldSample(ctx, traceId, name, SpanKind.SERVER, attributes, []);
}

/** The `ot` entry a result leaves on the new span (the parent's when the result does not set one). */
export function otOf(r: SamplingResult, ctx: Context = ROOT_CONTEXT): string | undefined {
  const ts = r.traceState ?? trace.getSpanContext(ctx)?.traceState;
  return ts?.get("ot");
}
