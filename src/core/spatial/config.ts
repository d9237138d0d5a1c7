/**
 * Spatial index parameters and query-argument validation.
 *
 * Exactness: coordinates are int16 fixed point (decoded = raw / scale). A query point is encoded
 * exactly as a token coordinate is (`roundCoordinate`: nearest raw unit, ties away from zero),
 * and every distance is computed as an exact integer d² = Δx² + Δy² + Δz² in raw units (at most
 * 3·65535² < 2^53). A radius r (decoded units) becomes R = r·scale raw units, snapped to the
 * nearest integer when within 1e-9 of it (so r = 0.29 in L1 means exactly 29 raw units, although
 * 0.29·100 = 28.999999999999996 in floating point). A token is within r iff d² ≤ R² (inclusive).
 * Distances reported are √d² / scale. Ties are ordered by id.
 */
import { ValidationError } from "../errors.ts";
import type { FieldViolation } from "../errors.ts";
import { SPACES } from "../token/columns.ts";
import { MAX_RAW_COORD, MIN_RAW_COORD, SCALES } from "../token/layout.ts";
import { roundCoordinate } from "../token/coords.ts";

/**
 * Default cell edge per space, in decoded units: about 1/160 of each space's extent (L1/L7
 * ±327.67 → 4.0, L3 ±32.767 → 0.5, the ±3.2767 spaces → 0.05), i.e. 400-500 raw units, so a
 * space has at most ~164 cells per axis and a query of radius ≤ one cell touches ≤ 27 cells. The
 * constitution's physics block overrides these.
 */
export const DEFAULT_CELL_SIZES: readonly number[] = Object.freeze([4, 0.05, 0.5, 0.05, 0.05, 0.05, 4, 0.05]);

/** Largest k (and neighbour limit) one query may ask for. */
export const MAX_K = 1 << 16;

export const RAW_MIN = MIN_RAW_COORD;
export const RAW_MAX = MAX_RAW_COORD;

export interface SpatialIndexOptions {
  /** Cell edge per space in decoded units (8 values). Default DEFAULT_CELL_SIZES. */
  readonly cellSizes?: ArrayLike<number>;
  /**
   * Changes (inserts, moves, deletes) kept in a space's overflow list before it is rebuilt on its
   * next query. Default ⌈√n⌉ (at least 64) for n tokens at build: queries scan the overflow, so
   * this balances the O(n) rebuild against the per-query scan.
   */
  readonly overflowLimit?: number;
}

export class ArgumentCheck {
  readonly list: FieldViolation[] = [];

  add(field: string, value: unknown, rule: string, description: string): void {
    this.list.push({ field, value: String(value), rule, description });
  }

  throwIfAny(what: string): void {
    if (this.list.length > 0) throw ValidationError.of(what, this.list);
  }

  space(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v >= SPACES) this.add("space", v, "space_range", "must be a space index 0..7 (L1..L8)");
  }

  radius(field: string, v: number, positive = false): void {
    if (!Number.isFinite(v) || v < 0 || (positive && v === 0)) {
      this.add(field, v, "radius_range", `must be a finite number ${positive ? "> 0" : "≥ 0"} in decoded units`);
    }
  }

  count(field: string, v: number): void {
    if (!Number.isInteger(v) || v < 1 || v > MAX_K) this.add(field, v, "count_range", `must be an integer in 1..${MAX_K}`);
  }

  tokenId(v: number): void {
    if (!Number.isInteger(v) || v < 1 || v > 0xffffffff) this.add("id", v, "token_id", "must be a token id, an integer in 1..4294967295");
  }

  /** A query coordinate: finite and inside the space's range once encoded. */
  coordinate(field: string, v: number, space: number): void {
    const scale = SCALES[space];
    if (scale === undefined) return; // the space itself is reported
    const raw = roundCoordinate(v, space);
    if (!Number.isFinite(v) || raw < RAW_MIN || raw > RAW_MAX) {
      this.add(field, v, "coordinate_range", `must be a finite number within ±${(RAW_MAX / scale).toString()} in this space`);
    }
  }
}

/** A decoded coordinate encoded to raw units (call after validation). */
export function toRaw(v: number, space: number): number {
  return roundCoordinate(v, space);
}

/** A decoded radius in raw units, snapped to an integer when it denotes one. */
export function radiusToRaw(r: number, space: number): number {
  const raw = r * SCALES[space]!;
  const snapped = Math.round(raw);
  return Math.abs(raw - snapped) <= 1e-9 * Math.max(1, raw) ? snapped : raw;
}

/** Cell edges in raw units (integers ≥ 1), validated. */
export function resolveCellSizes(sizes: ArrayLike<number> | undefined): Int32Array {
  const src = sizes ?? DEFAULT_CELL_SIZES;
  const check = new ArgumentCheck();
  const out = new Int32Array(SPACES);
  if (src.length !== SPACES) {
    check.add("cellSizes", `${src.length} values`, "cell_sizes_length", "must hold one cell size per space (8 values)");
  } else {
    for (let s = 0; s < SPACES; s++) {
      const v = src[s]!;
      const raw = Number.isFinite(v) ? Math.round(v * SCALES[s]!) : NaN;
      if (!(raw >= 1 && raw <= 65536)) {
        check.add(`cellSizes[${s}]`, v, "cell_size_range", `must be between ${1 / SCALES[s]!} and ${65536 / SCALES[s]!} decoded units`);
      } else {
        out[s] = raw;
      }
    }
  }
  check.throwIfAny("spatial index options");
  return out;
}
