/**
 * Token columns (structure of arrays, DESIGN §3.1) growing by doubling, plus the id → slot
 * table. Slots 0..size-1 are live and dense; deletion swap-removes the last slot into the hole.
 * Slots size..capacity-1 are all zero in every column (see clearSlots).
 */
import type { TokenColumns } from "../token/columns.ts";
import { COORDS_PER_TOKEN } from "../token/columns.ts";
import type { TokenColumnAliases } from "../token/batch.ts";
import { allocateTokenColumns, columnAliases } from "../token/batch.ts";
import { MAX_LOAD } from "./hash.ts";
import { IdTable } from "./id-table.ts";
import { ValidationError } from "../errors.ts";
import type { TokenState } from "./types.ts";

export interface MutableTokenColumns extends TokenColumns {
  size: number;
}

export const MIN_TOKEN_CAPACITY = 1024;

export class TokenTable {
  cols: MutableTokenColumns;
  alias: TokenColumnAliases;
  table: IdTable;

  constructor(capacity: number, divisor: number, adopted?: TokenState) {
    if (adopted !== undefined) {
      checkAdopted(adopted);
      this.cols = { ...adopted.columns };
      this.alias = columnAliases(this.cols);
      this.table = new IdTable(0, divisor, adopted.idEntries);
      return;
    }
    const cap = Math.max(capacity, 0);
    this.cols = allocateTokenColumns(cap);
    this.alias = columnAliases(this.cols);
    this.table = new IdTable(cap, divisor);
  }

  get size(): number {
    return this.cols.size;
  }

  get capacity(): number {
    return this.cols.ids.length;
  }

  slotOf(id: number): number {
    return this.table.find(id, this.cols.ids);
  }

  byteSize(): number {
    const c = this.cols;
    return (
      c.coords.byteLength +
      c.ids.byteLength +
      c.flags.byteLength +
      c.weights.byteLength +
      c.radii.byteLength +
      c.strengths.byteLength +
      c.timestamps.byteLength +
      this.table.byteLength
    );
  }

  /** Grows (by doubling) to hold `n` tokens; true when the columns were reallocated. */
  ensureCapacity(n: number): boolean {
    if (n <= this.capacity) return false;
    let cap = Math.max(MIN_TOKEN_CAPACITY, this.capacity * 2);
    while (cap < n) cap *= 2;
    this.reallocate(cap);
    return true;
  }

  /** Reallocates the columns to exactly `cap` slots (≥ size) and rebuilds the id table for them. */
  resize(cap: number): void {
    this.reallocate(Math.max(cap, this.size));
    this.table = IdTable.build(this.cols.ids, this.size, this.capacity, this.table.divisor);
  }

  private reallocate(cap: number): void {
    const old = this.cols;
    const g = allocateTokenColumns(cap, old.size) as MutableTokenColumns;
    const s = old.size;
    // Same-type set() is a bit-exact memory copy.
    g.coords.set(old.coords.subarray(0, s * COORDS_PER_TOKEN));
    g.ids.set(old.ids.subarray(0, s));
    g.flags.set(old.flags.subarray(0, s));
    g.weights.set(old.weights.subarray(0, s));
    g.radii.set(old.radii.subarray(0, s));
    g.strengths.set(old.strengths.subarray(0, s));
    g.timestamps.set(old.timestamps.subarray(0, s));
    this.cols = g;
    this.alias = columnAliases(g);
  }

  /**
   * Removes the token in `slot`; the last slot moves into it. Returns the slot that moved
   * (the old last slot) or −1 when `slot` was the last.
   */
  removeSlot(slot: number): number {
    const c = this.cols;
    const w = this.alias.coordWords;
    const last = c.size - 1;
    const o = last * 12;
    this.table.remove(c.ids[slot]!, slot, c.ids);
    let moved = -1;
    if (slot !== last) {
      this.table.moveSlot(c.ids[last]!, c.ids, last, slot);
      const d = slot * 12;
      for (let k = 0; k < 12; k++) w[d + k] = w[o + k]!;
      c.ids[slot] = c.ids[last]!;
      c.flags[slot] = c.flags[last]!;
      const wb = this.alias.weightBits;
      wb[slot] = wb[last]!;
      c.radii[slot] = c.radii[last]!;
      c.strengths[slot] = c.strengths[last]!;
      c.timestamps[slot] = c.timestamps[last]!;
      moved = last;
    }
    // Keep the freed slot all zero (see clearSlots); single stores, cheaper than fill calls.
    for (let k = 0; k < 12; k++) w[o + k] = 0;
    c.ids[last] = 0;
    c.flags[last] = 0;
    this.alias.weightBits[last] = 0;
    c.radii[last] = 0;
    c.strengths[last] = 0;
    c.timestamps[last] = 0;
    c.size = last;
    return moved;
  }

  /**
   * Zeroes slots from..to-1 in every column. Slots ≥ size are kept all zero, so a batch insert
   * may copy records into them before the batch is known to be valid and undo by zeroing.
   */
  clearSlots(from: number, to: number): void {
    const c = this.cols;
    this.alias.coordWords.fill(0, from * 12, to * 12);
    c.ids.fill(0, from, to);
    c.flags.fill(0, from, to);
    this.alias.weightBits.fill(0, from, to);
    c.radii.fill(0, from, to);
    c.strengths.fill(0, from, to);
    c.timestamps.fill(0, from, to);
  }
}

/** Structure of token state built elsewhere: consistent column lengths, a table with room. */
function checkAdopted(t: TokenState): void {
  const c = t.columns;
  const cap = c.ids.length;
  const n = t.idEntries.length;
  const ok =
    Number.isInteger(c.size) && c.size >= 0 && c.size <= cap &&
    c.coords.length === cap * COORDS_PER_TOKEN && c.flags.length === cap && c.weights.length === cap &&
    c.radii.length === cap && c.strengths.length === cap && c.timestamps.length === cap &&
    n >= 32 && (n & (n - 1)) === 0 && c.size <= n * MAX_LOAD && c.coords.byteOffset % 4 === 0;
  if (!ok) {
    throw ValidationError.of("adopted token state", [
      { field: "columns", value: `size ${c.size}, capacity ${cap}, table ${n}`, rule: "token_state_shape", description: "columns must share one capacity ≥ size and the id table must be a power of two ≥ 32 with room for size" },
    ]);
  }
}
