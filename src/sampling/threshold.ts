/**
 * The 56-bit arithmetic of OpenTelemetry consistent probability sampling ("TraceState: Probability
 * Sampling"): a randomness value R (the trace id's least-significant 56 bits, or the explicit `rv`
 * of the `ot` tracestate entry) is compared with a rejection threshold T; the span is sampled iff
 * R >= T. T = (1 - p) * 2^56 and is written as `th:<hex>` with trailing zeros removed.
 *
 * Both values are kept as two 28-bit halves (hi = bits 55..28, lo = bits 27..0), so the hot-path
 * comparison uses small integers: no BigInt and no precision loss above 2^53.
 */

/** 2^28: one past the largest 28-bit half. A threshold whose `hi` is this value rejects everything. */
export const HALF_RANGE = 0x10000000;
/** 2^56 as a float (exact). */
const MAX_ADJUSTED_COUNT = 2 ** 56;
/** The smallest sampling probability the specification can express. */
export const MIN_PROBABILITY = 2 ** -56;
/** The specification recommends 4 significant hex digits by default. */
export const DEFAULT_PRECISION = 4;
export const MAX_PRECISION = 12;

/** Value of one hex digit, or -1 when `code` is not [0-9a-fA-F]. */
function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  const lower = code | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

/** Parses 7 hex digits at `start` into a 28-bit integer; -1 if any digit is not hex. */
export function parseHalf(text: string, start: number): number {
  let value = 0;
  let bad = 0;
  for (let i = start; i < start + 7; i++) {
    const d = hexDigit(text.charCodeAt(i));
    bad |= d;
    value = value * 16 + d;
  }
  return bad < 0 ? -1 : value;
}

/** High half of the trace id's randomness (hex digits 18..24), or -1 for a malformed id. */
export function traceIdRandomHi(traceId: string): number {
  return traceId.length === 32 ? parseHalf(traceId, 18) : -1;
}

/** Low half of the trace id's randomness (hex digits 25..31), or -1 for a malformed id. */
export function traceIdRandomLo(traceId: string): number {
  return traceId.length === 32 ? parseHalf(traceId, 25) : -1;
}

/** True when `rv` is a valid explicit randomness value: exactly 14 hex digits. */
export function isRandomnessValue(rv: string): boolean {
  return rv.length === 14 && parseHalf(rv, 0) >= 0 && parseHalf(rv, 7) >= 0;
}

/**
 * Converts a probability to a `th` value exactly as the specification's reference algorithm does
 * (IEEE-754 hexadecimal rounding, precision raised by the number of leading `f` digits), so our
 * thresholds match the specification's table digit for digit: 1/3 → `aaab`, 1/100 → `fd70a`.
 */
export function probabilityToTValue(probability: number, precision: number = DEFAULT_PRECISION): string {
  if (!(probability > 0 && probability <= 1)) {
    throw new RangeError(`probability must be in (0, 1], got ${probability}`);
  }
  if (probability === 1) return "0";
  const p = Math.max(probability, MIN_PROBABILITY);
  // frexp: p = m * 2^exp with m in [0.5, 1); doubling is exact, so this loop is too.
  let exp = 0;
  for (let m = p; m < 0.5; m *= 2) exp--;
  const digits = Math.max(1, Math.min(MAX_PRECISION, precision + Math.floor(exp / -4)));
  // Map (0, 1) to the rejection probability in [1, 2), then round at the last kept digit.
  const rejection = 2 - p + 0.5 * 2 ** (-4 * digits);
  let hex: string;
  if (rejection >= 2) {
    hex = "fffffffffffff";
  } else {
    // The 52-bit fraction of a float in [1, 2) is exactly (x - 1) * 2^52.
    hex = ((rejection - 1) * 2 ** 52).toString(16).padStart(13, "0");
  }
  const trimmed = hex.slice(0, digits).replace(/0+$/, "");
  // Rounding a probability this close to 1 leaves no rejected digit: sample everything.
  return trimmed === "" ? "0" : trimmed;
}

/**
 * An immutable rejection threshold. `hi`/`lo` are the 28-bit halves of T; `tvalue` is its `th`
 * encoding; NEVER (rate 0) is not a probability and is never written to tracestate.
 */
export class Threshold {
  /** Samples everything: `th:0`. */
  static readonly ALWAYS = new Threshold(0, 0, "0");
  /** Samples nothing (rate 0). Has no `th` encoding: the spec treats zero as non-probabilistic. */
  static readonly NEVER = new Threshold(HALF_RANGE, 0, "");

  /** Sampling probability (2^56 - T) / 2^56. */
  readonly probability: number;
  /** Character codes of T as 14 lowercase hex digits (for the string comparison fast path). */
  private readonly codes: Uint8Array;
  private readonly never: boolean;

