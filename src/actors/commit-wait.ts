/**
 * Commit-wait for one shard: a reply computed after mutation L was applied may only leave once
 * L is durable, so no caller ever observes (and acts on) state that a crash could take back.
 * Replies wait in a FIFO keyed by the LSN they need; applied LSNs only grow, so the FIFO is sorted
 * and a durable notification releases a prefix. With a log that is durable at once (volatile),
 * nothing ever waits.
 *
 * Contract with the log: a ticket resolving means every lower LSN is durable too (commits are in
 * order), and a failed commit fails every later LSN.
 */
import type { NeuroGraphError } from "../core/errors.ts";
import type { ReplyHandle } from "../runtime/index.ts";

interface Held {
  readonly lsn: number;
  readonly handle: ReplyHandle<unknown>;
  readonly value: unknown;
  readonly error: NeuroGraphError | undefined;
}

export class CommitWait {
  /** LSN of the last mutation applied to the store. */
  appliedLsn = 0;
  /** Highest LSN known durable. */
  durableLsn = 0;
  /** Set once a commit failed: replies no longer wait (nothing will become durable any more). */
  private failure: NeuroGraphError | undefined;
  private queue: Held[] = [];
  private head = 0;

  constructor(startLsn = 0) {
    this.appliedLsn = startLsn;
    this.durableLsn = startLsn;
  }

  /** Whether a reply computed now may be sent at once. */
  get clear(): boolean {
    return this.durableLsn >= this.appliedLsn || this.failure !== undefined;
  }

  /** Replies waiting for durability. */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  /** Holds a reply (value, or error when `error` is set) until everything applied so far is durable. */
  hold(handle: ReplyHandle<unknown>, value: unknown, error?: NeuroGraphError): void {
    this.queue.push({ lsn: this.appliedLsn, handle, value, error });
  }

  /** Records a durable LSN and releases the replies that waited for it. */
  markDurable(lsn: number): void {
    if (lsn <= this.durableLsn) return;
    this.durableLsn = lsn;
    const q = this.queue;
    let h = this.head;
    while (h < q.length && q[h]!.lsn <= lsn) {
      const held = q[h]!;
      h++;
      if (held.error !== undefined) held.handle.reject(held.error);
      else held.handle.resolve(held.value);
    }
    this.compact(h);
  }

  /**
   * A commit at `lsn` failed: replies that needed it (or anything later) are rejected with
   * `error`; earlier ones still wait for their own commits.
   */
  fail(lsn: number, error: NeuroGraphError): void {
    this.failure ??= error;
    const q = this.queue;
    const kept: Held[] = [];
    for (let h = this.head; h < q.length; h++) {
      const held = q[h]!;
      if (held.lsn >= lsn) held.handle.reject(error);
      else kept.push(held);
    }
    this.queue = kept;
    this.head = 0;
  }

  private compact(h: number): void {
    if (h === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (h > 1024 && h * 2 > this.queue.length) {
      this.queue = this.queue.slice(h);
      this.head = 0;
    } else {
      this.head = h;
    }
  }
}
