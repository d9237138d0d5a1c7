/**
 * Cell lists for short-range repulsion, one grid per space, built from a position snapshot in
 * O(n) (a counting sort, or a radix sort when the bounding box is sparse). The cell edge is the
 * largest repulsion range R = max radius (+1 raw unit), so every pair closer than R lies in 27
 * neighbouring cells. Cells are keyed row-major over the bounding box of the data; entries are
 * sorted by (cell key, slot), and each entry carries a
 * copy of its token's coordinates and radius (packed, 8 bytes) and strength so the repulsion
 * pass reads them sequentially.
 *
 * All arrays may live in SharedArrayBuffers (`allocateCellGrid(capacity, true)`): the grid is
 * built once per step and space, then read by every worker.
 */
import { InternalError, ValidationError } from "../errors.ts";
import { COORDS_PER_TOKEN } from "../token/columns.ts";
import { allocFloat64, allocInt16, allocInt32, allocUint32, allocUint8 } from "./buffers.ts";
import {
  MIN_CELL_RAW,
  RAW_OFFSET,
  type RadixScratch,
  allocateRadixScratch,
  ensureRadixScratch,
  radiusToRawFactor,
  radixSortPairs,
} from "./geometry.ts";

// Imported constants read once (see integrate.ts: no live-binding accessor in hot loops).
const STRIDE = COORDS_PER_TOKEN;
const OFFSET = RAW_OFFSET;

/** Indices into `CellGrid.header`. */
export const GridHeader = {
  space: 0,
  entryCount: 1,
  cellCount: 2,
  cellRaw: 3,
  x0: 4,
  y0: 5,
  z0: 6,
  nx: 7,
  ny: 8,
  nz: 9,
  maxRadiusRaw: 10,
  capacity: 11,
  /** Tokens whose radius exceeds the cell (kept in the big list). */
  bigCount: 12,
} as const;
const HEADER_LENGTH = 13;

/**
 * At most this many tokens with an exceptionally large radius are kept out of the cell size:
 * they go to a short list that every token checks, and search wider themselves, so a handful of
 * large radii does not blow up the cells (and the pair checks) of everybody else.
 */
export const BIG_TOKEN_LIMIT = 16;

export interface CellGrid {
  /** Scalars, see `GridHeader`. entryCount = 0 means "no repulsion in this space". */
  readonly header: Float64Array;
  /** Sorted distinct cell keys, cellCount of them. */
  readonly cellKeys: Uint32Array;
  /** Entries of cell c are cellStart[c] .. cellStart[c+1]-1. */
  readonly cellStart: Int32Array;
  readonly entrySlot: Int32Array;
  /**
   * x, y, z raw and radius in raw units (byte × scale/100 ≤ 25500) of each entry (4 per entry).
   * A big token's radius is stored negated and its entry strength is 0: it acts through the
   * big list, not through the cells.
   */
  readonly entryData: Int16Array;
  /**
   * The same x, y, z and radius as float64 columns (filled in order after the sort): the pair
   * kernel's inner loop reads these, with no int32 overflow checks and one value per load.
   */
  readonly entryX: Float64Array;
  readonly entryY: Float64Array;
  readonly entryZ: Float64Array;
  readonly entryR: Float64Array;
  readonly entryStrength: Uint8Array;
  /** The big list: slots, x, y, z, radius raw (4 per token) and strengths, `bigCount` of them. */
  readonly bigSlot: Int32Array;
  readonly bigData: Int16Array;
  readonly bigStrength: Uint8Array;
  /**
   * Repulsion pair sums per entry (3 per entry, integers; see repulsion-pairs.ts), zeroed by
   * `buildCellGrid` for the entries it builds.
   */
  readonly pairSums: Float64Array;
}

/** Scratch of `buildCellGrid` (never shared: one per building thread). */
export interface GridScratch {
  keys: Uint32Array;
  slots: Int32Array;
  /** Counting-sort histogram over the cells of the bounding box. */
  histogram: Int32Array;
  /** Compact copy of x, y, z, radius per slot for the gather after a radix sort. */
  data: Int16Array;
  /** Tokens per radius byte. */
  readonly radiusHistogram: Int32Array;
  readonly radix: RadixScratch;
}