  private constructor(
    readonly hi: number,
    readonly lo: number,
    readonly tvalue: string,
  ) {
    this.never = hi >= HALF_RANGE;
    this.probability = this.never ? 0 : (MAX_ADJUSTED_COUNT - (hi * HALF_RANGE + lo)) / MAX_ADJUSTED_COUNT;
    const digits = this.never ? "" : hi.toString(16).padStart(7, "0") + lo.toString(16).padStart(7, "0");
    this.codes = Uint8Array.from(digits, (c) => c.charCodeAt(0));
  }

  /** Threshold for a probability in [0, 1]; 0 gives NEVER, 1 gives ALWAYS. */
  static fromProbability(probability: number, precision: number = DEFAULT_PRECISION): Threshold {
    if (probability === 0) return Threshold.NEVER;
    if (probability === 1) return Threshold.ALWAYS;
    const parsed = Threshold.fromTValue(probabilityToTValue(probability, precision));
    if (parsed === undefined) throw new RangeError(`cannot encode probability ${probability}`);
    return parsed;
  }

  /** Decodes a `th` value (1 to 14 hex digits, implicitly padded with trailing zeros). */
  static fromTValue(tvalue: string): Threshold | undefined {
    if (tvalue.length < 1 || tvalue.length > 14) return undefined;
    const padded = tvalue.length === 14 ? tvalue : tvalue.padEnd(14, "0");
    const hi = parseHalf(padded, 0);
    const lo = parseHalf(padded, 7);
    if (hi < 0 || lo < 0) return undefined;
    if (hi === 0 && lo === 0) return Threshold.ALWAYS;
    return new Threshold(hi, lo, padded.toLowerCase().replace(/0+$/, ""));
  }

  /** True when this threshold rejects every randomness value (rate 0). */
  get isNever(): boolean {
    return this.hi >= HALF_RANGE;
  }

  /** The consistent decision: sample iff R >= T, with R given as its two 28-bit halves. */
  sampled(rHi: number, rLo: number): boolean {
    return rHi > this.hi || (rHi === this.hi && rLo >= this.lo);
  }

  /**
   * R >= T where R is the 14 hex digits of `text` at `offset`. For equal-length lowercase hex,
   * comparing digit by digit from the most significant one is the numeric comparison, and the
   * first digit almost always decides (15 times in 16), so this reads one or two characters
   * instead of parsing 56 bits. Upper-case digits are folded (`| 0x20` maps A-F to a-f and leaves
   * 0-9 alone); callers pass well-formed hex (trace ids are validated when they are parsed).
   */
  sampledHex(text: string, offset: number): boolean {
    if (this.never) return false;
    const codes = this.codes;
    for (let i = 0; i < 14; i++) {
      const c = text.charCodeAt(offset + i) | 0x20;
      const t = codes[i]!;
      if (c !== t) return c > t;
    }
    return true;
  }

  /** Decision for a trace id's own randomness, its last 14 hex digits (malformed ids are never sampled). */
  sampledTraceId(traceId: string): boolean {
    return traceId.length === 32 && this.sampledHex(traceId, 18);
  }

  /** Adjusted count 2^56 / (2^56 - T): how many traces one sampled trace represents. */
  get adjustedCount(): number {
    return this.probability === 0 ? Infinity : 1 / this.probability;
  }

  /** T as a BigInt, for tests and diagnostics (never on the hot path). */
  toBigInt(): bigint {
    return (BigInt(this.hi) << 28n) | BigInt(this.lo);
  }

  toString(): string {
    return this.isNever ? "never" : `th:${this.tvalue}`;
  }
}

/**
 * The thresholds of one rate and its priority-scaled variants (rate × multiplier, capped at 1).
 * Thresholds are computed off the hot path: once per rate, and once per multiplier seen.
 */
export class ScaledThresholds {
  readonly base: Threshold;
  private m1 = NaN;
  private t1: Threshold = Threshold.NEVER;
  private m2 = NaN;
  private t2: Threshold = Threshold.NEVER;

  constructor(
    readonly rate: number,
    readonly precision: number,
  ) {
    this.base = Threshold.fromProbability(rate, precision);
  }

  get(multiplier: number): Threshold {
    if (multiplier === 1) return this.base;
    if (multiplier === this.m1) return this.t1;
    if (multiplier === this.m2) return this.t2;
    const th = Threshold.fromProbability(Math.min(1, this.rate * multiplier), this.precision);
    // Two slots cover the two priorities (high, low); a third multiplier replaces the older one.
    this.m2 = this.m1;
    this.t2 = this.t1;
    this.m1 = multiplier;
    this.t1 = th;
    return th;
  }
}
