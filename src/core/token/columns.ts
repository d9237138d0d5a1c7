/**
 * The in-memory column layout of tokens (structure of arrays), shared by the shard store, the
 * batch codec, the spatial index and the force kernels. Slots `0..size-1` are live and dense.
 *
 * Columns may be reallocated when a store grows: read them from their owner after every
 * mutation instead of caching the arrays.
 */

/** Number of coordinate spaces (L1 physical … L8 abstract). */
export const SPACES = 8;
/** int16 values per token in `coords`: 8 spaces × (x, y, z). */
export const COORDS_PER_TOKEN = SPACES * 3;

export interface TokenColumns {
  /** Number of live tokens. */
  readonly size: number;
  /** Raw fixed-point coordinates; space s, axis a of slot i at `i * 24 + s * 3 + a`. */
  readonly coords: Int16Array;
  /** Token ids, never 0 for a live slot. */
  readonly ids: Uint32Array;
  /** Flags: bits 0-7 system, 8-11 entity type, 12-15 hierarchy level. */
  readonly flags: Uint16Array;
  readonly weights: Float32Array;
  /** field_radius raw u8; radius = raw / 100 in decoded units of each space. */
  readonly radii: Uint8Array;
  /** field_strength raw u8; strength = raw / 255. */
  readonly strengths: Uint8Array;
  /** Unix seconds. */
  readonly timestamps: Uint32Array;
}