export function allocateCellGrid(capacity: number, shared = false): CellGrid {
  const header = allocFloat64(HEADER_LENGTH, shared);
  header[GridHeader.capacity] = capacity;
  return {
    header,
    cellKeys: allocUint32(capacity, shared),
    cellStart: allocInt32(capacity + 1, shared),
    entrySlot: allocInt32(capacity, shared),
    entryData: allocInt16(capacity * 4, shared),
    entryX: allocFloat64(capacity, shared),
    entryY: allocFloat64(capacity, shared),
    entryZ: allocFloat64(capacity, shared),
    entryR: allocFloat64(capacity, shared),
    entryStrength: allocUint8(capacity, shared),
    bigSlot: allocInt32(BIG_TOKEN_LIMIT, shared),
    bigData: allocInt16(BIG_TOKEN_LIMIT * 4, shared),
    bigStrength: allocUint8(BIG_TOKEN_LIMIT, shared),
    pairSums: allocFloat64(capacity * 3, shared),
  };
}

export function allocateGridScratch(capacity: number): GridScratch {
  return {
    keys: new Uint32Array(capacity),
    slots: new Int32Array(capacity),
    histogram: new Int32Array(0),
    data: new Int16Array(0),
    radiusHistogram: new Int32Array(256),
    radix: allocateRadixScratch(0),
  };
}

/** Bounding boxes with at most this many cells per token are sorted with one counting sort. */
const DENSE_CELLS_PER_TOKEN = 2;

export function gridEntryCount(grid: CellGrid): number {
  return grid.header[GridHeader.entryCount]!;
}
export function gridCellCount(grid: CellGrid): number {
  return grid.header[GridHeader.cellCount]!;
}

/** The token attributes the repulsion reads, per slot of the position snapshot. */
export interface RepulsionAttributes {
  /** Raw coordinates, stride 24 (store layout). */
  readonly positions: Int16Array;
  /** field_radius raw u8 (radius = raw/100). */
  readonly radii: Uint8Array;
  /** field_strength raw u8 (strength = raw/255). */
  readonly strengths: Uint8Array;
}

/**
 * Builds the grid of `space` over slots [0, count) of the snapshot. When no token has a radius
 * and a strength, the grid is left empty (entryCount 0) and the space has no repulsion.
 */
