/**
 * ConsistentProbabilitySampler: the specification's TraceIdRatioBased behaviour. Samples iff the
 * trace's 56-bit randomness R (trace id, or `rv`) is >= the rejection threshold T of the rate, and
 * writes `th` into the `ot` tracestate entry of sampled spans. Every service configured with the
 * same rate makes the same decision for a trace; a higher rate samples a superset.
 * It ignores the parent's sampled flag (wrap it in ParentBasedSampler for that).
 */
import type { Attributes, Context, TraceState } from "@opentelemetry/api";
import type { SamplingResult } from "@opentelemetry/sdk-trace-base";
import { PROBABILITY_SCHEMA, resolveSection, type ProbabilityConfig } from "./config.ts";
import { decideConsistent, isSampled, OWN_REASON, parentTraceState, type RootSampler } from "./decision.ts";
import { O, R, SamplingStats } from "./stats.ts";
import { DEFAULT_PRECISION, ScaledThresholds, type Threshold } from "./threshold.ts";

export interface SamplerOptions {
  /** Where decisions are counted; share one instance across a stack. */
  readonly stats?: SamplingStats;
}

export class ConsistentProbabilitySampler implements RootSampler {
  readonly stats: SamplingStats;
  private settings: ProbabilityConfig;
  private thresholds: ScaledThresholds;

  constructor(config: Partial<ProbabilityConfig> = {}, options: SamplerOptions = {}) {
    this.stats = options.stats ?? new SamplingStats();
    this.settings = resolveSection("probability sampler configuration", { rate: 1, precision: DEFAULT_PRECISION }, config, PROBABILITY_SCHEMA);
    this.thresholds = new ScaledThresholds(this.settings.rate, this.settings.precision);
  }

  /** Validates and applies a partial configuration atomically; throws ValidationError on bad input. */
  configure(patch: Partial<ProbabilityConfig>): void {
    const next = resolveSection("probability sampler configuration", this.settings, patch, PROBABILITY_SCHEMA);
    const thresholds = new ScaledThresholds(next.rate, next.precision);
    this.settings = next;
    this.thresholds = thresholds;
  }

  get config(): ProbabilityConfig {
    return this.settings;
  }

  /** The rejection threshold applied to root spans. */
  get threshold(): Threshold {
    return this.thresholds.base;
  }

  shouldSample(context: Context, traceId: string, spanName: string, _kind: unknown, attributes: Attributes): SamplingResult {
    return this.decideRoot(context, traceId, spanName, attributes, parentTraceState(context, traceId), 1, OWN_REASON);
  }

  decideRoot(
    _context: Context,
    traceId: string,
    _spanName: string,
    _attributes: Attributes,
    parentTs: TraceState | undefined,
    multiplier: number,
    reason: number,
  ): SamplingResult {
    const result = decideConsistent(this.thresholds.get(multiplier), traceId, parentTs);
    this.stats.add(reason === OWN_REASON ? R.probability : reason, isSampled(result) ? O.sampled : O.dropped);
    return result;
  }

  toString(): string {
    return `ConsistentProbability{rate=${this.settings.rate}, ${this.thresholds.base.toString()}}`;
  }
}
