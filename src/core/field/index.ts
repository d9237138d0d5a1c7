/**
 * The field engine's pure core: force kernels over typed arrays (cell grids, repulsion, springs,
 * integration), semantic-field detection and tracking, and the hierarchy planner.
 * No I/O: the field actor and its worker pool call these functions.
 */
export * from "./affinity.ts";
export * from "./buffers.ts";
export * from "./cells.ts";
export * from "./fields.ts";
export * from "./geometry.ts";
export * from "./grid.ts";
export * from "./hierarchy-types.ts";
export * from "./hierarchy.ts";
export * from "./integrate.ts";
export * from "./params.ts";
export * from "./prng.ts";
export * from "./repulsion.ts";
export * from "./springs.ts";
export * from "./step.ts";
export * from "./tracking.ts";
