/**
 * Semantic fields (DESIGN §3.6): per space, tokens are counted per density cell; cells with at
 * least `densityThresholdTokens` tokens are dense ("core" cells); dense cells that touch (26-neighbour)
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
import { hierarchyLevelOf } from "../token/flags.ts";
import { SCALES } from "../token/layout.ts";
import {
  type CellComponents,
  type FieldScratch,
  type FieldTokens,
  allocateFieldScratch,
  cellKey,
  cellVolume,
  countCells,
  fieldGeometry,
  findCellComponents,
} from "./cells.ts";
import { lowerBound, roundHalfAway } from "./geometry.ts";
import type { FieldDetectionParams } from "./params.ts";

// Imported bindings read once (as in integrate.ts): no live-binding accessor per token.
const STRIDE = COORDS_PER_TOKEN;
const levelOf = hierarchyLevelOf;
const keyOf = cellKey;
const search = lowerBound;

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
    const k = keyOf(positions, i, g);
    const at = search(cc.cells.keys, 0, cc.cells.length, k);
    if (at >= cc.cells.length || cc.cells.keys[at] !== k) continue;
    const comp = cc.component[at]!;
    if (comp < 0) continue;
    const s = slotOf[comp]!;
    if (s < 0) continue;
    owner[i - tokens.begin] = s;
    count[s]!++;
    const b = i * STRIDE;
    const sb = s * STRIDE;
    for (let c = 0; c < STRIDE; c++) sums[sb + c] = sums[sb + c]! + positions[b + c]!;
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
  const scale = SCALES[g.space]!;
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
    for (let c = 0; c < COORDS_PER_TOKEN; c++) centroidRaw[c] = roundHalfAway(partial.sums[base + c]! / n);
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
export function detectFields(tokens: FieldTokens, space: number, params: FieldDetectionParams, scratch?: FieldScratch): DetectedField[] {
  const g = fieldGeometry(space, params.cellSize[space]!);
  const counts = countCells(tokens, g, scratch ?? allocateFieldScratch(tokens.end - tokens.begin));
  const cc = findCellComponents(counts, g, params.densityThresholdTokens);
  const partial = collectMembers(cc, tokens, params.minFieldTokens);
  return finalizeFields(cc, partial, tokens.level);
}
