/**
 * Density cells of semantic-field detection (see fields.ts): global cell keys per space, sorted
 * (cellKey, count) lists that shards produce and a coordinator merges, and the connected
 * components of dense cells (union-find on typed arrays) with their border cells.
 */
import { COORDS_PER_TOKEN } from "../token/columns.ts";
import { hierarchyLevelOf } from "../token/flags.ts";
import { SCALES } from "../token/layout.ts";
import {
  RAW_OFFSET,
  type RadixScratch,
  allocateRadixScratch,
  cellRawOf,
  cellsPerAxis,
  lowerBound,
  radixSortPairs,
} from "./geometry.ts";

// Imported bindings read once (as in integrate.ts): no live-binding accessor per token.
const STRIDE = COORDS_PER_TOKEN;
const OFFSET = RAW_OFFSET;
const levelOf = hierarchyLevelOf;
const search = lowerBound;

export interface FieldGeometry {
  readonly space: number;
  /** Cell edge, raw units (integer). */
  readonly cellRaw: number;
  /** Cells per axis. */
  readonly n: number;
}

export function fieldGeometry(space: number, cellSize: number): FieldGeometry {
  const cellRaw = cellRawOf(space, cellSize);
  return { space, cellRaw, n: cellsPerAxis(cellRaw) };
}

/** Sorted distinct cell keys with their token counts. */
export interface CellCounts {
  readonly length: number;
  readonly keys: Uint32Array;
  readonly counts: Uint32Array;
}

export interface FieldScratch {
  keys: Uint32Array;
  slots: Int32Array;
  readonly radix: RadixScratch;
}

export function allocateFieldScratch(capacity: number): FieldScratch {
  return { keys: new Uint32Array(capacity), slots: new Int32Array(capacity), radix: allocateRadixScratch(capacity) };
}

export function cellKey(positions: Int16Array, slot: number, g: FieldGeometry): number {
  const b = slot * STRIDE + g.space * 3;
  const cx = ((positions[b]! + OFFSET) / g.cellRaw) | 0;
  const cy = ((positions[b + 1]! + OFFSET) / g.cellRaw) | 0;
  const cz = ((positions[b + 2]! + OFFSET) / g.cellRaw) | 0;
  return (cz * g.n + cy) * g.n + cx;
}

/** The tokens a detection looks at: slots [begin, end) whose hierarchy level is `level`. */
export interface FieldTokens {
  /** Raw coordinates, stride 24. */
  readonly positions: Int16Array;
  readonly ids: Uint32Array;
  readonly flags: Uint16Array;
  readonly begin: number;
  readonly end: number;
  readonly level: number;
}

/** Counts the tokens per cell (one shard's share). */
export function countCells(tokens: FieldTokens, g: FieldGeometry, scratch: FieldScratch): CellCounts {
  const cap = tokens.end - tokens.begin;
  if (scratch.keys.length < cap) {
    scratch.keys = new Uint32Array(cap);
    scratch.slots = new Int32Array(cap);
  }
  const keys = scratch.keys;
  let m = 0;
  for (let i = tokens.begin; i < tokens.end; i++) {
    if (levelOf(tokens.flags[i]!) !== tokens.level) continue;
    keys[m] = cellKey(tokens.positions, i, g);
    scratch.slots[m] = i;
    m++;
  }
  radixSortPairs(keys, scratch.slots, m, g.n * g.n * g.n - 1, scratch.radix);
  let distinct = 0;
  for (let i = 0; i < m; i++) if (i === 0 || keys[i] !== keys[i - 1]) distinct++;
  const outKeys = new Uint32Array(distinct);
  const outCounts = new Uint32Array(distinct);
  let c = -1;
  for (let i = 0; i < m; i++) {
    if (i === 0 || keys[i] !== keys[i - 1]) outKeys[++c] = keys[i]!;
    outCounts[c]!++;
  }
  return { length: distinct, keys: outKeys, counts: outCounts };
}

/** Merges sorted count lists (sums counts of equal keys). Order of the inputs does not matter. */
export function mergeCellCounts(lists: readonly CellCounts[]): CellCounts {
  let acc: CellCounts = { length: 0, keys: new Uint32Array(0), counts: new Uint32Array(0) };
  for (const l of lists) acc = mergeTwo(acc, l);
  return acc;
}

