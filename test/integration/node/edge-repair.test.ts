/**
 * Cross-shard connections torn by a crash are repaired at node start (docs/wal.md). The torn
 * state is built deterministically: a node writes a consistent graph and stops, then one side of
 * each operation is appended to one shard's real LMDB WAL only (as a crash between the two
 * phases leaves it), and a node starts on that data directory. Afterwards both sides agree
 * exactly, the repairs are counted, and they are durable (a second start repairs nothing).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { loadServeConfig } from "../../../src/cli/serve.ts";
import { Direction, RecordFormat } from "../../../src/gen/neurograph/v1/common.ts";
import { GraphServiceClient } from "../../../src/gen/neurograph/v1/graph_service.ts";
import { TokenServiceClient } from "../../../src/gen/neurograph/v1/token_service.ts";
import { startNode, type NodeHandle } from "../../../src/node/index.ts";
import { createLogger } from "../../../src/telemetry/index.ts";
import { WalHarness } from "../../support/wal-harness.ts";
import { parseExposition, valueOf } from "../../unit/telemetry/exposition.ts";
import { call } from "../api/harness.ts";
import { packConnections, packTokens } from "../api/fixtures.ts";

const SHARDS = 2;
// Shard 0 owns the even ids, shard 1 the odd ones.
const IDS = [2, 3, 4, 5, 6, 7, 8, 9];

interface Running {
  readonly node: NodeHandle;
  readonly tokens: TokenServiceClient;
  readonly graph: GraphServiceClient;
  close(): Promise<void>;
}

async function start(dataDir: string): Promise<Running> {
  const config = loadServeConfig(
    ["--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir", dataDir, "--shards", String(SHARDS), "--log-level", "silent"],
    {},
  );
  const node = await startNode(config, { logger: createLogger({ level: "silent" }) });
  const tokens = new TokenServiceClient(node.grpcAddress, credentials.createInsecure());
  const graph = new GraphServiceClient(node.grpcAddress, credentials.createInsecure());
  return {
    node,
    tokens,
    graph,
    async close() {
      tokens.close();
      graph.close();
      await node.stop();
    },
  };
}

/** Connection keys `source>target:confidence` seen from one direction, over every live token. */
async function edges(r: Running, direction: Direction): Promise<string[]> {
  const got = await call(r.tokens.getTokens.bind(r.tokens), { ids: IDS, format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: true });
  const live = IDS.filter((id) => !got.missing.includes(id));
  const res = await call(r.graph.getConnections.bind(r.graph), { ids: live, direction, connectionTypes: [], limit: 0, format: RecordFormat.RECORD_FORMAT_PACKED });
  const out: string[] = [];
  for (let o = 0; o < res.records.length; o += 64) {
    out.push(`${res.records.readUInt32LE(o)}>${res.records.readUInt32LE(o + 4)}:${res.records.readFloatLE(o + 28).toFixed(2)}`);
  }
  return out.sort();
}

async function repairs(r: Running): Promise<Record<string, number | undefined>> {
  const e = parseExposition(await r.node.metrics.metrics());
  const kinds = ["mirror_added", "mirror_updated", "mirror_removed", "owner_removed"];
  return Object.fromEntries(kinds.map((kind) => [kind, valueOf(e, "neurograph_wal_edge_repairs_total", { kind })]));
}

describe("edge reconciliation at node start", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "ng-edge-repair-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("rolls every torn cross-shard connect, disconnect and delete forward, durably", async () => {
    // 1. A consistent graph, every connection across the two shards.
    const first = await start(dataDir);
    try {
      await call(first.tokens.createTokens.bind(first.tokens), {
        tokens: { payload: { $case: "packed", value: packTokens(IDS.map((id) => ({ id, l1: [id, 0, 0] }))) } },
        partial: false,
      });
      const connected = await call(first.graph.connect.bind(first.graph), {
        connections: {
          payload: {
            $case: "packed",
            value: packConnections([
              { source: 2, target: 3 },
              { source: 4, target: 5 },
              { source: 5, target: 6 },
              { source: 7, target: 2, confidence: 0.25 },
              { source: 8, target: 9 },
            ]),
          },
        },
        partial: false,
      });
      expect(connected.accepted).toBe(5);
      expect(await edges(first, Direction.DIRECTION_IN)).toEqual(await edges(first, Direction.DIRECTION_OUT));
    } finally {
      await first.close();
    }

    // 2. Phase one of each operation only, in one shard's WAL (what a SIGKILL between the phases leaves).
    const wal = await WalHarness.open(dataDir, { shardCount: SHARDS });
    try {
      const torn = [
        // connect 6 → 7: the owner committed, the mirror did not.
        wal.append(0, { kind: "connections.upsert", records: packConnections([{ source: 6, target: 7, confidence: 0.75 }]) }),
        // upsert of 7 → 2 with new values: the owner committed, the mirror kept the old values.
        wal.append(1, { kind: "connections.upsert", records: packConnections([{ source: 7, target: 2, confidence: 0.5 }]) }),
        // disconnect 2 → 3: the owner removed it, the mirror on shard 1 stayed.
        wal.append(0, { kind: "connections.remove", sources: Uint32Array.of(2), targets: Uint32Array.of(3), types: Uint8Array.of(0x50) }),
        // delete token 5: its shard deleted it (with 5 → 6 and the mirror of 4 → 5); shard 0
        // still owns 4 → 5 and mirrors 5 → 6.
        wal.append(1, { kind: "tokens.delete", ids: Uint32Array.of(5) }),
      ];
      await Promise.all(torn.map((t) => t.durable));
    } finally {
      await wal.close();
    }

    // 3. The node repairs it before serving.
    const second = await start(dataDir);
    try {
      const out = await edges(second, Direction.DIRECTION_OUT);
      expect(out).toEqual(["6>7:0.75", "7>2:0.50", "8>9:0.50"]);
      expect(await edges(second, Direction.DIRECTION_IN)).toEqual(out);
      expect(await repairs(second)).toEqual({ mirror_added: 1, mirror_updated: 1, mirror_removed: 2, owner_removed: 1 });
    } finally {
      await second.close();
    }

    // 4. The repairs were logged: the next start finds both sides in agreement.
    const third = await start(dataDir);
    try {
      const out = await edges(third, Direction.DIRECTION_OUT);
      expect(out).toEqual(["6>7:0.75", "7>2:0.50", "8>9:0.50"]);
      expect(await edges(third, Direction.DIRECTION_IN)).toEqual(out);
      expect(await repairs(third)).toEqual({ mirror_added: 0, mirror_updated: 0, mirror_removed: 0, owner_removed: 0 });
    } finally {
      await third.close();
    }
  }, 60_000);
});
