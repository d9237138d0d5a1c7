/**
 * Crash test through the real system (DESIGN §9, issue 4): `neurograph serve` child processes
 * with the WAL on, sustained gRPC client-streaming ingest and connects from this process, and a
 * SIGKILL at a seeded random moment in each of 20 rounds (with snapshots and pruning running).
 * After every restart:
 * - every acknowledged token and connection is present and byte-identical;
 * - every write that was in flight at the kill is either wholly present or wholly absent per
 *   shard (one shard's part of a batch is one WAL record: never half-applied);
 * - nothing else exists (the node's token count equals what the checks found), and writes that
 *   were lost at one crash never reappear later;
 * - connections span shards (owner at the source's shard, mirror at the target's), and both sides
 *   agree exactly: the in-edges of the targets are byte for byte the out-edges of the sources (a
 *   kill between a connect's owner and mirror commits is repaired before the node serves).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { AdminServiceClient } from "../../src/gen/neurograph/v1/admin_service.ts";
import { Direction, RecordFormat } from "../../src/gen/neurograph/v1/common.ts";
import { GraphServiceClient } from "../../src/gen/neurograph/v1/graph_service.ts";
import { TokenServiceClient, type IngestTokensResponse } from "../../src/gen/neurograph/v1/token_service.ts";
import { call } from "../integration/api/harness.ts";
import { packConnections, packTokens } from "../integration/api/fixtures.ts";
import { prng, spawnServe } from "../support/serve-process.ts";

const SEED = 20261122;
const ROUNDS = 20;
const SHARDS = 4;

/** A write sent to the node: its items grouped by the shard that owns them. */
interface Sent {
  /** shard → ids (tokens) or connection keys. */
  readonly parts: Map<number, string[]>;
  state: "inflight" | "acked";
}

interface Clients {
  readonly tokens: TokenServiceClient;
  readonly graph: GraphServiceClient;
  readonly admin: AdminServiceClient;
  close(): void;
}

function connect(address: string): Clients {
  const opts = { "grpc.max_receive_message_length": 64 * 1024 * 1024 };
  const c = credentials.createInsecure();
  const tokens = new TokenServiceClient(address, c, opts);
  const graph = new GraphServiceClient(address, c, opts);
  const admin = new AdminServiceClient(address, c, opts);
  return { tokens, graph, admin, close: () => [tokens, graph, admin].forEach((x) => x.close()) };
}

/** What the test knows: every record it sent (by id / key) and the writes they came in. */
class Ledger {
  readonly tokenBytes = new Map<number, Buffer>();
  readonly edgeBytes = new Map<string, Buffer>();
  readonly tokenWrites: Sent[] = [];
  readonly edgeWrites: Sent[] = [];
  /** Items known present (acknowledged, or found after a restart) and known gone. */
  readonly presentTokens = new Set<number>();
  readonly goneTokens = new Set<number>();
  readonly presentEdges = new Set<string>();
  readonly goneEdges = new Set<string>();
  nextId = 1;
}

const key = (source: number, target: number): string => `${source}>${target}`;

async function readTokens(c: Clients, ids: number[]): Promise<Map<number, Buffer>> {
  const out = new Map<number, Buffer>();
  for (let i = 0; i < ids.length; i += 20_000) {
    const chunk = ids.slice(i, i + 20_000);
    const res = await call(c.tokens.getTokens.bind(c.tokens), { ids: chunk, format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: true });
    const present = chunk.filter((id) => !res.missing.includes(id));
    present.forEach((id, j) => out.set(id, res.records.subarray(j * 64, j * 64 + 64)));
  }
  return out;
}

/** Connections by key: `OUT` of sources (the owners' side) or `IN` of targets (the mirrors' side). */
async function readEdges(c: Clients, ids: number[], direction = Direction.DIRECTION_OUT): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (let i = 0; i < ids.length; i += 5_000) {
    const res = await call(c.graph.getConnections.bind(c.graph), {
      ids: ids.slice(i, i + 5_000),
      direction,
      connectionTypes: [],
      limit: 0,
      format: RecordFormat.RECORD_FORMAT_PACKED,
    });
    for (let o = 0; o < res.records.length; o += 64) out.set(key(res.records.readUInt32LE(o), res.records.readUInt32LE(o + 4)), res.records.subarray(o, o + 64));
  }
  return out;
}

