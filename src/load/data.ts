/**
 * Data the harness sends: packed 64-byte token records (DESIGN §3.1) built straight into one
 * buffer per batch, deterministic from a seed, and the preload set (tokens with ids 1..N spread
 * over a cube in L1, and `degree` connections each) that read scenarios query.
 */
import { TOKEN_RECORD_SIZE, TokenOffset } from "../core/token/layout.ts";

const ACTIVE = 0x1;
/** L1 is scaled ×100: raw ±1000 = ±10 units. */
const L1_RAW_SPAN = 1000;

/** A small, fast, seedable PRNG (xorshift32); values in [0, 1). */
export class Random {
  #s: number;
  constructor(seed: number) {
    this.#s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  }
  next(): number {
    let x = this.#s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.#s = x;
    return x / 0x1_0000_0000;
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
}

/**
 * `count` token records: id `firstId + i` (or 0 = allocate when `firstId` is 0), a position in
 * L1 drawn from `rng`, weight 0.5, ACTIVE, the given timestamp.
 */
export function tokenRecords(count: number, firstId: number, rng: Random, timestamp = Math.floor(Date.now() / 1000)): Uint8Array {
  const bytes = new Uint8Array(count * TOKEN_RECORD_SIZE);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < count; i++) {
    const o = i * TOKEN_RECORD_SIZE;
    for (let axis = 0; axis < 3; axis++) view.setInt16(o + TokenOffset.coords + axis * 2, rng.int(-L1_RAW_SPAN, L1_RAW_SPAN), true);
    view.setUint32(o + TokenOffset.id, firstId === 0 ? 0 : firstId + i, true);
    view.setUint16(o + TokenOffset.flags, ACTIVE, true);
    view.setFloat32(o + TokenOffset.weight, 0.5, true);
    view.setUint32(o + TokenOffset.timestamp, timestamp, true);
  }
  return bytes;
}

/** The connections of the preload: token i links to `degree` pseudo-random others in 1..n. */
export function preloadEdges(from: number, to: number, n: number, degree: number, seed: number): { source: number; target: number }[] {
  const edges: { source: number; target: number }[] = [];
  if (n < 2) return edges;
  for (let id = from; id <= to; id++) {
    const rng = new Random(seed * 7919 + id);
    const seen = new Set<number>();
    for (let d = 0; d < degree && seen.size < n - 1; d++) {
      let target = rng.int(1, n);
      while (target === id || seen.has(target)) target = target === n ? 1 : target + 1;
      seen.add(target);
      edges.push({ source: id, target });
    }
  }
  return edges;
}
