/**
 * Throughput of a 3-node cluster against 1 node (issue 7). `neurograph serve` child processes in
 * cluster mode (`--nats`, 4 shards, lease 5 s) on one local nats-server with JetStream; a client
 * (`NeuroGraphClient` with every node's address, round-robin) writes token batches with explicit
 * ids through gRPC for `--seconds`, `--writers` calls in flight. Any node takes any batch and
 * forwards each shard's part over NATS to the shard's owner, which appends it to the shard's
 * JetStream log before it answers.
 *   nats.cluster_1node_tokens_per_s    one node owning all 4 shards
 *   nats.cluster_3nodes_tokens_per_s   three nodes sharing them
 *   nats.cluster_scaling               the ratio
 * On this machine (2 cores) the three nodes, nats-server and the client share two cores, so the
 * ratio shows the cost of forwarding, not the gain of more machines: a fair test of scaling needs
 * a core per node. Batches stay on one shard unless --cross-shard: strict batches over shards of
 * different nodes are transactions whose coordinators on two nodes can block each other until
 * their deadline (a known gap), which that flag shows.
 * Options: --seconds S (default 5), --writers N (default 8), --batch N (default 2 000), --cross-shard.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NeuroGraphClient } from "../src/client/index.ts";
import { freePort, startNatsServer } from "../test/support/nats-server.ts";
import { spawnServe, type ServeChild } from "../test/support/serve-process.ts";
import { numberArg } from "./lib/args.ts";
import { emit, machine } from "./lib/report.ts";

const seconds = numberArg("seconds", 5);
const writers = numberArg("writers", 8);
const batch = numberArg("batch", 2_000);
const crossShard = process.argv.includes("--cross-shard");
const SHARDS = 4;

const server = await startNatsServer({ maxPayload: 8 * 1024 * 1024, jetstreamMaxFile: "8G" });
const details = { ...machine(), cross_shard_batches: crossShard, shards: SHARDS, writers, batch, seconds, nats_servers: 1, path: "gRPC createTokens → forwarding over NATS → shard owner → JetStream log (R1)" };

async function measure(nodeCount: number): Promise<number> {
  const cluster = `bench${nodeCount}`;
  const dirs: string[] = [];
  const children: ServeChild[] = [];
  const ports: number[] = [];
  try {
    for (let i = 0; i < nodeCount; i++) {
      const dir = mkdtempSync(join(tmpdir(), "ng-bench-cluster-"));
      const port = await freePort();
      dirs.push(dir);
      ports.push(port);
      const child = spawnServe(dir, ["--grpc-addr", `127.0.0.1:${port}`, "--shards", String(SHARDS), "--nats", server.url, "--cluster", cluster, "--node-id", `n${i + 1}`, "--lease", "5s", "--ingest-jetstream=false"]);
      children.push(child);
      await child.serving;
    }
    const client = new NeuroGraphClient({ addresses: ports.map((p) => `127.0.0.1:${p}`), deadlineMs: 120_000 });
    try {
      // Every shard served once (each node's own view).
      for (;;) {
        const views = await Promise.all(ports.map(async (p) => {
          const c = new NeuroGraphClient({ address: `127.0.0.1:${p}` });
          try {
            return (await c.listShards()).filter((s) => s.state === "serving").length;
          } finally {
            c.close();
          }
        }));
        if (views.reduce((a, b) => a + b, 0) === SHARDS) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      let next = 0;
      let turn = 0;
      // --cross-shard: consecutive ids (strict transactions over every shard); default: each
      // batch on one shard (ids ≡ shard mod SHARDS), taking turns.
      const write = async (): Promise<number> => {
        const first = next;
        next += batch;
        const shard = turn++ % SHARDS;
        const records = new Uint8Array(batch * 64);
        const view = new DataView(records.buffer);
        for (let i = 0; i < batch; i++) {
          view.setUint32(i * 64 + 48, crossShard ? 1 + first + i : (1 + first + i) * SHARDS + shard, true);
          view.setUint16(i * 64 + 52, 1, true);
          view.setFloat32(i * 64 + 54, 0.5, true);
          view.setUint32(i * 64 + 60, 1_700_000_000, true);
        }
        return (await client.createTokens(records)).accepted;
      };
      for (let i = 0; i < writers; i++) await write(); // warm-up
      let done = 0;
      const t0 = performance.now();
      const end = t0 + seconds * 1000;
      await Promise.all(Array.from({ length: writers }, async () => {
        while (performance.now() < end) done += await write();
      }));
      return done / ((performance.now() - t0) / 1000);
    } finally {
      client.close();
    }
  } finally {
    for (const c of children) c.kill("SIGKILL");
    await Promise.all(children.map((c) => c.exit));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

try {
  const one = await measure(1);
  emit("nats.cluster_1node_tokens_per_s", one, "tokens/s", { ...details, nodes: 1 });
  const three = await measure(3);
  emit("nats.cluster_3nodes_tokens_per_s", three, "tokens/s", { ...details, nodes: 3 });
  emit("nats.cluster_scaling", three / one, "ratio", { ...details, note: "3 nodes, nats-server and the client share 2 cores: forwarding cost, not scaling" });
} finally {
  await server.dispose();
}
