/**
 * A 3-server NATS cluster started by the test support: JetStream clustered, actors reachable
 * across routes, and a node whose server is killed fails over to another server of its list.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNatsCluster, type NatsCluster } from "../../support/nats-server.ts";
import { KvActor, type KvMsg } from "./fixtures/kv.ts";
import { closeAll, eventually, settle, startNode } from "./support.ts";

let cluster: NatsCluster;
beforeAll(async () => {
  cluster = await startNatsCluster({ size: 3 });
});
afterAll(async () => {
  await closeAll();
  await cluster.dispose();
});

describe("a 3-server NATS cluster", () => {
  it("is routed, has a JetStream meta leader, and names its servers", async () => {
    expect(cluster.servers.map((s) => s.name)).toEqual([1, 2, 3].map((i) => `${cluster.name}-${i}`));
    for (const s of cluster.servers) {
      const routez = await s.monitor<{ num_routes: number }>("routez");
      expect(routez.num_routes).toBe(2);
      const jsz = await s.monitor<{ meta_cluster?: { cluster_size?: number; leader?: string } }>("jsz");
      expect(jsz.meta_cluster?.cluster_size).toBe(3);
      expect(cluster.servers.map((x) => x.name)).toContain(jsz.meta_cluster?.leader);
    }
  });

  it("carries remote asks between nodes on different servers, and fails a node over when its server dies", async () => {
    const [s1, , s3] = cluster.servers;
    if (s1 === undefined || s3 === undefined) throw new Error("cluster has fewer than 3 servers");
    // Node a prefers server 1 but knows all; node b sits on server 3.
    const a = await startNode([s1.url, ...cluster.urls.slice(1)].join(","), "node-a", { connection: { reconnect: { waitMs: 100, jitterMs: 10 } } });
    const b = await startNode(s3.url, "node-b");
    const serverOf = (n: typeof a): string => n.transport.connection.getServer();
    b.system.spawn("kv/1", () => new KvActor());
    await b.transport.flush();
    const remote = a.system.ref<KvMsg>("kv/1");
    // Interest crosses the routes asynchronously: the first asks may find no responder yet.
    await eventually("kv/1 is reachable across the routes", async () => (await settle(remote.ask({ type: "kv.size" }, { timeoutMs: 1000 }))).ok);
    remote.tell({ type: "kv.put", key: "x", value: 1 });
    expect(await remote.ask({ type: "kv.get", key: "x" })).toBe(1);

    const before = serverOf(a);
    const victim = cluster.servers.find((s) => s.url.endsWith(before.replace(/^.*:\/\//, "")));
    expect(victim).toBeDefined();
    await victim?.kill();
    await eventually("node a reconnects to another server", () => a.transport.connectionState === "connected" && serverOf(a) !== before);
    await a.transport.flush();
    await eventually("kv/1 is reachable again", async () => (await settle(remote.ask({ type: "kv.size" }, { timeoutMs: 1000 }))).ok);
    remote.tell({ type: "kv.put", key: "y", value: 2 });
    expect(await remote.ask({ type: "kv.get", key: "y" })).toBe(2);
    expect(await remote.ask({ type: "kv.get", key: "x" })).toBe(1);

    await victim?.restart();
    await cluster.waitReady();
  });
});
