/**
 * The recovery gate of a graph shard: after a (re)start, while the node reconciles the edges
 * between shards (`router-repair.ts`), reads and writes wait here in a bounded queue, in arrival
 * order, until the shard gets `shard.open`; then the shard serves the calls whose callers still
 * wait. A node without the gate (`GraphShardEnv.recovery` absent, or already open) serves at once.
 */
import { OverloadedError } from "../core/errors.ts";
import { REPLY_DEFERRED, type ActorContext, type ReplyDeferred, type ReplyHandle } from "../runtime/index.ts";
import type { ShardMessage } from "./shard-protocol.ts";

/** The calls the gate holds: writes and reads (everything else is served while recovering). */
export type GatedMessage = Extract<
  ShardMessage,
  { type: "shard.write" | "shard.prepare" | "shard.get" | "shard.expand" | "shard.connections" | "shard.spatial" }
>;

export interface HeldCall {
  readonly message: GatedMessage;
  readonly handle: ReplyHandle<unknown>;
  /** The caller's deadline (epoch ms). */
  readonly deadline: number;
}

export class ShardRecoveryGate {
  /** Calls waiting (undefined once the gate opened). */
  private held: HeldCall[] | undefined;

  constructor(
    private readonly shard: number,
    /** Shared by every incarnation of the shard; `open` is the node's verdict. */
    recovery: { readonly open: boolean } | undefined,
    private readonly capacity: number,
  ) {
    this.held = recovery !== undefined && !recovery.open ? [] : undefined;
  }

  /** Whether calls must wait. */
  get closed(): boolean {
    return this.held !== undefined;
  }

  /** Holds the call being processed until the gate opens (RESOURCE_EXHAUSTED when the queue is full). */
  hold(message: GatedMessage, ctx: ActorContext<ShardMessage>): ReplyDeferred {
    const held = this.held!;
    if (held.length >= this.capacity) {
      throw new OverloadedError(`shard ${this.shard} is still recovering and has ${held.length} calls waiting; retry with back-off`);
    }
    held.push({ message, handle: ctx.deferReply(), deadline: ctx.deadline });
    return REPLY_DEFERRED;
  }

  /**
   * Opens the gate for good. Returns the calls to serve now, in arrival order: those whose caller
   * gave up meanwhile (and was told so) are left out, so they are never applied.
   */
  open(now: number): HeldCall[] {
    const held = this.held;
    this.held = undefined;
    if (held === undefined) return [];
    return held.filter((h) => h.deadline > now);
  }
}