/** Checks the node against the ledger and settles every in-flight write (present or gone). */
async function verify(c: Clients, ledger: Ledger, round: number): Promise<void> {
  const ids = [...ledger.tokenBytes.keys()];
  const got = await readTokens(c, ids);
  for (const [id, bytes] of got) {
    expect(ledger.goneTokens.has(id), `round ${round}: token ${id} was lost at an earlier crash and came back`).toBe(false);
    expect(bytes.equals(ledger.tokenBytes.get(id)!), `round ${round}: token ${id} differs`).toBe(true);
  }
  for (const id of ledger.presentTokens) expect(got.has(id), `round ${round}: acknowledged token ${id} is missing`).toBe(true);
  const stats = await call(c.admin.getStats.bind(c.admin), {});
  expect(stats.tokens, `round ${round}: the node holds tokens the test never sent`).toBe(got.size);

  const sources = [...new Set([...ledger.edgeBytes.keys()].map((k) => Number(k.split(">")[0])))];
  const edges = await readEdges(c, sources);
  for (const [k, bytes] of edges) {
    const want = ledger.edgeBytes.get(k);
    expect(want, `round ${round}: connection ${k} was never sent`).toBeDefined();
    expect(ledger.goneEdges.has(k), `round ${round}: connection ${k} was lost at an earlier crash and came back`).toBe(false);
    expect(bytes.equals(want!), `round ${round}: connection ${k} differs`).toBe(true);
  }
  for (const k of ledger.presentEdges) expect(edges.has(k), `round ${round}: acknowledged connection ${k} is missing`).toBe(true);
  // The mirrors' side: exactly the owners' side, no one-sided connection either way.
  const targets = [...new Set([...ledger.edgeBytes.keys()].map((k) => Number(k.split(">")[1])))];
  const mirrored = await readEdges(c, targets, Direction.DIRECTION_IN);
  for (const [k, bytes] of mirrored) {
    const owned = edges.get(k);
    expect(owned, `round ${round}: connection ${k} is on its target's shard only`).toBeDefined();
    expect(bytes.equals(owned!), `round ${round}: connection ${k} differs between its two shards`).toBe(true);
  }
  for (const k of edges.keys()) expect(mirrored.has(k), `round ${round}: connection ${k} is on its source's shard only`).toBe(true);

  settle(ledger.tokenWrites, (id) => got.has(Number(id)), ledger.presentTokens, ledger.goneTokens, Number, round);
  settle(ledger.edgeWrites, (k) => edges.has(k), ledger.presentEdges, ledger.goneEdges, String, round);
}

function settle(writes: Sent[], has: (item: string) => boolean, present: Set<unknown>, gone: Set<unknown>, conv: (s: string) => unknown, round: number): void {
  for (const w of writes) {
    if (w.state === "acked") continue;
    for (const [shard, items] of w.parts) {
      const n = items.filter(has).length;
      expect([0, items.length], `round ${round}: an unacknowledged write is half-applied on shard ${shard} (${n} of ${items.length})`).toContain(n);
      for (const item of items) (n === 0 ? gone : present).add(conv(item));
    }
  }
  writes.length = 0;
}

function ingestStream(c: Clients, messages: Buffer[]): Promise<IngestTokensResponse> {
  return new Promise((resolve, reject) => {
    const stream = c.tokens.ingestTokens((err, res) => (err !== null || res === undefined ? reject(err ?? new Error("no response")) : resolve(res)));
    for (const records of messages) stream.write({ records, partial: false, returnIds: false });
    stream.end();
  });
}

