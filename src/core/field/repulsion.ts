/**
 * Short-range repulsion over a cell grid (DESIGN §3.6): for tokens i, j closer than
 * R = max(radius_i, radius_j), F_i −= c_rep · strength_j · (1 − d/R) · (x_j − x_i)/d.
 * Coincident tokens (d = 0) are pushed apart along a deterministic direction derived from their
 * ids (`unitDirection`), the smaller id one way and the larger the other.
 *
 * The pass runs over a range of cells [cellBegin, cellEnd) in key order, so the neighbour cells
 * of consecutive cells are found by nine forward-moving cursors (one per row of the 3×3×3 block)
 * instead of hash lookups, and memory is read almost sequentially. The force on each token is a
 * sum over its neighbour rows in a fixed order (dz, dy ascending; entries in (key, slot) order),
 * so it is bit-identical however the cells are split between workers. (A sliding |Δx| window
 * over x-sorted rows examines a third fewer pairs but measured slower: its branches cost more
 * than the pair checks they save.) Each token's result is
 * written once, to `out[slot * outStride + outOffset + axis]`.
 */
import { type CellGrid, GridHeader } from "./grid.ts";
import { lowerBound, unitDirection } from "./geometry.ts";

export interface RepulsionTarget {
  /** Forces in decoded force units, written per slot; Float32 halves the memory traffic. */
  readonly out: Float32Array;
  readonly outStride: number;
  readonly outOffset: number;
  /** Only slots below this are written (ghost slots above it are sources only). */
  readonly localCount: number;
}

/** Per-call scratch: 9 row ranges, 9 cursors and a direction vector. Reuse it across calls. */
export interface RepulsionScratch {
  readonly rowStart: Int32Array;
  readonly rowEnd: Int32Array;
  readonly cursor: Int32Array;
  readonly dir: Float64Array;
}

export function allocateRepulsionScratch(): RepulsionScratch {
  return { rowStart: new Int32Array(9), rowEnd: new Int32Array(9), cursor: new Int32Array(9), dir: new Float64Array(3) };
}

/**
 * Computes repulsion for every token in cells [cellBegin, cellEnd) of `grid`.
 * `ids` gives token ids per slot (used only to orient coincident pairs).
 */
export function computeRepulsion(
  grid: CellGrid,
  ids: Uint32Array,
  repulsionConstant: number,
  cellBegin: number,
  cellEnd: number,
  target: RepulsionTarget,
  scratch: RepulsionScratch,
): void {
  const h = grid.header;
  const cellCount = h[GridHeader.cellCount]!;
  if (h[GridHeader.entryCount]! === 0 || cellBegin >= cellEnd) return;
  const nx = h[GridHeader.nx]!;
  const ny = h[GridHeader.ny]!;
  const nz = h[GridHeader.nz]!;
  const { cellKeys, cellStart, entrySlot, entryData, entryStrength } = grid;
  const { out, outStride, outOffset, localCount } = target;
  const { rowStart, rowEnd, cursor, dir } = scratch;
  const cRep = repulsionConstant / 255;
  const end = Math.min(cellEnd, cellCount);
  cursor.fill(-1);
  for (let c = cellBegin; c < end; c++) {
    const key = cellKeys[c]!;
    const cx = key % nx;
    const t = (key - cx) / nx;
    const cy = t % ny;
    const cz = (t - cy) / ny;
    const xLo = cx > 0 ? cx - 1 : cx;
    const xHi = cx < nx - 1 ? cx + 1 : cx;
    let r = 0;
    for (let dz = -1; dz <= 1; dz++) {
      const zz = cz + dz;
      for (let dy = -1; dy <= 1; dy++, r++) {
        const yy = cy + dy;
        if (zz < 0 || zz >= nz || yy < 0 || yy >= ny) {
          rowStart[r] = 0;
          rowEnd[r] = 0;
          continue;
        }
        const base = (zz * ny + yy) * nx;
        const lo = base + xLo;
        const hi = base + xHi;
        // Targets grow with the cell key, so each cursor only moves forward from where a
        // binary search first put it.
        let cur = cursor[r]! < 0 ? lowerBound(cellKeys, 0, cellCount, lo) : cursor[r]!;
        while (cur < cellCount && cellKeys[cur]! < lo) cur++;
        cursor[r] = cur;
        let last = cur;
        while (last < cellCount && cellKeys[last]! <= hi) last++;
        rowStart[r] = cellStart[cur]!;
        rowEnd[r] = cellStart[last]!;
      }
    }
    const eEnd = cellStart[c + 1]!;
    for (let i = cellStart[c]!; i < eEnd; i++) {
      const slot = entrySlot[i]!;
      if (slot >= localCount) continue;
      const xi = entryData[i * 4]!;
      const yi = entryData[i * 4 + 1]!;
      const zi = entryData[i * 4 + 2]!;
      const ri = entryData[i * 4 + 3]!;
      let fx = 0;
      let fy = 0;
      let fz = 0;
      for (let row = 0; row < 9; row++) {
        const jEnd = rowEnd[row]!;
        for (let j = rowStart[row]!; j < jEnd; j++) {
          const p = j * 4;
          const dx = entryData[p]! - xi;
          const dy = entryData[p + 1]! - yi;
          const dz = entryData[p + 2]! - zi;
          const rj = entryData[p + 3]!;
          const R = rj > ri ? rj : ri;
          const d2 = dx * dx + dy * dy + dz * dz;
          if (d2 >= R * R || j === i) continue;
          const sj = entryStrength[j]!;
          if (sj === 0) continue;
          if (d2 === 0) {
            // F_i = −c·s_j·û_ij: i moves away from j.
            unitDirection(ids[slot]!, ids[entrySlot[j]!]!, dir);
            const f = cRep * sj;
            fx -= f * dir[0]!;
            fy -= f * dir[1]!;
            fz -= f * dir[2]!;
            continue;
          }
          const d = Math.sqrt(d2);
          const f = (cRep * sj * (1 - d / R)) / d;
          fx -= f * dx;
          fy -= f * dy;
          fz -= f * dz;
        }
      }
      const o = slot * outStride + outOffset;
      out[o] = fx;
      out[o + 1] = fy;
      out[o + 2] = fz;
    }
  }
}
