/**
 * Open-addressing id → slot table on a Uint32Array: Fibonacci hashing, linear probing,
 * backward-shift deletion.
 *
 * Why linear probing with backward shift (not tombstones): deletes are as common as inserts in a
 * shard (swap-remove, churn), and tombstones lengthen probe sequences until a rebuild; backward
 * shift keeps every cluster as short as if the remaining ids had been inserted fresh, needs no
 * periodic rehash, and keeps lookups to one cache line in the common case.
 *
 * Entries hold slot + 1 (0 = empty), so a fresh table is all zero pages (cheap to allocate, not
 * resident until used). Keys are not stored: the entry's slot is checked against the ids column,
 * which halves the table's memory (4 bytes per entry at ≤ 0.7 load).
 */
import { MAX_LOAD, fibHash, tableSizeFor } from "./hash.ts";

export class IdTable {
  readonly entries: Uint32Array;
  readonly shift: number;
  readonly mask: number;
  /** Entries allowed before the table must be rebuilt larger. */
  readonly limit: number;

  constructor(minEntries: number) {
    const size = tableSizeFor(minEntries);
    this.entries = new Uint32Array(size);
    this.shift = 32 - Math.log2(size);
    this.mask = size - 1;
    this.limit = Math.floor(size * MAX_LOAD);
  }

  /** A table holding ids[0..size-1] → slot, with room for `minEntries`. */
  static build(ids: Uint32Array, size: number, minEntries: number): IdTable {
    const t = new IdTable(Math.max(size, minEntries));
    for (let s = 0; s < size; s++) t.insertAbsent(ids[s]!, s);
    return t;
  }

  get byteLength(): number {
    return this.entries.byteLength;
  }

  /** Slot of `id`, or −1. */
  find(id: number, ids: Uint32Array): number {
    const e = this.entries;
    let p = fibHash(id, this.shift);
    for (;;) {
      const v = e[p]!;
      if (v === 0) return -1;
      if (ids[v - 1] === id) return v - 1;
      p = (p + 1) & this.mask;
    }
  }

  /** Inserts an id known to be absent. */
  insertAbsent(id: number, slot: number): void {
    const e = this.entries;
    let p = fibHash(id, this.shift);
    while (e[p] !== 0) p = (p + 1) & this.mask;
    e[p] = slot + 1;
  }

  /** Points the entry of `id` (present) at `slot`. */
  moveSlot(id: number, ids: Uint32Array, from: number, to: number): void {
    const e = this.entries;
    let p = fibHash(id, this.shift);
    while (e[p] !== from + 1 || ids[from] !== id) p = (p + 1) & this.mask;
    e[p] = to + 1;
  }

  /** Removes `id` (present at `slot`); `ids` resolves the homes of entries shifted back. */
  remove(id: number, slot: number, ids: Uint32Array): void {
    const e = this.entries;
    const mask = this.mask;
    const shift = this.shift;
    let i = fibHash(id, shift);
    while (e[i] !== slot + 1) i = (i + 1) & mask;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const v = e[j]!;
      if (v === 0) break;
      const k = fibHash(ids[v - 1]!, shift);
      // Move v back into the hole unless its home lies cyclically in (i, j].
      const homeInRange = i <= j ? k > i && k <= j : k > i || k <= j;
      if (!homeInRange) {
        e[i] = v;
        i = j;
      }
    }
    e[i] = 0;
  }
}
