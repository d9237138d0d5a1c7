/**
 * Per-token adjacency over the arena's doubly linked lists: for every token slot, the heads of
 * its out- and in-list, its out- and in-degree, and how many BIDIRECTIONAL connections each list
 * holds. Allocated on the first connection (a store without connections pays nothing) and grown
 * with the token columns. Lists are newest-first; unlinking is O(1).
 *
 * Layout: one Int32Array, 6 words per slot (`AdjWord`), so everything a connect or an expansion
 * needs about one token is one cache line (six separate arrays cost six misses per random
 * token). Heads are stored as entry + 1, so a fresh zero-filled array is a valid empty
 * adjacency (no fill pass; pages become resident only when used).
 *
 * The BIDIRECTIONAL counts exist for traversal: Out also follows BIDIRECTIONAL in-edges (and In
 * the out-edges). With them an expansion knows its exact size without walking, and skips the
 * other list entirely when it holds none — almost always (walking an in-list to find none cost a
 * cache miss per in-edge).
 */
import type { ConnectionArena } from "../connection/arena.ts";
import { NO_EDGE } from "../connection/arena.ts";
import { CONNECTION_FLAGS } from "../connection/layout.ts";

const BIDIRECTIONAL = CONNECTION_FLAGS.BIDIRECTIONAL;

/** Word offsets inside a slot's record of `Adjacency.words`. */
export const AdjWord = { outHead: 0, inHead: 1, outDegree: 2, inDegree: 3, bidiOut: 4, bidiIn: 5 } as const;
export const ADJ_STRIDE = 6;

export class Adjacency {
  /** ADJ_STRIDE words per token slot (heads hold entry + 1, 0 = empty list). */
  words: Int32Array = new Int32Array(0);

  get allocated(): boolean {
    return this.words.length > 0;
  }

  /** Slots covered. */
  get capacity(): number {
    return this.words.length / ADJ_STRIDE;
  }

  byteSize(): number {
    return this.words.byteLength;
  }

  outHead(slot: number): number {
    return (this.words[slot * ADJ_STRIDE] ?? 0) - 1;
  }

  inHead(slot: number): number {
    return (this.words[slot * ADJ_STRIDE + 1] ?? 0) - 1;
  }

  outDegree(slot: number): number {
    return this.words[slot * ADJ_STRIDE + 2] ?? 0;
  }

  inDegree(slot: number): number {
    return this.words[slot * ADJ_STRIDE + 3] ?? 0;
  }

  /** Reallocates to exactly `capacity` slots (live slots < capacity keep their lists). */
  resize(capacity: number): void {
    if (!this.allocated) return;
    const g = new Int32Array(capacity * ADJ_STRIDE);
    g.set(this.words.subarray(0, Math.min(g.length, this.words.length)));
    this.words = g;
  }

  /** Makes the adjacency cover `capacity` token slots (new slots empty). */
  ensure(capacity: number): void {
    if (capacity * ADJ_STRIDE <= this.words.length) return;
    const g = new Int32Array(capacity * ADJ_STRIDE);
    g.set(this.words);
    this.words = g;
  }

  /**
   * Links entry `e` (flags already written) at the head of `slot`'s out-list. `count` = false
   * when the caller has already added it to the degree.
   */
  linkOut(a: ConnectionArena, e: number, slot: number, count = true): void {
    const w = this.words;
    const b = slot * ADJ_STRIDE;
    const head = w[b]! - 1;
    a.nextOut[e] = head;
    a.prevOut[e] = NO_EDGE;
    if (head !== NO_EDGE) a.prevOut[head] = e;
    w[b] = e + 1;
    if (count) w[b + 2]!++;
    if ((a.columns.flags[e]! & BIDIRECTIONAL) !== 0) w[b + 4]!++;
  }

  /** Unlinks entry `e` (flags still those it was linked with) from `slot`'s out-list. */
  unlinkOut(a: ConnectionArena, e: number, slot: number): void {
    const w = this.words;
    const b = slot * ADJ_STRIDE;
    const prev = a.prevOut[e]!;
    const next = a.nextOut[e]!;
    if (prev === NO_EDGE) w[b] = next + 1;
    else a.nextOut[prev] = next;
    if (next !== NO_EDGE) a.prevOut[next] = prev;
    a.nextOut[e] = NO_EDGE;
    a.prevOut[e] = NO_EDGE;
    w[b + 2]!--;
    if ((a.columns.flags[e]! & BIDIRECTIONAL) !== 0) w[b + 4]!--;
  }

  /** Links entry `e` at the head of `slot`'s in-list (see linkOut for `count`). */
  linkIn(a: ConnectionArena, e: number, slot: number, count = true): void {
    const w = this.words;
    const b = slot * ADJ_STRIDE;
    const head = w[b + 1]! - 1;
    a.nextIn[e] = head;
    a.prevIn[e] = NO_EDGE;
    if (head !== NO_EDGE) a.prevIn[head] = e;
    w[b + 1] = e + 1;
    if (count) w[b + 3]!++;
    if ((a.columns.flags[e]! & BIDIRECTIONAL) !== 0) w[b + 5]!++;
  }

  unlinkIn(a: ConnectionArena, e: number, slot: number): void {
    const w = this.words;
    const b = slot * ADJ_STRIDE;
    const prev = a.prevIn[e]!;
    const next = a.nextIn[e]!;
    if (prev === NO_EDGE) w[b + 1] = next + 1;
    else a.nextIn[prev] = next;
    if (next !== NO_EDGE) a.prevIn[next] = prev;
    a.nextIn[e] = NO_EDGE;
    a.prevIn[e] = NO_EDGE;
    w[b + 3]!--;
    if ((a.columns.flags[e]! & BIDIRECTIONAL) !== 0) w[b + 5]!--;
  }

  /**
   * The BIDIRECTIONAL flag of a linked entry changed from `was` to `now` (an upsert replaced
   * its record): adjust the counts of its source slot (−1: not linked here) and target slot.
   */
  bidiChanged(was: boolean, now: boolean, srcSlot: number, tgtSlot: number): void {
    if (was === now) return;
    const d = now ? 1 : -1;
    const w = this.words;
    if (srcSlot >= 0) w[srcSlot * ADJ_STRIDE + 4] = w[srcSlot * ADJ_STRIDE + 4]! + d;
    if (tgtSlot >= 0) w[tgtSlot * ADJ_STRIDE + 5] = w[tgtSlot * ADJ_STRIDE + 5]! + d;
  }

  /** The token in slot `from` moved to slot `to` (swap-remove); `from` becomes empty. */
  moveSlot(from: number, to: number): void {
    const f = from * ADJ_STRIDE;
    this.words.copyWithin(to * ADJ_STRIDE, f, f + ADJ_STRIDE);
    this.clearSlot(from);
  }

  clearSlot(slot: number): void {
    const b = slot * ADJ_STRIDE;
    this.words.fill(0, b, b + ADJ_STRIDE);
  }
}
