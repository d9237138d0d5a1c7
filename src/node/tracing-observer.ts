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
 * Messages without trace context (timer ticks, internal traffic) get no span. Install the observer
 * only while tracing runs: without it the runtime does no per-message work at all.
 */
import { context, trace, type Context } from "@opentelemetry/api";
import type { ActorSystemObserver, Headers, ReceiveEvent } from "../runtime/index.ts";
import { extractHeaders, injectHeaders, startSpan, traceHeaders, type Span } from "../telemetry/index.ts";
import { endFailed, statusCodeOf } from "./tracing-interceptor.ts";

interface TurnSpan {
  readonly span: Span;
  readonly ctx: Context;
}

export function tracingObserver(): ActorSystemObserver {
  // Keyed by the event object the runtime passes to beforeReceive, runReceive and messageProcessed.
  // Weak: a turn cut short by a forced stop never reaches messageProcessed, and its span is dropped.
  const turns = new WeakMap<ReceiveEvent, TurnSpan>();
  return {
    beforeReceive(event: ReceiveEvent): Headers | undefined {
      const headers = event.headers;
      if (headers.traceparent === undefined) return undefined;
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
      return turn === undefined ? receive() : context.with(turn.ctx, receive);
    },

    messageProcessed(event, _durationMs, error): void {
      const turn = turns.get(event);
      if (turn === undefined) return;
      turns.delete(event);
      if (error === undefined) turn.span.end();
      else endFailed(turn.span, statusCodeOf(error), error);
    },

    outboundHeaders(): Headers | undefined {
      return traceHeaders();
    },
  };
}
