/**
 * Ask deadlines without a timer per ask. Asks are kept in intrusive doubly-linked lists, one per
 * timeout duration: asks with the same duration expire in the order they were made, so each list
 * is sorted and needs one timer, armed for (at most) its head's deadline. Settling an ask unlinks
 * it in O(1) and never touches the timer; when the timer fires it expires what is due and re-arms
 * for the new head. Most asks use the default timeout, so a busy system runs on a handful of
 * timers whatever its ask rate.
 */
import type { Clock, TimerHandle } from "./clock.ts";

/** The fields a tracked item carries (the runtime's `Letter` implements this). */
export interface DeadlineItem {
  readonly deadline: number;
  dlList: DeadlineList | undefined;
  dlPrev: DeadlineItem | undefined;
  dlNext: DeadlineItem | undefined;
  /** Called once when the deadline passes while the item is still tracked. */
  expired(): void;
}

export class DeadlineList {
  head: DeadlineItem | undefined = undefined;
  tail: DeadlineItem | undefined = undefined;
  timer: TimerHandle | undefined = undefined;

  constructor(
    readonly timers: DeadlineTimers,
    readonly durationMs: number,
  ) {}
}

export class DeadlineTimers {
  private readonly lists = new Map<number, DeadlineList>();

  constructor(private readonly clock: Clock) {}

  /** Tracks `item` until `untrack` or until its deadline fires `item.expired()`. */
  track(item: DeadlineItem): void {
    const duration = Math.max(0, Math.ceil(item.deadline - this.clock.now()));
    let list = this.lists.get(duration);
    if (list === undefined) {
      list = new DeadlineList(this, duration);
      this.lists.set(duration, list);
    }
    item.dlList = list;
    item.dlPrev = list.tail;
    item.dlNext = undefined;
    if (list.tail === undefined) list.head = item;
    else list.tail.dlNext = item;
    list.tail = item;
    if (list.timer === undefined) this.arm(list, item.deadline);
  }

  /** O(1). An emptied list keeps its timer (it is cheap and likely reused); the timer retires it. */
  untrack(item: DeadlineItem): void {
    const list = item.dlList;
    if (list !== undefined) this.unlink(list, item);
  }

  /** Number of items tracked (for tests and diagnostics). */
  get size(): number {
    let n = 0;
    for (const list of this.lists.values()) for (let i = list.head; i !== undefined; i = i.dlNext) n++;
    return n;
  }

  private unlink(list: DeadlineList, item: DeadlineItem): void {
    if (item.dlPrev === undefined) list.head = item.dlNext;
    else item.dlPrev.dlNext = item.dlNext;
    if (item.dlNext === undefined) list.tail = item.dlPrev;
    else item.dlNext.dlPrev = item.dlPrev;
    item.dlList = undefined;
    item.dlPrev = undefined;
    item.dlNext = undefined;
  }

  private arm(list: DeadlineList, at: number): void {
    list.timer = this.clock.setTimeout(() => this.fire(list), Math.max(0, at - this.clock.now()));
  }

  private fire(list: DeadlineList): void {
    list.timer = undefined;
    const now = this.clock.now();
    for (let head = list.head; head !== undefined && head.deadline <= now; head = list.head) {
      this.unlink(list, head);
      head.expired();
    }
    if (list.head !== undefined) this.arm(list, list.head.deadline);
    else if (this.lists.get(list.durationMs) === list) this.lists.delete(list.durationMs);
  }
}
