/**
 * Fixed-point geometry shared by the force kernels and field detection: cell coordinates on the
 * raw int16 lattice (scales: token/layout.ts SCALES), and a stable LSD radix sort
 * of (u32 key, i32 value) pairs used to build cell lists in O(n).
 */
import { MAX_RAW_COORD, RADIUS_SCALE, SCALES } from "../token/layout.ts";

/** Raw coordinates are int16; cell coordinates are taken from `raw + RAW_OFFSET` ≥ 0. */
export const RAW_OFFSET = 32768;

/** Nearest integer, ties away from zero: the token codec's rounding rule (token/coords.ts). */
export function roundHalfAway(v: number): number {
  return (v < 0 ? -Math.round(-v) : Math.round(v)) + 0;
}

/**
 * Smallest cell edge in raw units. With cells of ≥ 41 raw units a space has ≤ 1599 cells per
 * axis, so a row-major cell key (cz·n + cy)·n + cx fits in a u32.
 */
export const MIN_CELL_RAW = 41;

/** Cells per axis for an integer cell edge `cellRaw` over the whole int16 range. */
export function cellsPerAxis(cellRaw: number): number {
  return Math.floor((MAX_RAW_COORD + RAW_OFFSET) / cellRaw) + 1;
}

/** Cell edge in raw units for a cell size in decoded units of `space` (rounded, ≥ MIN_CELL_RAW). */
export function cellRawOf(space: number, cellSize: number): number {
  return Math.max(MIN_CELL_RAW, Math.round(cellSize * (SCALES[space] ?? 1)));
}

/** Radius byte → raw units of `space` (radius = raw/100 decoded units; all scales are multiples of 100). */
export function radiusToRawFactor(space: number): number {
  return (SCALES[space] ?? RADIUS_SCALE) / RADIUS_SCALE;
}

/** Number of bits needed to represent `maxKey` (0 for 0). */
export function bitLength(maxKey: number): number {
  let bits = 0;
  let v = maxKey;
  while (v >= 1) {
    bits++;
    v = Math.floor(v / 2);
  }
  return bits;
}

const RADIX_BITS = 11;
const RADIX = 1 << RADIX_BITS;

/** Scratch for `radixSortPairs`: two ping-pong buffers and a histogram. */
export interface RadixScratch {
  keysB: Uint32Array;
  valsB: Int32Array;
  readonly histogram: Int32Array;
}

export function allocateRadixScratch(capacity: number): RadixScratch {
  return { keysB: new Uint32Array(capacity), valsB: new Int32Array(capacity), histogram: new Int32Array(RADIX) };
}

/** Grows the scratch buffers to hold `capacity` pairs (no-op when large enough). */
export function ensureRadixScratch(scratch: RadixScratch, capacity: number): void {
  if (scratch.keysB.length < capacity) {
    scratch.keysB = new Uint32Array(capacity);
    scratch.valsB = new Int32Array(capacity);
  }
}

/**
 * Sorts `keys[0..n)` ascending, carrying `vals`, stably (equal keys keep their input order), in
 * place: the result is in `keys`/`vals` when the call returns. `maxKey` bounds the keys and
 * decides the number of 11-bit passes.
 */
export function radixSortPairs(keys: Uint32Array, vals: Int32Array, n: number, maxKey: number, scratch: RadixScratch): void {
  ensureRadixScratch(scratch, n);
  const bits = bitLength(maxKey);
  const passes = Math.ceil(bits / RADIX_BITS);
  const hist = scratch.histogram;
  let srcK = keys;
  let srcV = vals;
  let dstK = scratch.keysB;
  let dstV = scratch.valsB;
  for (let p = 0; p < passes; p++) {
    const shift = p * RADIX_BITS;
    hist.fill(0);
    for (let i = 0; i < n; i++) hist[(srcK[i]! >>> shift) & (RADIX - 1)]!++;
    let sum = 0;
    for (let d = 0; d < RADIX; d++) {
      const c = hist[d]!;
      hist[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const k = srcK[i]!;
      const pos = hist[(k >>> shift) & (RADIX - 1)]!++;
      dstK[pos] = k;
      dstV[pos] = srcV[i]!;
    }
    const tk = srcK;
    srcK = dstK;
    dstK = tk;
    const tv = srcV;
    srcV = dstV;
    dstV = tv;
  }
  if (srcK !== keys) {
    keys.set(srcK.subarray(0, n));
    vals.set(srcV.subarray(0, n));
  }
}

/** First index in sorted `a[lo..hi)` with a[index] ≥ value (hi when none). */
export function lowerBound(a: Uint32Array, lo: number, hi: number, value: number): number {
  let l = lo;
  let h = hi;
  while (l < h) {
    const m = (l + h) >>> 1;
    if (a[m]! < value) l = m + 1;
    else h = m;
  }
  return l;
}

/**
 * A deterministic, antisymmetric unit direction for two coincident tokens: `unitDirection(a, b)`
 * points from a towards b and equals −`unitDirection(b, a)`. Writes x, y, z into `out[0..3)`.
 */
export function unitDirection(idA: number, idB: number, out: Float64Array): void {
  const lo = idA < idB ? idA : idB;
  const hi = idA < idB ? idB : idA;
  let h = Math.imul(lo ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hi + 0x7f4a7c15, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  const h2 = Math.imul(h ^ (h >>> 13), 0x27d4eb2d);
  const h3 = Math.imul(h2 ^ (h2 >>> 15), 0x165667b1);
  let x = (h & 0xffff) / 32767.5 - 1;
  let y = (h2 & 0xffff) / 32767.5 - 1;
  let z = (h3 & 0xffff) / 32767.5 - 1;
  let len = Math.sqrt(x * x + y * y + z * z);
  if (len < 1e-6) {
    x = 1;
    y = 0;
    z = 0;
    len = 1;
  }
  const sign = idA < idB ? 1 : idA > idB ? -1 : 0;
  out[0] = (sign * x) / len;
  out[1] = (sign * y) / len;
  out[2] = (sign * z) / len;
}

