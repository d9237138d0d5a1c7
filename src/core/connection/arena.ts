/**
 * A typed-array arena of connections: structure-of-arrays columns (the record fields), a free
 * list that reuses released entries, doubly linked out/in adjacency links (heads live with the
 * token slots of whoever owns the arena), and an open-addressing (source, target, type) → entry
 * table. No object per edge anywhere.
 *
 * Key table. Linear probing with backward-shift deletion (see store/id-table.ts for why). An
 * entry holds e + 1 in its low bits and a fingerprint of the key — bits of a second hash — in the
 * bits the arena's capacity leaves free (8 bits at 2^23 connections). A probe compares the
 * fingerprint first and reads the key columns (three arrays, three cache misses at random
 * entries) only when it matches, so probing past other keys costs no column reads. Keys are not
 * stored: 4 bytes per table entry at ≤ 0.7 load. The table is rebuilt when the capacity needs
 * another bit (growth doubles, so that is once per doubling) or the load would pass 0.7.
 *
 * Two in-memory-only columns support time-based decay (see learning.ts): `decayBase` is the
 * confidence at `decayAnchor` (the last activity), so decay is a pure function of elapsed time.
 */
import type { RecordViews } from "../token/views.ts";
import type { ConnectionColumns, FloatWordAliases } from "./columns.ts";
import { allocateConnectionColumns, connectionColumnsByteSize, floatWordAliases, growConnectionColumns } from "./columns.ts";
import { copyConnectionToRecord, copyRecordToConnection } from "./codec.ts";

export const NO_EDGE = -1;

/** Entry states: free, an authoritative connection, or a mirror of a remote-source connection. */
export const EdgeState = { Free: 0, Owned: 1, Mirror: 2 } as const;
export type EdgeState = (typeof EdgeState)[keyof typeof EdgeState];

const MAX_KEY_LOAD = 0.7;

/**
 * 32-bit mix of a connection key: the input of both the table position (its Fibonacci product's
 * top bits) and the fingerprint (a second product's top bits). Callers that look up and then
 * insert the same key compute it once.
 */
export function connectionKeyMix(source: number, target: number, type: number): number {
  return source ^ Math.imul(target ^ (target >>> 16), 0x85ebca6b) ^ Math.imul(type + 1, 0xc2b2ae35);
}

function pow2For(n: number): number {
  let c = 16;
  while (c * MAX_KEY_LOAD < n + 1) c *= 2;
  return c;
}

/** Bits needed for e + 1 with e < capacity. */
function entryBitsFor(capacity: number): number {
  return Math.min(31, 32 - Math.clz32(Math.max(1, capacity)));
}

interface MutableColumns extends ConnectionColumns {
  size: number;
}

export class ConnectionArena {
  private cols: MutableColumns;
  private floats: FloatWordAliases;
  /** EdgeState per entry. */
  state: Uint8Array;
  nextOut: Int32Array;
  prevOut: Int32Array;
  nextIn: Int32Array;
  prevIn: Int32Array;
  /** Confidence at `decayAnchor`; decayed confidence = base × (1 − rate)^(whole hours since anchor). */
  decayBase: Float32Array;
  decayAnchor: Uint32Array;
  private keys: Uint32Array;
  private keyShift: number;
  private keyMask: number;
  /** Low `entryBits` bits of a key entry: e + 1; the rest: fingerprint. */
  private entryBits: number;
  private entryMask: number;
  private freeHead = NO_EDGE;
  private live = 0;

  constructor(capacity = 0) {
    const cap = Math.max(0, capacity);
    this.cols = allocateConnectionColumns(cap);
    this.floats = floatWordAliases(this.cols);
    this.state = new Uint8Array(cap);
    this.nextOut = new Int32Array(cap);
    this.prevOut = new Int32Array(cap);
    this.nextIn = new Int32Array(cap);
    this.prevIn = new Int32Array(cap);
    this.decayBase = new Float32Array(cap);
    this.decayAnchor = new Uint32Array(cap);
    const size = pow2For(cap);
    this.keys = new Uint32Array(size);
    this.keyShift = 32 - Math.log2(size);
    this.keyMask = size - 1;
    this.entryBits = entryBitsFor(cap);
    this.entryMask = this.entryBits >= 31 ? 0x7fffffff : (1 << this.entryBits) - 1;
  }

  /** Live connections (owned + mirrors). */
  get count(): number {
    return this.live;
  }

  get capacity(): number {
    return this.state.length;
  }

  /** The columns; `size` is the high-water mark: entries with `state[e] === 0` are free. */
  get columns(): ConnectionColumns {
    return this.cols;
  }

