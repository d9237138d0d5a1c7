/**
 * Fixed-point coordinates: raw int16 = round(value × scale[space]).
 *
 * Rounding rule: the product `value * scale` is computed in float64 (one correctly rounded
 * multiplication) and rounded to the nearest integer; an exact tie (fraction .5 of that product)
 * rounds away from zero, so encoding is symmetric: encode(−v) = −encode(v). Rounding applies to
 * the binary value: 0.00015 is stored as 0.000149999…, so in L2 (scale 10000) it encodes to 1,
 * not 2. NaN, ±Infinity and
 * values whose rounded raw falls outside int16 are rejected, never clamped or zeroed.
 */
import type { FieldViolation } from "../errors.ts";
import { ValidationError } from "../errors.ts";
import { COORDS_PER_TOKEN } from "./columns.ts";
import { MAX_RAW_COORD, MIN_RAW_COORD, SCALES, coordinateField } from "./layout.ts";

/** Rounded raw value of a decoded coordinate; may be out of int16 range or NaN (check it). */
export function roundCoordinate(value: number, space: number): number {
  const scaled = value * (SCALES[space] ?? NaN);
  // "+ 0" turns −0 into 0.
  return (scaled < 0 ? -Math.round(-scaled) : Math.round(scaled)) + 0;
}

export function isRawCoordinate(raw: number): boolean {
  return raw >= MIN_RAW_COORD && raw <= MAX_RAW_COORD;
}

/** Decoded value of a raw coordinate of `space`. */
export function decodeCoordinate(raw: number, space: number): number {
  return raw / (SCALES[space] ?? NaN);
}

/** Decoded range of a space: [−32768/scale, 32767/scale]. */
export function coordinateRange(space: number): { readonly min: number; readonly max: number } {
  const scale = SCALES[space] ?? NaN;
  return { min: MIN_RAW_COORD / scale, max: MAX_RAW_COORD / scale };
}

/**
 * Encodes `count` tokens' decoded coordinates (24 per token, space-major: s*3+axis) into raw
 * int16s at `out[outStart..]`. Every bad value is reported (index = firstIndex + token) and
 * nothing is written unless all are valid.
 */
export function encodeCoordinates(
  values: ArrayLike<number>,
  out: Int16Array,
  outStart = 0,
  firstIndex = 0,
): void {
  const n = values.length;
  if (n % COORDS_PER_TOKEN !== 0) {
    throw ValidationError.of("coordinates", [
      {
        field: "coords",
        value: String(n),
        rule: "coords_length",
        description: `coordinates come in groups of ${COORDS_PER_TOKEN} (8 spaces × x, y, z); got ${n} values`,
      },
    ]);
  }
  const violations = coordinateViolations(values, firstIndex);
  if (violations.length > 0) throw ValidationError.of("coordinates", violations);
  for (let k = 0; k < n; k++) {
    out[outStart + k] = roundCoordinate(values[k]!, Math.floor((k % COORDS_PER_TOKEN) / 3));
  }
}

/** Violations of decoded coordinates (24 per token); empty when all encode. */
export function coordinateViolations(values: ArrayLike<number>, firstIndex = 0): FieldViolation[] {
  const violations: FieldViolation[] = [];
  for (let k = 0; k < values.length; k++) {
    const v = values[k]!;
    const c = k % COORDS_PER_TOKEN;
    const space = Math.floor(c / 3);
    const index = firstIndex + Math.floor(k / COORDS_PER_TOKEN);
    if (!Number.isFinite(v)) {
      violations.push({
        index,
        field: coordinateField(c),
        value: String(v),
        rule: "coord_finite",
        description: "coordinates must be finite numbers",
      });
    } else if (!isRawCoordinate(roundCoordinate(v, space))) {
      const r = coordinateRange(space);
      violations.push({
        index,
        field: coordinateField(c),
        value: String(v),
        rule: "coord_range",
        description: `space ${space + 1} holds values in [${r.min}, ${r.max}] (resolution ${1 / SCALES[space]!})`,
      });
    }
  }
  return violations;
}
