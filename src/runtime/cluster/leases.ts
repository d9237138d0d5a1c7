/**
 * Membership and shard ownership in JetStream KV (DESIGN §4): no home-made consensus.
 *
 * - `ng-<cluster>-nodes`: one key per live node (`<nodeId>`), re-put every heartbeat; the bucket's
 *   TTL removes the key of a node that stopped heartbeating.
 * - `ng-<cluster>-leases`: one key per shard (`shard-<n>`) holding the owner. A lease is taken with
 *   `create` (fails when held), refreshed with `update` against the revision the owner last wrote
 *   (fails when someone else took it), released with a delete; the bucket's TTL expires the lease
 *   of an owner that died. The revision of the `create` is the ownership's **epoch**: it only
 *   grows, so it orders owners and fences stale ones.
 * - The preferred owner of a shard is the live node with the highest rendezvous hash of
 *   (node, shard), so a joining or leaving node moves only the shards it gains or loses.
 */
import { createHash } from "node:crypto";
import { jetstream } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { UnavailableError } from "../../core/errors.ts";

export interface Lease {
  readonly shard: number;
  readonly owner: string;
  /** Revision of the lease's creation: the ownership epoch. */
  readonly epoch: number;
  /** Revision of the owner's last write (what the next refresh must match). */
  readonly revision: number;
}

export interface LeaseHolder {
  readonly owner: string;
  readonly epoch: number;
  readonly revision: number;
}

export function leaseBucketName(cluster: string): string {
  return `ng-${cluster}-leases`;
}

export function nodeBucketName(cluster: string): string {
  return `ng-${cluster}-nodes`;
}

const leaseKey = (shard: number): string => `shard-${shard}`;
const enc = new TextEncoder();
const dec = new TextDecoder();

function unavailable(what: string, err: unknown): UnavailableError {
  return new UnavailableError(`${what} failed: ${err instanceof Error ? err.message : String(err)}; check the NATS servers (JetStream KV)`, { cause: err });
}

async function openBucket(nc: NatsConnection, name: string, ttlMs: number, replicas: number): Promise<KV> {
  // Creating a replicated bucket needs a JetStream cluster round; give a busy cluster time, and
  // retry (create is idempotent) when several nodes start at once.
  const kvm = new Kvm(jetstream(nc, { timeout: 15_000 }));
  for (let attempt = 0; ; attempt++) {
    try {
      return await kvm.create(name, { history: 1, ttl: ttlMs, replicas });
    } catch (err) {
      if (attempt >= 3) throw unavailable(`opening the KV bucket ${name}`, err);
      await new Promise((r) => setTimeout(r, 250 * (attempt + 1)));
    }
  }
}

/** A node's score for a shard (rendezvous / highest-random-weight hashing). */
function score(node: string, shard: number): bigint {
  return createHash("sha256").update(`${node}\u0000${shard}`).digest().readBigUInt64BE(0);
}

/** The preferred owner of `shard` among `nodes` (undefined when there are none). */
export function preferredOwner(shard: number, nodes: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1n;
  for (const n of nodes) {
    const s = score(n, shard);
    if (s > bestScore || (s === bestScore && best !== undefined && n < best)) {
      best = n;
      bestScore = s;
    }
  }
  return best;
}

export class ShardLeases {
  private constructor(
    private readonly kv: KV,
    /** How long a lease lives without a refresh. */
    readonly leaseMs: number,
  ) {}

  static async open(nc: NatsConnection, cluster: string, options: { leaseMs: number; replicas: number }): Promise<ShardLeases> {
    return new ShardLeases(await openBucket(nc, leaseBucketName(cluster), options.leaseMs, options.replicas), options.leaseMs);
  }

  /** Takes the lease of `shard` for `owner`; undefined when someone holds it. */
  async acquire(shard: number, owner: string): Promise<Lease | undefined> {
    let revision: number;
    try {
      revision = await this.kv.create(leaseKey(shard), enc.encode(JSON.stringify({ owner })));
    } catch (err) {
      if (err instanceof Error && /wrong last sequence|key exists/i.test(err.message)) return undefined;
      throw unavailable(`taking the lease of shard ${shard}`, err);
    }
    return { shard, owner, epoch: revision, revision };
  }

