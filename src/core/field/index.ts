/**
 * The field engine's pure core (DESIGN §3.6). No I/O: the field actor and its worker pool call
 * these functions over (Shared)ArrayBuffer-backed typed arrays.
 *
 * One force step, as the pool runs it (each phase waits for the previous one):
 *  1. per active space `buildCellGrid` (one task per space), and `packActivePositions` over slot
 *     ranges;
 *  2. `accumulateRepulsionPairs` per (space, cell range; `splitCellsForPairs`: even ranges, then
 *     odd ones), then `finishRepulsion` per (space, entry range);
 *  3. `integrateRange` over contiguous slot ranges, writing the second position buffer.
 * Each token's spring force is a sum in a fixed order over its own springs, and its repulsion an
 * exact (integer-valued) sum of quantised pair terms, so the result is bit-identical for any
 * split; `fieldStep` runs the same phases in one thread.
 *
 * Semantic fields: `countCells` per shard → `mergeCellCounts` → `findCellComponents` →
 * `collectMembers` per shard → `mergeFieldPartials` → `finalizeFields` → `trackFields`
 * (`detectFields` does the single-shard case). Hierarchy: `parentLeaves` + `parentAffinities`
 * feed `planHierarchy`, which returns a plan of writes and the next state.
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
export * from "./repulsion-pairs.ts";
export * from "./springs.ts";
export * from "./step.ts";
export * from "./tracking.ts";
export * from "./bytes.ts";
export * from "./result-codec.ts";
