/**
 * Sampling configuration: plain data (from the constitution's sampling section, the node
 * configuration or AdminService), defaults, and validation. Every merge validates the whole result
 * and throws one ValidationError listing every violation; nothing is applied on error.
 */
import { ValidationError, type FieldViolation } from "../core/errors.ts";
import { DEFAULT_PRECISION, MAX_PRECISION } from "./threshold.ts";

/** Who may use the `x-force-trace` / `x-sampling-priority` / `x-sampling-rate` headers. */
export type HeadControlPolicy = "authenticated" | "always" | "never";
/** Whether a remote parent's sampled flag is followed: always, only from authenticated callers, or never. */
export type RemoteParentPolicy = "follow" | "authenticated" | "ignore";

export interface ProbabilityConfig {
  /** Sampling probability for root spans, 0..1 (0 = never). */
  readonly rate: number;
  /** Significant hex digits of the written `th` (1..12, spec default 4). */
  readonly precision: number;
}

export interface HeadControlsConfig {
  readonly policy: HeadControlPolicy;
  /** Rate multiplier for `x-sampling-priority: high`. */
  readonly highMultiplier: number;
  /** Rate multiplier for `x-sampling-priority: low`. */
  readonly lowMultiplier: number;
}

export interface ParentConfig {
  readonly remote: RemoteParentPolicy;
}

export interface DynamicRateConfig {
  readonly enabled: boolean;
  /** Wanted sampled root traces per second, per operation. */
  readonly targetTracesPerSecond: number;
  /** Length of one measurement interval. */
  readonly intervalMs: number;
  /** Floor and ceiling of every operation's rate. */
  readonly minRate: number;
  readonly maxRate: number;
  /** Largest relative raise per interval (0.5 = +50 %). Decreases apply at once. */
  readonly maxIncrease: number;
  /** Relative dead band around the target inside which the rate is left alone (0.3 = ±30 %). */
  readonly deadBand: number;
  /** Span attribute naming the operation; null (or absent on the span) = the span name. */
  readonly operationAttribute: string | null;
  /** Tracked operations at most; further operations share one "other" bucket. */
  readonly maxOperations: number;
  /** Intervals without traffic after which an operation is forgotten. */
  readonly idleIntervals: number;
}

export interface TailSamplingConfig {
  readonly enabled: boolean;
  /** Buffered (undecided) traces at most. */
  readonly maxTraces: number;
  /** Estimated bytes of buffered spans at most. */
  readonly maxBytes: number;
  /** A trace whose local root has not ended after this long is decided with what is known. */
  readonly decisionTimeoutMs: number;
  /** Root duration at or above which a trace is slow. */
  readonly slowThresholdMs: number;
  /** Share of slow traces kept (consistent: decided from the trace id's randomness). */
  readonly slowShare: number;
  /** Share of ordinary traces (no error, not slow, not head-sampled) kept. */
  readonly normalShare: number;
  /** Keep traces whose local root was head-sampled (the head rate stays the baseline). */
  readonly keepSampled: boolean;
  /** Decided trace ids remembered so late spans follow their trace's decision. */
  readonly decidedCacheSize: number;
}

export interface SamplingConfig {
  /** Kill switch: false = every span is NOT_RECORD with no further work. */
  readonly enabled: boolean;
  /** Head sampling probability for root spans (the constitution's trace sample rate). */
  readonly baseRate: number;
  readonly precision: number;
  readonly headControls: HeadControlsConfig;
  readonly parent: ParentConfig;
  readonly dynamic: DynamicRateConfig;
  readonly tail: TailSamplingConfig;
}

/** A partial configuration: any subset of fields, nested sections partial too. */
export interface SamplingConfigPatch {
  readonly enabled?: boolean;
  readonly baseRate?: number;
  readonly precision?: number;
  readonly headControls?: Partial<HeadControlsConfig>;
  readonly parent?: Partial<ParentConfig>;
  readonly dynamic?: Partial<DynamicRateConfig>;
  readonly tail?: Partial<TailSamplingConfig>;
}

export const DEFAULT_HEAD_CONTROLS: HeadControlsConfig = Object.freeze({
  policy: "authenticated",
  highMultiplier: 10,
  lowMultiplier: 0.1,
});

export const DEFAULT_PARENT: ParentConfig = Object.freeze({ remote: "follow" });

