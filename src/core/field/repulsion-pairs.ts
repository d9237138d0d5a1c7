/**
 * Short-range repulsion with every pair computed once (half shell, Newton's third law): the force
 * formula of `repulsion.ts`, F_i −= c_rep · s_j · (1 − d/R) · (x_j − x_i)/d, evaluated for each pair
 * (i, j) of small tokens closer than R once, added to i and (negated, with s_i) to j.
 *
 * Determinism: each pair's unit-free term (1 − d/R)·Δ/d ∈ [−1, 1] is rounded to an integer
 * multiple of 2⁻²⁶ and multiplied by the integer strength byte, so every contribution is an
 * integer below 2³⁴ and a token's sum is exact in a float64 (up to 2¹⁹ neighbours within its
 * radius): the sum does not depend on the order of the pairs, hence not on how the cells are
 * split between workers. The rounding error (≤ c_rep·2⁻²⁷ per pair) is below the float32 the
 * forces are stored in.
 *
 * Phases per space: `accumulateRepulsionPairs` over cell ranges writes into the entry-ordered
 * accumulator of the grid (zeroed by `buildCellGrid`); a pair's second token lies in the same
 * cell or a forward neighbour (one z-layer ahead at most), so ranges from
 * `splitCellsForPairs` run in two waves (even ranges, then odd ones) without two writers on one
 * entry. Then `finishRepulsion` over entry ranges scales the sums, adds the big tokens' terms
 * (as `repulsion.ts` does, in a fixed order) and writes each local token's force by slot.
 */
import { type CellGrid, GridHeader, gridCellCount, gridEntryCount, splitCells } from "./grid.ts";
import { lowerBound, unitDirection } from "./geometry.ts";
import { type RepulsionScratch, type RepulsionTarget, addBigTokens, bigQuerierForce } from "./repulsion.ts";

/** Quantum of a pair's unit-free term: 2²⁶ steps per unit. */
export const PAIR_QUANTUM = 2 ** 26;

/** Rows of the half shell: (dz, dy, first dx, last dx); the own cell is handled apart (j > i). */
const HALF_ROWS: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 1, 1],
  [0, 1, -1, 1],
  [1, -1, -1, 1],
  [1, 0, -1, 1],
  [1, 1, -1, 1],
];

/**
 * Adds the pair terms of every token in cells [cellBegin, cellEnd) with the tokens after it in
 * its cell and in its forward neighbour cells into `grid.pairSums` (3 per entry, integers).
 */
