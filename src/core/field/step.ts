/**
 * One whole force step in the calling thread, composed from the kernels exactly the way the
 * worker pool runs them: (1) a cell grid per active space and the packed active coordinates,
 * (2) repulsion: pair sums over cell ranges, then the per-entry finish over entry ranges,
 * (3) integration over slot ranges. With `parts` > 1 the cells
 * and slots are split into that many ranges and processed one after the other: the result is
 * bit-identical to `parts` = 1, which is what makes the pool's result independent of its
 * thread count.
 */
import { type FieldViolation, ValidationError } from "../errors.ts";
import { allocFloat32, allocInt16 } from "./buffers.ts";
import { type CellGrid, type GridScratch, allocateCellGrid, allocateGridScratch, buildCellGrid, gridEntryCount } from "./grid.ts";
import {
  type IntegrationScratch,
  type StepConstants,
  allocateIntegrationScratch,
  integrateRange,
  packActivePositions,
  repulsionStride,
} from "./integrate.ts";
import { type RepulsionScratch, allocateRepulsionScratch } from "./repulsion.ts";
import { accumulateRepulsionPairs, finishRepulsion, splitCellsForPairs } from "./repulsion-pairs.ts";
import type { ForceGraph } from "./springs.ts";

/** Per-slot token data of a position snapshot (store column layout). */
export interface TokenAttributes {
  /** Raw coordinates, stride 24. */
  readonly positions: Int16Array;
  readonly ids: Uint32Array;
  readonly flags: Uint16Array;
  readonly radii: Uint8Array;
  readonly strengths: Uint8Array;
}

/** Buffers one step needs, allocated once and reused (grown when the token count grows). */
export interface FieldWorkspace {
  capacity: number;
  /** One grid per space index (only active spaces are built). */
  readonly grids: CellGrid[];
  gridScratch: GridScratch;
  repulsion: Float32Array;
  /** Active coordinates of every slot (packActivePositions). */
  packed: Int16Array;
  readonly repulsionScratch: RepulsionScratch;
  readonly integrationScratch: IntegrationScratch;
  readonly shared: boolean;
}

export function allocateFieldWorkspace(capacity: number, shared = false): FieldWorkspace {
  return {
    capacity,
    grids: [],
    gridScratch: allocateGridScratch(capacity),
    repulsion: allocFloat32(0, shared),
    packed: allocInt16(0, shared),
    repulsionScratch: allocateRepulsionScratch(),
    integrationScratch: allocateIntegrationScratch(),
    shared,
  };
}

/** Grows the workspace for `slots` slots and `stride` repulsion values per slot (grids are reallocated lazily). */
export function ensureFieldWorkspace(ws: FieldWorkspace, slots: number, stride: number): void {
  if (slots > ws.capacity) {
    let cap = Math.max(16, ws.capacity);
    while (cap < slots) cap *= 2;
    ws.capacity = cap;
    ws.grids.length = 0;
    ws.gridScratch = allocateGridScratch(cap);
  }
  // 3 values per active space and slot.
  if (ws.repulsion.length < ws.capacity * stride) {
    ws.repulsion = allocFloat32(ws.capacity * stride, ws.shared);
    ws.packed = allocInt16(ws.capacity * stride, ws.shared);
  }
}

/** Throws a ValidationError when the buffers of a step are too short or the output aliases the input. */
export function checkStepBuffers(attrs: TokenAttributes, slotCount: number, graph: ForceGraph, output: Int16Array): void {
  if (output.buffer === attrs.positions.buffer && output.byteOffset === attrs.positions.byteOffset) {
    throw new ValidationError("the output buffer of a field step must differ from the input snapshot (double buffering)", [
      { field: "output", rule: "distinct_buffers", description: "pass a second position buffer" },
    ]);
  }
  const local = graph.tokenCount;
  const short: FieldViolation[] = [];
  const need = (field: string, length: number, min: number): void => {
    if (length < min) short.push({ field, value: String(length), rule: "buffer_length", description: `needs at least ${min} elements` });
  };
  need("slotCount", slotCount, local);
  need("positions", attrs.positions.length, slotCount * 24);
  need("output", output.length, local * 24);
  need("ids", attrs.ids.length, slotCount);
  need("radii", attrs.radii.length, slotCount);
  need("strengths", attrs.strengths.length, slotCount);
  need("flags", attrs.flags.length, local);
  if (short.length > 0) throw ValidationError.of("field step buffers", short);
}

/**
 * Runs one step: reads `attrs.positions` (slots [0, slotCount), locals first), writes local
 * tokens [0, graph.tokenCount) into `output`. `output` must not alias the snapshot.
 */
export function fieldStep(
  ws: FieldWorkspace,
  attrs: TokenAttributes,
  slotCount: number,
  graph: ForceGraph,
  constants: StepConstants,
  output: Int16Array,
  parts = 1,
  forcesOut?: Float64Array,
): void {
  checkStepBuffers(attrs, slotCount, graph, output);
  const local = graph.tokenCount;
  const stride = repulsionStride(constants);
  ensureFieldWorkspace(ws, slotCount, stride);
  let repulsionMask = 0;
  for (let a = 0; a < constants.spaces.length; a++) {
    const s = constants.spaces[a]!;
    let grid = ws.grids[s];
    if (grid === undefined) {
      grid = allocateCellGrid(ws.capacity, ws.shared);
      ws.grids[s] = grid;
    }
    buildCellGrid(grid, ws.gridScratch, attrs, slotCount, s);
    if (gridEntryCount(grid) === 0) continue;
    repulsionMask |= 1 << s;
    // The pool's order: even cell ranges, then odd ones (the sums do not depend on it), then
    // the per-entry finish over entry ranges.
    const bounds = splitCellsForPairs(grid, parts);
    const ranges = bounds.length - 1;
    for (const parity of [0, 1]) {
      for (let p = parity; p < ranges; p += 2) accumulateRepulsionPairs(grid, attrs.ids, bounds[p]!, bounds[p + 1]!, ws.repulsionScratch);
    }
    const target = { out: ws.repulsion, outStride: stride, outOffset: a * 3, localCount: local };
    const entries = gridEntryCount(grid);
    for (let p = 0; p < parts; p++) {
      finishRepulsion(grid, attrs.ids, constants.repulsionConstant, Math.floor((entries * p) / parts), Math.floor((entries * (p + 1)) / parts), target, ws.repulsionScratch);
    }
  }
  for (let p = 0; p < parts; p++) {
    packActivePositions(attrs.positions, constants, Math.floor((slotCount * p) / parts), Math.floor((slotCount * (p + 1)) / parts), ws.packed);
  }
  const input = {
    positions: attrs.positions,
    packed: ws.packed,
    ids: attrs.ids,
    flags: attrs.flags,
    graph,
    repulsion: ws.repulsion,
    repulsionMask,
    constants,
  };
  for (let p = 0; p < parts; p++) {
    const begin = Math.floor((local * p) / parts);
    const end = Math.floor((local * (p + 1)) / parts);
    integrateRange(input, output, begin, end, ws.integrationScratch, forcesOut);
  }
}
