/**
 * Actor spans: trace context travels in message headers (W3C `traceparent`/`tracestate`), locally
 * and over the NATS transport, whose headers carry them between nodes.
 *
 * - send: a `tell`/`ask` whose caller gave no headers gets the active context's (the gRPC server
 *   span for the coordinator's asks, the current turn's span for code in a turn that sends through
 *   a plain ref, e.g. a shard appending to its WAL actor);
 * - receive: a message that carries a trace context gets a child span `actor <type>`; the turn
 *   runs with it active (its logs carry its ids) and its own sends (`ctx.ask`/`ctx.tell`) carry
 *   it, so the receiving actors' spans are its children;
 * - the span ends when the turn ends; a failed turn records the error (status ERROR for server
 *   faults).
 *
 * Messages without trace context (timer ticks, internal traffic) get no span, and neither do those
 * of an unsampled trace: the parent-based sampler would drop them anyway, so the turn skips the
 * decision and its sends keep the unsampled context they carry. Install the observer only while
 * tracing runs: without it the runtime does no per-message work at all.
 */
import { ROOT_CONTEXT, context, trace, type Context } from "@opentelemetry/api";
import type { ActorSystemObserver, Headers, ReceiveEvent } from "../runtime/index.ts";
import { activeTraceHeaders, extractHeaders, injectHeaders, startSpan, type Span } from "../telemetry/index.ts";
import { endFailed, statusCodeOf } from "./tracing-interceptor.ts";

interface TurnSpan {
  readonly span: Span;
  readonly ctx: Context;
}

/** Whether a W3C `traceparent` (`00-<trace>-<span>-<flags>`) has the sampled flag set. */
function sampledFlag(traceparent: string): boolean {
  const flags = Number.parseInt(traceparent.slice(53, 55), 16);
  return traceparent.length >= 55 && (flags & 1) === 1;
}

export function tracingObserver(): ActorSystemObserver {
  // Keyed by the event object the runtime passes to beforeReceive, runReceive and messageProcessed.
  // Weak: a turn cut short by a forced stop never reaches messageProcessed, and its span is dropped.
  const turns = new WeakMap<ReceiveEvent, TurnSpan>();
  return {
    beforeReceive(event: ReceiveEvent): Headers | undefined {
      const headers = event.headers;
      const traceparent = headers.traceparent;
      if (traceparent === undefined || !sampledFlag(traceparent)) return undefined;
      const parent = extractHeaders(headers);
      const { kind, key } = event.address;
      const span = startSpan(`actor ${event.typeName}`, { "actor.kind": kind, "actor.key": key, "actor.message": event.typeName }, { parent });
      const ctx = trace.setSpan(parent, span);
      turns.set(event, { span, ctx });
      const out: Record<string, string> = { ...headers };
      injectHeaders(out, ctx);
      return out;
    },

    runReceive<T>(event: ReceiveEvent, receive: () => T): T {
      const turn = turns.get(event);
      // A turn outside a sampled trace runs in the empty context, not in whatever context the
      // mailbox pump inherited (possibly another request's trace), so its sends carry nothing.
      return context.with(turn === undefined ? ROOT_CONTEXT : turn.ctx, receive);
    },

    messageProcessed(event, _durationMs, error): void {
      const turn = turns.get(event);
      if (turn === undefined) return;
      turns.delete(event);
      if (error === undefined) turn.span.end();
      else endFailed(turn.span, statusCodeOf(error), error);
    },

    outboundHeaders(): Headers | undefined {
      return activeTraceHeaders();
    },
  };
}
