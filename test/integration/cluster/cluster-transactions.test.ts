/**
 * Strict batches that span shards owned by different nodes, sent to both nodes at once: each
 * node's coordinator runs them as transactions over NATS, so their prepares reach the shards in
 * orders no single coordinator controls. Prepared in ascending shard order, they never hold each
 * other's shards: every batch commits whole, well before its deadline, and no call fails.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Metadata } from "@grpc/grpc-js";
import { preferredOwner } from "../../../src/runtime/cluster/leases.ts";
import { RecordFormat } from "../../../src/gen/neurograph/v1/common.ts";
import { startNatsCluster, type NatsCluster } from "../../support/nats-server.ts";
import { packTokens } from "../api/fixtures.ts";
import { eventually } from "../nats/support.ts";
import { call, startTestNode, type TestNode } from "../node/harness.ts";

const SHARDS = 4;
let nats: NatsCluster;
const nodes: TestNode[] = [];

beforeAll(async () => {
  nats = await startNatsCluster({ size: 3 });
  // Node ids whose preferred shards are 2 and 2 of the 4 (rendezvous hashing of "a", "b").
  for (const id of ["a", "b"]) {
    nodes.push(await startTestNode(["--nats", nats.url, "--cluster", "ctx", "--node-id", id, "--shards", String(SHARDS), "--lease", "2s", "--ingest-jetstream=false"]));
  }
  const ids = nodes.map((n) => n.node.nodeId);
  await eventually(
    "every shard served by its preferred node",
    () => Array.from({ length: SHARDS }, (_, s) => s).every((s) => nodes.filter((n) => n.node.board.state(s) === "serving").map((n) => n.node.nodeId).join() === preferredOwner(s, ids)),
    30_000,
  );
}, 120_000);

afterAll(async () => {
  for (const n of nodes) await n.close().catch(() => undefined);
  await nats?.dispose();
});

describe("cluster transactions", () => {
  it("concurrent strict batches over every shard from two nodes all commit whole", async () => {
    const owners = new Set(Array.from({ length: SHARDS }, (_, s) => nodes.find((n) => n.node.board.state(s) === "serving")!.node.nodeId));
    expect(owners.size).toBe(2); // the batches really span both nodes
    const BATCHES = 24;
    // Batch b holds ids 1000 + 4b … 1000 + 4b + 3: one token on each shard.
    const batchIds = (b: number): number[] => Array.from({ length: SHARDS }, (_, k) => 1000 + SHARDS * b + k);
    // A deadline well below the time a stalled transaction's fences take to expire: a stall fails.
    const started = Date.now();
    const results = await Promise.allSettled(
      Array.from({ length: BATCHES }, (_, b) => {
        const t = nodes[b % 2]!;
        return call(t.tokens.createTokens.bind(t.tokens), { tokens: { payload: { $case: "packed", value: packTokens(batchIds(b).map((id) => ({ id, weight: 0.5 }))) } }, partial: false }, new Metadata(), { deadline: Date.now() + 15_000 });
      }),
    );
    const failures = results.flatMap((r, b) => (r.status === "rejected" ? [`batch ${b}: ${(r.reason as Error).message}`] : []));
    expect(failures).toEqual([]);
    console.error(`cluster transactions: ${BATCHES} strict 4-shard batches from 2 nodes committed in ${Date.now() - started} ms`);
    const all = Array.from({ length: BATCHES }, (_, b) => batchIds(b)).flat();
    for (const n of nodes) {
      const got = await call(n.tokens.getTokens.bind(n.tokens), { ids: all, format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: true });
      expect(got.missing).toEqual([]);
    }
  }, 120_000);
});
