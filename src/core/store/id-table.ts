/**
 * Open-addressing id → slot table on a Uint32Array: grouped Fibonacci hashing, linear probing,
 * backward-shift deletion.
 *
 * Hash. Ids of one shard are ≡ shard (mod S), so identity hashing would use 1/S of the table;
 * we hash the shard-local index q = floor(id / S). The table is cut into groups of 16 entries (one
 * 64-byte cache line). The group is chosen by Fibonacci hashing of q >>> 4 (which spreads any
 * arithmetic progression almost uniformly and depends on every bit, domain bits included); the
 * offset inside the group is the low 4 bits of q XOR 4 bits of a second multiplicative hash of
 * q >>> 4. So 16 consecutive local ids — what id allocation produces — fill one cache line
 * (batch create touches 1/16 of the lines plain Fibonacci hashing would, ~2.5× faster measured),
 * while strided or bit-patterned ids get scrambled offsets and behave like plain Fibonacci hashing.
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
import { MAX_LOAD, tableSizeFor } from "./hash.ts";

export class IdTable {
  readonly entries: Uint32Array;
  readonly mask: number;
  /** Entries allowed before the table must be rebuilt larger. */
  readonly limit: number;
  /** Right shift that turns a 32-bit hash into a group index. */
  private readonly groupShift: number;
  readonly divisor: number;
  /** log2(divisor) when it is a power of two (a shift instead of a division), else −1. */
  private readonly divShift: number;

  /**
   * `divisor` = shard count: ids are hashed by their shard-local index floor(id / divisor).
   * `entries`: adopt a table built elsewhere (another thread) with the same divisor; its length is
   * a power of two ≥ 32 (checked by the caller, `TokenTable.adopt`).
   */
  constructor(minEntries: number, divisor = 1, entries?: Uint32Array) {
    // ≥ 32 entries so the group shift stays below 32 (JS shifts count mod 32).
    const size = entries?.length ?? Math.max(32, tableSizeFor(minEntries));
    this.entries = entries ?? new Uint32Array(size);
    this.mask = size - 1;
    this.limit = Math.floor(size * MAX_LOAD);
    this.groupShift = 32 - Math.log2(size) + 4;
    this.divisor = divisor;
    this.divShift = (divisor & (divisor - 1)) === 0 ? Math.log2(divisor) : -1;
  }

  /** A table holding ids[0..size-1] → slot, with room for `minEntries`. */
  static build(ids: Uint32Array, size: number, minEntries: number, divisor = 1): IdTable {
    const t = new IdTable(Math.max(size, minEntries), divisor);
    for (let s = 0; s < size; s++) t.insertAbsent(ids[s]!, s);
    return t;
  }

  /** Home position of `id`. */
  home(id: number): number {
    const q = this.divShift >= 0 ? id >>> this.divShift : Math.floor(id / this.divisor);
    const hi = q >>> 4;
    return ((Math.imul(hi, 0x9e3779b9) >>> this.groupShift) << 4) | ((q ^ (Math.imul(hi, 0x85ebca6b) >>> 28)) & 15);
  }

  get byteLength(): number {
    return this.entries.byteLength;
  }

  /** Slot of `id`, or −1. */
  find(id: number, ids: Uint32Array): number {
    const e = this.entries;
    let p = this.home(id);
    for (;;) {
      const v = e[p]!;
      if (v === 0) return -1;
      if (ids[v - 1] === id) return v - 1;
      p = (p + 1) & this.mask;
    }
  }

  /**
   * Batch lookup: `slots[i]` = slot of `ids[i]` or −1 for i < n; returns how many were found.
   * Two passes so that cache and TLB misses overlap: the first loads every id's home entry (no
   * dependency between iterations), the second checks each candidate against the ids column and
   * probes on only where the home entry held another id (rare at ≤ 0.7 load). One dependent
   * chain per id (entry → ids[slot] → next entry) would serialise the misses instead.
   */
  findMany(ids: ArrayLike<number>, n: number, colIds: Uint32Array, slots: Int32Array): number {
    const e = this.entries;
    const groupShift = this.groupShift;
    const divShift = this.divShift;
    const divisor = this.divisor;
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      const q = divShift >= 0 ? id >>> divShift : Math.floor(id / divisor);
      const hi = q >>> 4;
      const p = ((Math.imul(hi, 0x9e3779b9) >>> groupShift) << 4) | ((q ^ (Math.imul(hi, 0x85ebca6b) >>> 28)) & 15);
      slots[i] = e[p]! - 1;
    }
    let found = 0;
    for (let i = 0; i < n; i++) {
      const s = slots[i]!;
      const id = ids[i]!;
      if (s >= 0 && colIds[s] === id) {
        found++;
        continue;
      }
      if (s < 0) continue;
      const slot = this.find(id, colIds);
      slots[i] = slot;
      if (slot >= 0) found++;
    }
    return found;
  }

  /** Inserts an id known to be absent. */
  insertAbsent(id: number, slot: number): void {
    const e = this.entries;
    let p = this.home(id);
    while (e[p] !== 0) p = (p + 1) & this.mask;
    e[p] = slot + 1;
  }

  /**
   * Bulk insert of slots from..to-1 (their ids in `ids`), for batches whose ids are not yet known
   * to be new: returns −1 when every id was absent, else the first slot whose id is already in the
   * table (stored before `from` or earlier in the batch), after taking the batch's entries out
   * again (the table is then bit for bit as before). One tight pass, `home` inlined.
   */
  insertSlots(ids: Uint32Array, from: number, to: number): number {
    const e = this.entries;
    const mask = this.mask;
    const groupShift = this.groupShift;
    const divShift = this.divShift;
    const divisor = this.divisor;
    for (let s = from; s < to; s++) {
      const id = ids[s]!;
      const q = divShift >= 0 ? id >>> divShift : Math.floor(id / divisor);
      const hi = q >>> 4;
      let p = ((Math.imul(hi, 0x9e3779b9) >>> groupShift) << 4) | ((q ^ (Math.imul(hi, 0x85ebca6b) >>> 28)) & 15);
      for (;;) {
        const v = e[p]!;
        if (v === 0) break;
        if (ids[v - 1] === id) {
          this.takeOut(ids, from, s);
          return s;
        }
        p = (p + 1) & mask;
      }
      e[p] = s + 1;
    }
    return -1;
  }

  /** Undoes `insertSlots` of slots from..to-1: each entry filled an empty position, so clearing them in reverse restores the table. */
  private takeOut(ids: Uint32Array, from: number, to: number): void {
    const e = this.entries;
    for (let s = to - 1; s >= from; s--) {
      let p = this.home(ids[s]!);
      while (e[p] !== s + 1) p = (p + 1) & this.mask;
      e[p] = 0;
    }
  }

  /** Points the entry of `id` (present) at `slot`. */
  moveSlot(id: number, ids: Uint32Array, from: number, to: number): void {
    const e = this.entries;
    let p = this.home(id);
    while (e[p] !== from + 1 || ids[from] !== id) p = (p + 1) & this.mask;
    e[p] = to + 1;
  }

  /** Removes `id` (present at `slot`); `ids` resolves the homes of entries shifted back. */
  remove(id: number, slot: number, ids: Uint32Array): void {
    const e = this.entries;
    const mask = this.mask;
    let i = this.home(id);
    while (e[i] !== slot + 1) i = (i + 1) & mask;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const v = e[j]!;
      if (v === 0) break;
      const k = this.home(ids[v - 1]!);
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
