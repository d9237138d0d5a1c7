/**
 * Bounded FIFO mailboxes on a ring buffer: O(1) push and take, no `Array.prototype.shift`
 * per message. The buffer grows by doubling up to the mailbox capacity (so thousands of idle
 * actors cost little) and shrinks back when a large burst has drained.
 */
import { ValidationError } from "../core/errors.ts";

const INITIAL_SLOTS = 16;
const SHRINK_ABOVE_SLOTS = 4096;

export class RingBuffer<T> {
  private slots: (T | undefined)[];
  private mask: number;
  private head = 0;
  private count = 0;

  constructor(initialSlots = INITIAL_SLOTS) {
    const n = nextPowerOfTwo(Math.max(2, initialSlots));
    this.slots = new Array<T | undefined>(n);
    this.mask = n - 1;
  }

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.slots.length) this.grow();
    this.slots[(this.head + this.count) & this.mask] = item;
    this.count++;
  }

  /** Removes and returns the oldest item, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.slots[this.head];
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.count--;
    if (this.count === 0) {
      this.head = 0;
      if (this.slots.length > SHRINK_ABOVE_SLOTS) this.reset(INITIAL_SLOTS);
    }
    return item;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.slots[this.head];
  }

  /** Removes every item, oldest first, handing each to `fn`. */
  drain(fn: (item: T) => void): void {
    while (this.count > 0) fn(this.shift() as T);
  }

  private grow(): void {
    const old = this.slots;
    const n = old.length * 2;
    const next = new Array<T | undefined>(n);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & this.mask];
    this.slots = next;
    this.mask = n - 1;
    this.head = 0;
  }

  private reset(slots: number): void {
    this.slots = new Array<T | undefined>(slots);
    this.mask = slots - 1;
    this.head = 0;
  }
}

/**
 * A bounded mailbox. `offer` refuses when `capacity` messages are waiting: the caller turns that
 * into an `OverloadedError` for the sender, never a silent drop. `force` is for the runtime's own
 * continuations (e.g. `pipeToSelf` results), which must not be lost once their work has started.
 */
export class Mailbox<T> {
  readonly capacity: number;
  private readonly ring: RingBuffer<T>;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw ValidationError.of("mailbox", [
        { field: "capacity", value: String(capacity), rule: "positive_integer", description: `mailbox capacity must be a positive integer, got ${capacity}` },
      ]);
    }
    this.capacity = capacity;
    this.ring = new RingBuffer<T>(Math.min(capacity, INITIAL_SLOTS));
  }

  get size(): number {
    return this.ring.length;
  }

  get isFull(): boolean {
    return this.ring.length >= this.capacity;
  }

  /** Enqueues unless full; returns whether the item was accepted. */
  offer(item: T): boolean {
    if (this.ring.length >= this.capacity) return false;
    this.ring.push(item);
    return true;
  }

  /** Enqueues regardless of capacity (runtime-internal messages only). */
  force(item: T): void {
    this.ring.push(item);
  }

  take(): T | undefined {
    return this.ring.shift();
  }

  drain(fn: (item: T) => void): void {
    this.ring.drain(fn);
  }
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
