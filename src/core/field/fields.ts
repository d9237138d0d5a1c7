/**
 * Semantic fields (DESIGN §3.6): per space, tokens are counted per density cell; cells whose
 * density (tokens / cell volume) reaches `densityThreshold` are dense ("core" cells); dense cells that touch (26-neighbour)
 * form connected components; an occupied non-dense cell next to a component is a border cell of
 * the component with the smallest index (so the thin rim of a cluster belongs to it); a component
 * with at least `minFieldTokens` tokens is a field.
 *
 * Everything is shard-mergeable and independent of merge order:
 *  1. each shard: `countCells` → sorted (cellKey, count) lists;  coordinator: `mergeCellCounts`;
 *  2. coordinator: `findCellComponents` on the merged counts (components are numbered by their
 *     smallest cell key, so every shard sees the same numbering);
 *  3. each shard: `collectMembers` → per-component member ids and exact integer coordinate sums;
 *     coordinator: `mergeFieldPartials`, then `finalizeFields`.
 * Cell keys are global: (cz·n + cy)·n + cx over the whole int16 range, n = cells per axis.
 *
 * Field geometry: centroid = mean of members (exact integer sums); radius = RMS distance of the
 * members from the centroid; density = members / (dense cells × cell volume), tokens per cubic
 * decoded unit. Sums are exact for fields of up to 2.8 M tokens.
 */
import { COORDS_PER_TOKEN } from "../token/columns.ts";
import {
  RAW_OFFSET,
  type RadixScratch,
  SPACE_SCALES,
  allocateRadixScratch,
  cellRawOf,
  cellsPerAxis,
  levelOf,
  lowerBound,
  radixSortPairs,
} from "./geometry.ts";
import type { FieldParams } from "./params.ts";

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

function cellKey(positions: Int16Array, slot: number, g: FieldGeometry): number {
  const b = slot * COORDS_PER_TOKEN + g.space * 3;
  const cx = ((positions[b]! + RAW_OFFSET) / g.cellRaw) | 0;
  const cy = ((positions[b + 1]! + RAW_OFFSET) / g.cellRaw) | 0;
  const cz = ((positions[b + 2]! + RAW_OFFSET) / g.cellRaw) | 0;
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
        const at = lowerBound(cells.keys, 0, cells.length, k);
        if (at < cells.length && cells.keys[at] === k) visit(at);
      }
    }
  }
}

/** Volume of a density cell in cubic decoded units. */
export function cellVolume(g: FieldGeometry): number {
  return Math.pow(g.cellRaw / SPACE_SCALES[g.space]!, 3);
}

/** Tokens a cell needs to be dense: density threshold × cell volume, rounded up, at least 1. */
export function denseCount(g: FieldGeometry, densityThreshold: number): number {
  return Math.max(1, Math.ceil(densityThreshold * cellVolume(g) - 1e-9));
}

/**
 * Dense cells → connected components (union-find on typed arrays) → border cells.
 * `densityThreshold` is in tokens per cubic decoded unit.
 */
