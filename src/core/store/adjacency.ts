/**
 * Per-token adjacency heads (out and in) over the arena's doubly linked lists, plus degree
 * counters. Allocated on the first connection (a store without connections pays nothing) and
 * grown with the token columns. Lists are newest-first; unlinking is O(1).
 */
import type { ConnectionArena } from "../connection/arena.ts";
import { NO_EDGE } from "../connection/arena.ts";

export class Adjacency {
  outHead: Int32Array = new Int32Array(0);
  inHead: Int32Array = new Int32Array(0);
  outDegree: Uint32Array = new Uint32Array(0);
  inDegree: Uint32Array = new Uint32Array(0);

  get allocated(): boolean {
    return this.outHead.length > 0;
  }

  byteSize(): number {
    return this.outHead.byteLength + this.inHead.byteLength + this.outDegree.byteLength + this.inDegree.byteLength;
  }

  /** Reallocates the heads to exactly `capacity` slots (live slots < capacity keep their lists). */
  resize(capacity: number): void {
    if (!this.allocated) return;
    const keep = Math.min(capacity, this.outHead.length);
    const ih = (a: Int32Array): Int32Array => {
      const g = new Int32Array(capacity).fill(NO_EDGE);
      g.set(a.subarray(0, keep));
      return g;
    };
    const uh = (a: Uint32Array): Uint32Array => {
      const g = new Uint32Array(capacity);
      g.set(a.subarray(0, keep));
      return g;
    };
    this.outHead = ih(this.outHead);
    this.inHead = ih(this.inHead);
    this.outDegree = uh(this.outDegree);
    this.inDegree = uh(this.inDegree);
  }

  /** Makes the heads cover `capacity` token slots (new slots empty). */
  ensure(capacity: number): void {
    const old = this.outHead.length;
    if (capacity <= old) return;
    const grow = (a: Int32Array): Int32Array => {
      const g = new Int32Array(capacity);
      g.set(a);
      g.fill(NO_EDGE, old);
      return g;
    };
    const growU = (a: Uint32Array): Uint32Array => {
      const g = new Uint32Array(capacity);
      g.set(a);
      return g;
    };
    this.outHead = grow(this.outHead);
    this.inHead = grow(this.inHead);
    this.outDegree = growU(this.outDegree);
    this.inDegree = growU(this.inDegree);
  }

  linkOut(a: ConnectionArena, e: number, slot: number): void {
    const head = this.outHead[slot]!;
    a.nextOut[e] = head;
    a.prevOut[e] = NO_EDGE;
    if (head !== NO_EDGE) a.prevOut[head] = e;
    this.outHead[slot] = e;
    this.outDegree[slot]!++;
  }

  unlinkOut(a: ConnectionArena, e: number, slot: number): void {
    const prev = a.prevOut[e]!;
    const next = a.nextOut[e]!;
    if (prev === NO_EDGE) this.outHead[slot] = next;
    else a.nextOut[prev] = next;
    if (next !== NO_EDGE) a.prevOut[next] = prev;
    a.nextOut[e] = NO_EDGE;
    a.prevOut[e] = NO_EDGE;
    this.outDegree[slot]!--;
  }

  linkIn(a: ConnectionArena, e: number, slot: number): void {
    const head = this.inHead[slot]!;
    a.nextIn[e] = head;
    a.prevIn[e] = NO_EDGE;
    if (head !== NO_EDGE) a.prevIn[head] = e;
    this.inHead[slot] = e;
    this.inDegree[slot]!++;
  }

  unlinkIn(a: ConnectionArena, e: number, slot: number): void {
    const prev = a.prevIn[e]!;
    const next = a.nextIn[e]!;
    if (prev === NO_EDGE) this.inHead[slot] = next;
    else a.nextIn[prev] = next;
    if (next !== NO_EDGE) a.prevIn[next] = prev;
    a.nextIn[e] = NO_EDGE;
    a.prevIn[e] = NO_EDGE;
    this.inDegree[slot]!--;
  }

  /** The token in slot `from` moved to slot `to` (swap-remove); `from` becomes empty. */
  moveSlot(from: number, to: number): void {
    this.outHead[to] = this.outHead[from]!;
    this.inHead[to] = this.inHead[from]!;
    this.outDegree[to] = this.outDegree[from]!;
    this.inDegree[to] = this.inDegree[from]!;
    this.clearSlot(from);
  }

  clearSlot(slot: number): void {
    this.outHead[slot] = NO_EDGE;
    this.inHead[slot] = NO_EDGE;
    this.outDegree[slot] = 0;
    this.inDegree[slot] = 0;
  }
}
