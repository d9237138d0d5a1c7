/**
 * Durability of `neurograph serve` across restarts, through the CLI and gRPC:
 * - a node with data (snapshot + log tail) restarts and gives the same answers to a fixed set of
 *   queries; `neurograph snapshot` and `neurograph wal stats` work against it;
 * - `--no-wal` says it keeps nothing, keeps nothing, and refuses `snapshot`;
 * - a flipped bit in the middle of a log is refused at start with the documented message (shard,
 *   LSN, `neurograph serve --repair`) and a non-zero exit; `wal inspect` reports it; `--repair`
 *   then serves everything before the damage.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { AdminServiceClient } from "../../src/gen/neurograph/v1/admin_service.ts";
import { Direction, RecordFormat, Space } from "../../src/gen/neurograph/v1/common.ts";
import { GraphServiceClient, PathAlgorithm, TraversalOrder } from "../../src/gen/neurograph/v1/graph_service.ts";
import { TokenServiceClient } from "../../src/gen/neurograph/v1/token_service.ts";
import { call } from "../integration/api/harness.ts";
import { packConnections, packTokens, type TokenSpec } from "../integration/api/fixtures.ts";
import { EDGES, TOKENS } from "../integration/node/graph-fixture.ts";
import { prng, runCli, spawnServe, type ServeChild } from "../support/serve-process.ts";

interface Clients {
  readonly tokens: TokenServiceClient;
  readonly graph: GraphServiceClient;
  readonly admin: AdminServiceClient;
  close(): void;
}

function connect(address: string): Clients {
  const c = credentials.createInsecure();
  const tokens = new TokenServiceClient(address, c);
  const graph = new GraphServiceClient(address, c);
  const admin = new AdminServiceClient(address, c);
  return { tokens, graph, admin, close: () => [tokens, graph, admin].forEach((x) => x.close()) };
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "ng-node-restart-"));
  dirs.push(d);
  return d;
}

async function stop(child: ServeChild): Promise<void> {
  child.kill("SIGTERM");
  expect(await child.exit).toBe(0);
}

async function create(c: Clients, specs: readonly TokenSpec[] | Buffer): Promise<void> {
  const value = Buffer.isBuffer(specs) ? specs : packTokens(specs);
  const res = await call(c.tokens.createTokens.bind(c.tokens), { tokens: { payload: { $case: "packed", value } }, partial: false });
  expect(res.accepted).toBe(value.length / 64);
}

/** Tokens the restart test deletes (after its snapshot). */
const DELETED = [4, 150];

