/**
 * The standard sampling stack, built from one plain configuration object:
 *
 *   sampler   = KillSwitch( ParentBased( HeadControls( Dynamic | ConsistentProbability(baseRate) ) ) )
 *   processor = TailSampling(downstream)      (pass-through while tail sampling is disabled)
 *
 * Install `sampler` and `processor` in the TracerProvider once; `configure(patch)` changes any of
 * it at run time (AdminService, constitution updates): the merged configuration is validated as a
 * whole and applied synchronously, so no decision ever sees half of a change, and bad input
 * changes nothing. With `enabled: false` every span is NOT_RECORD without further work.
 */
import type { Attributes, Context, Link, SpanKind } from "@opentelemetry/api";
import type { Sampler, SamplingResult, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { SYSTEM_CLOCK, type Clock } from "./clock.ts";
import { DEFAULT_SAMPLING_CONFIG, resolveSamplingConfig, type SamplingConfig, type SamplingConfigPatch } from "./config.ts";
import { ConsistentProbabilitySampler } from "./consistent.ts";
import { DROP, NOOP_SPAN_PROCESSOR } from "./decision.ts";
import { DynamicRateSampler } from "./dynamic.ts";
import { HeadControlSampler } from "./head-controls.ts";
import { ParentBasedSampler } from "./parent-based.ts";
import { O, R, SamplingStats } from "./stats.ts";
import { TailSamplingProcessor, type TailEviction } from "./tail.ts";

export interface SamplingStackOptions {
  /** Decision counters (shared by every part of the stack); a new instance by default. */
  readonly stats?: SamplingStats;
  readonly clock?: Clock;
  /** Where spans go after tail sampling (e.g. BatchSpanProcessor(OTLPTraceExporter)); default: nowhere. */
  readonly downstream?: SpanProcessor;
  readonly onEvict?: (eviction: TailEviction) => void;
  /** Run the dynamic-rate and tail-timeout timers (default true). Tests pass false and call tick()/sweep(). */
  readonly timers?: boolean;
}

/** The Sampler installed in the TracerProvider: a kill switch in front of the active stack. */
class KillSwitchSampler implements Sampler {
  active: Sampler | null = null;

  constructor(private readonly stats: SamplingStats) {}

  shouldSample(context: Context, traceId: string, spanName: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    const active = this.active;
    if (active === null) {
      this.stats.add(R.disabled, O.dropped);
      return DROP;
    }
    return active.shouldSample(context, traceId, spanName, kind, attributes, links);
  }

  toString(): string {
    return this.active === null ? "Disabled" : this.active.toString();
  }
}

export class SamplingStack {
  readonly stats: SamplingStats;
  /** The sampler to install in the TracerProvider. */
  readonly sampler: Sampler;
  /** The span processor to install in the TracerProvider (tail sampling, or pass-through). */
  readonly processor: TailSamplingProcessor;
  readonly probability: ConsistentProbabilitySampler;
  readonly headControls: HeadControlSampler;
  readonly parentBased: ParentBasedSampler;
  private dynamicSampler: DynamicRateSampler | undefined;
  private readonly killSwitch: KillSwitchSampler;
  private readonly clock: Clock;
  private readonly timers: boolean;
  private current: SamplingConfig;

  constructor(config: SamplingConfig, options: SamplingStackOptions = {}) {
    this.stats = options.stats ?? new SamplingStats();
    this.clock = options.clock ?? SYSTEM_CLOCK;
    this.timers = options.timers ?? true;
    const stats = this.stats;
    this.probability = new ConsistentProbabilitySampler({ rate: config.baseRate, precision: config.precision }, { stats });
    this.headControls = new HeadControlSampler(this.probability, config.headControls, { stats, precision: config.precision });
    this.parentBased = new ParentBasedSampler(this.headControls, config.parent, { stats, recordUnsampled: config.tail.enabled });
    this.processor = new TailSamplingProcessor(config.tail, {
      downstream: options.downstream ?? NOOP_SPAN_PROCESSOR,
      stats,
      clock: this.clock,
      ...(options.onEvict === undefined ? {} : { onEvict: options.onEvict }),
      ...(this.timers ? {} : { sweepIntervalMs: false }),
    });
    this.killSwitch = new KillSwitchSampler(stats);
    this.sampler = this.killSwitch;
    this.current = config;
    this.apply(config);
  }

  /** The configuration in force. */
  get config(): SamplingConfig {
    return this.current;
  }

  /** The dynamic-rate sampler, once dynamic sampling has been enabled. */
  get dynamic(): DynamicRateSampler | undefined {
    return this.dynamicSampler;
  }

  /**
   * Merges `patch` onto the running configuration, validates the result and applies it. Throws
   * ValidationError (listing every violation) and changes nothing when the patch is invalid.
   */
  configure(patch: SamplingConfigPatch): SamplingConfig {
    const next = resolveSamplingConfig(patch, this.current);
    this.apply(next);
    return next;
  }

  /** Stops timers and shuts the processor down (deciding buffered traces, flushing downstream). */
  async close(): Promise<void> {
    this.dynamicSampler?.close();
    await this.processor.shutdown();
  }

  private apply(c: SamplingConfig): void {
    this.probability.configure({ rate: c.baseRate, precision: c.precision });
    this.headControls.configure(c.headControls, c.precision);
    this.parentBased.configure(c.parent, c.tail.enabled);
    if (c.dynamic.enabled) {
      const dyn = this.dynamicSampler ?? new DynamicRateSampler(c.dynamic, { stats: this.stats, clock: this.clock, precision: c.precision, initialRate: c.baseRate, timer: this.timers });
      dyn.configure(c.dynamic, { precision: c.precision, initialRate: c.baseRate });
      dyn.start();
      this.dynamicSampler = dyn;
      this.headControls.setRoot(dyn);
    } else {
      this.dynamicSampler?.close();
      this.headControls.setRoot(this.probability);
    }
    this.processor.configure(c.tail);
    this.killSwitch.active = c.enabled ? this.parentBased : null;
    this.current = c;
  }
}

/** Builds the standard stack from a (partial, unvalidated) configuration; throws ValidationError. */
export function createSamplingStack(config: SamplingConfigPatch = {}, options: SamplingStackOptions = {}): SamplingStack {
  return new SamplingStack(resolveSamplingConfig(config, DEFAULT_SAMPLING_CONFIG), options);
}
