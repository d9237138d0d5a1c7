/**
 * What a field pool worker thread runs: one phase of a force step over a range, on typed arrays
 * that live in SharedArrayBuffers (the task carries the views; structured cloning a view over a
 * SharedArrayBuffer shares the memory, it copies nothing). Scratch space is kept per thread.
 * Imports only `core`: this module is loaded in worker threads by `worker.mjs`.
 */
import { type CellGrid, type GridScratch, allocateGridScratch, buildCellGrid } from "../../core/field/grid.ts";
import {
  type IntegrationInput,
  type IntegrationScratch,
  type StepConstants,
  allocateIntegrationScratch,
  integrateRange,
  packActivePositions,
} from "../../core/field/integrate.ts";
import { accumulateRepulsionPairs, finishRepulsion } from "../../core/field/repulsion-pairs.ts";
import { type RepulsionScratch, allocateRepulsionScratch } from "../../core/field/repulsion.ts";

export type FieldTask =
  /** Phase 1: the cell grid of one space over slots [0, count). */
  | {
      readonly kind: "grid";
      readonly grid: CellGrid;
      readonly positions: Int16Array;
      readonly radii: Uint8Array;
      readonly strengths: Uint8Array;
      readonly count: number;
      readonly space: number;
    }
  /** Phase 1: active coordinates of slots [begin, end). */
  | {
      readonly kind: "pack";
      readonly positions: Int16Array;
      readonly constants: StepConstants;
      readonly begin: number;
      readonly end: number;
      readonly packed: Int16Array;
    }
  /** Phase 2a: repulsion pair sums of cells [cellBegin, cellEnd) of one space's grid. */
  | {
      readonly kind: "pairs";
      readonly grid: CellGrid;
      readonly ids: Uint32Array;
      readonly cellBegin: number;
      readonly cellEnd: number;
    }
  /** Phase 2b: the repulsion of entries [entryBegin, entryEnd) of one space's grid, written by slot. */
  | {
      readonly kind: "finish";
      readonly grid: CellGrid;
      readonly ids: Uint32Array;
      readonly repulsionConstant: number;
      readonly entryBegin: number;
      readonly entryEnd: number;
      readonly out: Float32Array;
      readonly outStride: number;
      readonly outOffset: number;
      readonly localCount: number;
    }
  /** Phase 3: springs, gravity and the capped move of slots [begin, end) into `output`. */
  | { readonly kind: "integrate"; readonly input: IntegrationInput; readonly output: Int16Array; readonly begin: number; readonly end: number };

let gridScratch: GridScratch | undefined;
let repulsionScratch: RepulsionScratch | undefined;
let integrationScratch: IntegrationScratch | undefined;

/** Runs one task; returns its busy time in ms (the pool's step profile). */
export function runFieldTask(task: FieldTask): number {
  const t0 = performance.now();
  runTask(task);
  return performance.now() - t0;
}

function runTask(task: FieldTask): void {
  switch (task.kind) {
    case "grid":
      gridScratch ??= allocateGridScratch(task.count);
      buildCellGrid(task.grid, gridScratch, task, task.count, task.space);
      return;
    case "pack":
      packActivePositions(task.positions, task.constants, task.begin, task.end, task.packed);
      return;
    case "pairs":
      repulsionScratch ??= allocateRepulsionScratch();
      accumulateRepulsionPairs(task.grid, task.ids, task.cellBegin, task.cellEnd, repulsionScratch);
      return;
    case "finish":
      repulsionScratch ??= allocateRepulsionScratch();
      finishRepulsion(task.grid, task.ids, task.repulsionConstant, task.entryBegin, task.entryEnd, task, repulsionScratch);
      return;
    case "integrate":
      integrationScratch ??= allocateIntegrationScratch();
      integrateRange(task.input, task.output, task.begin, task.end, integrationScratch);
      return;
  }
}

export default runFieldTask;
