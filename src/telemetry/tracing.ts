/**
 * Tracing setup: an OpenTelemetry NodeSDK with our sampler, explicit span processors, W3C trace
 * context + baggage propagation and OTLP export configured by the standard `OTEL_*` variables.
 * No auto-instrumentation: NeuroGraph creates its spans explicitly (`withSpan`).
 *
 * Tracing is on only when something would receive the spans: an exporter named by
 * `OTEL_TRACES_EXPORTER`, an OTLP endpoint in `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`, `enabled: true`,
 * or processors/exporters passed in code. Otherwise (and with `OTEL_SDK_DISABLED=true` or
 * `enabled: false`, the kill switch) nothing is registered, the SDK is not even loaded, and the
 * helpers cost one boolean test.
 */
import { context, diag, DiagLogLevel, propagation, trace, type Attributes, type DiagLogger } from "@opentelemetry/api";
import type { Sampler, SpanExporter, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { Logger } from "pino";
import { FailedPreconditionError, ValidationError, type FieldViolation } from "../core/errors.ts";
import { SampledContextManager } from "./context-manager.ts";
import { TRACER_NAME, tracingState } from "./tracing-state.ts";

export interface TracingOptions {
  /** `service.name`; `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` override it. */
  readonly serviceName: string;
  readonly serviceVersion?: string;
  /** false = kill switch; true = on even without OTLP settings (default endpoint); unset = decided by the environment. */
  readonly enabled?: boolean;
  /** Root sampler (e.g. from `src/sampling`). Without one: `OTEL_TRACES_SAMPLER`, else parent-based always-on. */
  readonly sampler?: Sampler;
  /** Processors used as given (e.g. a SimpleSpanProcessor over an InMemorySpanExporter in tests). */
  readonly spanProcessors?: readonly SpanProcessor[];
  /** Replaces the exporters the environment would configure. */
  readonly exporter?: SpanExporter;
  /** How an exporter is attached; default a BatchSpanProcessor (honours `OTEL_BSP_*`). Use it for tail sampling. */
  readonly wrapExporter?: (exporter: SpanExporter) => SpanProcessor;
  /** Extra resource attributes (e.g. `service.instance.id`, node id). */
  readonly resourceAttributes?: Attributes;
  /** Receives the SDK's own diagnostics (export failures) as log lines; level from `OTEL_LOG_LEVEL`, default warn. */
  readonly logger?: Logger;
  /** Environment to read (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface TracingHandle {
  readonly enabled: boolean;
  /** Why tracing is on or off, for the startup log. */
  readonly reason: string;
  /** Exports every finished span now. */
  forceFlush(): Promise<void>;
  /** Flushes and unregisters (bounded by `timeoutMs`, default 5000); idempotent. */
  shutdown(options?: { readonly timeoutMs?: number }): Promise<void>;
}

export type TraceExporterName = "otlp" | "console";
export type OtlpProtocol = "http/protobuf" | "http/json" | "grpc";

export interface TracingDecision {
  readonly enabled: boolean;
  readonly reason: string;
  /** Exporters to build from the environment (empty when `exporter` is given in code). */
  readonly exporters: readonly TraceExporterName[];
  readonly protocol: OtlpProtocol;
}

const SAMPLERS = ["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"];
const PROTOCOLS: readonly OtlpProtocol[] = ["http/protobuf", "http/json", "grpc"];

function isTrue(v: string | undefined): boolean {
  return v !== undefined && v.trim().toLowerCase() === "true";
}

function nonEmpty(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t === undefined || t === "" ? undefined : t;
}

/**
 * Decides whether tracing runs and with which exporters, validating every `OTEL_*` value it reads
 * (a ValidationError lists each bad variable). Pure: reads only `env`.
 */
export function decideTracing(options: Omit<TracingOptions, "logger">, env: Readonly<Record<string, string | undefined>>): TracingDecision {
  const violations: FieldViolation[] = [];
  const protocolText = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_PROTOCOL) ?? "http/protobuf";
  const protocol = PROTOCOLS.find((p) => p === protocolText);
  if (protocol === undefined) {
    violations.push({ field: "OTEL_EXPORTER_OTLP_PROTOCOL", value: protocolText, rule: "otlp_protocol", description: "must be http/protobuf, http/json or grpc" });
  }
  const listed = nonEmpty(env.OTEL_TRACES_EXPORTER)?.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const name of listed ?? []) {
    if (name !== "otlp" && name !== "console" && name !== "none") {
      violations.push({ field: "OTEL_TRACES_EXPORTER", value: name, rule: "trace_exporter", description: "must be otlp, console or none (comma-separated)" });
    }
  }
  if (options.sampler === undefined) {
    const sampler = nonEmpty(env.OTEL_TRACES_SAMPLER);
    if (sampler !== undefined && !SAMPLERS.includes(sampler)) {
      violations.push({ field: "OTEL_TRACES_SAMPLER", value: sampler, rule: "sampler_name", description: `must be one of ${SAMPLERS.join(", ")}` });
    }
    const arg = nonEmpty(env.OTEL_TRACES_SAMPLER_ARG);
    if (sampler?.endsWith("traceidratio") === true && arg !== undefined && !(Number(arg) >= 0 && Number(arg) <= 1)) {
      violations.push({ field: "OTEL_TRACES_SAMPLER_ARG", value: arg, rule: "ratio_range", description: "must be a number from 0 to 1" });
    }
  }
  if (violations.length > 0) throw ValidationError.of("tracing configuration", violations);
  const p = protocol ?? "http/protobuf";

  if (isTrue(env.OTEL_SDK_DISABLED)) return { enabled: false, reason: "disabled by OTEL_SDK_DISABLED=true", exporters: [], protocol: p };
  if (options.enabled === false) return { enabled: false, reason: "disabled by configuration", exporters: [], protocol: p };

  let exporters: TraceExporterName[] = [];
  let why: string;
  if (options.exporter !== undefined) {
    why = "exporter given in code";
  } else if (listed !== undefined) {
    exporters = [...new Set(listed.filter((n): n is TraceExporterName => n === "otlp" || n === "console"))];
    why = `OTEL_TRACES_EXPORTER=${listed.join(",")}`;
  } else if (nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) !== undefined || nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT) !== undefined) {
    exporters = ["otlp"];
    why = "OTLP endpoint configured";
  } else if (options.enabled === true) {
    exporters = ["otlp"];
    why = "enabled by configuration (default OTLP endpoint)";
  } else {
    why = "no exporter configured (set OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER)";
  }
  const processors = (options.spanProcessors?.length ?? 0) + exporters.length + (options.exporter === undefined ? 0 : 1);
  if (processors === 0) return { enabled: false, reason: why, exporters: [], protocol: p };
  const via = exporters.includes("otlp") ? `${why}; OTLP over ${p}` : why;
  return { enabled: true, reason: options.spanProcessors?.length ? `${via}; plus span processors given in code` : via, exporters, protocol: p };
}

