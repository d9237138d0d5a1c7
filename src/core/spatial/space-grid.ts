/**
 * The index of one space: a spatial hash of cubic cells, built by a counting sort of the tokens
 * by bucket (two passes, O(n), no object per token or cell). Entries keep a copy of the token's
 * raw position, field radius and strength, so scans are sequential and need no id lookup.
 *
 * Bucket of cell (cx, cy, cz) = (rowHash(cy, cz) + cx) mod buckets: the cells of one x-row sit in
 * consecutive buckets, so a query reads a row of cells as one contiguous run of entries (a cache
 * miss per row, not per cell). A bucket can hold entries of other cells (collisions): a scan of
 * cell range [xa..xb] × cy × cz takes only the entries whose raw position lies in that range, so
 * every entry is seen once, in its own cell, and then tested by its exact distance.
 *
 * Between rebuilds, changed ids (inserted, moved, deleted) go to `dirty`: base entries with a dirty
 * id are skipped, and dirty ids are read from the live columns instead (the overflow).
 */
import type { TokenColumns } from "../token/columns.ts";
import { COORDS_PER_TOKEN } from "../token/columns.ts";
import { IdIndex } from "../graph/id-index.ts";
import { RAW_MAX, RAW_MIN } from "./config.ts";
import { SCALES } from "../token/layout.ts";
import type { SpatialResult } from "./result.ts";

/** What the index reads from the store. */
export interface SpatialSource {
  /** Current columns; re-read on every query (a store reallocates them when it grows). */
  readonly columns: TokenColumns;
  /** Slot of a live token, or -1. */
  slotOf(id: number): number;
}

const OFFSET = 32768;

export const ScanMode = { Collect: 0, Nearest: 1, Count: 2, Field: 3 } as const;
export type ScanMode = (typeof ScanMode)[keyof typeof ScanMode];

export class SpaceGrid {
  readonly space: number;
  readonly cellRaw: number;
  private readonly scale: number;
  /** Raw coordinate units per unit of the field_radius byte (radius = raw / 100 decoded). */
  private readonly fieldScale: number;
  built = false;
  count = 0;
  overflowLimit = 64;
  readonly dirty = new IdIndex(16);

  private ids = new Uint32Array(0);
  private xyz = new Int16Array(0);
  private radius = new Uint8Array(0);
  private strength = new Uint8Array(0);
  private start = new Uint32Array(1);
  private buckets = 0;
  private mask = 0;
  private minX = 1;
  private minY = 1;
  private minZ = 1;
  private maxX = 0;
  private maxY = 0;
  private maxZ = 0;
  /** Largest field_radius byte among base entries. */
  maxRadius = 0;

  // Per-query state, set by `begin`.
  private px = 0;
  private py = 0;
  private pz = 0;
  private r2 = 0;
  private maxR2 = 0;
  private exclude = 0;
  private mode: ScanMode = ScanMode.Collect;
  private k = 0;
  private hits = 0;
  private out: SpatialResult | null = null;

  constructor(space: number, cellRaw: number) {
    this.space = space;
    this.cellRaw = cellRaw;
    this.scale = SCALES[space]!;
    this.fieldScale = this.scale / 100;
  }

