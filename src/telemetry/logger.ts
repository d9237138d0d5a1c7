/**
 * Structured logs: pino, one JSON object per line, ISO timestamps, level names, errors with
 * stack and cause. Every line written inside a span carries `trace_id`, `span_id` and
 * `trace_flags` of that span, so logs and traces join. Components log through child loggers
 * (`componentLogger(logger, "wal", { shard: 3 })`).
 */
import { isSpanContextValid, trace } from "@opentelemetry/api";
import { hostname } from "node:os";
import { pino, type DestinationStream, type Level, type Logger } from "pino";
import { ValidationError } from "../core/errors.ts";

export type { Logger };
export type LogLevel = Level | "silent";
export const LOG_LEVELS: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export interface LoggerOptions {
  /** Default info. */
  readonly level?: string;
  /** `name` field of every line. Default "neurograph". */
  readonly name?: string;
  /** Where lines go; default stderr, written synchronously so a crash loses no line. */
  readonly destination?: DestinationStream;
  /** Fields added to every line (besides pid and hostname). */
  readonly base?: Record<string, unknown>;
}

const NO_TRACE = Object.freeze({});

/** Trace fields of the active span (an empty object outside spans; no allocation then). */
function traceMixin(): object {
  const span = trace.getActiveSpan();
  if (span === undefined) return NO_TRACE;
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return NO_TRACE;
  return { trace_id: sc.traceId, span_id: sc.spanId, trace_flags: sc.traceFlags === 1 ? "01" : "00" };
}

/** Checks a level name; throws a ValidationError listing the allowed names. */
export function parseLogLevel(level: string, field = "log.level"): LogLevel {
  const l = level.trim().toLowerCase();
  const found = LOG_LEVELS.find((x) => x === l);
  if (found === undefined) {
    throw ValidationError.of("log level", [{ field, value: level, rule: "log_level", description: `must be one of ${LOG_LEVELS.join(", ")}` }]);
  }
  return found;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = parseLogLevel(options.level ?? "info");
  const destination = options.destination ?? pino.destination({ dest: 2, sync: true });
  return pino(
    {
      level,
      name: options.name ?? "neurograph",
      base: { pid: process.pid, hostname: hostname(), ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.errWithCause, error: pino.stdSerializers.errWithCause },
      mixin: traceMixin,
      // Pino merges by mutating the mixin's object: skip that for the shared empty one.
      mixinMergeStrategy: (mergeObject, mixinObject) => (mixinObject === NO_TRACE ? mergeObject : Object.assign(mixinObject, mergeObject)),
    },
    destination,
  );
}

/** A child logger for one component (`component` field), with optional fixed fields. */
export function componentLogger(logger: Logger, component: string, bindings: Record<string, unknown> = {}): Logger {
  return logger.child({ component, ...bindings });
}
