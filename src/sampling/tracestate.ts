/**
 * Reading and writing the OpenTelemetry `ot` entry of the W3C `tracestate`
 * (`ot=th:<hex>;rv:<14 hex>;<other sub-keys>`): the threshold `th` is set on sampled spans and
 * erased when the sampling probability is unknown; `rv` and unknown sub-keys are preserved.
 */
import { createTraceState, type TraceState } from "@opentelemetry/api";
import { Threshold, isRandomnessValue } from "./threshold.ts";

export const OT_KEY = "ot";
/** The specification limits the `ot` value to 256 characters. */
const MAX_OT_LENGTH = 256;

/** What a span's `ot` entry says about consistent sampling. */
export interface OtInfo {
  /** The raw `ot` value ("" when absent). */
  readonly raw: string;
  /** The decoded `th`, or undefined when absent or malformed. */
  readonly threshold: Threshold | undefined;
  /** A `th` sub-key is present (even a malformed one, which must be erased). */
  readonly hasTh: boolean;
  /** The explicit randomness `rv` when present and valid (kept verbatim: samplers never modify it). */
  readonly rv: string | undefined;
  /** Every other sub-key, verbatim, in order (`k:v`). */
  readonly others: readonly string[];
}

const EMPTY: OtInfo = Object.freeze({
  raw: "",
  threshold: undefined,
  hasTh: false,
  rv: undefined,
  others: Object.freeze([]),
});

/** Parses an `ot` value. Malformed members are dropped; a repeated key keeps its first value. */
export function parseOtValue(raw: string): OtInfo {
  if (raw === "") return EMPTY;
  let threshold: Threshold | undefined;
  let hasTh = false;
  let rv: string | undefined;
  const others: string[] = [];
  const seen = new Set<string>();
  for (const member of raw.split(";")) {
    const colon = member.indexOf(":");
    if (colon <= 0) continue;
    const key = member.slice(0, colon);
    if (seen.has(key)) continue;
    seen.add(key);
    const value = member.slice(colon + 1);
    if (key === "th") {
      hasTh = true;
      threshold = Threshold.fromTValue(value);
    } else if (key === "rv") {
      if (isRandomnessValue(value)) rv = value;
    } else {
      others.push(member);
    }
  }
  return { raw, threshold, hasTh, rv, others };
}

// One-entry cache: all spans of a trace in this process share one tracestate string, so
// consecutive decisions usually parse the same `ot` value.
let lastRaw = "";
let lastInfo: OtInfo = EMPTY;

/** The `ot` information of a tracestate (cached by value). */
export function otInfo(traceState: TraceState | undefined): OtInfo {
  if (traceState === undefined) return EMPTY;
  const raw = traceState.get(OT_KEY);
  if (raw === undefined || raw === "") return EMPTY;
  if (raw === lastRaw) return lastInfo;
  const info = parseOtValue(raw);
  lastRaw = raw;
  lastInfo = info;
  return info;
}

/** Formats an `ot` value: th first, then rv, then the other sub-keys. */
export function formatOtValue(th: Threshold | undefined, rv: string | undefined, others: readonly string[]): string {
  const parts: string[] = [];
  if (th !== undefined && !th.isNever) parts.push(`th:${th.tvalue}`);
  if (rv !== undefined) parts.push(`rv:${rv}`);
  for (const o of others) parts.push(o);
  return parts.join(";");
}

/** Replaces (or removes, when `value` is "") the `ot` entry. */
function withOtValue(traceState: TraceState | undefined, value: string): TraceState | undefined {
  if (value === "") return traceState?.unset(OT_KEY);
  if (traceState === undefined) return createTraceState(`${OT_KEY}=${value}`);
  return traceState.set(OT_KEY, value);
}

/**
 * The tracestate of a span sampled with threshold `th`: `th` is set, `rv` and other sub-keys and
 * other vendors' entries are kept. If the result would exceed the 256-character limit the
 * threshold is erased instead (an unknown probability is better than a wrong one).
 */
export function setThreshold(traceState: TraceState | undefined, th: Threshold): TraceState | undefined {
  const info = otInfo(traceState);
  let value = formatOtValue(th, info.rv, info.others);
  if (value.length > MAX_OT_LENGTH) value = formatOtValue(undefined, info.rv, info.others);
  if (value === info.raw) return traceState;
  return withOtValue(traceState, value);
}

/** The tracestate without `th` (for spans whose sampling probability is unknown). */
export function eraseThreshold(traceState: TraceState | undefined): TraceState | undefined {
  const info = otInfo(traceState);
  if (!info.hasTh) return traceState;
  return withOtValue(traceState, formatOtValue(undefined, info.rv, info.others));
}
