/**
 * Maps token ids (u32, never 0) to dense indices 0..size-1 in insertion order, on typed arrays:
 * open addressing with linear probing, no object per id. Algorithms keep their per-node state in
 * parallel typed arrays indexed by the dense index. Key and value share a slot pair of one array
 * (key at 2h, index at 2h + 1), so a lookup costs one cache miss, not two.
 */
export class IdIndex {
  private table: Uint32Array;
  private mask: number;
  private shift: number;
  /** Dense list of ids; `ids[i]` has index i. Valid for `0..size-1`. */
  ids: Uint32Array;
  size = 0;

  constructor(expected = 16) {
    const cap = tableCapacity(expected);
    this.table = new Uint32Array(cap * 2);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
    this.ids = new Uint32Array(Math.max(8, expected));
  }

  /** Dense index of `id`, or -1. */
  indexOf(id: number): number {
    const table = this.table;
    const mask = this.mask;
    let h = Math.imul(id, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const k = table[h * 2]!;
      if (k === id) return table[h * 2 + 1]!;
      if (k === 0) return -1;
      h = (h + 1) & mask;
    }
  }

  has(id: number): boolean {
    return this.indexOf(id) >= 0;
  }

  /** Dense index of `id`, adding it at the end when absent. `id` must not be 0. */
  add(id: number): number {
    const table = this.table;
    const mask = this.mask;
    let h = Math.imul(id, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const k = table[h * 2]!;
      if (k === id) return table[h * 2 + 1]!;
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
    table[h * 2] = id;
    table[h * 2 + 1] = index;
    if (this.size * 2 > mask + 1) this.rehash((mask + 1) * 2);
    return index;
  }

  /** Forgets every id, keeping the allocated capacity. */
  clear(): void {
    if (this.size > 0) {
      this.table.fill(0);
      this.size = 0;
    }
  }

  /** Bytes held by the typed arrays. */
  byteSize(): number {
    return this.table.byteLength + this.ids.byteLength;
  }

  private rehash(cap: number): void {
    const table = new Uint32Array(cap * 2);
    const mask = cap - 1;
    const shift = 32 - Math.log2(cap);
    for (let i = 0; i < this.size; i++) {
      const id = this.ids[i]!;
      let h = Math.imul(id, 0x9e3779b1) >>> shift;
      while (table[h * 2] !== 0) h = (h + 1) & mask;
      table[h * 2] = id;
      table[h * 2 + 1] = i;
    }
    this.table = table;
    this.mask = mask;
    this.shift = shift;
  }
}

/** Power of two ≥ 2·expected, at least 16 (load factor ≤ 1/2). */
function tableCapacity(expected: number): number {
  let cap = 16;
  while (cap < expected * 2) cap *= 2;
  return cap;
}
