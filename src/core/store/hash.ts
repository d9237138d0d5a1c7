/**
 * Hash helpers for open addressing on typed arrays.
 *
 * Ids of one shard are all ≡ shard (mod S), so the low bits of an id carry no information when S
 * is a power of two: masking them (identity hashing) would use 1/S of a table. Fibonacci hashing
 * (multiply by 2^32/φ, keep the top bits) spreads any arithmetic progression of ids almost
 * uniformly over the table (three-distance theorem), costs one multiply, and its top bits depend
 * on every bit of the id, including the domain bits 28-31.
 */

export const FIB32 = 0x9e3779b9;

/** Table position of `key` in a table of 2^bits entries (bits ≥ 1). */
export function fibHash(key: number, shift: number): number {
  return Math.imul(key, FIB32) >>> shift;
}

/** Mixes a connection key (source, target, type) into 32 bits before Fibonacci hashing. */
export function edgeKeyHash(source: number, target: number, type: number, shift: number): number {
  const h = source ^ Math.imul(target ^ (target >>> 16), 0x85ebca6b) ^ Math.imul(type + 1, 0xc2b2ae35);
  return Math.imul(h, FIB32) >>> shift;
}

/** Smallest power of two ≥ max(n, 16). */
export function pow2AtLeast(n: number): number {
  let c = 16;
  while (c < n) c *= 2;
  return c;
}

/** Tables are grown before they exceed this load factor (entries / table size). */
export const MAX_LOAD = 0.7;

/** Table size for `n` entries at most MAX_LOAD full. */
export function tableSizeFor(n: number): number {
  return pow2AtLeast(Math.ceil(n / MAX_LOAD) + 1);
}

/**
 * A per-call set of batch keys (a, b, c) → first batch index, for duplicate detection inside a
 * batch. Sized for the batch, allocated once per call, never per item.
 */
export class BatchKeySet {
  private readonly a: Uint32Array;
  private readonly b: Uint32Array;
  private readonly c: Uint32Array;
  /** first index + 1; 0 = empty */
  private readonly first: Uint32Array;
  private readonly shift: number;
  private readonly mask: number;

  constructor(capacity: number) {
    const size = tableSizeFor(capacity);
    this.a = new Uint32Array(size);
    this.b = new Uint32Array(size);
    this.c = new Uint32Array(size);
    this.first = new Uint32Array(size);
    this.shift = 32 - Math.log2(size);
    this.mask = size - 1;
  }

  /** Adds the key with batch index `index`; returns the earlier index when present, else −1. */
  addOrGet(a: number, b: number, c: number, index: number): number {
    let p = edgeKeyHash(a, b, c, this.shift);
    for (;;) {
      const f = this.first[p]!;
      if (f === 0) {
        this.a[p] = a;
        this.b[p] = b;
        this.c[p] = c;
        this.first[p] = index + 1;
        return -1;
      }
      if (this.a[p] === a && this.b[p] === b && this.c[p] === c) return f - 1;
      p = (p + 1) & this.mask;
    }
  }
}

/**
 * A per-call set of ids → first batch index, for duplicate detection inside a batch of token ids.
 * Grouped like the id table (16 consecutive ids share a cache line), so sequential batches stay
 * cache-friendly.
 */
export class BatchIdSet {
  private readonly ids: Uint32Array;
  /** first index + 1; 0 = empty */
  private readonly first: Uint32Array;
  private readonly groupShift: number;
  private readonly mask: number;

  constructor(capacity: number) {
    const size = Math.max(32, tableSizeFor(capacity));
    this.ids = new Uint32Array(size);
    this.first = new Uint32Array(size);
    this.groupShift = 32 - Math.log2(size) + 4;
    this.mask = size - 1;
  }

  /** Adds `id` with batch index `index`; returns the earlier index when present, else −1. */
  addOrGet(id: number, index: number): number {
    const hi = id >>> 4;
    let p = ((Math.imul(hi, FIB32) >>> this.groupShift) << 4) | ((id ^ (Math.imul(hi, 0x85ebca6b) >>> 28)) & 15);
    for (;;) {
      const f = this.first[p]!;
      if (f === 0) {
        this.ids[p] = id;
        this.first[p] = index + 1;
        return -1;
      }
      if (this.ids[p] === id) return f - 1;
      p = (p + 1) & this.mask;
    }
  }
}

/** A per-call counter keyed by a u32 (e.g. a token slot). */
export class BatchCounter {
  private readonly keys: Uint32Array;
  private readonly counts: Uint32Array;
  private readonly shift: number;
  private readonly mask: number;

  constructor(capacity: number) {
    const size = tableSizeFor(capacity);
    this.keys = new Uint32Array(size);
    this.counts = new Uint32Array(size);
    this.shift = 32 - Math.log2(size);
    this.mask = size - 1;
  }

  get(key: number): number {
    let p = fibHash(key, this.shift);
    for (;;) {
      const n = this.counts[p]!;
      if (n === 0) return 0;
      if (this.keys[p] === key) return n;
      p = (p + 1) & this.mask;
    }
  }

  increment(key: number): void {
    let p = fibHash(key, this.shift);
    for (;;) {
      const n = this.counts[p]!;
      if (n === 0) {
        this.keys[p] = key;
        this.counts[p] = 1;
        return;
      }
      if (this.keys[p] === key) {
        this.counts[p] = n + 1;
        return;
      }
      p = (p + 1) & this.mask;
    }
  }
}