export const DEFAULT_DYNAMIC: DynamicRateConfig = Object.freeze({
  enabled: false,
  targetTracesPerSecond: 10,
  intervalMs: 5000,
  minRate: 0.001,
  maxRate: 1,
  maxIncrease: 0.5,
  deadBand: 0.3,
  operationAttribute: null,
  maxOperations: 256,
  idleIntervals: 60,
});

export const DEFAULT_TAIL: TailSamplingConfig = Object.freeze({
  enabled: false,
  maxTraces: 10_000,
  maxBytes: 64 * 1024 * 1024,
  decisionTimeoutMs: 10_000,
  slowThresholdMs: 100,
  slowShare: 0.5,
  normalShare: 0,
  keepSampled: true,
  decidedCacheSize: 20_000,
});

export const DEFAULT_SAMPLING_CONFIG: SamplingConfig = Object.freeze({
  enabled: true,
  baseRate: 0.01,
  precision: DEFAULT_PRECISION,
  headControls: DEFAULT_HEAD_CONTROLS,
  parent: DEFAULT_PARENT,
  dynamic: DEFAULT_DYNAMIC,
  tail: DEFAULT_TAIL,
});

type FieldSpec =
  | { readonly kind: "number"; readonly min: number; readonly max: number; readonly integer?: boolean; readonly aboveMin?: boolean }
  | { readonly kind: "boolean" }
  | { readonly kind: "enum"; readonly values: readonly string[] }
  | { readonly kind: "name" };

type Schema<T> = { readonly [K in keyof T]: FieldSpec };

const RATE: FieldSpec = { kind: "number", min: 0, max: 1 };
const BOOL: FieldSpec = { kind: "boolean" };
const PRECISION: FieldSpec = { kind: "number", min: 1, max: MAX_PRECISION, integer: true };
const int = (min: number, max: number): FieldSpec => ({ kind: "number", min, max, integer: true });

export const PROBABILITY_SCHEMA: Schema<ProbabilityConfig> = { rate: RATE, precision: PRECISION };
export const HEAD_CONTROLS_SCHEMA: Schema<HeadControlsConfig> = {
  policy: { kind: "enum", values: ["authenticated", "always", "never"] },
  highMultiplier: { kind: "number", min: 1, max: 1e6 },
  lowMultiplier: RATE,
};
export const PARENT_SCHEMA: Schema<ParentConfig> = { remote: { kind: "enum", values: ["follow", "authenticated", "ignore"] } };
export const DYNAMIC_SCHEMA: Schema<DynamicRateConfig> = {
  enabled: BOOL,
  targetTracesPerSecond: { kind: "number", min: 0, max: 1e9, aboveMin: true },
  intervalMs: int(10, 3_600_000),
  minRate: RATE,
  maxRate: RATE,
  maxIncrease: { kind: "number", min: 0, max: 10, aboveMin: true },
  deadBand: { kind: "number", min: 0, max: 0.99 },
  operationAttribute: { kind: "name" },
  maxOperations: int(1, 100_000),
  idleIntervals: int(1, 1_000_000),
};
export const TAIL_SCHEMA: Schema<TailSamplingConfig> = {
  enabled: BOOL,
  maxTraces: int(1, 10_000_000),
  maxBytes: int(1024, 2 ** 40),
  decisionTimeoutMs: int(1, 3_600_000),
  slowThresholdMs: { kind: "number", min: 0, max: 3_600_000 },
  slowShare: RATE,
  normalShare: RATE,
  keepSampled: BOOL,
  decidedCacheSize: int(0, 10_000_000),
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function render(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v).slice(0, 64);
  if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) return String(v);
  return Array.isArray(v) ? "array" : typeof v;
}

function checkField(field: string, spec: FieldSpec, value: unknown, out: FieldViolation[]): boolean {
  const bad = (rule: string, description: string): boolean => {
    out.push({ field, value: render(value), rule, description });
    return false;
  };
  switch (spec.kind) {
    case "boolean":
      return typeof value === "boolean" || bad("type_boolean", "must be true or false");
    case "enum":
      return (typeof value === "string" && spec.values.includes(value)) || bad("enum", `must be one of ${spec.values.join(", ")}`);
    case "name":
      return value === null || (typeof value === "string" && value.length > 0 && value.length <= 255) || bad("attribute_name", "must be null or a non-empty attribute name of at most 255 characters");
    case "number": {
      if (typeof value !== "number" || !Number.isFinite(value)) return bad("type_number", "must be a finite number");
      if (spec.integer === true && !Number.isInteger(value)) return bad("integer", "must be an integer");
      const low = spec.aboveMin === true ? value <= spec.min : value < spec.min;
      if (low || value > spec.max) {
        return bad("range", `must be in ${spec.aboveMin === true ? "(" : "["}${spec.min}, ${spec.max}]`);
      }
      return true;
    }
  }
}

