/**
 * Three nodes in cluster mode (`--nats … --cluster … --node-id …`) on a real 3-server JetStream
 * cluster: every shard is served by exactly one node, any node answers for any shard (forwarding
 * over NATS), and when a node stops without handing over (its leases expire) the survivors take
 * its shards over from the replicated log with every acknowledged write.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { status } from "@grpc/grpc-js";
import { preferredOwner } from "../../../src/runtime/cluster/leases.ts";
import { RecordFormat } from "../../../src/gen/neurograph/v1/common.ts";
import { startNatsCluster, type NatsCluster } from "../../support/nats-server.ts";
import { packTokens } from "../api/fixtures.ts";
import { eventually } from "../nats/support.ts";
import { call, startTestNode, type TestNode } from "../node/harness.ts";

const SHARDS = 4;
let nats: NatsCluster;
const nodes: TestNode[] = [];

/** shard → ids of the nodes serving it. */
function servingMap(ns: readonly TestNode[]): string[][] {
  return Array.from({ length: SHARDS }, (_, s) => ns.filter((n) => n.node.board.state(s) === "serving").map((n) => n.node.nodeId));
}

/** Retries UNAVAILABLE (a shard moving) with backoff, as the client library does. */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if ((err as { code?: number }).code !== status.UNAVAILABLE || attempt >= 40) throw err;
      await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
    }
  }
}

async function create(t: TestNode, ids: readonly number[]): Promise<void> {
  await retrying(() => call(t.tokens.createTokens.bind(t.tokens), { tokens: { payload: { $case: "packed", value: packTokens(ids.map((id) => ({ id, weight: 0.5 }))) } }, partial: false }));
}

async function missing(t: TestNode, ids: readonly number[]): Promise<number[]> {
  const got = await retrying(() => call(t.tokens.getTokens.bind(t.tokens), { ids: [...ids], format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: true }));
  return got.missing;
}

beforeAll(async () => {
  nats = await startNatsCluster({ size: 3 });
  for (const id of ["n1", "n2", "n3"]) {
    nodes.push(await startTestNode(["--nats", nats.url, "--cluster", "c3", "--node-id", id, "--shards", String(SHARDS), "--lease", "2s", "--ingest-jetstream=false"]));
  }
}, 120_000);

afterAll(async () => {
  for (const n of nodes) await n.close().catch(() => undefined);
  await nats?.dispose();
});

describe("cluster mode", () => {
  it("serves every shard once, answers for any shard on any node, and fails over without losing acknowledged writes", async () => {
    const ids3 = nodes.map((n) => n.node.nodeId);
    await eventually("every shard served by its preferred node", () => servingMap(nodes).every((o, s) => o.length === 1 && o[0] === preferredOwner(s, ids3)), 30_000);
    const ids = Array.from({ length: 200 }, (_, i) => i + 1);
    await create(nodes[0]!, ids.slice(0, 100));
    await create(nodes[1]!, ids.slice(100));
    for (const n of nodes) expect(await missing(n, ids)).toEqual([]);

    // Stop the node serving the most shards without a handoff: its leases expire.
    const victim = nodes.reduce((a, b) => (servingMap([b]).filter((o) => o.length > 0).length > servingMap([a]).filter((o) => o.length > 0).length ? b : a));
    const survivors = nodes.filter((n) => n !== victim);
    const stoppedAt = Date.now();
    await victim.node.stop({ force: true });
    await eventually("the survivors serve every shard", () => servingMap(survivors).every((o) => o.length === 1), 30_000);
    console.error(`cluster failover: shards served elsewhere ${Date.now() - stoppedAt} ms after the node stopped (lease 2 s)`);
    for (const n of survivors) expect(await missing(n, ids)).toEqual([]);
    await create(survivors[0]!, [1001, 1002, 1003, 1004]);
    expect(await missing(survivors[1]!, [1001, 1002, 1003, 1004])).toEqual([]);
  }, 120_000);
});
