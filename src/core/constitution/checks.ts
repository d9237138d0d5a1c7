/**
 * Field-level checks used by whole-document validation. Each check appends at most one
 * violation and returns whether the value passed, so later checks that depend on a value
 * (e.g. min <= max needs two finite numbers) can be skipped without reporting the same
 * problem twice.
 */
import type { FieldViolation } from "../errors.ts";

/** Stable rule identifiers of document validation (clients and tests branch on them). */
export const DocumentRule = {
  sectionMissing: "section_missing",
  malformed: "malformed",
  nonCanonical: "non_canonical",
  checksumMismatch: "checksum_mismatch",
  finite: "finite",
  integer: "integer",
  boolean: "boolean",
  rangeOrder: "range_order",
  bounds: "bounds",
  byteRange: "byte_range",
  positive: "positive",
  nonNegative: "non_negative",
  unitInterval: "unit_interval",
  versionPositive: "version_positive",
  parentVersion: "parent_version",
  versionSequence: "version_sequence",
  profileUnknown: "profile_unknown",
  textLength: "text_length",
  textEncoding: "text_encoding",
  allowedTypesSize: "allowed_types_size",
  allowedTypesUndefined: "allowed_types_undefined",
  spaceMask: "space_mask",
  cellSizeCount: "cell_size_count",
  cellSizeResolution: "cell_size_resolution",
  coolingRange: "cooling_range",
  hierarchyLevels: "hierarchy_levels",
  promotionDeletionOverlap: "promotion_deletion_overlap",
  hypothesisConfidenceOrder: "hypothesis_confidence_order",
  hypothesisTypeNotAllowed: "hypothesis_type_not_allowed",
  hypothesisOutOfLimits: "hypothesis_out_of_limits",
  softThresholdRange: "soft_threshold_range",
  rssSampleInterval: "rss_sample_interval",
  adjustInterval: "adjust_interval",
  baseRateBounds: "base_rate_bounds",
  unknownField: "unknown_field",
} as const;
export type DocumentRule = (typeof DocumentRule)[keyof typeof DocumentRule];

const F32_MAX = 3.4028234663852886e38;
const UTF8 = new TextEncoder();

/** `maxTokens` → `max_tokens`: violations name fields as the .proto does. */
export function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function show(v: unknown): string {
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (Array.isArray(v)) return `${v.length} values`;
  return v === undefined ? "unset" : typeof v;
}

export class Checker {
  readonly violations: FieldViolation[] = [];

  fail(field: string, value: unknown, rule: DocumentRule, description: string): false {
    this.violations.push({ field, value: show(value), rule, description });
    return false;
  }

  /** A finite number (and, with `f32`, representable as a finite f32). */
  finite(field: string, v: unknown, f32 = false): v is number {
    if (typeof v === "number" && Number.isFinite(v) && (!f32 || Math.abs(v) <= F32_MAX)) return true;
    return this.fail(field, v, DocumentRule.finite, f32 ? "must be a finite number within the f32 range" : "must be a finite number");
  }

  /** An integer in [0, max] (max = 2^32 − 1 for uint32, 2^53 − 1 for uint64 fields). */
  integer(field: string, v: unknown, max: number): v is number {
    if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= max) return true;
    return this.fail(field, v, DocumentRule.integer, `must be an integer in [0, ${max}]`);
  }

  uint32(field: string, v: unknown): v is number {
    return this.integer(field, v, 0xffffffff);
  }

  uint64(field: string, v: unknown): v is number {
    return this.integer(field, v, Number.MAX_SAFE_INTEGER);
  }

  boolean(field: string, v: unknown): boolean {
    return typeof v === "boolean" || this.fail(field, v, DocumentRule.boolean, "must be true or false");
  }

  /** A raw byte value 0..255. */
  byte(field: string, v: unknown): v is number {
    if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 255) return true;
    return this.fail(field, v, DocumentRule.byteRange, "must be an integer raw byte value in [0, 255]");
  }

  /** A number within the fixed format bounds [lo, hi]. */
  bounds(field: string, v: number, lo: number, hi: number): boolean {
    return (v >= lo && v <= hi) || this.fail(field, v, DocumentRule.bounds, `must be within [${lo}, ${hi}]`);
  }

  unit(field: string, v: unknown): boolean {
    if (!this.finite(field, v)) return false;
    return (v >= 0 && v <= 1) || this.fail(field, v, DocumentRule.unitInterval, "must be within [0, 1]");
  }

  positive(field: string, v: number): boolean {
    return v > 0 || this.fail(field, v, DocumentRule.positive, "must be greater than 0");
  }

  nonNegative(field: string, v: number): boolean {
    return v >= 0 || this.fail(field, v, DocumentRule.nonNegative, "must be 0 or greater");
  }

  /** min <= max, reported on the min field. */
  order(minField: string, min: number, maxField: string, max: number): boolean {
    return min <= max || this.fail(minField, min, DocumentRule.rangeOrder, `must not exceed ${maxField} (${max})`);
  }

  text(field: string, v: unknown, maxBytes: number): boolean {
    if (typeof v !== "string") return this.fail(field, v, DocumentRule.textEncoding, "must be a string");
    if (/\p{Surrogate}/u.test(v)) return this.fail(field, v, DocumentRule.textEncoding, "must be well-formed Unicode (no lone surrogates)");
    const n = UTF8.encode(v).length;
    return n <= maxBytes || this.fail(field, v, DocumentRule.textLength, `must be at most ${maxBytes} bytes of UTF-8 (is ${n})`);
  }
}