/**
 * Merges `patch` (unknown input) onto `base` for one section, collecting violations with dotted
 * field paths under `prefix`. Unknown keys are violations too, so typos never pass silently.
 */
export function mergeSection<T extends object>(prefix: string, base: T, patch: unknown, schema: Schema<T>, out: FieldViolation[]): T {
  if (patch === undefined) return base;
  if (!isRecord(patch)) {
    out.push({ field: prefix || "(root)", value: render(patch), rule: "type_object", description: "must be an object" });
    return base;
  }
  const merged = { ...base } as Record<string, unknown>;
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue; // an absent setting keeps its current value
    const field = prefix === "" ? key : `${prefix}.${key}`;
    const spec = (schema as Record<string, FieldSpec | undefined>)[key];
    if (spec === undefined) {
      out.push({ field, rule: "unknown_field", description: `is not a sampling setting; known: ${Object.keys(schema).join(", ")}` });
    } else if (checkField(field, spec, value, out)) {
      merged[key] = value;
    }
  }
  return Object.freeze(merged) as T;
}

export function checkDynamicBounds(prefix: string, d: DynamicRateConfig, out: FieldViolation[]): void {
  if (d.minRate > d.maxRate) {
    out.push({ field: `${prefix}minRate`, value: String(d.minRate), rule: "min_le_max", description: `must not exceed maxRate (${d.maxRate})` });
  }
}

/** Throws one ValidationError for every violation collected. */
export function throwIfInvalid(what: string, violations: readonly FieldViolation[]): void {
  if (violations.length > 0) throw ValidationError.of(what, violations);
}

/** Validates one section patch onto its current value; throws ValidationError, returns the new section. */
export function resolveSection<T extends object>(what: string, base: T, patch: unknown, schema: Schema<T>): T {
  const out: FieldViolation[] = [];
  const merged = mergeSection("", base, patch, schema, out);
  throwIfInvalid(what, out);
  return merged;
}

/** Validates a sampling rate (a finite number in [0, 1]). */
export function resolveRate(what: string, value: unknown): number {
  return resolveSection(what, { rate: 0 }, { rate: value }, { rate: RATE }).rate;
}

/** Validates a `th` precision (1..12 significant hex digits). */
export function resolvePrecision(what: string, value: unknown): number {
  return resolveSection(what, { precision: DEFAULT_PRECISION }, { precision: value }, { precision: PRECISION }).precision;
}

/**
 * Merges a partial configuration (unknown input: JSON, constitution, AdminService) onto `base`
 * (the defaults or the running configuration) and validates the whole result.
 */
export function resolveSamplingConfig(patch: unknown, base: SamplingConfig = DEFAULT_SAMPLING_CONFIG): SamplingConfig {
  const out: FieldViolation[] = [];
  if (patch !== undefined && !isRecord(patch)) {
    throwIfInvalid("sampling configuration", [{ field: "(root)", value: render(patch), rule: "type_object", description: "must be an object" }]);
  }
  const p = (patch ?? {}) as Record<string, unknown>;
  const known = new Set(["enabled", "baseRate", "precision", "headControls", "parent", "dynamic", "tail"]);
  for (const key of Object.keys(p)) {
    if (!known.has(key)) out.push({ field: key, rule: "unknown_field", description: `is not a sampling setting; known: ${[...known].join(", ")}` });
  }
  const top = mergeSection(
    "",
    { enabled: base.enabled, baseRate: base.baseRate, precision: base.precision },
    { enabled: p.enabled, baseRate: p.baseRate, precision: p.precision },
    { enabled: BOOL, baseRate: RATE, precision: PRECISION },
    out,
  );
  const dynamic = mergeSection("dynamic", base.dynamic, p.dynamic, DYNAMIC_SCHEMA, out);
  checkDynamicBounds("dynamic.", dynamic, out);
  const config: SamplingConfig = Object.freeze({
    ...top,
    headControls: mergeSection("headControls", base.headControls, p.headControls, HEAD_CONTROLS_SCHEMA, out),
    parent: mergeSection("parent", base.parent, p.parent, PARENT_SCHEMA, out),
    dynamic,
    tail: mergeSection("tail", base.tail, p.tail, TAIL_SCHEMA, out),
  });
  throwIfInvalid("sampling configuration", out);
  return config;
}
