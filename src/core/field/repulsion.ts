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
 * so it is bit-identical however the cells are split between workers. Up to BIG_TOKEN_LIMIT
 * tokens with an exceptionally large radius are handled apart (see grid.ts): every token checks
 * them after its cells, and they search as wide as their radius. (A sliding |Δx| window
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
  /** Force accumulator of the big-token paths. */
  readonly acc: Float64Array;
  /** Entries coincident with the current token (pair kernel; grown on demand). */
  coincident: Int32Array;
}

export function allocateRepulsionScratch(): RepulsionScratch {
  return { rowStart: new Int32Array(9), rowEnd: new Int32Array(9), cursor: new Int32Array(9), dir: new Float64Array(3), acc: new Float64Array(3), coincident: new Int32Array(64) };
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
  const { rowStart, rowEnd, cursor, dir, acc } = scratch;
  const cRep = repulsionConstant / 255;
  const bigCount = h[GridHeader.bigCount]!;
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
      const o = slot * outStride + outOffset;
      if (ri < 0) {
        bigQuerierForce(grid, ids, cRep, i, cx, cy, cz, scratch);
        out[o] = acc[0]!;
        out[o + 1] = acc[1]!;
        out[o + 2] = acc[2]!;
        continue;
      }
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
      if (bigCount > 0) {
        acc[0] = fx;
        acc[1] = fy;
        acc[2] = fz;
        addBigTokens(grid, ids, cRep, slot, xi, yi, zi, ri, acc, dir);
        fx = acc[0]!;
        fy = acc[1]!;
        fz = acc[2]!;
      }
      out[o] = fx;
      out[o + 1] = fy;
      out[o + 2] = fz;
    }
  }
}

/** Adds the repulsion of the big list on the token in `slot` (radius `ri` raw) into `acc`. */
export function addBigTokens(
  grid: CellGrid,
  ids: Uint32Array,
  cRep: number,
  slot: number,
  xi: number,
  yi: number,
  zi: number,
  ri: number,
  acc: Float64Array,
  dir: Float64Array,
): void {
  const { bigSlot, bigData, bigStrength } = grid;
  const n = grid.header[GridHeader.bigCount]!;
  for (let k = 0; k < n; k++) {
    const other = bigSlot[k]!;
    const sj = bigStrength[k]!;
    if (other === slot || sj === 0) continue;
    const rj = bigData[k * 4 + 3]!;
    const R = rj > ri ? rj : ri;
    const dx = bigData[k * 4]! - xi;
    const dy = bigData[k * 4 + 1]! - yi;
    const dz = bigData[k * 4 + 2]! - zi;
    const d2 = dx * dx + dy * dy + dz * dz;
    if (d2 >= R * R) continue;
    if (d2 === 0) {
      unitDirection(ids[slot]!, ids[other]!, dir);
      acc[0] = acc[0]! - cRep * sj * dir[0]!;
      acc[1] = acc[1]! - cRep * sj * dir[1]!;
      acc[2] = acc[2]! - cRep * sj * dir[2]!;
      continue;
    }
    const d = Math.sqrt(d2);
    const f = (cRep * sj * (1 - d / R)) / d;
    acc[0] = acc[0]! - f * dx;
    acc[1] = acc[1]! - f * dy;
    acc[2] = acc[2]! - f * dz;
  }
}

/**
 * The whole repulsion on a big token (entry `i` in cell cx, cy, cz), into `scratch.acc`: the
 * small tokens of every cell within its radius (rows found by binary search; big tokens are rare),
 * then the other big tokens.
 */
export function bigQuerierForce(grid: CellGrid, ids: Uint32Array, cRep: number, i: number, cx: number, cy: number, cz: number, scratch: RepulsionScratch): void {
  const h = grid.header;
  const { cellKeys, cellStart, entrySlot, entryData, entryStrength } = grid;
  const { acc, dir } = scratch;
  const cellCount = h[GridHeader.cellCount]!;
  const nx = h[GridHeader.nx]!;
  const ny = h[GridHeader.ny]!;
  const nz = h[GridHeader.nz]!;
  const slot = entrySlot[i]!;
  const xi = entryData[i * 4]!;
  const yi = entryData[i * 4 + 1]!;
  const zi = entryData[i * 4 + 2]!;
  const Ri = -entryData[i * 4 + 3]!;
  const m = Math.ceil(Ri / h[GridHeader.cellRaw]!);
  const xLo = Math.max(0, cx - m);
  const xHi = Math.min(nx - 1, cx + m);
  acc[0] = 0;
  acc[1] = 0;
  acc[2] = 0;
  for (let zz = Math.max(0, cz - m); zz <= Math.min(nz - 1, cz + m); zz++) {
    for (let yy = Math.max(0, cy - m); yy <= Math.min(ny - 1, cy + m); yy++) {
      const base = (zz * ny + yy) * nx;
      const first = lowerBound(cellKeys, 0, cellCount, base + xLo);
      const last = lowerBound(cellKeys, first, cellCount, base + xHi + 1);
      const jEnd = cellStart[last]!;
      for (let j = cellStart[first]!; j < jEnd; j++) {
        const sj = entryStrength[j]!;
        if (sj === 0 || j === i) continue;
        const rj = entryData[j * 4 + 3]!;
        const R = rj > Ri ? rj : Ri;
        const dx = entryData[j * 4]! - xi;
        const dy = entryData[j * 4 + 1]! - yi;
        const dz = entryData[j * 4 + 2]! - zi;
        const d2 = dx * dx + dy * dy + dz * dz;
        if (d2 >= R * R) continue;
        if (d2 === 0) {
          unitDirection(ids[slot]!, ids[entrySlot[j]!]!, dir);
          acc[0] = acc[0] - cRep * sj * dir[0]!;
          acc[1] = acc[1] - cRep * sj * dir[1]!;
          acc[2] = acc[2] - cRep * sj * dir[2]!;
          continue;
        }
        const d = Math.sqrt(d2);
        const f = (cRep * sj * (1 - d / R)) / d;
        acc[0] = acc[0] - f * dx;
        acc[1] = acc[1] - f * dy;
        acc[2] = acc[2] - f * dz;
      }
    }
  }
  addBigTokens(grid, ids, cRep, slot, xi, yi, zi, Ri, acc, dir);
}
