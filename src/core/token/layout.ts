/**
 * The 64-byte little-endian token record (DESIGN §3.1): wire, WAL and snapshot format.
 *
 * | off | size | field          | type        | meaning                                     |
 * |-----|------|----------------|-------------|---------------------------------------------|
 * |   0 |   48 | coords         | 24 × int16  | space s, axis a at byte (s*3+a)*2; raw/scale |
 * |  48 |    4 | id             | u32         | never 0 once stored; bits 28-31 = domain     |
 * |  52 |    2 | flags          | u16         | bits 0-7 system, 8-11 entity type, 12-15 level |
 * |  54 |    4 | weight         | f32         | within the constitution's [min, max]        |
 * |  58 |    1 | field_radius   | u8          | radius = raw / 100                          |
 * |  59 |    1 | field_strength | u8          | strength = raw / 255                        |
 * |  60 |    4 | timestamp      | u32         | unix seconds                                |
 */
import { InternalError } from "../errors.ts";

export const TOKEN_RECORD_SIZE = 64;

export const TokenOffset = {
  coords: 0,
  id: 48,
  flags: 52,
  weight: 54,
  fieldRadius: 58,
  fieldStrength: 59,
  timestamp: 60,
} as const;

/** Fixed-point scale per space: decoded = raw / SCALES[space]. */
export const SCALES: readonly number[] = Object.freeze([100, 10000, 1000, 10000, 10000, 10000, 100, 10000]);

/** Space names as used in field paths (`coords.l3.y`). */
export const SPACE_NAMES: readonly string[] = Object.freeze(["l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8"]);
export const AXIS_NAMES: readonly string[] = Object.freeze(["x", "y", "z"]);

/** Inclusive raw coordinate range (int16). */
export const MIN_RAW_COORD = -32768;
export const MAX_RAW_COORD = 32767;

/** Radius raw = round(radius * 100); strength raw = round(strength * 255). */
export const RADIUS_SCALE = 100;
export const STRENGTH_SCALE = 255;

/** Field path of coordinate `k` (0..23) of a token, e.g. `coords.l3.y`. */
export function coordinateField(k: number): string {
  const space = Math.floor(k / 3);
  return `coords.${SPACE_NAMES[space] ?? `s${space}`}.${AXIS_NAMES[k % 3] ?? "?"}`;
}

/**
 * Typed-array views read records in platform byte order; every platform Node supports in
 * production is little-endian, and we refuse to run (rather than corrupt data) on one that is not.
 */
export const PLATFORM_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
if (!PLATFORM_IS_LITTLE_ENDIAN) {
  throw new InternalError("NeuroGraph's record codecs need a little-endian platform (x86-64, arm64); this one is big-endian");
}