/**
 * Where and how to send OTLP, from `env` (the exporters themselves read only `process.env`, so an
 * environment given in code must reach them as explicit options). Signal-specific variables win.
 */
function otlpOptions(protocol: OtlpProtocol, env: Readonly<Record<string, string | undefined>>): { url?: string; headers?: Record<string, string>; timeoutMillis?: number } {
  const out: { url?: string; headers?: Record<string, string>; timeoutMillis?: number } = {};
  const traces = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const base = nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  if (traces !== undefined) out.url = traces;
  else if (base !== undefined) out.url = protocol === "grpc" ? base : `${base.replace(/\/+$/, "")}/v1/traces`;
  const headerText = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_HEADERS);
  if (headerText !== undefined) {
    const headers: Record<string, string> = {};
    for (const pair of headerText.split(",")) {
      const i = pair.indexOf("=");
      if (i > 0) headers[decodeURIComponent(pair.slice(0, i).trim())] = decodeURIComponent(pair.slice(i + 1).trim());
    }
    out.headers = headers;
  }
  const timeout = Number(nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_TIMEOUT));
  if (Number.isFinite(timeout) && timeout > 0) out.timeoutMillis = timeout;
  return out;
}

/** Builds the trace exporter the environment asks for (OTLP protocol and endpoint from `OTEL_EXPORTER_OTLP_*` of `env`). */
export async function createTraceExporter(
  name: TraceExporterName,
  protocol: OtlpProtocol,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<SpanExporter> {
  if (name === "console") {
    const { ConsoleSpanExporter } = await import("@opentelemetry/sdk-trace-base");
    return new ConsoleSpanExporter();
  }
  const o = otlpOptions(protocol, env);
  switch (protocol) {
    case "http/json": {
      const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
      return new OTLPTraceExporter(o);
    }
    case "http/protobuf": {
      const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-proto");
      return new OTLPTraceExporter(o);
    }
    case "grpc": {
      const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-grpc");
      const { headers, ...rest } = o;
      if (headers === undefined) return new OTLPTraceExporter(rest);
      const { Metadata } = await import("@grpc/grpc-js");
      const metadata = new Metadata();
      for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
      return new OTLPTraceExporter({ ...rest, metadata });
    }
  }
}

function diagLogger(logger: Logger): DiagLogger {
  const log = (level: "error" | "warn" | "info" | "debug" | "trace") => (message: string, ...args: unknown[]) => {
    const err = args.find((a): a is Error => a instanceof Error);
    logger[level]({ component: "otel", ...(err === undefined ? {} : { err }), ...(args.length > 0 && err === undefined ? { details: args } : {}) }, message);
  };
  return { error: log("error"), warn: log("warn"), info: log("info"), debug: log("debug"), verbose: log("trace") };
}

function diagLevel(text: string | undefined): DiagLogLevel {
  switch (text?.trim().toUpperCase()) {
    case "NONE": return DiagLogLevel.NONE;
    case "ERROR": return DiagLogLevel.ERROR;
    case "INFO": return DiagLogLevel.INFO;
    case "DEBUG": return DiagLogLevel.DEBUG;
    case "VERBOSE": return DiagLogLevel.VERBOSE;
    case "ALL": return DiagLogLevel.ALL;
    default: return DiagLogLevel.WARN;
  }
}

/** True while a tracer provider of ours is registered (tracing on). */
export function isTracingActive(): boolean {
  return tracingState.active;
}

/**
 * Starts tracing for this process. Returns a handle whose `enabled` says whether it runs; a
 * disabled handle's methods do nothing. Throws ValidationError for bad `OTEL_*` values and
 * FailedPreconditionError when tracing already runs.
 */
export async function startTracing(options: TracingOptions): Promise<TracingHandle> {
  if (tracingState.active) throw new FailedPreconditionError("tracing is already started in this process; call shutdown() on its handle first");
  const env = options.env ?? process.env;
  const decision = decideTracing(options, env);
  if (!decision.enabled) {
    return { enabled: false, reason: decision.reason, forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() };
  }

  const [{ NodeSDK }, core, resources, base] = await Promise.all([
    import("@opentelemetry/sdk-node"),
    import("@opentelemetry/core"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/sdk-trace-base"),
  ]);
  const exporters = options.exporter === undefined
    ? await Promise.all(decision.exporters.map((n) => createTraceExporter(n, decision.protocol, env)))
    : [options.exporter];
  const attach = options.wrapExporter ?? ((e: SpanExporter) => new base.BatchSpanProcessor(e));
  const processors: SpanProcessor[] = [...(options.spanProcessors ?? []), ...exporters.map(attach)];
  const contextManager = new SampledContextManager();

  const version = options.serviceVersion ?? "unknown";
  const sdk = new NodeSDK({
    // Ours first; the env detector (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES), process and host detectors merge on top.
    resource: resources.defaultResource().merge(
      resources.resourceFromAttributes({ "service.name": nonEmpty(env.OTEL_SERVICE_NAME) ?? options.serviceName, "service.version": version, ...options.resourceAttributes }),
    ),
    autoDetectResources: true,
    ...(options.sampler === undefined ? {} : { sampler: options.sampler }),
    // The tracker first: it counts open sampled spans so the context manager can switch its
    // AsyncLocalStorage (and Node's promise hooks) off while none is open.
    spanProcessors: [contextManager.tracker, ...processors],
    contextManager,
    textMapPropagator: new core.CompositePropagator({
      propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()],
    }),
    instrumentations: [],
    // Metrics go through prom-client and logs through pino: no OTel meter or log exporters.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  if (options.logger !== undefined) {
    diag.setLogger(diagLogger(options.logger), { logLevel: diagLevel(env.OTEL_LOG_LEVEL), suppressOverrideMessage: true });
  }
  tracingState.tracer = trace.getTracer(TRACER_NAME, version);
  tracingState.active = true;

  let stopping: Promise<void> | undefined;
  return {
    enabled: true,
    reason: decision.reason,
    forceFlush: async () => {
      await Promise.all(processors.map((p) => p.forceFlush()));
    },
    shutdown: (opts) => {
      stopping ??= (async () => {
        tracingState.active = false;
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, opts?.timeoutMs ?? 5000);
          timer.unref();
        });
        try {
          await Promise.race([sdk.shutdown().catch((err: unknown) => diag.error("tracing shutdown failed", err)), timeout]);
        } finally {
          clearTimeout(timer);
          // Unregister so a later startTracing in the same process (tests, restarts) can register again.
          trace.disable();
          propagation.disable();
          context.disable();
          if (options.logger !== undefined) diag.disable();
          tracingState.tracer = trace.getTracer(TRACER_NAME);
        }
      })();
      return stopping;
    },
  };
}
