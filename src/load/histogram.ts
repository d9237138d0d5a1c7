/**
 * Latency histograms of the harness: HDR histograms of microseconds (1 µs .. 1 h, 3 significant
 * digits), encoded in the standard compressed base64 form to cross process boundaries and
 * merged exactly (bucket counts add up; no averaging of percentiles).
 */
import * as hdr from "hdr-histogram-js";

export type Histogram = hdr.Histogram;

/** 1 hour in µs: anything slower is recorded as 1 hour. */
export const HIGHEST_US = 3_600_000_000;

export function newHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3, autoResize: false });
}

/** Records a latency in µs (clamped to 1 µs .. 1 h). */
export function recordUs(h: Histogram, us: number): void {
  h.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(us))));
}

export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

/** Decodes an encoded histogram and adds it to `into`. */
export function mergeEncoded(into: Histogram, encoded: string): void {
  into.add(hdr.decodeFromCompressedBase64(encoded));
}

/** Percentiles shown in reports (the chart uses more points). */
export const REPORT_PERCENTILES = [50, 90, 99, 99.9] as const;

export interface LatencySummary {
  readonly count: number;
  /** µs */
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly p9999: number;
  readonly max: number;
}

export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, p9999: 0, max: 0 };
  return {
    count: h.totalCount,
    min: h.getValueAtPercentile(0),
    mean: Math.round(h.mean),
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    p9999: h.getValueAtPercentile(99.99),
    // At bucket resolution (as p100), so one histogram and a merge of its parts report the same max.
    max: h.getValueAtPercentile(100),
  };
}

/** A point of the percentile curve: `percentile` in [0, 100], latency in µs. */
export interface CurvePoint {
  readonly percentile: number;
  readonly us: number;
}

/**
 * The latency-by-percentile curve: points spaced evenly on the 1/(1 − p) axis (HdrHistogram's
 * plot), from p0 up to the last "nines" the sample size resolves, then the max (p100).
 */
export function percentileCurve(h: Histogram, pointsPerDecade = 10): CurvePoint[] {
  if (h.totalCount === 0) return [];
  const points: CurvePoint[] = [];
  const decades = Math.max(1, Math.min(6, Math.floor(Math.log10(h.totalCount))));
  for (let i = 0; i <= decades * pointsPerDecade; i++) {
    const p = 100 * (1 - 10 ** (-i / pointsPerDecade));
    points.push({ percentile: p, us: h.getValueAtPercentile(p) });
  }
  points.push({ percentile: 100, us: h.getValueAtPercentile(100) });
  return points;
}
