/**
 * Work that spans shards owned by different nodes of a 2-node cluster (real nats-servers, real
 * gRPC).
 *
 * Strict batches that span shards owned by different nodes, sent to both nodes at once: each
 * node's coordinator runs them as transactions over NATS, so their prepares reach the shards in
 * orders no single coordinator controls. Prepared in ascending shard order, they never hold each
 * other's shards: every batch commits whole, well before its deadline, and no call fails.
 *
 * Governed learning on connections owned by the other node: Feedback and Activate reach the
 * owning shard over NATS (`shard.learn`) and follow the same confidence sequence as on one node.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Metadata } from "@grpc/grpc-js";
import { RecordFormat } from "../../../src/gen/neurograph/v1/common.ts";
import { startNatsCluster, type NatsCluster } from "../../support/nats-server.ts";
import { Direction } from "../../../src/gen/neurograph/v1/common.ts";
import { packConnections, packTokens } from "../api/fixtures.ts";
import { call, type TestNode } from "../node/harness.ts";
import { startClusterNodes } from "./support.ts";

const SHARDS = 4;
let nats: NatsCluster;
const nodes: TestNode[] = [];

beforeAll(async () => {
  nats = await startNatsCluster({ size: 3 });
  // Node ids whose preferred shards are 2 and 2 of the 4 (rendezvous hashing of "a", "b").
  nodes.push(...(await startClusterNodes(nats.url, "ctx", ["a", "b"], SHARDS)));
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

describe("cluster learning", () => {
  it("feedback and activation on a connection owned by the other node follow the documented sequence", async () => {
    const [a, b] = nodes as [TestNode, TestNode];
    // Token 1 lives on shard 1, which node b serves: node a's coordinator must ask b.
    expect(b.node.board.state(1)).toBe("serving");
    expect(a.node.board.state(1)).not.toBe("serving");
    await call(a.tokens.createTokens.bind(a.tokens), { tokens: { payload: { $case: "packed", value: packTokens([1, 2, 3].map((id) => ({ id: 500 + id, weight: 0.5 }))) } }, partial: false });
    // 501 is on shard 1 (node b), 502 on shard 2 (node a).
    await call(a.graph.connect.bind(a.graph), { connections: { payload: { $case: "packed", value: packConnections([{ source: 501, target: 502 }]) } }, partial: false });
    const confidence = async (t: TestNode): Promise<number> => {
      const r = await call(t.graph.getConnections.bind(t.graph), { ids: [501], direction: Direction.DIRECTION_OUT, connectionTypes: [], limit: 0, format: RecordFormat.RECORD_FORMAT_PACKED });
      expect(r.records.length).toBe(64);
      return new DataView(r.records.buffer, r.records.byteOffset, 64).getFloat32(28, true);
    };
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      const fb = await call(a.graph.feedback.bind(a.graph), { items: [{ connection: { source: 501, target: 502, type: 0x50 }, success: true }], partial: false });
      expect(fb.applied).toBe(1);
      seen.push(await confidence(b));
    }
    expect(seen).toEqual([0.625, 0.75, 0.875, 1, 1]);
    const act = await call(a.graph.activate.bind(a.graph), { connections: [{ source: 501, target: 502 }], tokens: [], partial: false });
    expect(act.activated).toBe(1);
  }, 60_000);
});
