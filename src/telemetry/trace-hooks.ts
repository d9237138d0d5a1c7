/**
 * Tracing hooks for the components that own WAL commits, field steps and NATS ingest (see
 * docs/observability.md). With tracing off each is a boolean test and a direct call.
 *
 * A WAL group commit serves many writers at once: it keeps each writer's context when the write is
 * queued (`captureTraceContext`, a reference, no copy) and opens one `wal.commit` span per
 * transaction, a child of the first sampled writer (so that writer's trace shows gRPC → shard →
 * WAL commit) and linked to the other sampled writers.
 */
import { SpanKind, context, trace, type Attributes, type Context, type Link } from "@opentelemetry/api";
import { extractNatsHeaders, type NatsHeadersLike } from "./propagation.ts";
import { NOOP_SPAN, startSpan, withSpan, type Span } from "./spans.ts";
import { tracingState } from "./tracing-state.ts";

/** Links kept on one commit span at most (one transaction may carry thousands of writes). */
export const MAX_COMMIT_LINKS = 32;

/**
 * The active context when it belongs to a sampled trace, else undefined (always undefined while
 * tracing is off). Keep it with queued work that finishes later, e.g. a WAL write.
 */
export function captureTraceContext(): Context | undefined {
  if (!tracingState.active) return undefined;
  const ctx = context.active();
  const span = trace.getSpan(ctx);
  return span !== undefined && (span.spanContext().traceFlags & 1) === 1 ? ctx : undefined;
}

/**
 * Starts the span of one WAL group commit over writes queued with the given contexts (undefined
 * entries are writes outside a sampled trace). Returns NOOP_SPAN when none is sampled: commits of
 * untraced writes make no spans. The caller ends it (`recordSpanError` first on failure).
 */
export function startWalCommitSpan(contexts: Iterable<Context | undefined>, attributes?: Attributes): Span {
  if (!tracingState.active) return NOOP_SPAN;
  let parent: Context | undefined;
  const links: Link[] = [];
  for (const ctx of contexts) {
    if (ctx === undefined) continue;
    if (parent === undefined) {
      parent = ctx;
      continue;
    }
    if (links.length >= MAX_COMMIT_LINKS) break;
    const sc = trace.getSpanContext(ctx);
    if (sc !== undefined) links.push({ context: sc });
  }
  if (parent === undefined) return NOOP_SPAN;
  return startSpan("wal.commit", attributes, { parent, links });
}

/** Runs one force step in a `field.step` span (child of the active context, or a new trace). */
export function withFieldStepSpan<T>(attributes: Attributes, fn: (span: Span) => T): T {
  return withSpan("field.step", attributes, fn);
}

/**
 * Runs the handling of one NATS ingest message in a CONSUMER span whose parent is the trace
 * context of the message's headers (a new trace when it carries none).
 */
export function withNatsIngestSpan<T>(headers: NatsHeadersLike | undefined, subject: string, fn: (span: Span) => T, attributes?: Attributes): T {
  if (!tracingState.active) return fn(NOOP_SPAN);
  return withSpan(
    "nats.ingest",
    { "messaging.system": "nats", "messaging.destination.name": subject, "messaging.operation.type": "process", ...attributes },
    fn,
    { kind: SpanKind.CONSUMER, parent: extractNatsHeaders(headers) },
  );
}