function mergeTwo(a: CellCounts, b: CellCounts): CellCounts {
  const keys = new Uint32Array(a.length + b.length);
  const counts = new Uint32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length || j < b.length) {
    const ka = i < a.length ? a.keys[i]! : Infinity;
    const kb = j < b.length ? b.keys[j]! : Infinity;
    if (ka === kb) {
      keys[n] = ka;
      counts[n++] = a.counts[i++]! + b.counts[j++]!;
    } else if (ka < kb) {
      keys[n] = ka;
      counts[n++] = a.counts[i++]!;
    } else {
      keys[n] = kb;
      counts[n++] = b.counts[j++]!;
    }
  }
  return { length: n, keys: keys.subarray(0, n), counts: counts.subarray(0, n) };
}

export interface CellComponents {
  readonly geometry: FieldGeometry;
  readonly cells: CellCounts;
  /** Per occupied cell: component index, or −1. */
  readonly component: Int32Array;
  /** Per occupied cell: 1 when dense (core). */
  readonly core: Uint8Array;
  readonly componentCount: number;
  /** Tokens per component (core and border cells). */
  readonly componentSize: Uint32Array;
  /** Dense cells per component. */
  readonly componentCoreCells: Uint32Array;
}

function find(parent: Int32Array, x: number): number {
  let r = x;
  while (parent[r]! !== r) r = parent[r]!;
  let y = x;
  while (parent[y]! !== r) {
    const next = parent[y]!;
    parent[y] = r;
    y = next;
  }
  return r;
}

/** Calls `visit(cellIndex)` for every occupied 26-neighbour of occupied cell `c`, in key order. */
function forNeighbours(cells: CellCounts, g: FieldGeometry, c: number, visit: (other: number) => void): void {
  const key = cells.keys[c]!;
  const n = g.n;
  const cx = key % n;
  const cy = ((key - cx) / n) % n;
  const cz = Math.floor(key / (n * n));
  for (let dz = -1; dz <= 1; dz++) {
    const z = cz + dz;
    if (z < 0 || z >= n) continue;
    for (let dy = -1; dy <= 1; dy++) {
      const y = cy + dy;
      if (y < 0 || y >= n) continue;
      for (let dx = -1; dx <= 1; dx++) {
        const x = cx + dx;
        if (x < 0 || x >= n || (dx === 0 && dy === 0 && dz === 0)) continue;
        const k = (z * n + y) * n + x;
        const at = search(cells.keys, 0, cells.length, k);
        if (at < cells.length && cells.keys[at] === k) visit(at);
      }
    }
  }
}

/** Volume of a density cell in cubic decoded units. */
export function cellVolume(g: FieldGeometry): number {
  return Math.pow(g.cellRaw / SCALES[g.space]!, 3);
}

/**
 * Dense cells (≥ densityThresholdTokens tokens) → connected components (union-find on typed
 * arrays) → border cells.
 */
export function findCellComponents(cells: CellCounts, g: FieldGeometry, densityThresholdTokens: number): CellComponents {
  const C = cells.length;
  const core = new Uint8Array(C);
  const parent = new Int32Array(C);
  for (let c = 0; c < C; c++) {
    parent[c] = c;
    if (cells.counts[c]! >= densityThresholdTokens) core[c] = 1;
  }
  for (let c = 0; c < C; c++) {
    if (core[c] === 0) continue;
    forNeighbours(cells, g, c, (o) => {
      if (core[o] === 0) return;
      const ra = find(parent, c);
      const rb = find(parent, o);
      // The smaller index becomes the root: deterministic labels.
      if (ra < rb) parent[rb] = ra;
      else if (rb < ra) parent[ra] = rb;
    });
  }
  const component = new Int32Array(C).fill(-1);
  let K = 0;
  for (let c = 0; c < C; c++) {
    if (core[c] === 0) continue;
    const r = find(parent, c);
    if (r === c) component[c] = K++;
    else component[c] = component[r]!;
  }
  for (let c = 0; c < C; c++) {
    if (core[c] !== 0) continue;
    let best = -1;
    forNeighbours(cells, g, c, (o) => {
      const k = core[o] !== 0 ? component[o]! : -1;
      if (k >= 0 && (best < 0 || k < best)) best = k;
    });
    component[c] = best;
  }
  const componentSize = new Uint32Array(K);
  const componentCoreCells = new Uint32Array(K);
  for (let c = 0; c < C; c++) {
    const k = component[c]!;
    if (k < 0) continue;
    componentSize[k]! += cells.counts[c]!;
    if (core[c] !== 0) componentCoreCells[k]!++;
  }
  return { geometry: g, cells, component, core, componentCount: K, componentSize, componentCoreCells };
}