  /** Counting sort of every live slot by hashed cell. `keys` is scratch of ≥ cols.size entries. */
  build(cols: TokenColumns, keys: Uint32Array, overflowLimit: number | undefined): void {
    const n = cols.size;
    let buckets = 16;
    while (buckets < n) buckets *= 2;
    this.buckets = buckets;
    this.mask = buckets - 1;
    if (this.ids.length < n) {
      this.ids = new Uint32Array(n);
      this.xyz = new Int16Array(n * 3);
      this.radius = new Uint8Array(n);
      this.strength = new Uint8Array(n);
    }
    if (this.start.length < buckets + 1) {
      this.start = new Uint32Array(buckets + 1);
    } else {
      this.start.fill(0, 0, buckets + 1);
    }
    const { coords } = cols;
    const start = this.start;
    const cell = this.cellRaw;
    const mask = this.mask;
    const base = this.space * 3;
    let minX = Infinity;
    let minY = Infinity;
    let minZ = Infinity;
    let maxX = -1;
    let maxY = -1;
    let maxZ = -1;
    let maxRadius = 0;
    for (let i = 0; i < n; i++) {
      const c = i * COORDS_PER_TOKEN + base;
      const cx = ((coords[c]! + OFFSET) / cell) | 0;
      const cy = ((coords[c + 1]! + OFFSET) / cell) | 0;
      const cz = ((coords[c + 2]! + OFFSET) / cell) | 0;
      if (cx < minX) minX = cx;
      if (cx > maxX) maxX = cx;
      if (cy < minY) minY = cy;
      if (cy > maxY) maxY = cy;
      if (cz < minZ) minZ = cz;
      if (cz > maxZ) maxZ = cz;
      const b = (rowHash(cy, cz) + cx) & mask;
      keys[i] = b;
      start[b + 1]!++;
      const r = cols.radii[i]!;
      if (r > maxRadius) maxRadius = r;
    }
    for (let b = 1; b <= buckets; b++) start[b]! += start[b - 1]!;
    const { ids, xyz, radius, strength } = this;
    // Scatter: start[b] walks to the end of bucket b, then everything is shifted back by one.
    for (let i = 0; i < n; i++) {
      const pos = start[keys[i]!]!++;
      const c = i * COORDS_PER_TOKEN + base;
      ids[pos] = cols.ids[i]!;
      xyz[pos * 3] = coords[c]!;
      xyz[pos * 3 + 1] = coords[c + 1]!;
      xyz[pos * 3 + 2] = coords[c + 2]!;
      radius[pos] = cols.radii[i]!;
      strength[pos] = cols.strengths[i]!;
    }
    for (let b = buckets; b > 0; b--) start[b] = start[b - 1]!;
    start[0] = 0;
    this.count = n;
    this.minX = n === 0 ? 1 : minX;
    this.minY = n === 0 ? 1 : minY;
    this.minZ = n === 0 ? 1 : minZ;
    this.maxX = maxX;
    this.maxY = maxY;
    this.maxZ = maxZ;
    this.maxRadius = maxRadius;
    this.overflowLimit = overflowLimit ?? Math.max(64, Math.ceil(Math.sqrt(n)));
    this.dirty.clear();
    this.built = true;
  }

  /** Starts a query around raw point (px, py, pz): candidates with d² ≤ r2 go to `out` by `mode`. */
  begin(px: number, py: number, pz: number, r2: number, mode: ScanMode, out: SpatialResult | null, k: number, exclude: number): void {
    this.px = px;
    this.py = py;
    this.pz = pz;
    this.r2 = r2;
    this.maxR2 = r2;
    this.mode = mode;
    this.out = out;
    this.k = k;
    this.exclude = exclude;
    this.hits = 0;
  }

  /** Lowers the distance limit of the current query (after the overflow was scanned wider). */
  narrow(r2: number): void {
    this.r2 = r2;
    this.maxR2 = r2;
  }

  /** Matches counted in Count mode. */
  hitCount(): number {
    return this.hits;
  }

  /** Offers every live overflow (dirty) token, read from the current columns. */
  scanOverflow(source: SpatialSource): void {
    const n = this.dirty.size;
    if (n === 0) return;
    const cols = source.columns;
    const dirtyIds = this.dirty.ids;
    const base = this.space * 3;
    for (let i = 0; i < n; i++) {
      const id = dirtyIds[i]!;
      if (id === this.exclude) continue;
      const slot = source.slotOf(id);
      if (slot < 0) continue;
      const c = slot * COORDS_PER_TOKEN + base;
      const dx = cols.coords[c]! - this.px;
      const dy = cols.coords[c + 1]! - this.py;
      const dz = cols.coords[c + 2]! - this.pz;
      const d2 = dx * dx + dy * dy + dz * dz;
      if (d2 <= this.r2) this.consider(d2, id, cols.radii[slot]!, cols.strengths[slot]!);
    }
  }

  /** Scans the base entries within raw radius R of the query point (cells of the bounding cube). */
  scanRadius(R: number): void {
    if (this.count === 0) return;
    const cell = this.cellRaw;
    const x0 = Math.max(cellOf(Math.max(RAW_MIN, Math.ceil(this.px - R)), cell), this.minX);
    const x1 = Math.min(cellOf(Math.min(RAW_MAX, Math.floor(this.px + R)), cell), this.maxX);
    const y0 = Math.max(cellOf(Math.max(RAW_MIN, Math.ceil(this.py - R)), cell), this.minY);
    const y1 = Math.min(cellOf(Math.min(RAW_MAX, Math.floor(this.py + R)), cell), this.maxY);
    const z0 = Math.max(cellOf(Math.max(RAW_MIN, Math.ceil(this.pz - R)), cell), this.minZ);
    const z1 = Math.min(cellOf(Math.min(RAW_MAX, Math.floor(this.pz + R)), cell), this.maxZ);
    if (x0 > x1 || y0 > y1 || z0 > z1) return;
    if ((x1 - x0 + 1) * (y1 - y0 + 1) * (z1 - z0 + 1) > this.count) {
      this.scanAll();
      return;
    }
    for (let z = z0; z <= z1; z++) {
      for (let y = y0; y <= y1; y++) this.scanRow(x0, x1, y, z);
    }
  }

