/**
 * Shard leases and membership on a real 3-server JetStream cluster: three members own every
 * shard exactly once (each at its preferred node); a member that crashes loses its shards to the
 * survivors once its lease expires, and when it comes back its refreshes fail (it stops serving)
 * while the new owners' epochs are higher, then it rejoins; a member that leaves hands its shards
 * over without waiting for expiry.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeRegistry, ShardLeases, preferredOwner, type Lease } from "../../../src/runtime/cluster/leases.ts";
import { ClusterMember } from "../../../src/runtime/cluster/member.ts";
import { startNatsCluster, type NatsCluster } from "../../support/nats-server.ts";
import { closeAll, eventually, rawClient } from "../nats/support.ts";

const S = 12;
const LEASE_MS = 2000;
let cluster: NatsCluster;

interface TestMember {
  readonly id: string;
  readonly member: ClusterMember;
  readonly serving: Map<number, number>;
  readonly lost: number[];
  readonly handedOver: number[];
}

async function member(nc: NatsConnection, id: string): Promise<TestMember> {
  const leases = await ShardLeases.open(nc, "lz", { leaseMs: LEASE_MS, replicas: 3 });
  const nodes = await NodeRegistry.open(nc, "lz", { ttlMs: LEASE_MS, replicas: 3 });
  const serving = new Map<number, number>();
  const lost: number[] = [];
  const handedOver: number[] = [];
  const m = new ClusterMember({
    nodeId: id,
    shardCount: S,
    leases,
    nodes,
    intervalMs: 300,
    onAcquired: (l: Lease) => void serving.set(l.shard, l.epoch),
    onHandoff: (l: Lease) => {
      handedOver.push(l.shard);
      serving.delete(l.shard);
    },
    onLost: (shard) => {
      lost.push(shard);
      serving.delete(shard);
    },
  });
  return { id, member: m, serving, lost, handedOver };
}

/** shard → the members serving it. */
function servingMap(ms: readonly TestMember[]): string[][] {
  return Array.from({ length: S }, (_, s) => ms.filter((m) => m.serving.has(s)).map((m) => m.id));
}

beforeAll(async () => {
  cluster = await startNatsCluster({ size: 3 });
}, 90_000);

afterAll(async () => {
  await closeAll();
  await cluster?.dispose();
});

describe("shard leases", () => {
  it("place every shard once, fail over from a crashed member, fence it when it returns, and hand over on leave", async () => {
    const ms = await Promise.all(["node-a", "node-b", "node-c"].map(async (id, i) => member(await rawClient(cluster.urls[i]!), id)));
    await Promise.all(ms.map((m) => m.member.start()));
    const ids = ms.map((m) => m.id);
    await eventually("every shard at its preferred owner", () => servingMap(ms).every((owners, s) => owners.length === 1 && owners[0] === preferredOwner(s, ids)), 20_000);

    const [a, b, c] = ms as [TestMember, TestMember, TestMember];
    const cShards = [...c.serving.keys()];
    const cEpochs = new Map(c.serving);
    expect(cShards.length).toBeGreaterThan(0);
    c.member.halt(); // crash: no release, no leave
    const crashedAt = Date.now();
    await eventually("the survivors serve every shard", () => servingMap([a, b]).every((owners) => owners.length === 1), 30_000);
    const failoverMs = Date.now() - crashedAt;
    console.error(`lease failover after a crash: ${failoverMs} ms (lease ${LEASE_MS} ms)`);
    for (const s of cShards) expect(a.serving.get(s) ?? b.serving.get(s)).toBeGreaterThan(cEpochs.get(s)!);

    // The stale owner comes back: its refreshes fail, it stops serving; nobody serves twice.
    c.member.resume();
    await c.member.tick();
    expect([...c.lost].sort((x, y) => x - y)).toEqual(cShards.sort((x, y) => x - y));
    for (const [s, epoch] of c.serving) expect(epoch).toBeGreaterThan(cEpochs.get(s) ?? 0); // retaken only under a new epoch
    expect(servingMap(ms).every((owners) => owners.length <= 1)).toBe(true);

    // c rejoins cleanly; then b leaves gracefully: its shards move without waiting for expiry.
    await b.member.stop();
    expect(b.handedOver.length).toBeGreaterThan(0);
    expect(b.serving.size).toBe(0);
    await eventually("a and c serve every shard at its preferred owner", () => servingMap([a, c]).every((owners, s) => owners.length === 1 && owners[0] === preferredOwner(s, [a.id, c.id])), 10_000);
    await a.member.stop();
    await c.member.stop();
  }, 90_000);

  it("starts even when its first round hangs on a KV call: the round is given up after the lease time and the next one takes the shards", async () => {
    const nc = await rawClient(cluster.url);
    const leases = await ShardLeases.open(nc, "hang", { leaseMs: LEASE_MS, replicas: 3 });
    const registry = await NodeRegistry.open(nc, "hang", { ttlMs: LEASE_MS, replicas: 3 });
    let calls = 0;
    // The real registry, except that its first listing is never answered (as a KV consumer whose
    // messages were removed under it can be).
    const nodes = Object.create(registry) as NodeRegistry;
    nodes.live = () => (++calls === 1 ? new Promise<string[]>(() => undefined) : registry.live());
    const errors: string[] = [];
    const serving = new Set<number>();
    const m = new ClusterMember({
      nodeId: "solo",
      shardCount: S,
      leases,
      nodes,
      intervalMs: 300,
      onAcquired: (l) => void serving.add(l.shard),
      onLost: (shard) => void serving.delete(shard),
      onError: (e) => errors.push(e.message),
    });
    const started = Date.now();
    await m.start();
    console.error(`member start with a hung first round: ${Date.now() - started} ms (lease ${LEASE_MS} ms)`);
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(errors.some((e) => /did not finish within/.test(e))).toBe(true);
    expect([...serving].sort((x, y) => x - y)).toEqual(Array.from({ length: S }, (_, i) => i));
    await m.stop();
  }, 30_000);
});
