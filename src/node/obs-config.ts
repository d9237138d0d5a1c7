/**
 * Observability options of `neurograph serve` (spread into `serveConfigSchema`) and the mapping
 * from the constitution's `sampling` section plus these options to the sampling stack's
 * configuration. OTLP export itself is configured by the standard `OTEL_*` variables.
 */
import type { SamplingParams } from "../core/constitution/index.ts";
import { ConfigValueError, boolean, duration, oneOf, option, optional, type ValueParser } from "../runtime/index.ts";
import type { SamplingConfigPatch } from "../sampling/index.ts";

/** A decimal in [0, 1]. */
function fraction(): ValueParser<number> {
  const check = (n: number): number => {
    if (!(Number.isFinite(n) && n >= 0 && n <= 1)) throw new ConfigValueError(`${n} is not in [0, 1]`);
    return n;
  };
  return {
    expected: "a decimal from 0 to 1, e.g. 0.01",
    parse(text) {
      const t = text.trim();
      if (!/^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(t)) throw new ConfigValueError(undefined);
      return check(Number(t));
    },
    fromJson(value) {
      if (typeof value === "number") return check(value);
      if (typeof value === "string") return this.parse(value, { source: "file", baseDir: "" });
      throw new ConfigValueError(`expected a number, got ${JSON.stringify(value) ?? typeof value}`);
    },
  };
}

export const TRACING_MODES = ["auto", "on", "off"] as const;
export type TracingMode = (typeof TRACING_MODES)[number];
export const TRACE_HEADER_POLICIES = ["authenticated", "always", "never"] as const;

export const obsConfigSchema = {
  tracing: option("tracing", {
    default: "auto",
    description:
      "OpenTelemetry tracing: auto = on when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER is set, on = always (default OTLP endpoint), off = kill switch (nothing traced, no cost)",
    parser: oneOf(TRACING_MODES),
  }),
  traceSampleRate: option("traceSampleRate", {
    default: "",
    description: "head sampling rate of new traces (default: the constitution's sampling.base_rate)",
    parser: optional(fraction()),
  }),
  traceTail: option("traceTail", {
    key: "tracing.tail",
    default: "false",
    description: "tail sampling: buffer each trace and keep every trace with an error and a share of slow ones (constitution sampling.slow_*)",
    parser: boolean(),
  }),
  traceHeaders: option("traceHeaders", {
    key: "tracing.headers",
    default: "authenticated",
    description:
      "who may steer sampling with x-force-trace / x-sampling-priority / x-sampling-rate: authenticated (the admin bearer token; anonymous callers as the constitution allows), always, never",
    parser: oneOf(TRACE_HEADER_POLICIES),
  }),
  slowTurn: option("slowTurn", {
    key: "blackBox.slowTurn",
    default: "1s",
    description: "an actor turn or gRPC call slower than this is recorded in the black box as a slow step",
    parser: duration({ minMs: 1, maxMs: 3_600_000 }),
  }),
};

/** The head-control headers, and whether the constitution lets anonymous callers use each. */
export interface AnonymousHeaderRights {
  readonly "x-force-trace": boolean;
  readonly "x-sampling-priority": boolean;
  readonly "x-sampling-rate": boolean;
}

export function anonymousHeaderRights(s: SamplingParams): AnonymousHeaderRights {
  return { "x-force-trace": s.allowForceTrace, "x-sampling-priority": s.allowClientPriority, "x-sampling-rate": s.allowClientRate };
}

export interface SamplingOverrides {
  readonly traceSampleRate?: number | undefined;
  readonly traceTail: boolean;
  readonly traceHeaders: (typeof TRACE_HEADER_POLICIES)[number];
}

/**
 * The sampling configuration a constitution's `sampling` section and the node's options ask for:
 * base rate (the option overrides the constitution), dynamic rate towards
 * `target_traces_per_second` (0 = off) within [min_rate, max_rate], the tail's slow rule, and who
 * may use the head-control headers.
 */
export function samplingPatch(s: SamplingParams, o: SamplingOverrides): SamplingConfigPatch {
  const baseRate = o.traceSampleRate ?? s.baseRate;
  return {
    baseRate,
    headControls: { policy: o.traceHeaders },
    dynamic: {
      enabled: s.targetTracesPerSecond > 0 && o.traceSampleRate === undefined,
      ...(s.targetTracesPerSecond > 0 ? { targetTracesPerSecond: s.targetTracesPerSecond } : {}),
      intervalMs: s.adjustIntervalMs,
      minRate: s.minRate,
      maxRate: s.maxRate,
    },
    tail: { enabled: o.traceTail, slowThresholdMs: s.slowThresholdMs, slowShare: s.slowKeepShare },
  };
}