  get floatWords(): FloatWordAliases {
    return this.floats;
  }

  byteSize(): number {
    return (
      connectionColumnsByteSize(this.cols) +
      this.state.byteLength +
      this.nextOut.byteLength +
      this.prevOut.byteLength +
      this.nextIn.byteLength +
      this.prevIn.byteLength +
      this.decayBase.byteLength +
      this.decayAnchor.byteLength +
      this.keys.byteLength
    );
  }

  /** Entry of (source, target, type), or NO_EDGE. */
  find(source: number, target: number, type: number): number {
    return this.findMixed(connectionKeyMix(source, target, type), source, target, type);
  }

  /** `find` with the key's `connectionKeyMix` already computed. */
  findMixed(mix: number, source: number, target: number, type: number): number {
    const keys = this.keys;
    const mask = this.keyMask;
    const eMask = this.entryMask;
    const fp = this.fingerprint(mix);
    const c = this.cols;
    let p = Math.imul(mix, 0x9e3779b9) >>> this.keyShift;
    for (;;) {
      const v = keys[p]!;
      if (v === 0) return NO_EDGE;
      if ((v & ~eMask) >>> 0 === fp) {
        const e = (v & eMask) - 1;
        if (c.sources[e] === source && c.targets[e] === target && c.types[e] === type) return e;
      }
      p = (p + 1) & mask;
    }
  }

  /**
   * The key table and its shift (read-only by contract; replaced on rebuild): a key's probe
   * starts at `Math.imul(mix, 0x9e3779b9) >>> keyTableShift`. For touching positions ahead of a
   * batch of finds.
   */
  get keyTable(): Uint32Array {
    return this.keys;
  }

  get keyTableShift(): number {
    return this.keyShift;
  }

  /** Fingerprint bits of a key entry (already in place above the entry bits). */
  private fingerprint(mix: number): number {
    const b = this.entryBits;
    if (b >= 31) return 0;
    return ((Math.imul(mix ^ (mix >>> 15), 0x2c1b3c6d) >>> b) << b) >>> 0;
  }

  /** Makes room for `n` more entries without reallocating during the next adds. */
  reserve(n: number): void {
    const free = this.capacity - this.cols.size;
    let needed = n;
    for (let e = this.freeHead; e !== NO_EDGE && needed > free; e = this.nextOut[e]!) needed--;
    if (needed > free) this.grow(this.cols.size + needed);
    if (this.live + n + 1 > this.keys.length * MAX_KEY_LOAD) this.rebuildKeys(pow2For(Math.max(this.live + n, this.keys.length)));
  }

  /** Stores record `r` as a new entry (links unset: NO_EDGE). The key must be absent. */
  add(rec: RecordViews, r: number, state: EdgeState): number {
    const u32 = rec.u32;
    const w = r << 4;
    return this.addMixed(rec, r, state, connectionKeyMix(u32[w]!, u32[w + 1]!, u32[w + 2]! & 0xff));
  }

  /** `add` with the record key's `connectionKeyMix` already computed. */
  addMixed(rec: RecordViews, r: number, state: EdgeState, mix: number): number {
    let e = this.freeHead;
    if (e !== NO_EDGE) {
      this.freeHead = this.nextOut[e]!;
    } else {
      if (this.cols.size === this.capacity) this.grow(this.cols.size + 1);
      e = this.cols.size++;
    }
    if (this.live + 1 > this.keys.length * MAX_KEY_LOAD) this.rebuildKeys(pow2For(Math.max(this.live + 1, this.keys.length)));
    copyRecordToConnection(rec, r, this.cols, this.floats, e);
    this.state[e] = state;
    this.nextOut[e] = NO_EDGE;
    this.prevOut[e] = NO_EDGE;
    this.nextIn[e] = NO_EDGE;
    this.prevIn[e] = NO_EDGE;
    this.resetDecay(e);
    this.insertKeyMixed(e, mix);
    this.live++;
    return e;
  }

  /** Replaces every field of entry `e` with record `r` (same key). */
  overwrite(e: number, rec: RecordViews, r: number): void {
    copyRecordToConnection(rec, r, this.cols, this.floats, e);
    this.resetDecay(e);
  }

  /** Frees entry `e` (already unlinked from adjacency lists). */
  release(e: number): void {
    this.removeKey(e);
    this.state[e] = EdgeState.Free;
    this.prevOut[e] = NO_EDGE;
    this.nextIn[e] = NO_EDGE;
    this.prevIn[e] = NO_EDGE;
    this.nextOut[e] = this.freeHead;
    this.freeHead = e;
    this.live--;
  }