export function buildCellGrid(grid: CellGrid, scratch: GridScratch, attrs: RepulsionAttributes, count: number, space: number): void {
  const capacity = grid.header[GridHeader.capacity]!;
  if (count > capacity) {
    throw new ValidationError(`cell grid holds ${capacity} tokens, ${count} given; allocate a larger grid`, [
      { field: "count", value: String(count), rule: "grid_capacity", description: `at most ${capacity}` },
    ]);
  }
  if (scratch.keys.length < count) {
    scratch.keys = new Uint32Array(count);
    scratch.slots = new Int32Array(count);
  }
  const h = grid.header;
  h[GridHeader.space] = space;
  h[GridHeader.entryCount] = 0;
  h[GridHeader.cellCount] = 0;
  h[GridHeader.bigCount] = 0;
  const { positions, radii, strengths } = attrs;
  const radiusHistogram = scratch.radiusHistogram;
  radiusHistogram.fill(0);
  const off = space * 3;
  let maxR = 0;
  let maxS = 0;
  let minX = 32767;
  let minY = 32767;
  let minZ = 32767;
  let maxX = -32768;
  let maxY = -32768;
  let maxZ = -32768;
  for (let i = 0; i < count; i++) {
    const r = radii[i]!;
    radiusHistogram[r]!++;
    if (r > maxR) maxR = r;
    const st = strengths[i]!;
    if (st > maxS) maxS = st;
    const b = i * STRIDE + off;
    const x = positions[b]!;
    const y = positions[b + 1]!;
    const z = positions[b + 2]!;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
    if (z < minZ) minZ = z;
    if (z > maxZ) maxZ = z;
  }
  if (count === 0 || maxR === 0 || maxS === 0) return;
  grid.pairSums.fill(0, 0, count * 3);
  const rawPerRadius = radiusToRawFactor(space);
  const maxRadiusRaw = maxR * rawPerRadius;
  const smallMax = cellRadius(radiusHistogram, maxR, count);
  // Strictly larger than any R between two small tokens, so |Δraw| < R implies |Δcell| ≤ 1.
  const cellRaw = Math.max(MIN_CELL_RAW, smallMax * rawPerRadius + 1);
  const x0 = ((minX + OFFSET) / cellRaw) | 0;
  const y0 = ((minY + OFFSET) / cellRaw) | 0;
  const z0 = ((minZ + OFFSET) / cellRaw) | 0;
  const nx = (((maxX + OFFSET) / cellRaw) | 0) - x0 + 1;
  const ny = (((maxY + OFFSET) / cellRaw) | 0) - y0 + 1;
  const nz = (((maxZ + OFFSET) / cellRaw) | 0) - z0 + 1;
  const cells = nx * ny * nz;
  if (cells > 0x100000000) throw new InternalError(`cell grid of space ${space} has ${cells} cells; the key overflows`);
  const keys = scratch.keys;
  for (let i = 0; i < count; i++) {
    const b = i * STRIDE + off;
    const cx = (((positions[b]! + OFFSET) / cellRaw) | 0) - x0;
    const cy = (((positions[b + 1]! + OFFSET) / cellRaw) | 0) - y0;
    const cz = (((positions[b + 2]! + OFFSET) / cellRaw) | 0) - z0;
    keys[i] = (cz * ny + cy) * nx + cx;
  }
  // Both sorts are stable over slot order, so they give the same grid.
  const cellCount =
    cells <= DENSE_CELLS_PER_TOKEN * count + 1024
      ? countingSortEntries(grid, scratch, attrs, count, off, cells, smallMax)
      : radixSortEntries(grid, scratch, attrs, count, off, cells - 1, smallMax);
  const { entryData, entryX, entryY, entryZ, entryR } = grid;
  for (let e = 0; e < count; e++) {
    entryX[e] = entryData[e * 4]!;
    entryY[e] = entryData[e * 4 + 1]!;
    entryZ[e] = entryData[e * 4 + 2]!;
    entryR[e] = entryData[e * 4 + 3]!;
  }
  if (smallMax < maxR) {
    let k = 0;
    for (let i = 0; i < count; i++) {
      if (radii[i]! <= smallMax) continue;
      const b = i * STRIDE + off;
      grid.bigSlot[k] = i;
      grid.bigData[k * 4] = positions[b]!;
      grid.bigData[k * 4 + 1] = positions[b + 1]!;
      grid.bigData[k * 4 + 2] = positions[b + 2]!;
      grid.bigData[k * 4 + 3] = radii[i]! * rawPerRadius;
      grid.bigStrength[k] = strengths[i]!;
      k++;
    }
    h[GridHeader.bigCount] = k;
  }
  h[GridHeader.entryCount] = count;
  h[GridHeader.cellCount] = cellCount;
  h[GridHeader.cellRaw] = cellRaw;
  h[GridHeader.x0] = x0;
  h[GridHeader.y0] = y0;
  h[GridHeader.z0] = z0;
  h[GridHeader.nx] = nx;
  h[GridHeader.ny] = ny;
  h[GridHeader.nz] = nz;
  h[GridHeader.maxRadiusRaw] = maxRadiusRaw;
}

/**
 * The largest radius byte the cells are sized for: the largest radius once at most
 * BIG_TOKEN_LIMIT tokens with larger ones are set aside, when that shrinks the cells by a third
 * or more; otherwise the largest radius (no big tokens).
 */
function cellRadius(histogram: Int32Array, maxR: number, count: number): number {
  if (count <= 2 * BIG_TOKEN_LIMIT) return maxR;
  let above = 0;
  for (let r = maxR; r > 0; r--) {
    const here = histogram[r]!;
    if (above + here > BIG_TOKEN_LIMIT) return r * 1.5 <= maxR ? r : maxR;
    above += here;
  }
  return maxR;
}

/** Entry radius (raw; negated for big tokens) and strength (0 for big tokens). */
function entryRadius(r: number, smallMax: number, rawPerRadius: number): number {
  return r <= smallMax ? r * rawPerRadius : -r * rawPerRadius;
}