async function ingestLoop(c: Clients, ledger: Ledger, rng: ReturnType<typeof prng>, stopped: () => boolean): Promise<void> {
  while (!stopped()) {
    const messages: Buffer[] = [];
    const writes: Sent[] = [];
    for (let m = 1 + rng.int(3); m > 0; m--) {
      const n = 50 + rng.int(400);
      const specs = Array.from({ length: n }, () => {
        const id = ledger.nextId++;
        const p = (): [number, number, number] => [rng.int(20000) / 100 - 100, rng.int(20000) / 100 - 100, rng.int(20000) / 100 - 100];
        return { id, l1: p(), l8: [rng.int(600) / 100 - 3, rng.int(600) / 100 - 3, rng.int(600) / 100 - 3] as [number, number, number], weight: rng.int(1000) / 1000, entityType: rng.int(16), timestamp: 1_700_000_000 + rng.int(1_000_000) };
      });
      const records = packTokens(specs);
      const parts = new Map<number, string[]>();
      specs.forEach((s, i) => {
        ledger.tokenBytes.set(s.id, records.subarray(i * 64, i * 64 + 64));
        const list = parts.get(s.id % SHARDS) ?? [];
        list.push(String(s.id));
        parts.set(s.id % SHARDS, list);
      });
      messages.push(records);
      writes.push({ parts, state: "inflight" });
    }
    ledger.tokenWrites.push(...writes);
    let res: IngestTokensResponse;
    try {
      res = await ingestStream(c, messages);
    } catch {
      return; // the node died: these writes stay in flight
    }
    expect(res.rejectedCount).toBe(0);
    for (const w of writes) {
      w.state = "acked";
      for (const items of w.parts.values()) for (const id of items) ledger.presentTokens.add(Number(id));
    }
  }
}

async function connectLoop(c: Clients, ledger: Ledger, rng: ReturnType<typeof prng>, stopped: () => boolean): Promise<void> {
  const pool = [...ledger.presentTokens];
  if (pool.length < 2) return;
  while (!stopped()) {
    // Sources and targets from every shard: most connections cross shards (a transaction whose
    // owners commit before the mirrors), and a batch has owners on several shards.
    const edges: { source: number; target: number; confidence: number }[] = [];
    for (let tries = 0; edges.length < 8 && tries < 64; tries++) {
      const source = pool[rng.int(pool.length)]!;
      const target = pool[rng.int(pool.length)]!;
      if (source === target || ledger.edgeBytes.has(key(source, target))) continue;
      ledger.edgeBytes.set(key(source, target), Buffer.alloc(0));
      edges.push({ source, target, confidence: (1 + rng.int(99)) / 100 });
    }
    if (edges.length === 0) return;
    const records = packConnections(edges);
    const parts = new Map<number, string[]>();
    edges.forEach((e, i) => {
      ledger.edgeBytes.set(key(e.source, e.target), records.subarray(i * 64, i * 64 + 64));
      // One owner shard's part is one WAL record: all of it or none.
      const list = parts.get(e.source % SHARDS) ?? [];
      list.push(key(e.source, e.target));
      parts.set(e.source % SHARDS, list);
    });
    const write: Sent = { parts, state: "inflight" };
    ledger.edgeWrites.push(write);
    let accepted: number;
    try {
      accepted = (await call(c.graph.connect.bind(c.graph), { connections: { payload: { $case: "packed", value: records } }, partial: false })).accepted;
    } catch {
      return;
    }
    expect(accepted).toBe(edges.length);
    write.state = "acked";
    for (const e of edges) ledger.presentEdges.add(key(e.source, e.target));
  }
}

describe("crash test through neurograph serve (SIGKILL during gRPC ingest and connects)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "ng-node-crash-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it(`keeps every acknowledged write over ${ROUNDS} kills and never half-applies one`, async () => {
    const rng = prng(SEED);
    const ledger = new Ledger();
    let acked = 0;
    for (let round = 0; round <= ROUNDS; round++) {
      const child = spawnServe(dataDir, ["--shards", String(SHARDS), "--snapshot-every-records", "40"]);
      const c = connect(await child.serving);
      try {
        await verify(c, ledger, round);
        if (round === ROUNDS) break;
        let dead = false;
        const load = Promise.all([ingestLoop(c, ledger, rng, () => dead), connectLoop(c, ledger, rng, () => dead)]);
        await new Promise((r) => setTimeout(r, 150 + rng.int(900)));
        child.kill("SIGKILL");
        await child.exit;
        dead = true;
        await load;
        acked = ledger.presentTokens.size;
        process.stderr.write(`crash round ${round}: ${acked} tokens and ${ledger.presentEdges.size} connections acknowledged so far\n`);
      } finally {
        c.close();
        if (child.proc.exitCode === null && child.proc.signalCode === null) {
          child.kill("SIGTERM");
          await child.exit;
        }
      }
    }
    // The load was real: many acknowledged writes, and connections among them.
    expect(acked).toBeGreaterThan(ROUNDS * 100);
    expect(ledger.presentEdges.size).toBeGreaterThan(ROUNDS * 8);
  }, 900_000);
});
