/**
 * The transaction fence of a graph shard and the writes waiting behind it. A `prepare` that
 * validated fences the shard for its transaction (until commit, abort or its deadline, a timer);
 * writes arriving meanwhile wait in a bounded stash, in order, and run once the fence is gone —
 * until one of them fences the shard again. Reads are never fenced. See `shard-protocol.ts`.
 */
import { OverloadedError } from "../core/errors.ts";
import { REPLY_DEFERRED, type ActorContext, type ReplyDeferred, type ReplyHandle } from "../runtime/index.ts";
import type { ShardMessage, ShardOp } from "./shard-protocol.ts";

export interface Fence {
  readonly txn: number;
  readonly op: ShardOp;
}

export type FencedWrite = Extract<ShardMessage, { type: "shard.write" | "shard.prepare" }>;

export interface StashedWrite {
  readonly message: FencedWrite;
  readonly handle: ReplyHandle<unknown>;
  /** The caller's deadline (epoch ms). */
  readonly deadline: number;
}

const FENCE_TIMER = "fence";

export class TransactionFence {
  /** The prepared transaction holding the shard, if any. */
  current: Fence | undefined;
  private stash: StashedWrite[] = [];

  constructor(
    private readonly shard: number,
    private readonly capacity: number,
  ) {}

  /** Fences the shard for `txn` until commit, abort or `expiresAt` (epoch ms; `shard.fence-expired`). */
  set(txn: number, op: ShardOp, expiresAt: number, ctx: ActorContext<ShardMessage>): void {
    this.current = { txn, op };
    ctx.timers.startSingle(FENCE_TIMER, { type: "shard.fence-expired", txn }, Math.max(0, expiresAt - Date.now()));
  }

  release(ctx: ActorContext<ShardMessage>): void {
    this.current = undefined;
    ctx.timers.cancel(FENCE_TIMER);
  }

  /** Parks the write being processed behind the fence (RESOURCE_EXHAUSTED when the stash is full). */
  wait(message: FencedWrite, ctx: ActorContext<ShardMessage>): ReplyDeferred {
    if (this.stash.length >= this.capacity) {
      throw new OverloadedError(`shard ${this.shard} has ${this.stash.length} writes waiting behind a transaction; retry with back-off`);
    }
    this.stash.push({ message, handle: ctx.deferReply(), deadline: ctx.deadline });
    return REPLY_DEFERRED;
  }

  /** Parks a write whose reply was deferred already (a call the recovery gate held). */
  park(write: StashedWrite): void {
    this.stash.push(write);
  }

  /**
   * Runs the waiting writes in arrival order through `run` until one of them fences the shard
   * again; writes whose caller gave up (and was told so) are dropped, never applied.
   */
  drain(run: (write: StashedWrite) => void): void {
    let i = 0;
    const now = Date.now();
    while (i < this.stash.length && this.current === undefined) {
      const s = this.stash[i++]!;
      if (s.deadline <= now) continue;
      run(s);
    }
    this.stash = i === this.stash.length ? [] : this.stash.slice(i);
  }
}
