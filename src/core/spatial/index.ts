/**
 * Per-space spatial index of a shard's tokens: neighbours within a radius, range queries, k
 * nearest, field influence and density; exact, ordered by distance then id.
 */
export { SpatialIndex } from "./spatial-index.ts";
export { SpatialResult } from "./result.ts";
export type { SpatialSource } from "./space-grid.ts";
export { DEFAULT_CELL_SIZES, MAX_K, radiusToRaw } from "./config.ts";
export type { SpatialIndexOptions } from "./config.ts";