/** A fixed set of reads over the whole graph; their answers must survive restarts unchanged. */
async function answers(c: Clients, ids: number[]): Promise<unknown[]> {
  const packed = RecordFormat.RECORD_FORMAT_PACKED;
  const none = RecordFormat.RECORD_FORMAT_NONE;
  const origin = { x: 0, y: 0, z: 0 };
  const out: unknown[] = [];
  out.push(await call(c.tokens.getTokens.bind(c.tokens), { ids, format: packed, allowMissing: true }));
  const live = ids.filter((id) => !DELETED.includes(id));
  out.push(await call(c.graph.getConnections.bind(c.graph), { ids: live, direction: Direction.DIRECTION_BOTH, connectionTypes: [], limit: 0, format: packed }));
  out.push(
    await call(c.graph.traverse.bind(c.graph), { start: [1], order: TraversalOrder.TRAVERSAL_ORDER_BFS, direction: Direction.DIRECTION_OUT, maxDepth: 5, maxNodes: 0, connectionTypes: [], format: none }),
  );
  for (const algorithm of [PathAlgorithm.PATH_ALGORITHM_BFS, PathAlgorithm.PATH_ALGORITHM_DIJKSTRA]) {
    out.push(await call(c.graph.shortestPath.bind(c.graph), { source: 1, target: 7, algorithm, direction: Direction.DIRECTION_OUT, connectionTypes: [] }));
  }
  out.push(
    await call(c.graph.spreadingActivation.bind(c.graph), {
      seeds: [1],
      seedEnergies: [],
      decay: 0.5,
      threshold: 0.01,
      maxDepth: 3,
      direction: Direction.DIRECTION_OUT,
      maxResults: 0,
      connectionTypes: [],
    }),
  );
  out.push(await call(c.tokens.range.bind(c.tokens), { space: Space.SPACE_L1_PHYSICAL, center: origin, radius: 30, limit: 0, format: packed }));
  out.push(await call(c.tokens.kNearest.bind(c.tokens), { space: Space.SPACE_L1_PHYSICAL, query: { $case: "point", value: { x: 5, y: 5, z: 4 } }, k: 25, format: none }));
  out.push(await call(c.tokens.neighbors.bind(c.tokens), { id: 1, space: Space.SPACE_L1_PHYSICAL, radius: 20, limit: 0, format: none }));
  const stats = await call(c.admin.getStats.bind(c.admin), {});
  out.push({ tokens: stats.tokens, connections: stats.connections });
  return out;
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("neurograph serve keeps its data across restarts", () => {
  it("answers a fixed set of queries the same after restarts (snapshot + log tail); snapshot and wal stats through the CLI", async () => {
    const dataDir = tempDir();
    const rng = prng(7);
    const extra: TokenSpec[] = Array.from({ length: 3000 }, (_, i) => ({
      id: 100 + i,
      l1: [rng.int(8000) / 100 - 40, rng.int(8000) / 100 - 40, rng.int(8000) / 100 - 40],
      weight: rng.int(100) / 100,
    }));
    const ids = [...TOKENS.map((t) => t.id), ...extra.map((t) => t.id)];
    const first = spawnServe(dataDir, ["--shards", "4"]);
    const address = await first.serving;
    const env = { NG_GRPC_ADDR: address };
    let c = connect(address);
    await create(c, TOKENS);
    await call(c.graph.connect.bind(c.graph), { connections: { payload: { $case: "packed", value: packConnections(EDGES) } }, partial: false });
    await create(c, extra.slice(0, 2000));

    const snap = await runCli(["snapshot", "--json"], env);
    expect(snap.code, snap.stderr).toBe(0);
    const shots = JSON.parse(snap.stdout) as { shard: number; lsn: number; unchanged: boolean }[];
    expect(shots.map((s) => s.shard)).toEqual([0, 1, 2, 3]);
    expect(shots.every((s) => s.lsn > 0 && !s.unchanged)).toBe(true);

    // After the snapshot: more tokens, a move, a delete and a new connection live only in the log.
    await create(c, extra.slice(2000));
    await call(c.tokens.updateTokens.bind(c.tokens), { tokens: { payload: { $case: "packed", value: packTokens([{ id: 2, l1: [3, 4, 0] }]) } }, partial: false });
    await call(c.tokens.deleteTokens.bind(c.tokens), { ids: DELETED, partial: false });
    await call(c.graph.connect.bind(c.graph), { connections: { payload: { $case: "packed", value: packConnections([{ source: 7, target: 100, confidence: 0.75 }]) } }, partial: false });

    const stats = await runCli(["wal", "stats", "--json"], env);
    expect(stats.code, stats.stderr).toBe(0);
    const wal = JSON.parse(stats.stdout) as { shard: number; wal: { lastLsn: number; durableLsn: number; lastSnapshotLsn: number; degraded: string } }[];
    for (const s of wal) {
      expect(s.wal.durableLsn).toBe(s.wal.lastLsn);
      expect(s.wal.lastSnapshotLsn).toBe(shots[s.shard]!.lsn);
      expect(s.wal.lastLsn).toBeGreaterThan(s.wal.lastSnapshotLsn);
      expect(s.wal.degraded).toBe("");
    }
    const text = await runCli(["wal", "stats"], env);
    expect(text.stdout).toMatch(/shard\s+state\s+last LSN\s+durable LSN/);

    const before = await answers(c, ids);
    c.close();
    await stop(first);

    // The first restart recovers on the main thread alone, the second loads every snapshot on
    // recovery threads (started before the node's modules load): the same answers either way.
    const recovery: Record<string, string>[] = [{ NG_RECOVERY_THREADS: "0" }, { NG_RECOVERY_THREADS: "2", NG_RECOVERY_THREAD_MIN_TOKENS: "1" }];
    for (let restart = 0; restart < 2; restart++) {
      const again = spawnServe(dataDir, ["--shards", "4"], undefined, recovery[restart]);
      c = connect(await again.serving);
      try {
        expect(await answers(c, ids)).toEqual(before);
      } finally {
        c.close();
        await stop(again);
      }
    }
  }, 300_000);

  it("--no-wal says it keeps nothing, keeps nothing, and refuses snapshots", async () => {
    const dataDir = tempDir();
    const first = spawnServe(dataDir, ["--shards", "2", "--no-wal"]);
    const address = await first.serving;
    expect(first.stderr()).toMatch(/NO write-ahead log: data is lost when the process stops/);
    const c = connect(address);
    await create(c, TOKENS);
    c.close();
    const snap = await runCli(["snapshot"], { NG_GRPC_ADDR: address });
    expect(snap.code).toBe(1);
    expect(snap.stderr).toMatch(/without a WAL|keeps no (write-ahead )?log/);
    await stop(first);
    const second = spawnServe(dataDir, ["--shards", "2", "--no-wal"]);
    const c2 = connect(await second.serving);
    try {
      expect((await call(c2.admin.getStats.bind(c2.admin), {})).tokens).toBe(0);
    } finally {
      c2.close();
      await stop(second);
    }
  }, 120_000);
});

/** 100 tokens with bytes unique to batch `k` (6.4 KB: stored once, in LMDB overflow pages). */
function batch(k: number): Buffer {
  const specs = Array.from({ length: 100 }, (_, i) => ({ id: k * 1000 + i, l1: [k, i / 10, -k] as [number, number, number], weight: ((k * 131 + i * 7) % 997) / 997 }));
  return packTokens(specs);
}

describe("a damaged log through the CLI", () => {
  it("refuses to start naming shard, LSN and --repair; wal inspect reports it; --repair serves everything before it", async () => {
    const dataDir = tempDir();
    const first = spawnServe(dataDir, ["--shards", "1"]);
    let c = connect(await first.serving);
    for (let k = 1; k <= 10; k++) await create(c, batch(k));
    c.close();
    await stop(first);

    const clean = await runCli(["wal", "inspect", dataDir, "--summary"]);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/10 record\(s\) \(LSN 1\.\.10\)/);

    // Flip one bit inside the 5th record's stored tokens.
    const file = join(dataDir, "wal", "data.mdb");
    const bytes = readFileSync(file);
    const needle = batch(5).subarray(64 * 50, 64 * 50 + 48);
    const at = bytes.indexOf(needle);
    expect(at).toBeGreaterThan(0);
    expect(bytes.indexOf(needle, at + 1)).toBe(-1);
    const fd = openSync(file, "r+");
    writeSync(fd, Uint8Array.of(bytes[at + 10]! ^ 0x20), 0, 1, at + 10);
    closeSync(fd);

    const refused = spawnServe(dataDir, ["--shards", "1"]);
    expect(await refused.exit).toBe(1);
    expect(refused.stderr()).toMatch(/shard 0: the record at LSN 5 is damaged \(CRC32C mismatch/);
    expect(refused.stderr()).toMatch(/To keep everything up to LSN 4 .* restart with `neurograph serve --repair`/);
    expect(refused.stderr()).toContain("[DATA_LOSS]");

    const damaged = await runCli(["wal", "inspect", dataDir, "--summary"]);
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toMatch(/WAL check failed/);

    const repaired = spawnServe(dataDir, ["--shards", "1", "--repair"]);
    c = connect(await repaired.serving);
    const ids = Array.from({ length: 10 }, (_, k) => (k + 1) * 1000);
    const got = await call(c.tokens.getTokens.bind(c.tokens), { ids, format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: true });
    expect(got.missing).toEqual(ids.slice(4));
    expect(got.records.equals(Buffer.concat([1, 2, 3, 4].map((k) => batch(k).subarray(0, 64))))).toBe(true);
    expect((await call(c.admin.getStats.bind(c.admin), {})).tokens).toBe(400);
    c.close();
    await stop(repaired);

    // Repaired for good: a plain start serves the same.
    const after = spawnServe(dataDir, ["--shards", "1"]);
    c = connect(await after.serving);
    try {
      expect((await call(c.admin.getStats.bind(c.admin), {})).tokens).toBe(400);
    } finally {
      c.close();
      await stop(after);
    }
  }, 300_000);
});
