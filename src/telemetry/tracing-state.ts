/**
 * Process-wide tracing switch read by the span and propagation helpers. While `active` is false
 * (the default, and the kill switch) those helpers call straight through: no tracer, no context
 * switch, no header parsing, no allocation.
 */
import { trace, type Tracer } from "@opentelemetry/api";

export const TRACER_NAME = "neurograph";

export const tracingState: { active: boolean; tracer: Tracer } = {
  active: false,
  tracer: trace.getTracer(TRACER_NAME),
};