  /** Extends `lease`; throws UnavailableError when it was lost (expired and taken, or deleted). */
  async refresh(lease: Lease): Promise<Lease> {
    try {
      const revision = await this.kv.update(leaseKey(lease.shard), enc.encode(JSON.stringify({ owner: lease.owner, epoch: lease.epoch })), lease.revision);
      return { ...lease, revision };
    } catch (err) {
      throw new UnavailableError(`the lease of shard ${lease.shard} (epoch ${lease.epoch}) was lost: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /** Gives the lease up (only if still ours). */
  async release(lease: Lease): Promise<void> {
    try {
      await this.kv.delete(leaseKey(lease.shard), { previousSeq: lease.revision });
    } catch {
      // lost already, or the servers are unreachable: the TTL frees it
    }
  }

  /**
   * Calls `onChange(shard)` whenever a shard changes hands: its lease released or deleted, or
   * taken by a new owner or epoch (refreshes are not changes; the current leases at the start
   * are not reported). Returns the function that stops watching.
   */
  async watchOwners(onChange: (shard: number) => void): Promise<() => void> {
    const iter = await this.kv.watch({ key: ">" }); // every key of the bucket is a shard-<n>
    const holders = new Map<number, string>();
    void (async () => {
      for await (const e of iter) {
        if (!e.key.startsWith("shard-")) continue;
        const shard = Number(e.key.slice("shard-".length));
        if (!Number.isInteger(shard) || shard < 0) continue;
        let holder = "";
        if (e.operation === "PUT") {
          try {
            const v = JSON.parse(dec.decode(e.value)) as { owner?: unknown; epoch?: unknown };
            holder = `${typeof v.owner === "string" ? v.owner : ""}@${typeof v.epoch === "number" ? v.epoch : e.revision}`;
          } catch {
            holder = `?@${e.revision}`;
          }
        }
        const before = holders.get(shard);
        holders.set(shard, holder);
        // A shard seen for the first time is the state at the start, not a change (the client's
        // isUpdate flag marks the last initial value as an update).
        if (before !== undefined && before !== holder) onChange(shard);
      }
    })().catch(() => undefined);
    return () => iter.stop();
  }

  /** Who holds `shard`, if anyone. */
  async holder(shard: number): Promise<LeaseHolder | undefined> {
    try {
      const e = await this.kv.get(leaseKey(shard));
      if (e === null || e.operation !== "PUT") return undefined;
      const v = JSON.parse(dec.decode(e.value)) as { owner?: unknown; epoch?: unknown };
      const owner = typeof v.owner === "string" ? v.owner : "";
      return { owner, epoch: typeof v.epoch === "number" ? v.epoch : e.revision, revision: e.revision };
    } catch (err) {
      throw unavailable(`reading the lease of shard ${shard}`, err);
    }
  }
}

export class NodeRegistry {
  private constructor(
    private readonly kv: KV,
    readonly ttlMs: number,
  ) {}

  static async open(nc: NatsConnection, cluster: string, options: { ttlMs: number; replicas: number }): Promise<NodeRegistry> {
    return new NodeRegistry(await openBucket(nc, nodeBucketName(cluster), options.ttlMs, options.replicas), options.ttlMs);
  }

  async heartbeat(nodeId: string, info: Readonly<Record<string, unknown>> = {}): Promise<void> {
    try {
      await this.kv.put(nodeId, enc.encode(JSON.stringify({ ...info, at: Date.now() })));
    } catch (err) {
      throw unavailable(`the heartbeat of node ${nodeId}`, err);
    }
  }

  /** Removes the node at once (graceful leave). */
  async leave(nodeId: string): Promise<void> {
    try {
      await this.kv.delete(nodeId);
    } catch {
      // the TTL removes it
    }
  }

  /** Ids of the nodes that heartbeat within the TTL, sorted. */
  async live(): Promise<string[]> {
    const out: string[] = [];
    try {
      for await (const k of await this.kv.keys()) out.push(k);
    } catch (err) {
      throw unavailable("listing the live nodes", err);
    }
    return out.sort();
  }
}
