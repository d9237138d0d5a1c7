/**
 * A typed-array arena of connections: structure-of-arrays columns (the record fields), a free
 * list that reuses released entries, doubly linked out/in adjacency links (heads live with the
 * token slots of whoever owns the arena), and an open-addressing (source, target, type) → entry
 * table. No object per edge anywhere.
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

function keyHash(source: number, target: number, type: number, shift: number): number {
  const h = source ^ Math.imul(target ^ (target >>> 16), 0x85ebca6b) ^ Math.imul(type + 1, 0xc2b2ae35);
  return Math.imul(h, 0x9e3779b9) >>> shift;
}

function pow2For(n: number): number {
  let c = 16;
  while (c * MAX_KEY_LOAD < n + 1) c *= 2;
  return c;
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
    const keys = this.keys;
    const c = this.cols;
    let p = keyHash(source, target, type, this.keyShift);
    for (;;) {
      const v = keys[p]!;
      if (v === 0) return NO_EDGE;
      const e = v - 1;
      if (c.sources[e] === source && c.targets[e] === target && c.types[e] === type) return e;
      p = (p + 1) & this.keyMask;
    }
  }

  /** Makes room for `n` more entries without reallocating during the next adds. */
  reserve(n: number): void {
    const free = this.capacity - this.cols.size;
    let needed = n;
    for (let e = this.freeHead; e !== NO_EDGE && needed > free; e = this.nextOut[e]!) needed--;
    if (needed > free) this.grow(this.cols.size + needed);
    if (this.live + n + 1 > this.keys.length * MAX_KEY_LOAD) this.rebuildKeys(this.live + n);
  }

  /** Stores record `r` as a new entry (links unset: NO_EDGE). The key must be absent. */
  add(rec: RecordViews, r: number, state: EdgeState): number {
    let e = this.freeHead;
    if (e !== NO_EDGE) {
      this.freeHead = this.nextOut[e]!;
    } else {
      if (this.cols.size === this.capacity) this.grow(this.cols.size + 1);
      e = this.cols.size++;
    }
    if (this.live + 1 > this.keys.length * MAX_KEY_LOAD) this.rebuildKeys(this.live + 1);
    copyRecordToConnection(rec, r, this.cols, this.floats, e);
    this.state[e] = state;
    this.nextOut[e] = NO_EDGE;
    this.prevOut[e] = NO_EDGE;
    this.nextIn[e] = NO_EDGE;
    this.prevIn[e] = NO_EDGE;
    this.resetDecay(e);
    this.insertKey(e);
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

  private insertKey(e: number): void {
    const c = this.cols;
    let p = keyHash(c.sources[e]!, c.targets[e]!, c.types[e]!, this.keyShift);
    while (this.keys[p] !== 0) p = (p + 1) & this.keyMask;
    this.keys[p] = e + 1;
  }

  private homeOf(e: number): number {
    const c = this.cols;
    return keyHash(c.sources[e]!, c.targets[e]!, c.types[e]!, this.keyShift);
  }

  /** Backward-shift deletion (see store/id-table.ts for why). */
  private removeKey(e: number): void {
    const keys = this.keys;
    const mask = this.keyMask;
    let i = this.homeOf(e);
    while (keys[i] !== e + 1) i = (i + 1) & mask;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const v = keys[j]!;
      if (v === 0) break;
      const k = this.homeOf(v - 1);
      const homeInRange = i <= j ? k > i && k <= j : k > i || k <= j;
      if (!homeInRange) {
        keys[i] = v;
        i = j;
      }
    }
    keys[i] = 0;
  }

  private rebuildKeys(n: number): void {
    const size = pow2For(Math.max(n, this.keys.length));
    this.keys = new Uint32Array(size);
    this.keyShift = 32 - Math.log2(size);
    this.keyMask = size - 1;
    const hwm = this.cols.size;
    for (let e = 0; e < hwm; e++) if (this.state[e] !== EdgeState.Free) this.insertKey(e);
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