export function findCellComponents(cells: CellCounts, g: FieldGeometry, densityThreshold: number): CellComponents {
  const C = cells.length;
  const core = new Uint8Array(C);
  const parent = new Int32Array(C);
  const minCount = denseCount(g, densityThreshold);
  for (let c = 0; c < C; c++) {
    parent[c] = c;
    if (cells.counts[c]! >= minCount) core[c] = 1;
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

/**
 * One shard's share of the fields: for every selected component (size ≥ minFieldTokens) the
 * member ids and exact integer sums of the raw coordinates (all 24) and of the squared raw
 * coordinates of the field's own space.
 */
export interface FieldPartial {
  /** Selected component indices, ascending. */
  readonly components: Int32Array;
  readonly count: Uint32Array;
  /** 24 sums per selected component. */
  readonly sums: Float64Array;
  readonly sumSquares: Float64Array;
  /** Members of selected component k: members[memberOffsets[k] .. memberOffsets[k+1]). */
  readonly memberOffsets: Int32Array;
  readonly members: Uint32Array;
}

/** The component indices with at least `minFieldTokens` tokens, ascending. */
export function selectedComponents(cc: CellComponents, minFieldTokens: number): Int32Array {
  const out: number[] = [];
  for (let k = 0; k < cc.componentCount; k++) if (cc.componentSize[k]! >= minFieldTokens) out.push(k);
  return Int32Array.from(out);
}

export function collectMembers(cc: CellComponents, tokens: FieldTokens, minFieldTokens: number): FieldPartial {
  const selected = selectedComponents(cc, minFieldTokens);
  const S = selected.length;
  const slotOf = new Int32Array(cc.componentCount).fill(-1);
  for (let s = 0; s < S; s++) slotOf[selected[s]!] = s;
  const g = cc.geometry;
  const count = new Uint32Array(S);
  const sums = new Float64Array(S * COORDS_PER_TOKEN);
  const sumSquares = new Float64Array(S);
  const span = Math.max(0, tokens.end - tokens.begin);
  const owner = new Int32Array(span).fill(-1);
  const { positions } = tokens;
  const so = g.space * 3;
  for (let i = tokens.begin; i < tokens.end; i++) {
    if (levelOf(tokens.flags[i]!) !== tokens.level) continue;
    const k = cellKey(positions, i, g);
    const at = lowerBound(cc.cells.keys, 0, cc.cells.length, k);
    if (at >= cc.cells.length || cc.cells.keys[at] !== k) continue;
    const comp = cc.component[at]!;
    if (comp < 0) continue;
    const s = slotOf[comp]!;
    if (s < 0) continue;
    owner[i - tokens.begin] = s;
    count[s]!++;
    const b = i * COORDS_PER_TOKEN;
    const sb = s * COORDS_PER_TOKEN;
    for (let c = 0; c < COORDS_PER_TOKEN; c++) sums[sb + c] = sums[sb + c]! + positions[b + c]!;
    const x = positions[b + so]!;
    const y = positions[b + so + 1]!;
    const z = positions[b + so + 2]!;
    sumSquares[s] = sumSquares[s]! + x * x + y * y + z * z;
  }
  const memberOffsets = new Int32Array(S + 1);
  for (let s = 0; s < S; s++) memberOffsets[s + 1] = memberOffsets[s]! + count[s]!;
  const members = new Uint32Array(memberOffsets[S]!);
  const cursor = memberOffsets.slice(0, S);
  for (let i = 0; i < span; i++) {
    const s = owner[i]!;
    if (s >= 0) members[cursor[s]!++] = tokens.ids[tokens.begin + i]!;
  }
  for (let s = 0; s < S; s++) members.subarray(memberOffsets[s], memberOffsets[s + 1]).sort();
  return { components: selected, count, sums, sumSquares, memberOffsets, members };
}

/** Merges shard partials computed against the same CellComponents. */
export function mergeFieldPartials(parts: readonly FieldPartial[]): FieldPartial {
  const first = parts[0];
  if (first === undefined) {
    return { components: new Int32Array(0), count: new Uint32Array(0), sums: new Float64Array(0), sumSquares: new Float64Array(0), memberOffsets: new Int32Array(1), members: new Uint32Array(0) };
  }
  if (parts.length === 1) return first;
  const S = first.components.length;
  const count = new Uint32Array(S);
  const sums = new Float64Array(S * COORDS_PER_TOKEN);
  const sumSquares = new Float64Array(S);
  for (const p of parts) {
    for (let s = 0; s < S; s++) {
      count[s]! += p.count[s]!;
      sumSquares[s] = sumSquares[s]! + p.sumSquares[s]!;
    }
    for (let c = 0; c < sums.length; c++) sums[c] = sums[c]! + p.sums[c]!;
  }
  const memberOffsets = new Int32Array(S + 1);
  for (let s = 0; s < S; s++) memberOffsets[s + 1] = memberOffsets[s]! + count[s]!;
  const members = new Uint32Array(memberOffsets[S]!);
  for (let s = 0; s < S; s++) {
    let at = memberOffsets[s]!;
    for (const p of parts) {
      const part = p.members.subarray(p.memberOffsets[s], p.memberOffsets[s + 1]);
      members.set(part, at);
      at += part.length;
    }
    members.subarray(memberOffsets[s], memberOffsets[s + 1]).sort();
  }
  return { components: first.components, count, sums, sumSquares, memberOffsets, members };
}

export interface DetectedField {
  readonly space: number;
  /** Hierarchy level of the members (0 for tokens, ℓ for parents of level ℓ). */
  readonly level: number;
  /** Member token ids, ascending. */
  readonly members: Uint32Array;
  /** Centroid in the field's space, decoded units. */
  readonly centroid: Float64Array;
  /** Centroid of the members in all 8 spaces, raw fixed point (rounded). */
  readonly centroidRaw: Int16Array;
  /** RMS distance of members from the centroid, decoded units. */
  readonly radius: number;
  /** Members per cubic decoded unit of dense cells. */
  readonly density: number;
  /** Smallest cell key of the component: a stable, shard-independent order of fields. */
  readonly anchorKey: number;
}

/** Turns merged partials into fields, in component order. */
export function finalizeFields(cc: CellComponents, partial: FieldPartial, level: number): DetectedField[] {
  const g = cc.geometry;
  const scale = SPACE_SCALES[g.space]!;
  const anchor = new Float64Array(cc.componentCount).fill(-1);
  for (let c = 0; c < cc.cells.length; c++) {
    const k = cc.component[c]!;
    if (k >= 0 && cc.core[c] !== 0 && anchor[k]! < 0) anchor[k] = cc.cells.keys[c]!;
  }
  const volume = cellVolume(g);
  const out: DetectedField[] = [];
  for (let s = 0; s < partial.components.length; s++) {
    const n = partial.count[s]!;
    if (n === 0) continue;
    const comp = partial.components[s]!;
    const base = s * COORDS_PER_TOKEN;
    const centroidRaw = new Int16Array(COORDS_PER_TOKEN);
    for (let c = 0; c < COORDS_PER_TOKEN; c++) centroidRaw[c] = Math.round(partial.sums[base + c]! / n);
    const so = base + g.space * 3;
    const mx = partial.sums[so]! / n;
    const my = partial.sums[so + 1]! / n;
    const mz = partial.sums[so + 2]! / n;
    const variance = Math.max(0, partial.sumSquares[s]! / n - (mx * mx + my * my + mz * mz));
    out.push({
      space: g.space,
      level,
      members: partial.members.slice(partial.memberOffsets[s], partial.memberOffsets[s + 1]),
      centroid: Float64Array.of(mx / scale, my / scale, mz / scale),
      centroidRaw,
      radius: Math.sqrt(variance) / scale,
      density: n / (cc.componentCoreCells[comp]! * volume),
      anchorKey: anchor[comp]!,
    });
  }
  return out;
}

/**
 * Single-shard detection in one call: the fields of `space` among tokens of hierarchy level
 * `tokens.level`.
 */
export function detectFields(tokens: FieldTokens, space: number, params: FieldParams, scratch?: FieldScratch): DetectedField[] {
  const g = fieldGeometry(space, params.cellSize[space]!);
  const counts = countCells(tokens, g, scratch ?? allocateFieldScratch(tokens.end - tokens.begin));
  const cc = findCellComponents(counts, g, params.densityThreshold);
  const partial = collectMembers(cc, tokens, params.minFieldTokens);
  return finalizeFields(cc, partial, tokens.level);
}
