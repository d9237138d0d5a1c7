/**
 * `ClusterMember`: one node's control loop over the KV buckets of `leases.ts`. Every tick it
 * heartbeats, refreshes the leases it holds (a refresh that fails means another node owns the
 * shard now: `onLost`, stop serving it), and moves shards towards their preferred owners among the
 * live nodes: it takes free shards it is preferred for (`onAcquired`, with the epoch that fences
 * earlier owners) and hands over shards another live node is preferred for (`onHandoff`: stop
 * accepting, flush, snapshot; then release). A node that dies stops refreshing: its node key and
 * leases expire, the survivors become preferred for its shards and take them.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { UnavailableError, toNeuroGraphError, type NeuroGraphError } from "../../core/errors.ts";
import { preferredOwner, type Lease, type NodeRegistry, type ShardLeases } from "./leases.ts";

export interface ClusterMemberOptions {
  readonly nodeId: string;
  readonly shardCount: number;
  readonly leases: ShardLeases;
  readonly nodes: NodeRegistry;
  /** Time between ticks (default a third of the lease time). */
  readonly intervalMs?: number;
  /** The shard is ours from `lease.epoch` on: recover it and serve. A throw gives it back. */
  readonly onAcquired: (lease: Lease) => void | Promise<void>;
  /** Graceful handoff before the lease is released: stop accepting, flush, snapshot. */
  readonly onHandoff?: (lease: Lease) => void | Promise<void>;
  /** The lease was lost (expired and taken, or unreachable servers): stop serving at once. */
  readonly onLost: (shard: number, error: NeuroGraphError) => void;
  readonly onError?: (error: NeuroGraphError) => void;
}

export class ClusterMember {
  private readonly held = new Map<number, Lease>();
  /** Takeovers still recovering (`onAcquired` running), off the loop so refreshes go on meanwhile. */
  private readonly acquiring = new Map<number, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<boolean> | undefined;
  private stopped = false;
  private readonly intervalMs: number;

  constructor(private readonly o: ClusterMemberOptions) {
    this.intervalMs = o.intervalMs ?? Math.max(100, Math.floor(o.leases.leaseMs / 3));
  }

  /**
   * Registers the node and runs rounds until one completes (resolves once the shards it took
   * recovered, or failed to). Every round is bounded by the lease time, so a KV call that is never
   * answered makes the node retry (and log why) instead of never becoming ready.
   */
  async start(): Promise<void> {
    await this.o.nodes.heartbeat(this.o.nodeId);
    while (!this.stopped && !(await this.watchedTick())) await sleep(this.intervalMs);
    this.schedule();
    await Promise.all(this.acquiring.values());
  }

  /** Shards this node holds, ascending. */
  owned(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  lease(shard: number): Lease | undefined {
    return this.held.get(shard);
  }

  /** One round now (tests, and after membership changes). */
  tick(): Promise<boolean> {
    if (this.ticking === undefined) {
      const round: Promise<boolean> = this.round().finally(() => {
        if (this.ticking === round) this.ticking = undefined;
      });
      this.ticking = round;
    }
    return this.ticking;
  }

  /** Graceful leave: hand every shard over and release it, then leave the node registry. */
  async stop(): Promise<void> {
    this.halt();
    await this.ticking?.catch(() => undefined);
    for (const lease of [...this.held.values()]) await this.handOver(lease);
    await this.o.nodes.leave(this.o.nodeId);
  }

  /** Stops the loop without releasing anything (as a crash does; leases expire). */
  halt(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Gives up a shard this node can no longer serve (its log failed): the lease is released so
   * the shard is taken again (by this node or another) in the next round, instead of being held
   * unserved.
   */
  async giveUp(shard: number): Promise<void> {
    const lease = this.held.get(shard);
    if (lease === undefined) return;
    this.held.delete(shard);
    await this.o.leases.release(lease);
  }

  /** Runs the loop again after `halt` (a node that was cut off comes back). */
  resume(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.watchedTick().finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  /**
   * A tick bounded by the lease time: a round stuck on a KV call that never returns is given up
   * (its compare-and-set writes fail harmlessly if they complete later), so the loop goes on
   * heartbeating and refreshing instead of letting every lease of the node expire.
   */
  private watchedTick(): Promise<boolean> {
    const round = this.tick();
    const limitMs = this.o.leases.leaseMs;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.ticking === round) this.ticking = undefined;
        this.report(new UnavailableError(`a cluster membership round did not finish within ${limitMs} ms (a NATS KV call unanswered); starting the next one`));
        resolve(false);
      }, limitMs);
      timer.unref();
      void round
        .catch(() => false)
        .then((complete) => {
          clearTimeout(timer);
          resolve(complete);
        });
    });
  }

  private report(err: unknown): void {
    this.o.onError?.(toNeuroGraphError(err));
  }

  /** One round; false when it could not look at the live nodes (nothing moved). */
  private async round(): Promise<boolean> {
    const { nodeId, leases, nodes, shardCount } = this.o;
    try {
      await nodes.heartbeat(nodeId, { shards: this.held.size });
    } catch (err) {
      this.report(err);
    }
    for (const lease of [...this.held.values()]) {
      if (this.stopped) return false;
      try {
        this.held.set(lease.shard, await leases.refresh(lease));
      } catch (err) {
        this.held.delete(lease.shard);
        this.o.onLost(lease.shard, toNeuroGraphError(err));
      }
    }
    let live: string[];
    try {
      live = await nodes.live();
    } catch (err) {
      this.report(err);
      return false;
    }
    if (!live.includes(nodeId)) live.push(nodeId);
    for (let shard = 0; shard < shardCount && !this.stopped; shard++) {
      const preferred = preferredOwner(shard, live);
      const mine = this.held.get(shard);
      try {
        if (mine !== undefined && preferred !== nodeId) await this.handOver(mine);
        else if (mine === undefined && preferred === nodeId) await this.take(shard);
      } catch (err) {
        this.report(err);
      }
    }
    return true;
  }

  private async take(shard: number): Promise<void> {
    const lease = await this.o.leases.acquire(shard, this.o.nodeId);
    if (lease === undefined) return; // the previous owner still holds it (handing over, or expiring)
    this.held.set(shard, lease);
    // Recovery can take long (a snapshot and the log since): the loop goes on heartbeating and
    // refreshing meanwhile, or the node would drop out and its leases expire under it.
    const recovering = (async () => {
      try {
        await this.o.onAcquired(lease);
      } catch (err) {
        const current = this.held.get(shard);
        if (current?.epoch === lease.epoch) {
          this.held.delete(shard);
          await this.o.leases.release(current); // its latest revision (refreshed meanwhile)
        }
        this.report(err);
      } finally {
        this.acquiring.delete(shard);
      }
    })();
    this.acquiring.set(shard, recovering);
  }

  private async handOver(lease: Lease): Promise<void> {
    try {
      await this.o.onHandoff?.(lease);
    } catch (err) {
      this.report(err);
    }
    this.held.delete(lease.shard);
    await this.o.leases.release(lease);
  }
}