export function accumulateRepulsionPairs(grid: CellGrid, ids: Uint32Array, cellBegin: number, cellEnd: number, scratch: RepulsionScratch): void {
  const h = grid.header;
  const cellCount = h[GridHeader.cellCount]!;
  if (h[GridHeader.entryCount]! === 0 || cellBegin >= cellEnd) return;
  const nx = h[GridHeader.nx]!;
  const ny = h[GridHeader.ny]!;
  const nz = h[GridHeader.nz]!;
  const { cellKeys, cellStart, entrySlot, entryX: X, entryY: Y, entryZ: Z, entryR: RR, entryStrength, pairSums: acc } = grid;
  const { rowStart, rowEnd, cursor, dir } = scratch;
  let coincident = scratch.coincident;
  const end = Math.min(cellEnd, cellCount);
  const rows = HALF_ROWS.length;
  cursor.fill(-1);
  for (let c = cellBegin; c < end; c++) {
    const key = cellKeys[c]!;
    const cx = key % nx;
    const t = (key - cx) / nx;
    const cy = t % ny;
    const cz = (t - cy) / ny;
    for (let r = 0; r < rows; r++) {
      const row = HALF_ROWS[r]!;
      const zz = cz + row[0];
      const yy = cy + row[1];
      const xLo = cx + row[2] < 0 ? 0 : cx + row[2];
      const xHi = cx + row[3] > nx - 1 ? nx - 1 : cx + row[3];
      if (zz >= nz || yy < 0 || yy >= ny || xLo > xHi) {
        rowStart[r] = 0;
        rowEnd[r] = 0;
        continue;
      }
      const base = (zz * ny + yy) * nx;
      const lo = base + xLo;
      const hi = base + xHi;
      // Row targets grow with the cell key: each cursor only moves forward.
      let cur = cursor[r]! < 0 ? lowerBound(cellKeys, c + 1, cellCount, lo) : cursor[r]!;
      while (cur < cellCount && cellKeys[cur]! < lo) cur++;
      cursor[r] = cur;
      let last = cur;
      while (last < cellCount && cellKeys[last]! <= hi) last++;
      rowStart[r] = cellStart[cur]!;
      rowEnd[r] = cellStart[last]!;
    }
    const eEnd = cellStart[c + 1]!;
    for (let i = cellStart[c]!; i < eEnd; i++) {
      const ri = RR[i]!;
      if (ri < 0) continue; // big token: its pairs go through the big list
      const xi = X[i]!;
      const yi = Y[i]!;
      const zi = Z[i]!;
      const si = entryStrength[i]!;
      let ax = 0;
      let ay = 0;
      let az = 0;
      let coincidentCount = 0;
      // The own cell's later entries, then the forward rows.
      for (let r = -1; r < rows; r++) {
        const jBegin = r < 0 ? i + 1 : rowStart[r]!;
        const jEnd = r < 0 ? eEnd : rowEnd[r]!;
        for (let j = jBegin; j < jEnd; j++) {
          const rj = RR[j]!;
          const dx = X[j]! - xi;
          const dy = Y[j]! - yi;
          const dz = Z[j]! - zi;
          const R = rj > ri ? rj : ri;
          const d2 = dx * dx + dy * dy + dz * dz;
          if (d2 >= R * R || rj < 0) continue;
          if (d2 === 0) {
            // Coincident (rare): after the loops, so the loop body makes no call.
            if (coincidentCount === coincident.length) coincident = growCoincident(scratch, coincidentCount);
            coincident[coincidentCount++] = j;
            continue;
          }
          // (1 − d/R)/d · 2²⁶ as 2²⁶/d − 2²⁶/R: one division fewer on the chain of a hit.
          const w = PAIR_QUANTUM / Math.sqrt(d2) - PAIR_QUANTUM / R;
          const ux = Math.round(w * dx);
          const uy = Math.round(w * dy);
          const uz = Math.round(w * dz);
          const sj = entryStrength[j]!;
          ax -= sj * ux;
          ay -= sj * uy;
          az -= sj * uz;
          const q = j * 3;
          acc[q] = acc[q]! + si * ux;
          acc[q + 1] = acc[q + 1]! + si * uy;
          acc[q + 2] = acc[q + 2]! + si * uz;
        }
      }
      for (let k = 0; k < coincidentCount; k++) {
        const j = coincident[k]!;
        unitDirection(ids[entrySlot[i]!]!, ids[entrySlot[j]!]!, dir);
        const ux = Math.round(dir[0]! * PAIR_QUANTUM);
        const uy = Math.round(dir[1]! * PAIR_QUANTUM);
        const uz = Math.round(dir[2]! * PAIR_QUANTUM);
        const sj = entryStrength[j]!;
        ax -= sj * ux;
        ay -= sj * uy;
        az -= sj * uz;
        const q = j * 3;
        acc[q] = acc[q]! + si * ux;
        acc[q + 1] = acc[q + 1]! + si * uy;
        acc[q + 2] = acc[q + 2]! + si * uz;
      }
      const o = i * 3;
      acc[o] = acc[o]! + ax;
      acc[o + 1] = acc[o + 1]! + ay;
      acc[o + 2] = acc[o + 2]! + az;
    }
  }
}

function growCoincident(scratch: RepulsionScratch, used: number): Int32Array {
  const next = new Int32Array(Math.max(64, used * 2));
  next.set(scratch.coincident.subarray(0, used));
  scratch.coincident = next;
  return next;
}

