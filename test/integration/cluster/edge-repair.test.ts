/**
 * Cross-shard connections torn by a crash, in cluster mode (real nats-servers, real gRPC): a
 * connection is two records in two shards' replicated logs (owner first, mirror second), so a node
 * dying between them leaves one side. A shard taken over reconciles its edges with the other
 * shards before it serves: a missing mirror is added, a mirror without its owned connection is
 * removed. The torn states are written into the replicated logs directly, as a crash leaves them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReplicatedLogs } from "../../../src/actors/cluster/log-setup.ts";
import { Direction, RecordFormat } from "../../../src/gen/neurograph/v1/common.ts";
import { startNatsCluster, type NatsCluster } from "../../support/nats-server.ts";
import { packConnections } from "../api/fixtures.ts";
import { create } from "../guardian/rules-harness.ts";
import { closeAll, eventually, rawClient } from "../nats/support.ts";
import { call, type TestNode } from "../node/harness.ts";
import { startClusterNodes } from "./support.ts";

const SHARDS = 4;
const CLUSTER = "er";
let nats: NatsCluster;
let nodes: TestNode[] = [];

async function startNodes(): Promise<void> {
  nodes = await startClusterNodes(nats.url, CLUSTER, ["a", "b"], SHARDS);
}

async function stopNodes(): Promise<void> {
  for (const n of nodes) await n.close().catch(() => undefined);
  nodes = [];
}

/** Connections touching `id` in `direction`, as "source>target" strings. */
async function edgesOf(id: number, direction: Direction): Promise<string[]> {
  const t = nodes[0]!;
  const r = await call(t.graph.getConnections.bind(t.graph), { ids: [id], direction, connectionTypes: [], limit: 0, format: RecordFormat.RECORD_FORMAT_PACKED });
  const b = Buffer.from(r.records);
  return Array.from({ length: b.length / 64 }, (_, i) => `${b.readUInt32LE(i * 64)}>${b.readUInt32LE(i * 64 + 4)}`).sort();
}

beforeAll(async () => {
  nats = await startNatsCluster({ size: 3 });
  await startNodes();
}, 120_000);

afterAll(async () => {
  await stopNodes();
  await closeAll();
  await nats?.dispose();
});

describe("edge reconciliation of a shard taken over", () => {
  it("adds the mirror a crash left out and removes a mirror whose owned connection is gone", async () => {
    // Tokens 1, 2, 3 live on shards 1, 2, 3.
    await create(nodes[0]!, [{ id: 1 }, { id: 2 }, { id: 3 }]);
    await stopNodes();

    // As a crash leaves them: 1→2 only at its owner (shard 1), 1→3 only as a mirror (shard 3).
    const nc = await rawClient(nats.url);
    const logs = await ReplicatedLogs.open({ connection: nc, cluster: CLUSTER, replicas: 3 });
    for (const [shard, edge] of [
      [1, { source: 1, target: 2 }],
      [3, { source: 1, target: 3 }],
    ] as const) {
      const log = logs.open(shard, { owner: "crashed", epoch: 1_000 + shard });
      await log.recover({ loadSnapshot: () => undefined, apply: () => undefined });
      await log.append({ kind: "connections.upsert", records: new Uint8Array(packConnections([edge])) }).durable;
      await log.close();
    }

    await startNodes();
    await eventually("the missing mirror of 1→2 is added and the orphan mirror 1→3 removed", async () => {
      const into2 = await edgesOf(2, Direction.DIRECTION_IN);
      const into3 = await edgesOf(3, Direction.DIRECTION_IN);
      return into2.join() === "1>2" && into3.length === 0;
    }, 20_000);
    expect(await edgesOf(1, Direction.DIRECTION_OUT)).toEqual(["1>2"]);
    // Both sides now agree: a disconnect removes both.
    const t = nodes[1]!;
    await call(t.graph.disconnect.bind(t.graph), { connections: [{ source: 1, target: 2 }], partial: false });
    expect(await edgesOf(2, Direction.DIRECTION_IN)).toEqual([]);
    expect(await edgesOf(1, Direction.DIRECTION_OUT)).toEqual([]);
  }, 180_000);
});
