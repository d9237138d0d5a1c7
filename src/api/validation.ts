/**
 * Edge validation of requests: sizes, counts, required fields, enum values and numeric ranges
 * that need no state. A `RequestCheck` collects every violation of a request and throws one
 * ValidationError listing them all, before anything reaches the backend.
 */
import { ValidationError, type FieldViolation } from "../core/errors.ts";
import { Direction as CoreDirection } from "../core/graph/expansion.ts";
import { Direction, RecordFormat, Space, type Vec3 } from "../gen/neurograph/v1/common.ts";
import type { TypeFilter } from "./backend.ts";
import type { ApiLimits } from "./config.ts";

export const RECORD_SIZE = 64;

export interface FormatChoice {
  readonly packed: boolean;
  readonly structured: boolean;
}

export class RequestCheck {
  readonly violations: FieldViolation[] = [];

  constructor(
    /** What is checked, for the error message, e.g. "CreateTokens request". */
    private readonly what: string,
    readonly limits: ApiLimits,
  ) {}

  add(field: string, value: unknown, rule: string, description: string, index?: number): void {
    this.violations.push({ ...(index === undefined ? {} : { index }), field, value: String(value), rule, description });
  }

  /** Throws the collected violations, if any. */
  done(): void {
    if (this.violations.length > 0) throw ValidationError.of(this.what, this.violations);
  }

  /** Number of packed records in `bytes`; reports a length that is not a multiple of 64. */
  packedCount(field: string, bytes: Uint8Array): number {
    if (bytes.byteLength % RECORD_SIZE !== 0) {
      this.add(
        field,
        `${bytes.byteLength} bytes`,
        "record_size",
        `${field} must hold whole 64-byte records; ${bytes.byteLength} bytes is ${Math.floor(bytes.byteLength / RECORD_SIZE)} records and ${bytes.byteLength % RECORD_SIZE} extra bytes`,
      );
      return 0;
    }
    return bytes.byteLength / RECORD_SIZE;
  }

  /** Reports a batch of more items than the server accepts. */
  batchSize(field: string, count: number): void {
    const max = this.limits.maxBatchItems;
    if (count > max) {
      this.add(field, `${count} items`, "max_batch_items", `${field} holds ${count} items; the server accepts at most ${max} per request: split the batch`);
    }
  }

  /** Ids as a Uint32Array; reports 0 ids (each index) and oversized lists. */
  ids(field: string, ids: readonly number[], required = true): Uint32Array {
    this.batchSize(field, ids.length);
    if (required && ids.length === 0) this.add(field, "[]", "required", `${field} must name at least one token id`);
    const out = Uint32Array.from(ids);
    let reported = 0;
    for (let i = 0; i < out.length && reported < 100; i++) {
      if (out[i] === 0) {
        this.add("", 0, "id_nonzero", `${field}[${i}] is 0; token ids start at 1`, i);
        reported++;
      }
    }
    return out;
  }

  id(field: string, id: number): number {
    if (id === 0) this.add(field, 0, "id_nonzero", `${field} is required and must not be 0`);
    return id;
  }

  /** Space enum → index 0..7. */
  space(field: string, space: Space): number {
    if (!Number.isInteger(space) || space < Space.SPACE_L1_PHYSICAL || space > Space.SPACE_L8_ABSTRACT) {
      this.add(field, space, "space_required", `${field} must be one of SPACE_L1_PHYSICAL … SPACE_L8_ABSTRACT`);
      return 0;
    }
    return space - 1;
  }

  direction(field: string, direction: Direction): CoreDirection {
    switch (direction) {
      case Direction.DIRECTION_UNSPECIFIED:
      case Direction.DIRECTION_OUT:
        return CoreDirection.Out;
      case Direction.DIRECTION_IN:
        return CoreDirection.In;
      case Direction.DIRECTION_BOTH:
        return CoreDirection.Both;
      default:
        this.add(field, direction, "enum_value", `${field} must be DIRECTION_OUT, DIRECTION_IN or DIRECTION_BOTH`);
        return CoreDirection.Out;
    }
  }

  format(field: string, format: RecordFormat, fallback: RecordFormat): FormatChoice {
    const f = format === RecordFormat.RECORD_FORMAT_UNSPECIFIED ? fallback : format;
    switch (f) {
      case RecordFormat.RECORD_FORMAT_NONE:
        return { packed: false, structured: false };
      case RecordFormat.RECORD_FORMAT_PACKED:
        return { packed: true, structured: false };
      case RecordFormat.RECORD_FORMAT_STRUCTURED:
        return { packed: false, structured: true };
      case RecordFormat.RECORD_FORMAT_BOTH:
        return { packed: true, structured: true };
      default:
        this.add(field, format, "enum_value", `${field} must be a RecordFormat value (NONE, PACKED, STRUCTURED or BOTH)`);
        return { packed: false, structured: false };
    }
  }

  /** A result limit: 0 → the default; reports values above the server's maximum. */
  limit(field: string, limit: number, fallback: number, max: number): number {
    if (limit === 0) return fallback;
    if (limit > max) this.add(field, limit, "max_limit", `${field} must be at most ${max}`);
    return Math.min(limit, max);
  }

  depth(field: string, depth: number | undefined, fallback: number): number {
    const d = depth ?? fallback;
    if (d > this.limits.maxDepth) this.add(field, d, "max_depth", `${field} must be at most ${this.limits.maxDepth}`);
    return Math.min(d, this.limits.maxDepth);
  }

  /** A finite number > 0. */
  positive(field: string, value: number): number {
    if (!Number.isFinite(value) || value <= 0) this.add(field, value, "positive", `${field} must be a finite number > 0`);
    return value;
  }

  /** A finite number in [min, max]. */
  inRange(field: string, value: number, min: number, max: number): number {
    if (!Number.isFinite(value) || value < min || value > max) this.add(field, value, "range", `${field} must be within [${min}, ${max}]`);
    return value;
  }

  point(field: string, v: Vec3 | undefined): [number, number, number] {
    if (v === undefined) {
      this.add(field, "unset", "required", `${field} is required`);
      return [0, 0, 0];
    }
    for (const axis of ["x", "y", "z"] as const) {
      if (!Number.isFinite(v[axis])) this.add(`${field}.${axis}`, v[axis], "finite", `${field}.${axis} must be a finite number`);
    }
    return [v.x, v.y, v.z];
  }

  /** Connection type list → 256-bit set; empty → null (all types). */
  types(field: string, types: readonly number[]): TypeFilter {
    if (types.length === 0) return null;
    const bits = new Uint8Array(32);
    for (let i = 0; i < types.length; i++) {
      const t = types[i]!;
      if (t > 0xff) this.add(field, t, "type_range", `${field}[${i}] must be a connection type 0..255`);
      else bits[t >> 3]! |= 1 << (t & 7);
    }
    return bits;
  }
}