  /**
   * Nearest-first search in growing shells of cells around the query cell (Nearest mode; the
   * result heap may already hold overflow candidates). Stops once no unseen token can beat the
   * k-th best or lie within the radius limit: every unseen token is outside the scanned cube, so at
   * least `gap` raw units away.
   */
  scanNearest(): void {
    if (this.count === 0) return;
    const cell = this.cellRaw;
    const { px, py, pz } = this;
    const cx = cellOf(px, cell);
    const cy = cellOf(py, cell);
    const cz = cellOf(pz, cell);
    let visited = 0;
    for (let t = 0; ; t++) {
      const x0 = Math.max(cx - t, this.minX);
      const x1 = Math.min(cx + t, this.maxX);
      const y0 = Math.max(cy - t, this.minY);
      const y1 = Math.min(cy + t, this.maxY);
      const z0 = Math.max(cz - t, this.minZ);
      const z1 = Math.min(cz + t, this.maxZ);
      if (x0 <= x1 && y0 <= y1 && z0 <= z1) {
        const volume = (x1 - x0 + 1) * (y1 - y0 + 1) * (z1 - z0 + 1);
        let inner = 0;
        if (t > 0) {
          const ix = Math.min(cx + t - 1, this.maxX) - Math.max(cx - t + 1, this.minX) + 1;
          const iy = Math.min(cy + t - 1, this.maxY) - Math.max(cy - t + 1, this.minY) + 1;
          const iz = Math.min(cz + t - 1, this.maxZ) - Math.max(cz - t + 1, this.minZ) + 1;
          if (ix > 0 && iy > 0 && iz > 0) inner = ix * iy * iz;
        }
        const shell = volume - inner;
        if (visited + shell > this.count) {
          // Cheaper to read every entry once, skipping the cube of rings 0..t-1 already scanned.
          this.scanAllOutside(
            (cx - t + 1) * cell - OFFSET,
            (cx + t) * cell - OFFSET - 1,
            (cy - t + 1) * cell - OFFSET,
            (cy + t) * cell - OFFSET - 1,
            (cz - t + 1) * cell - OFFSET,
            (cz + t) * cell - OFFSET - 1,
          );
          return;
        }
        visited += shell;
        this.scanShell(t, cx, cy, cz, x0, x1, y0, y1, z0, z1);
      }
      const lowX = cx - t <= this.minX;
      const highX = cx + t >= this.maxX;
      const lowY = cy - t <= this.minY;
      const highY = cy + t >= this.maxY;
      const lowZ = cz - t <= this.minZ;
      const highZ = cz + t >= this.maxZ;
      if (lowX && highX && lowY && highY && lowZ && highZ) return;
      let gap = Infinity;
      if (!lowX) gap = Math.min(gap, px - ((cx - t) * cell - OFFSET) + 1);
      if (!highX) gap = Math.min(gap, (cx + t + 1) * cell - OFFSET - px);
      if (!lowY) gap = Math.min(gap, py - ((cy - t) * cell - OFFSET) + 1);
      if (!highY) gap = Math.min(gap, (cy + t + 1) * cell - OFFSET - py);
      if (!lowZ) gap = Math.min(gap, pz - ((cz - t) * cell - OFFSET) + 1);
      if (!highZ) gap = Math.min(gap, (cz + t + 1) * cell - OFFSET - pz);
      if (gap * gap > this.r2) return;
    }
  }

  /** Bytes held by this space's arrays. */
  byteSize(): number {
    return (
      this.ids.byteLength +
      this.xyz.byteLength +
      this.radius.byteLength +
      this.strength.byteLength +
      this.start.byteLength +
      this.dirty.byteSize()
    );
  }

  /** Releases the arrays (the space is rebuilt on its next query). */
  release(): void {
    this.built = false;
    this.ids = new Uint32Array(0);
    this.xyz = new Int16Array(0);
    this.radius = new Uint8Array(0);
    this.strength = new Uint8Array(0);
    this.start = new Uint32Array(1);
    this.count = 0;
    this.dirty.clear();
  }

  private scanShell(t: number, cx: number, cy: number, cz: number, x0: number, x1: number, y0: number, y1: number, z0: number, z1: number): void {
    for (let z = z0; z <= z1; z++) {
      const zFace = z === cz - t || z === cz + t;
      for (let y = y0; y <= y1; y++) {
        if (zFace || y === cy - t || y === cy + t) {
          this.scanRow(x0, x1, y, z);
        } else {
          if (cx - t >= x0) this.scanRow(cx - t, cx - t, y, z);
          if (t > 0 && cx + t <= x1) this.scanRow(cx + t, cx + t, y, z);
        }
      }
    }
  }

  /** Every base entry, once (no cell filter). */
  private scanAll(): void {
    this.scanEntries(0, this.count, RAW_MIN, RAW_MAX, RAW_MIN, RAW_MAX, RAW_MIN, RAW_MAX);
  }

