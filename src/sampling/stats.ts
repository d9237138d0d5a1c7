/**
 * Counters of sampling decisions by reason and outcome. The hot path increments a typed array by
 * numeric code; the telemetry layer reads totals with `forEach`/`snapshot` at scrape time (or
 * subscribes to per-event notifications) and exports them as
 * `neurograph_sampling_decisions_total{reason,outcome}`. No prom-client here.
 */

/** Why a decision was taken. The set is closed, so label cardinality is bounded. */
export const SamplingReason = {
  /** Kill switch: tracing is off. */
  Disabled: "disabled",
  ParentSampled: "parent_sampled",
  ParentUnsampled: "parent_unsampled",
  /** A remote parent was not trusted (policy) and the root sampler decided. */
  ParentIgnored: "parent_ignored",
  Forced: "forced",
  Priority: "priority",
  RateHeader: "rate_header",
  Probability: "probability",
  Dynamic: "dynamic",
  /** A sampled parent carried a threshold inconsistent with its randomness; `th` was erased. */
  InconsistentThreshold: "inconsistent_threshold",
  /** A head-control header had a malformed or out-of-range value; it was ignored. */
  HeaderInvalid: "header_invalid",
  /** Head-control headers came from a caller the policy does not trust; they were ignored. */
  HeaderNotAllowed: "header_not_allowed",
  TailError: "tail_error",
  TailSlow: "tail_slow",
  /** The trace's local root was head-sampled and the tail processor keeps such traces. */
  TailHeadSampled: "tail_head_sampled",
  /** A share of ordinary (fast, error-free) traces kept by the tail processor. */
  TailNormal: "tail_normal",
  TailDropped: "tail_dropped",
  /** A trace left the full tail buffer before its decision. */
  Evicted: "evicted",
} as const;
export type SamplingReason = (typeof SamplingReason)[keyof typeof SamplingReason];

export const SamplingOutcome = {
  Sampled: "sampled",
  Dropped: "dropped",
  /** For header and consistency events: the input was ignored, no decision by itself. */
  Ignored: "ignored",
} as const;
export type SamplingOutcome = (typeof SamplingOutcome)[keyof typeof SamplingOutcome];

/** Every reason, in code order (code = index). */
export const SAMPLING_REASONS: readonly SamplingReason[] = Object.freeze(Object.values(SamplingReason));
export const SAMPLING_OUTCOMES: readonly SamplingOutcome[] = Object.freeze(Object.values(SamplingOutcome));

/** Numeric reason codes for the hot path (index into SAMPLING_REASONS). */
export const R = Object.freeze(
  Object.fromEntries(SAMPLING_REASONS.map((r, i) => [r, i])) as { readonly [K in SamplingReason]: number },
);
/** Numeric outcome codes. */
export const O = Object.freeze({ sampled: 0, dropped: 1, ignored: 2 } as const);

const OUTCOMES = SAMPLING_OUTCOMES.length;

export interface SamplingStatsListener {
  /** Called synchronously for each counted event; keep it cheap (it runs on the sampling path). */
  onCount(reason: SamplingReason, outcome: SamplingOutcome, count: number): void;
}

export type SamplingStatsSnapshot = Readonly<Record<SamplingReason, Readonly<Record<SamplingOutcome, number>>>>;

export class SamplingStats {
  private readonly counts = new Float64Array(SAMPLING_REASONS.length * OUTCOMES);
  private listeners: readonly SamplingStatsListener[] = [];

  /** Counts one event (or `n`). `reason` and `outcome` are the numeric codes R.* and O.*. */
  add(reason: number, outcome: number, n = 1): void {
    this.counts[reason * OUTCOMES + outcome]! += n;
    if (this.listeners.length !== 0) this.notify(reason, outcome, n);
  }

  /** Total for one reason and outcome. */
  get(reason: SamplingReason, outcome: SamplingOutcome): number {
    return this.counts[R[reason] * OUTCOMES + O[outcome]] ?? 0;
  }

  /** Sum over every reason for one outcome. */
  total(outcome: SamplingOutcome): number {
    let sum = 0;
    for (let r = 0; r < SAMPLING_REASONS.length; r++) sum += this.counts[r * OUTCOMES + O[outcome]] ?? 0;
    return sum;
  }

  /** Visits every (reason, outcome, total), zeros included, so exporters can pre-register series. */
  forEach(visit: (reason: SamplingReason, outcome: SamplingOutcome, value: number) => void): void {
    for (let r = 0; r < SAMPLING_REASONS.length; r++) {
      for (let o = 0; o < OUTCOMES; o++) visit(SAMPLING_REASONS[r]!, SAMPLING_OUTCOMES[o]!, this.counts[r * OUTCOMES + o]!);
    }
  }

  snapshot(): SamplingStatsSnapshot {
    const out: Partial<Record<SamplingReason, Record<SamplingOutcome, number>>> = {};
    for (let r = 0; r < SAMPLING_REASONS.length; r++) {
      const row = { sampled: 0, dropped: 0, ignored: 0 };
      for (let o = 0; o < OUTCOMES; o++) row[SAMPLING_OUTCOMES[o]!] = this.counts[r * OUTCOMES + o]!;
      out[SAMPLING_REASONS[r]!] = row;
    }
    return out as SamplingStatsSnapshot;
  }

  /** Registers a listener; returns the function that removes it. */
  subscribe(listener: SamplingStatsListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  private notify(reason: number, outcome: number, n: number): void {
    const r = SAMPLING_REASONS[reason]!;
    const o = SAMPLING_OUTCOMES[outcome]!;
    for (const l of this.listeners) {
      try {
        l.onCount(r, o, n);
      } catch {
        // A failing listener must not break span creation; telemetry is best effort here.
      }
    }
  }
}
