/**
 * DynamicRateSampler: a consistent probability sampler whose rate is adapted per root operation
 * (span name, or a configured attribute) towards a target of sampled traces per second, in the
 * manner of Jaeger's adaptive sampling:
 *
 *   - every interval, each operation's sampled traces per second are measured (normalised by the
 *     real elapsed time of the interval);
 *   - inside the dead band (target ± 30 %) the rate stays;
 *   - otherwise the wanted rate is target / arrivals-per-second: a lower rate applies at once, a
 *     higher one is approached by at most +50 % per interval;
 *   - rates stay within [minRate, maxRate];
 *   - at most `maxOperations` operations are tracked; the rest share one "(other)" bucket, and
 *     operations idle for `idleIntervals` intervals are forgotten, so cardinality stays bounded.
 *
 * Decisions never read the clock: intervals are closed by `tick()`, from an unref'd timer by
 * default or by the owner (tests drive it with a ManualClock).
 */
import type { Attributes, Context, TraceState } from "@opentelemetry/api";
import type { SamplingResult } from "@opentelemetry/sdk-trace-base";
import { SYSTEM_CLOCK, type Clock } from "./clock.ts";
import {
  DEFAULT_DYNAMIC,
  DYNAMIC_SCHEMA,
  checkDynamicBounds,
  mergeSection,
  resolvePrecision,
  resolveRate,
  throwIfInvalid,
  type DynamicRateConfig,
} from "./config.ts";
import { decideConsistent, isSampled, OWN_REASON, parentTraceState, type RootSampler } from "./decision.ts";
import { O, R, SamplingStats } from "./stats.ts";
import { DEFAULT_PRECISION, ScaledThresholds } from "./threshold.ts";
import type { FieldViolation } from "../core/errors.ts";

/** Name of the shared bucket for operations beyond `maxOperations`. */
export const OTHER_OPERATION = "(other)";
/** Operation keys are truncated to this length so one attribute cannot hold much memory. */
const MAX_KEY_LENGTH = 128;

interface Operation {
  readonly key: string;
  thresholds: ScaledThresholds;
  seen: number;
  sampled: number;
  idle: number;
  lastSampledPerSecond: number;
  lastArrivalsPerSecond: number;
}

export interface OperationRate {
  readonly operation: string;
  readonly rate: number;
  /** The `th` value written for this operation's sampled traces. */
  readonly threshold: string;
  /** Measured over the last closed interval. */
  readonly sampledPerSecond: number;
  readonly arrivalsPerSecond: number;
}

export interface DynamicRateOptions {
  readonly stats?: SamplingStats;
  readonly clock?: Clock;
  /** `th` precision. */
  readonly precision?: number;
  /** Starting rate of a newly seen operation (clamped to [minRate, maxRate]); default minRate. */
  readonly initialRate?: number;
  /** Run `tick()` from an unref'd interval timer (default true). Tests pass false and tick by hand. */
  readonly timer?: boolean;
}

/**
 * The next rate of one operation after an interval. Pure, so the rule is testable on its own.
 * `sampledPerSecond` and `arrivalsPerSecond` were measured at `rate`.
 */
export function nextRate(rate: number, sampledPerSecond: number, arrivalsPerSecond: number, c: DynamicRateConfig): number {
  const target = c.targetTracesPerSecond;
  if (sampledPerSecond >= target * (1 - c.deadBand) && sampledPerSecond <= target * (1 + c.deadBand)) return rate;
  const wanted = arrivalsPerSecond > 0 ? target / arrivalsPerSecond : c.maxRate;
  // From a zero rate, grow from the floor (or the smallest probability) rather than stay stuck.
  const next = wanted > rate ? Math.min(wanted, Math.max(rate, c.minRate, 2 ** -56) * (1 + c.maxIncrease)) : wanted;
  return Math.min(c.maxRate, Math.max(c.minRate, next));
}

export class DynamicRateSampler implements RootSampler {
  readonly stats: SamplingStats;
  private settings: DynamicRateConfig;
  private precision: number;
  private initialRate: number;
  private readonly clock: Clock;
  private readonly ops = new Map<string, Operation>();
  private other: Operation;
  private intervalStart: number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly useTimer: boolean;

  constructor(config: Partial<DynamicRateConfig> = {}, options: DynamicRateOptions = {}) {
    this.stats = options.stats ?? new SamplingStats();
    this.clock = options.clock ?? SYSTEM_CLOCK;
    this.settings = resolveDynamic(DEFAULT_DYNAMIC, config);
    this.precision = resolvePrecision("dynamic sampler precision", options.precision ?? DEFAULT_PRECISION);
    this.initialRate = resolveRate("dynamic sampler initial rate", options.initialRate ?? this.settings.minRate);
    this.other = this.newOperation(OTHER_OPERATION);
    this.intervalStart = this.clock.now();
    this.useTimer = options.timer ?? true;
    this.startTimer();
  }

  /**
   * Validates and applies a partial configuration atomically. Existing operations keep their
   * measured rates, clamped into the new bounds; a new interval length restarts the timer.
   */
  configure(patch: Partial<DynamicRateConfig>, extra: { precision?: number; initialRate?: number } = {}): void {
    const next = resolveDynamic(this.settings, patch);
    const precision = resolvePrecision("dynamic sampler precision", extra.precision ?? this.precision);
    const initialRate = resolveRate("dynamic sampler initial rate", extra.initialRate ?? this.initialRate);
    const restart = next.intervalMs !== this.settings.intervalMs;
    const rethreshold = precision !== this.precision || next.minRate !== this.settings.minRate || next.maxRate !== this.settings.maxRate;
    this.settings = next;
    this.precision = precision;
    this.initialRate = initialRate;
    if (rethreshold) {
      for (const op of this.allOperations()) op.thresholds = this.thresholdsFor(op.thresholds.rate);
    }
    if (restart) this.startTimer();
  }