/**
 * Cell ranges for `accumulateRepulsionPairs` with about equal entry counts, in which range k's
 * writes (its cells and up to one z-layer plus one row and one cell ahead) stay clear of range
 * k + 2: ranges of one parity can run at once. Returns fewer ranges than asked when the grid is
 * too thin for that (down to 1).
 */
export function splitCellsForPairs(grid: CellGrid, parts: number): Int32Array {
  const h = grid.header;
  const reach = h[GridHeader.nx]! * h[GridHeader.ny]! + h[GridHeader.nx]! + 1;
  const cellCount = gridCellCount(grid);
  for (let p = parts; p > 1; p--) {
    const b = splitCells(grid, p);
    let ok = true;
    for (let k = 0; k + 2 <= p && ok; k++) {
      const lastCell = b[k + 1]! - 1;
      if (lastCell < b[k]!) continue; // empty range writes nothing
      const firstOfK2 = k + 2 < p ? b[k + 2]! : cellCount;
      if (firstOfK2 < cellCount && grid.cellKeys[lastCell]! + reach >= grid.cellKeys[firstOfK2]!) ok = false;
    }
    if (ok) return b;
  }
  return Int32Array.of(0, cellCount);
}

/**
 * Writes the repulsion of the local tokens of entries [entryBegin, entryEnd) to
 * `target.out[slot · outStride + outOffset + axis]`: the pair sums scaled to force units, plus
 * the big tokens' terms; a big token's whole force is computed apart (`bigQuerierForce`).
 */
export function finishRepulsion(
  grid: CellGrid,
  ids: Uint32Array,
  repulsionConstant: number,
  entryBegin: number,
  entryEnd: number,
  target: RepulsionTarget,
  scratch: RepulsionScratch,
): void {
  const h = grid.header;
  if (gridEntryCount(grid) === 0 || entryBegin >= entryEnd) return;
  const { cellKeys, cellStart, entrySlot, entryData, pairSums: acc } = grid;
  const { out, outStride, outOffset, localCount } = target;
  const cRep = repulsionConstant / 255;
  const scale = cRep / PAIR_QUANTUM;
  const bigCount = h[GridHeader.bigCount]!;
  const nx = h[GridHeader.nx]!;
  const ny = h[GridHeader.ny]!;
  const cellCount = h[GridHeader.cellCount]!;
  const a = scratch.acc;
  for (let e = entryBegin; e < entryEnd; e++) {
    const slot = entrySlot[e]!;
    if (slot >= localCount) continue;
    const o = slot * outStride + outOffset;
    const ri = entryData[e * 4 + 3]!;
    if (ri < 0) {
      // The cell of a big token: the last cell starting at or before e.
      let c = lowerBound(cellStartAsKeys(cellStart), 0, cellCount + 1, e + 1) - 1;
      if (c < 0) c = 0;
      const key = cellKeys[c]!;
      const cx = key % nx;
      const t = (key - cx) / nx;
      const cy = t % ny;
      const cz = (t - cy) / ny;
      bigQuerierForce(grid, ids, cRep, e, cx, cy, cz, scratch);
      out[o] = a[0]!;
      out[o + 1] = a[1]!;
      out[o + 2] = a[2]!;
      continue;
    }
    let fx = acc[e * 3]! * scale;
    let fy = acc[e * 3 + 1]! * scale;
    let fz = acc[e * 3 + 2]! * scale;
    if (bigCount > 0) {
      a[0] = fx;
      a[1] = fy;
      a[2] = fz;
      addBigTokens(grid, ids, cRep, slot, entryData[e * 4]!, entryData[e * 4 + 1]!, entryData[e * 4 + 2]!, ri, a, scratch.dir);
      fx = a[0]!;
      fy = a[1]!;
      fz = a[2]!;
    }
    out[o] = fx;
    out[o + 1] = fy;
    out[o + 2] = fz;
  }
}

/** `cellStart` viewed as the sorted u32 array `lowerBound` expects (entry indices are ≥ 0). */
function cellStartAsKeys(cellStart: Int32Array): Uint32Array {
  return new Uint32Array(cellStart.buffer, cellStart.byteOffset, cellStart.length);
}