  writeRecord(e: number, rec: RecordViews, r: number): void {
    copyConnectionToRecord(this.cols, this.floats, e, rec, r);
  }

  /** Decay restarts from the current confidence at the latest activity. */
  resetDecay(e: number): void {
    const c = this.cols;
    this.decayBase[e] = c.confidence[e]!;
    this.decayAnchor[e] = Math.max(c.updatedAt[e]!, c.lastActivation[e]!);
  }

  private mixOf(e: number): number {
    const c = this.cols;
    return connectionKeyMix(c.sources[e]!, c.targets[e]!, c.types[e]!);
  }

  private insertKeyMixed(e: number, mix: number): void {
    const keys = this.keys;
    const mask = this.keyMask;
    let p = Math.imul(mix, 0x9e3779b9) >>> this.keyShift;
    while (keys[p] !== 0) p = (p + 1) & mask;
    keys[p] = (this.fingerprint(mix) | (e + 1)) >>> 0;
  }

  /** Backward-shift deletion (see store/id-table.ts for why). */
  private removeKey(e: number): void {
    const keys = this.keys;
    const mask = this.keyMask;
    const eMask = this.entryMask;
    const shift = this.keyShift;
    let i = Math.imul(this.mixOf(e), 0x9e3779b9) >>> shift;
    while ((keys[i]! & eMask) !== e + 1) i = (i + 1) & mask;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const v = keys[j]!;
      if (v === 0) break;
      const k = Math.imul(this.mixOf((v & eMask) - 1), 0x9e3779b9) >>> shift;
      const homeInRange = i <= j ? k > i && k <= j : k > i || k <= j;
      if (!homeInRange) {
        keys[i] = v;
        i = j;
      }
    }
    keys[i] = 0;
  }

  /** Rebuilds the key table with `size` entries (a power of two) for the current capacity. */
  private rebuildKeys(size: number): void {
    this.keys = new Uint32Array(size);
    this.keyShift = 32 - Math.log2(size);
    this.keyMask = size - 1;
    this.entryBits = entryBitsFor(this.capacity);
    this.entryMask = this.entryBits >= 31 ? 0x7fffffff : (1 << this.entryBits) - 1;
    const hwm = this.cols.size;
    for (let e = 0; e < hwm; e++) if (this.state[e] !== EdgeState.Free) this.insertKeyMixed(e, this.mixOf(e));
  }

  private grow(min: number): void {
    let cap = Math.max(16, this.capacity * 2);
    while (cap < min) cap *= 2;
    const size = this.cols.size;
    this.cols = growConnectionColumns(this.cols, cap);
    this.cols.size = size;
    this.floats = floatWordAliases(this.cols);
    this.state = growU8(this.state, cap);
    this.nextOut = growI32(this.nextOut, cap);
    this.prevOut = growI32(this.prevOut, cap);
    this.nextIn = growI32(this.nextIn, cap);
    this.prevIn = growI32(this.prevIn, cap);
    const base = new Float32Array(cap);
    base.set(this.decayBase);
    this.decayBase = base;
    const anchor = new Uint32Array(cap);
    anchor.set(this.decayAnchor);
    this.decayAnchor = anchor;
    // Entry numbers may need more bits: re-encode the key table in place.
    const bits = entryBitsFor(cap);
    if (bits !== this.entryBits) this.widenEntries(bits);
  }

  /**
   * Re-encodes every key entry for `bits` entry bits (more than now). A fingerprint is a hash's
   * bits from `entryBits` up, so the wider encoding's fingerprint is the same hash's bits from
   * `bits` up: clearing bits [entryBits, bits) re-encodes an entry where it stands. A sequential
   * pass, where a rebuild would rehash every key into random positions.
   */
  private widenEntries(bits: number): void {
    const oldMask = this.entryMask;
    const newMask = bits >= 31 ? 0x7fffffff : (1 << bits) - 1;
    // At 31 bits there is no fingerprint (bit 31 must be clear too).
    const keepFp = bits >= 31 ? 0 : ~newMask;
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) {
      const v = keys[i]!;
      if (v !== 0) keys[i] = ((v & keepFp) | (v & oldMask)) >>> 0;
    }
    this.entryBits = bits;
    this.entryMask = newMask;
  }
}

function growU8(a: Uint8Array, cap: number): Uint8Array {
  const g = new Uint8Array(cap);
  g.set(a);
  return g;
}

function growI32(a: Int32Array, cap: number): Int32Array {
  const g = new Int32Array(cap);
  g.set(a);
  return g;
}