  get config(): DynamicRateConfig {
    return this.settings;
  }

  shouldSample(context: Context, traceId: string, spanName: string, _kind: unknown, attributes: Attributes): SamplingResult {
    return this.decideRoot(context, traceId, spanName, attributes, parentTraceState(context, traceId), 1, OWN_REASON);
  }

  decideRoot(
    _context: Context,
    traceId: string,
    spanName: string,
    attributes: Attributes,
    parentTs: TraceState | undefined,
    multiplier: number,
    reason: number,
  ): SamplingResult {
    const op = this.operation(spanName, attributes);
    const result = decideConsistent(op.thresholds.get(multiplier), traceId, parentTs);
    const sampled = isSampled(result);
    op.seen++;
    if (sampled) op.sampled++;
    this.stats.add(reason === OWN_REASON ? R.dynamic : reason, sampled ? O.sampled : O.dropped);
    return result;
  }

  /** Closes the current interval: measures every operation and adjusts its rate. */
  tick(): void {
    const now = this.clock.now();
    const elapsedMs = now - this.intervalStart;
    if (elapsedMs <= 0) return;
    this.intervalStart = now;
    const seconds = elapsedMs / 1000;
    for (const [key, op] of this.ops) {
      if (op.seen === 0 && ++op.idle >= this.settings.idleIntervals) {
        this.ops.delete(key);
        continue;
      }
      this.adjust(op, seconds);
    }
    this.adjust(this.other, seconds);
  }

  /** Current rate of an operation (the "(other)" bucket for untracked ones). */
  rateOf(operation: string): number {
    return (this.ops.get(operation) ?? this.other).thresholds.rate;
  }

  /** A snapshot of every tracked operation, for AdminService and gauges. */
  operations(): OperationRate[] {
    return this.allOperations().map((op) => ({
      operation: op.key,
      rate: op.thresholds.rate,
      threshold: op.thresholds.base.tvalue,
      sampledPerSecond: op.lastSampledPerSecond,
      arrivalsPerSecond: op.lastArrivalsPerSecond,
    }));
  }

  /** (Re)starts the interval timer, when this sampler drives its own ticks. */
  start(): void {
    this.startTimer();
  }

  /** Stops the interval timer (state is kept; `start()` resumes). */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  toString(): string {
    const s = this.settings;
    return `DynamicRate{target=${s.targetTracesPerSecond}/s, rate=[${s.minRate}, ${s.maxRate}], operations=${this.ops.size}}`;
  }

  private operation(spanName: string, attributes: Attributes): Operation {
    let key = spanName;
    const attr = this.settings.operationAttribute;
    if (attr !== null) {
      const v = attributes[attr];
      if (typeof v === "string" && v !== "") key = v;
    }
    return this.ops.get(key) ?? this.admit(key);
  }

  private admit(rawKey: string): Operation {
    const key = rawKey.length > MAX_KEY_LENGTH ? rawKey.slice(0, MAX_KEY_LENGTH) : rawKey;
    const existing = this.ops.get(key);
    if (existing !== undefined) return existing;
    if (this.ops.size >= this.settings.maxOperations || key === OTHER_OPERATION) return this.other;
    const op = this.newOperation(key);
    this.ops.set(key, op);
    return op;
  }

  private newOperation(key: string): Operation {
    const s = this.settings;
    const rate = Math.min(s.maxRate, Math.max(s.minRate, this.initialRate));
    return { key, thresholds: this.thresholdsFor(rate), seen: 0, sampled: 0, idle: 0, lastSampledPerSecond: 0, lastArrivalsPerSecond: 0 };
  }

  private thresholdsFor(rate: number): ScaledThresholds {
    const s = this.settings;
    return new ScaledThresholds(Math.min(s.maxRate, Math.max(s.minRate, rate)), this.precision);
  }

  private adjust(op: Operation, seconds: number): void {
    const sampledPerSecond = op.sampled / seconds;
    const arrivalsPerSecond = op.seen / seconds;
    op.lastSampledPerSecond = sampledPerSecond;
    op.lastArrivalsPerSecond = arrivalsPerSecond;
    if (op.seen !== 0) {
      op.idle = 0;
      const rate = op.thresholds.rate;
      const next = nextRate(rate, sampledPerSecond, arrivalsPerSecond, this.settings);
      if (next !== rate) op.thresholds = this.thresholdsFor(next);
    }
    op.seen = 0;
    op.sampled = 0;
  }

  private allOperations(): Operation[] {
    return [...this.ops.values(), this.other];
  }

  private startTimer(): void {
    this.close();
    if (!this.useTimer) return;
    this.timer = setInterval(() => this.tick(), this.settings.intervalMs);
    this.timer.unref();
  }
}

function resolveDynamic(base: DynamicRateConfig, patch: unknown): DynamicRateConfig {
  const out: FieldViolation[] = [];
  const merged = mergeSection("", base, patch, DYNAMIC_SCHEMA, out);
  checkDynamicBounds("", merged, out);
  throwIfInvalid("dynamic sampling configuration", out);
  return merged;
}
