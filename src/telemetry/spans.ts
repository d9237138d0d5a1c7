/**
 * Span helpers. `withSpan` runs a function (sync or async) inside a child span of the active (or
 * given) context, records errors (status ERROR plus an `exception` event) and ends the span when
 * the function returns or its promise settles. With tracing off it is a direct call.
 */
import {
  INVALID_SPAN_CONTEXT, SpanKind, SpanStatusCode, context, isSpanContextValid, trace,
  type Attributes, type Context, type Link, type Span,
} from "@opentelemetry/api";
import { NeuroGraphError } from "../core/errors.ts";
import { tracingState } from "./tracing-state.ts";

export { SpanKind };
export type { Attributes, Context, Span };

export interface SpanOptions {
  /** INTERNAL by default; SERVER for gRPC/NATS handlers, CLIENT/PRODUCER for outgoing calls. */
  readonly kind?: SpanKind;
  /** Parent context (e.g. from `extractGrpcMetadata`); default the active context. */
  readonly parent?: Context;
  readonly links?: Link[];
  /** Start a new trace even if the parent has a span. */
  readonly root?: boolean;
}

/** The span handed to callbacks while tracing is off: every method is a no-op. */
export const NOOP_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === "object" || typeof v === "function") && typeof (v as { then?: unknown }).then === "function";
}

/** Marks a span failed: status ERROR with the message, an `exception` event, and `error.type`. */
export function recordSpanError(span: Span, err: unknown): void {
  if (!span.isRecording()) return;
  if (err instanceof Error) {
    span.recordException(err);
    span.setAttribute("error.type", err instanceof NeuroGraphError ? err.code : err.name);
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${err.name}: ${err.message}` });
  } else {
    const message = String(err);
    span.recordException(message);
    span.setStatus({ code: SpanStatusCode.ERROR, message });
  }
}

/**
 * Runs `fn` in a new span named `name`. A returned promise is passed through and the span ends
 * when it settles; a throw or rejection is recorded and re-raised unchanged.
 */
export function withSpan<T>(name: string, attributes: Attributes | undefined, fn: (span: Span) => T, options?: SpanOptions): T {
  if (!tracingState.active) return fn(NOOP_SPAN);
  const parent = options?.parent ?? context.active();
  const span = tracingState.tracer.startSpan(
    name,
    { kind: options?.kind ?? SpanKind.INTERNAL, attributes, links: options?.links, root: options?.root },
    parent,
  );
  const ctx = trace.setSpan(parent, span);
  // An unsampled span records nothing; it only carries the trace id (and "not sampled") to children.
  if (!span.isRecording()) return context.with(ctx, fn, undefined, span);
  let result: T;
  try {
    result = context.with(ctx, fn, undefined, span);
  } catch (err) {
    recordSpanError(span, err);
    span.end();
    throw err;
  }
  if (isThenable(result)) {
    return result.then(
      (value) => {
        span.end();
        return value;
      },
      (err: unknown) => {
        recordSpanError(span, err);
        span.end();
        throw err;
      },
    ) as unknown as T;
  }
  span.end();
  return result;
}

/** Starts a span the caller ends (streams, callbacks). Returns NOOP_SPAN when tracing is off. */
export function startSpan(name: string, attributes?: Attributes, options?: SpanOptions): Span {
  if (!tracingState.active) return NOOP_SPAN;
  return tracingState.tracer.startSpan(
    name,
    { kind: options?.kind ?? SpanKind.INTERNAL, attributes, links: options?.links, root: options?.root },
    options?.parent ?? context.active(),
  );
}

/** Runs `fn` with `span` as the active span (for spans from `startSpan`). */
export function withActiveSpan<T>(span: Span, fn: () => T, parent?: Context): T {
  if (!tracingState.active) return fn();
  return context.with(trace.setSpan(parent ?? context.active(), span), fn);
}

export interface TraceIds {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
}

/** Ids of the active span, or undefined when there is none (or tracing is off). */
export function activeTraceIds(): TraceIds | undefined {
  const span = trace.getActiveSpan();
  if (span === undefined) return undefined;
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return undefined;
  return { traceId: sc.traceId, spanId: sc.spanId, sampled: (sc.traceFlags & 1) === 1 };
}
