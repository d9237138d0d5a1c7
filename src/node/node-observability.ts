/**
 * A node's tracing and sampling, and the AdminService side of observability:
 *
 * - the sampling stack (`src/sampling`) configured from the constitution's `sampling` section and
 *   the node's options (`--trace-sample-rate`, `--trace-tail`, `--trace-headers`), changeable at run
 *   time (AdminService, constitution changes);
 * - tracing (`startTracing`, OTLP by the `OTEL_*` variables) with that stack as sampler and its
 *   tail processor in front of the exporters; `--tracing off` (or `OTEL_SDK_DISABLED=true`) is the
 *   kill switch: nothing is started and no tracing hook is installed anywhere;
 * - the gRPC interceptor and actor-system observer that make spans (only while tracing runs);
 * - sampling decision counters copied into `neurograph_sampling_decisions_total` at each scrape;
 * - sampling configuration and black box for AdminService (`ObservabilityBackend`).
 */
import type { SpanExporter, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { SamplingParams } from "../core/constitution/index.ts";
import type { BlackBoxView, CallInterceptor, ObservabilityBackend, SamplingView } from "../api/index.ts";
import { noopObserver, type ActorSystemObserver } from "../runtime/index.ts";
import { createSamplingStack, type SamplingConfig, type SamplingStack } from "../sampling/index.ts";
import { decideTracing, isTracingActive, startTracing, type BlackBox, type Logger, type MetricsRegistry, type TracingHandle } from "../telemetry/index.ts";
import { anonymousHeaderRights, samplingPatch, type AnonymousHeaderRights, type SamplingOverrides, type TracingMode } from "./obs-config.ts";
import { TracingInterceptor } from "./tracing-interceptor.ts";
import { tracingObserver } from "./tracing-observer.ts";

/** Tracing set-up from code (tests, benches); production uses the `OTEL_*` variables. */
export interface NodeTracingOptions {
  /** Receives every kept span (e.g. an InMemorySpanExporter); replaces the OTEL_* exporters. */
  readonly exporter?: SpanExporter;
  /** Export each span as it ends (SimpleSpanProcessor) instead of in batches. */
  readonly exportImmediately?: boolean;
  /** Environment to read OTEL_* from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface NodeObservabilityOptions extends SamplingOverrides {
  readonly mode: TracingMode;
  readonly nodeId: string;
  readonly version: string;
  readonly adminToken?: string | undefined;
  readonly constitution: SamplingParams;
  readonly metrics: MetricsRegistry;
  readonly blackBox: BlackBox;
  readonly logger: Logger;
  readonly tracing?: NodeTracingOptions;
}

/** Forwards to processors added after construction (the exporters, once tracing starts). */
class FanOutProcessor implements SpanProcessor {
  private readonly targets: SpanProcessor[] = [];
  add(p: SpanProcessor): void {
    this.targets.push(p);
  }
  onStart(...args: Parameters<SpanProcessor["onStart"]>): void {
    for (const t of this.targets) t.onStart(...args);
  }
  onEnd(...args: Parameters<SpanProcessor["onEnd"]>): void {
    for (const t of this.targets) t.onEnd(...args);
  }
  async forceFlush(): Promise<void> {
    await Promise.all(this.targets.map((t) => t.forceFlush()));
  }
  async shutdown(): Promise<void> {
    await Promise.all(this.targets.map((t) => t.shutdown()));
  }
}

/** What `decideTracing` / `startTracing` get from the node's options. */
function tracingInput(o: NodeObservabilityOptions): { serviceName: string; enabled?: boolean; exporter?: SpanExporter } {
  const exporter = o.tracing?.exporter;
  return {
    serviceName: "neurograph",
    ...(o.mode === "off" ? { enabled: false } : o.mode === "on" ? { enabled: true } : {}),
    ...(exporter === undefined ? {} : { exporter }),
  };
}

export class NodeObservability implements ObservabilityBackend {
  readonly sampling: SamplingStack;
  /** Whether this node makes spans (decided at creation: `--tracing`, OTEL_* variables, exporter in code). */
  readonly tracingEnabled: boolean;
  readonly tracingReason: string;
  private rights: AnonymousHeaderRights;
  private handle: TracingHandle | undefined;
  private readonly removeCollect: () => void;
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly options: NodeObservabilityOptions,
    sampling: SamplingStack,
    private readonly downstream: FanOutProcessor,
    enabled: boolean,
    reason: string,
  ) {
    this.sampling = sampling;
    this.tracingEnabled = enabled;
    this.tracingReason = reason;
    this.rights = anonymousHeaderRights(options.constitution);
    const { metrics } = options;
    const stats = sampling.stats;
    this.removeCollect = metrics.onCollect(() => {
      stats.forEach((reason, outcome, value) => {
        if (value > 0) metrics.setSamplingDecisionTotal(reason, outcome, value);
      });
    });
  }

  /**
   * Builds the sampling stack and decides whether tracing will run (`mode` and the environment);
   * `start()` starts it. Throws ValidationError for bad `OTEL_*` values.
   */
  static create(options: NodeObservabilityOptions): NodeObservability {
    const downstream = new FanOutProcessor();
    const sampling = createSamplingStack(samplingPatch(options.constitution, options), {
      downstream,
      onEvict: () => options.metrics.samplingTailEvicted(1),
    });
    const env = options.tracing?.env ?? process.env;
    const decision = decideTracing(tracingInput(options), env);
    return new NodeObservability(options, sampling, downstream, decision.enabled, decision.reason);
  }

  /**
   * Starts tracing when it was decided on. When another tracer provider of ours already runs in
   * this process (several nodes in one test process), spans go to it and this node's sampling
   * configuration does not apply to them.
   */
  async start(): Promise<void> {
    if (!this.tracingEnabled || this.handle !== undefined) return;
    const { options, downstream } = this;
    if (isTracingActive()) {
      options.logger.warn("tracing already runs in this process; this node's spans go to it and its sampling configuration does not apply to them");
      return;
    }
    const base = await import("@opentelemetry/sdk-trace-base");
    this.handle = await startTracing({
      ...tracingInput(options),
      serviceVersion: options.version,
      sampler: this.sampling.sampler,
      spanProcessors: [this.sampling.processor],
      // Exporters sit behind the tail-sampling processor (a pass-through while tail sampling is off).
      wrapExporter: (e) => {
        downstream.add(options.tracing?.exportImmediately === true ? new base.SimpleSpanProcessor(e) : new base.BatchSpanProcessor(e));
        return new base.NoopSpanProcessor();
      },
      resourceAttributes: { "service.instance.id": options.nodeId },
      logger: options.logger,
      env: options.tracing?.env ?? process.env,
    });
  }

  /** Call interceptors for the gRPC server: server spans while tracing runs. */
  interceptors(): CallInterceptor[] {
    if (!this.tracingEnabled) return [];
    return [
      new TracingInterceptor({
        ...(this.options.adminToken === undefined ? {} : { adminToken: this.options.adminToken }),
        stats: this.sampling.stats,
        policy: () => this.sampling.config.headControls.policy,
        rights: () => this.rights,
      }),
    ];
  }

  /** The actor-system observer that makes actor spans (a no-op while tracing is off). */
  observer(): ActorSystemObserver {
    return this.tracingEnabled ? tracingObserver() : noopObserver;
  }

  /**
   * A new constitution is in force: its sampling section replaces the base rate, dynamic and
   * tail settings and the anonymous header rights (the node's options still override the rate).
   */
  applyConstitution(params: SamplingParams): SamplingConfig {
    const next = this.sampling.configure(samplingPatch(params, { ...this.options, traceHeaders: this.sampling.config.headControls.policy, traceTail: this.sampling.config.tail.enabled }));
    this.rights = anonymousHeaderRights(params);
    return next;
  }

  /** Exports every finished span now. */
  async flush(): Promise<void> {
    await this.handle?.forceFlush();
  }

  /** Flushes and stops tracing, then the sampling stack's timers; idempotent. */
  shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      this.removeCollect();
      try {
        await this.handle?.shutdown();
      } finally {
        await this.sampling.close();
      }
    })();
    return this.stopping;
  }

  // ---- ObservabilityBackend (AdminService) ----

  samplingConfig(): SamplingView {
    const decisions: { reason: string; outcome: string; count: number }[] = [];
    this.sampling.stats.forEach((reason, outcome, count) => {
      if (count > 0) decisions.push({ reason, outcome, count });
    });
    return { config: this.sampling.config, tracingEnabled: this.tracingEnabled, tracingReason: this.tracingReason, decisions };
  }

  updateSamplingConfig(patch: unknown): SamplingView {
    const before = this.sampling.config;
    const after = this.sampling.configure(patch as Parameters<SamplingStack["configure"]>[0]);
    this.options.logger.info({ before, after }, "sampling configuration changed through AdminService");
    this.options.blackBox.record("generic", "admin", "sampling configuration changed", { config: JSON.stringify(after) });
    return this.samplingConfig();
  }

  dumpBlackBox(reason: string): Promise<{ path: string; events: number }> {
    return this.options.blackBox.dump(reason);
  }

  blackBox(): BlackBoxView {
    const box = this.options.blackBox;
    const stats = box.stats();
    return { events: box.events(), capacity: stats.capacity, recorded: stats.recorded, dropped: stats.dropped };
  }
}