  /** Every base entry outside the raw box (an empty box when lo > hi). */
  private scanAllOutside(xLo: number, xHi: number, yLo: number, yHi: number, zLo: number, zHi: number): void {
    const xyz = this.xyz;
    const { px, py, pz } = this;
    for (let e = 0; e < this.count; e++) {
      const x = xyz[e * 3]!;
      const y = xyz[e * 3 + 1]!;
      const z = xyz[e * 3 + 2]!;
      if (x >= xLo && x <= xHi && y >= yLo && y <= yHi && z >= zLo && z <= zHi) continue;
      const dx = x - px;
      const dy = y - py;
      const dz = z - pz;
      const d2 = dx * dx + dy * dy + dz * dz;
      if (d2 > this.r2) continue;
      const id = this.ids[e]!;
      if (id === this.exclude) continue;
      if (this.dirty.size > 0 && this.dirty.indexOf(id) >= 0) continue;
      this.consider(d2, id, this.radius[e]!, this.strength[e]!);
    }
  }

  /** The entries of cells xa..xb of row (cy, cz): one or two contiguous runs of buckets. */
  private scanRow(xa: number, xb: number, cy: number, cz: number): void {
    const cell = this.cellRaw;
    const xLo = xa * cell - OFFSET;
    const xHi = (xb + 1) * cell - OFFSET - 1;
    const yLo = cy * cell - OFFSET;
    const zLo = cz * cell - OFFSET;
    const length = xb - xa + 1;
    if (length >= this.buckets) {
      this.scanEntries(0, this.count, xLo, xHi, yLo, yLo + cell - 1, zLo, zLo + cell - 1);
      return;
    }
    const b0 = (rowHash(cy, cz) + xa) & this.mask;
    const b1 = b0 + length;
    const start = this.start;
    if (b1 <= this.buckets) {
      this.scanEntries(start[b0]!, start[b1]!, xLo, xHi, yLo, yLo + cell - 1, zLo, zLo + cell - 1);
    } else {
      this.scanEntries(start[b0]!, this.count, xLo, xHi, yLo, yLo + cell - 1, zLo, zLo + cell - 1);
      this.scanEntries(0, start[b1 - this.buckets]!, xLo, xHi, yLo, yLo + cell - 1, zLo, zLo + cell - 1);
    }
  }

  /** Entries from..to-1 whose raw position lies in the box (their own cells), then by distance. */
  private scanEntries(from: number, to: number, xLo: number, xHi: number, yLo: number, yHi: number, zLo: number, zHi: number): void {
    const xyz = this.xyz;
    const { px, py, pz } = this;
    for (let e = from; e < to; e++) {
      const x = xyz[e * 3]!;
      const y = xyz[e * 3 + 1]!;
      const z = xyz[e * 3 + 2]!;
      if (x < xLo || x > xHi || y < yLo || y > yHi || z < zLo || z > zHi) continue;
      const dx = x - px;
      const dy = y - py;
      const dz = z - pz;
      const d2 = dx * dx + dy * dy + dz * dz;
      if (d2 > this.r2) continue;
      const id = this.ids[e]!;
      if (id === this.exclude) continue;
      if (this.dirty.size > 0 && this.dirty.indexOf(id) >= 0) continue;
      this.consider(d2, id, this.radius[e]!, this.strength[e]!);
    }
  }

  private consider(d2: number, id: number, radius: number, strength: number): void {
    const out = this.out;
    switch (this.mode) {
      case ScanMode.Collect:
        out!.push(d2, id, 0);
        return;
      case ScanMode.Nearest:
        out!.offer(d2, id, this.k);
        // Once k candidates are held, only ones that beat (or tie) the worst can matter.
        if (out!.count >= this.k) this.r2 = Math.min(this.maxR2, out!.squared[0]!);
        return;
      case ScanMode.Count:
        this.hits++;
        return;
      case ScanMode.Field: {
        if (radius === 0) return; // a zero field radius covers nothing (the original divided 0/0)
        const fr = radius * this.fieldScale;
        if (d2 > fr * fr) return;
        out!.push(d2, id, (strength / 255) * (1 - Math.sqrt(d2) / fr));
        return;
      }
    }
  }
}

function cellOf(raw: number, cell: number): number {
  return ((raw + OFFSET) / cell) | 0;
}

/** Start bucket of the x-row (cy, cz) before adding cx; any 32-bit value (masked by the caller). */
function rowHash(cy: number, cz: number): number {
  const h = Math.imul(cy, 0x8da6b343) ^ Math.imul(cz, 0xd8163841);
  return Math.imul(h ^ (h >>> 15), 0x9e3779b1) >>> 0;
}