/** One histogram over the bounding box's cells; slots are read in order, entries scattered. */
function countingSortEntries(
  grid: CellGrid,
  scratch: GridScratch,
  attrs: RepulsionAttributes,
  count: number,
  off: number,
  cells: number,
  smallMax: number,
): number {
  const rawPerRadius = radiusToRawFactor(off / 3);
  if (scratch.histogram.length < cells + 1) scratch.histogram = new Int32Array(cells + 1);
  const hist = scratch.histogram;
  hist.fill(0, 0, cells + 1);
  const keys = scratch.keys;
  for (let i = 0; i < count; i++) hist[keys[i]! + 1]!++;
  const { cellKeys, cellStart, entrySlot, entryData, entryStrength } = grid;
  let cellCount = 0;
  for (let c = 0; c < cells; c++) {
    const start = hist[c]!;
    const next = start + hist[c + 1]!;
    if (next > start) {
      cellKeys[cellCount] = c;
      cellStart[cellCount] = start;
      cellCount++;
    }
    hist[c + 1] = next;
  }
  cellStart[cellCount] = count;
  const { positions, radii, strengths } = attrs;
  for (let i = 0; i < count; i++) {
    const e = hist[keys[i]!]!++;
    const b = i * STRIDE + off;
    entrySlot[e] = i;
    entryData[e * 4] = positions[b]!;
    entryData[e * 4 + 1] = positions[b + 1]!;
    entryData[e * 4 + 2] = positions[b + 2]!;
    const r = radii[i]!;
    entryData[e * 4 + 3] = entryRadius(r, smallMax, rawPerRadius);
    entryStrength[e] = r <= smallMax ? strengths[i]! : 0;
  }
  return cellCount;
}

/** Radix sort of (key, slot) for sparse bounding boxes; entries gathered from a compact copy. */
function radixSortEntries(
  grid: CellGrid,
  scratch: GridScratch,
  attrs: RepulsionAttributes,
  count: number,
  off: number,
  maxKey: number,
  smallMax: number,
): number {
  const rawPerRadius = radiusToRawFactor(off / 3);
  if (scratch.data.length < count * 4) scratch.data = new Int16Array(count * 4);
  ensureRadixScratch(scratch.radix, count);
  const { positions, radii } = attrs;
  const data = scratch.data;
  const slots = scratch.slots;
  for (let i = 0; i < count; i++) {
    const b = i * STRIDE + off;
    data[i * 4] = positions[b]!;
    data[i * 4 + 1] = positions[b + 1]!;
    data[i * 4 + 2] = positions[b + 2]!;
    data[i * 4 + 3] = entryRadius(radii[i]!, smallMax, rawPerRadius);
    slots[i] = i;
  }
  const keys = scratch.keys;
  radixSortPairs(keys, slots, count, maxKey, scratch.radix);
  const { cellKeys, cellStart, entrySlot, entryData, entryStrength } = grid;
  let cellCount = 0;
  let prev = -1;
  for (let e = 0; e < count; e++) {
    const k = keys[e]!;
    if (k !== prev) {
      cellKeys[cellCount] = k;
      cellStart[cellCount] = e;
      cellCount++;
      prev = k;
    }
    const slot = slots[e]!;
    entrySlot[e] = slot;
    entryData[e * 4] = data[slot * 4]!;
    entryData[e * 4 + 1] = data[slot * 4 + 1]!;
    entryData[e * 4 + 2] = data[slot * 4 + 2]!;
    entryData[e * 4 + 3] = data[slot * 4 + 3]!;
    entryStrength[e] = data[slot * 4 + 3]! < 0 ? 0 : attrs.strengths[slot]!;
  }
  cellStart[cellCount] = count;
  return cellCount;
}

/**
 * Splits the cells of a grid into `parts` contiguous ranges of about equal entry counts, for
 * workers. Returns parts+1 cell boundaries (bounds[p] .. bounds[p+1]-1 is part p).
 */
export function splitCells(grid: CellGrid, parts: number, out: Int32Array = new Int32Array(parts + 1)): Int32Array {
  const cells = gridCellCount(grid);
  const entries = gridEntryCount(grid);
  out[0] = 0;
  let c = 0;
  for (let p = 1; p < parts; p++) {
    const target = Math.floor((entries * p) / parts);
    while (c < cells && grid.cellStart[c]! < target) c++;
    out[p] = c;
  }
  out[parts] = cells;
  return out;
}
