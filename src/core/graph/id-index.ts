/**
 * Maps token ids (u32, never 0) to dense indices 0..size-1 in insertion order, on typed arrays:
 * open addressing with linear probing, no object per id. Algorithms keep their per-node state in
 * parallel typed arrays indexed by the dense index.
 */
export class IdIndex {
  private keys: Uint32Array;
  private values: Int32Array;
  private mask: number;
  private shift: number;
  /** Dense list of ids; `ids[i]` has index i. Valid for `0..size-1`. */
  ids: Uint32Array;
  size = 0;

  constructor(expected = 16) {
    const cap = tableCapacity(expected);
    this.keys = new Uint32Array(cap);
    this.values = new Int32Array(cap);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
    this.ids = new Uint32Array(Math.max(8, expected));
  }

  /** Dense index of `id`, or -1. */
  indexOf(id: number): number {
    const keys = this.keys;
    const mask = this.mask;
    let h = Math.imul(id, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const k = keys[h]!;
      if (k === id) return this.values[h]!;
      if (k === 0) return -1;
      h = (h + 1) & mask;
    }
  }

  has(id: number): boolean {
    return this.indexOf(id) >= 0;
  }

  /** Dense index of `id`, adding it at the end when absent. `id` must not be 0. */
  add(id: number): number {
    const keys = this.keys;
    const mask = this.mask;
    let h = Math.imul(id, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const k = keys[h]!;
      if (k === id) return this.values[h]!;
      if (k === 0) break;
      h = (h + 1) & mask;
    }
    const index = this.size;
    if (index === this.ids.length) {
      const grown = new Uint32Array(this.ids.length * 2);
      grown.set(this.ids);
      this.ids = grown;
    }
    this.ids[index] = id;
    this.size = index + 1;
    keys[h] = id;
    this.values[h] = index;
    if (this.size * 2 > keys.length) this.rehash(keys.length * 2);
    return index;
  }

  /** Forgets every id, keeping the allocated capacity. */
  clear(): void {
    if (this.size > 0) {
      this.keys.fill(0);
      this.size = 0;
    }
  }

  /** Bytes held by the typed arrays. */
  byteSize(): number {
    return this.keys.byteLength + this.values.byteLength + this.ids.byteLength;
  }

  private rehash(cap: number): void {
    this.keys = new Uint32Array(cap);
    this.values = new Int32Array(cap);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
    const keys = this.keys;
    const values = this.values;
    const mask = this.mask;
    for (let i = 0; i < this.size; i++) {
      const id = this.ids[i]!;
      let h = Math.imul(id, 0x9e3779b1) >>> this.shift;
      while (keys[h] !== 0) h = (h + 1) & mask;
      keys[h] = id;
      values[h] = i;
    }
  }
}

/** Power of two ≥ 2·expected, at least 16 (load factor ≤ 1/2). */
function tableCapacity(expected: number): number {
  let cap = 16;
  while (cap < expected * 2) cap *= 2;
  return cap;
}
