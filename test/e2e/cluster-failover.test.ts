/**
 * Failover of `neurograph serve` child processes in cluster mode on a real 3-server JetStream
 * cluster: under sustained acknowledged writes, one node is killed with SIGKILL; its shards are
 * owned and serving elsewhere after about one lease time (the figure is printed), no
 * acknowledged write is lost, and the killed node restarts and rejoins cleanly. Writes go through
 * any node (forwarding over NATS) and are retried on UNAVAILABLE as the client library does. Then
 * a rolling restart (SIGTERM, graceful handoff, restart) of all three under concurrent writes
 * loses nothing either.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { credentials, status } from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { AdminServiceClient, ShardState } from "../../src/gen/neurograph/v1/admin_service.ts";
import { RecordFormat } from "../../src/gen/neurograph/v1/common.ts";
import { TokenServiceClient } from "../../src/gen/neurograph/v1/token_service.ts";
import { packTokens } from "../integration/api/fixtures.ts";
import { call } from "../integration/api/harness.ts";
import { startNatsCluster, type NatsCluster } from "../support/nats-server.ts";

const bin = fileURLToPath(new URL("../../bin/neurograph.mjs", import.meta.url));
const SHARDS = 4;
const LEASE = "5s";

interface ServeNode {
  readonly id: string;
  child: ChildProcess;
  address: string;
  client: TokenServiceClient;
  alive: boolean;
}

let nats: NatsCluster | undefined;
const nodes: ServeNode[] = [];
const dirs: string[] = [];

async function start(id: string, dataDir: string): Promise<ServeNode> {
  const args = ["serve", "--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir", dataDir, "--shards", String(SHARDS)];
  args.push("--nats", nats!.url, "--cluster", "fo", "--node-id", id, "--lease", LEASE, "--ask-timeout", "3s", "--ingest-jetstream=false", "--log-level", process.env.NG_FO_ECHO === "1" ? "info" : "warn");
  const child = spawn(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH ?? "" }, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  const address = await new Promise<string>((resolve, reject) => {
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
      if (process.env.NG_FO_ECHO === "1") process.stderr.write(`[${id}] ${d.toString()}`);
      const m = /serving gRPC on (\S+)/.exec(err);
      if (m !== null) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`node ${id} exited with ${code}:\n${err}`)));
  });
  return { id, child, address, client: new TokenServiceClient(address, credentials.createInsecure()), alive: true };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const code = (err: unknown): number | undefined => (err as { code?: number }).code;

/** Creates `ids` (one shard) through any live node; retries UNAVAILABLE and lost connections. True once applied. */
async function write(ids: number[], pick: () => ServeNode): Promise<void> {
  const body = { tokens: { payload: { $case: "packed" as const, value: packTokens(ids.map((id) => ({ id, weight: 0.5 }))) } }, partial: false };
  for (let attempt = 0; ; attempt++) {
    const n = pick();
    try {
      await call(n.client.createTokens.bind(n.client), body);
      return;
    } catch (err) {
      // A retry after an answer was lost finds the batch applied (one shard: all or nothing).
      if (attempt > 0 && code(err) === status.ALREADY_EXISTS) return;
      if (code(err) !== status.UNAVAILABLE && code(err) !== status.DEADLINE_EXCEEDED) throw err;
      if (attempt > 200) throw err;
      await sleep(Math.min(500, 25 * 2 ** Math.min(attempt, 5)));
    }
  }
}

/** Shards `n` serves now (its own view). */
async function servingOn(n: ServeNode): Promise<number[]> {
  const admin = new AdminServiceClient(n.address, credentials.createInsecure());
  try {
    const r = await call(admin.listShards.bind(admin), {});
    return r.shards.filter((x) => x.state === ShardState.SHARD_STATE_SERVING).map((x) => x.shard);
  } finally {
    admin.close();
  }
}

async function settled(): Promise<number[][]> {
  for (;;) {
    const views = await Promise.all(nodes.filter((n) => n.alive).map((n) => servingOn(n)));
    const all = views.flat().sort((a, b) => a - b);
    if (all.length === SHARDS && all.every((s, i) => s === i)) return views;
    await sleep(200);
  }
}

async function missing(n: ServeNode, ids: readonly number[]): Promise<number[]> {
  const out: number[] = [];
  for (let at = 0; at < ids.length; at += 50_000) out.push(...(await missingChunk(n, ids.slice(at, at + 50_000))));
  return out;
}

async function missingChunk(n: ServeNode, ids: readonly number[]): Promise<number[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      return (await call(n.client.getTokens.bind(n.client), { ids: [...ids], format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: true })).missing;
    } catch (err) {
      if (code(err) !== status.UNAVAILABLE || attempt > 100) throw err;
      await sleep(200);
    }
  }
}

afterAll(async () => {
  for (const n of nodes) {
    n.client.close();
    n.child.kill("SIGKILL");
  }
  await nats?.dispose();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("cluster failover (child processes)", () => {
  it("loses no acknowledged write when a node is SIGKILLed under load, the node rejoins, and a rolling restart loses nothing", async () => {
    nats = await startNatsCluster({ size: 3 });
    for (const id of ["k1", "k2", "k3"]) {
      const dir = mkdtempSync(join(tmpdir(), `ng-fo-${id}-`));
      dirs.push(dir);
      nodes.push(await start(id, dir));
    }
    let turn = 0;
    const pick = (): ServeNode => {
      const live = nodes.filter((n) => n.alive);
      return live[turn++ % live.length]!;
    };
    const acked: number[] = [];
    let batch = 0;
    const oneBatch = async (): Promise<number> => {
      const shard = batch % SHARDS;
      const ids = Array.from({ length: 50 }, (_, k) => 1 + shard + SHARDS * (batch * 50 + k));
      batch++;
      await write(ids, pick);
      acked.push(...ids);
      return shard;
    };
    const views = await settled();
    for (let i = 0; i < 40; i++) await oneBatch();

    // Kill the node serving the most shards.
    const most = views.reduce((best, v, i) => (v.length > views[best]!.length ? i : best), 0);
    const victim = nodes[most]!;
    const victimDir = dirs[most]!;
    expect(views[most]!.length).toBeGreaterThan(0);
    victim.alive = false;
    const exited = new Promise((r) => victim.child.once("exit", r));
    victim.child.kill("SIGKILL");
    await exited; // writes until the process is gone may still land (and are acknowledged)
    const killedAt = Date.now();
    if (process.env.NG_FO_ECHO === "1") console.error(`killed ${victim.id} at ${new Date(killedAt).toISOString()} serving ${views[most]!.join(",")}`);
    const served = new Set<number>();
    while (served.size < SHARDS) served.add(await oneBatch());
    const failoverMs = Date.now() - killedAt;
    console.error(`failover after SIGKILL: every shard accepted writes again ${failoverMs} ms after the kill (lease ${LEASE})`);
    for (let i = 0; i < 20; i++) await oneBatch();

    for (const n of nodes.filter((x) => x.alive)) expect(await missing(n, acked)).toEqual([]);

    // The killed node restarts with its data directory and rejoins; nothing was lost meanwhile.
    victim.client.close();
    const back = await start(victim.id, victimDir);
    nodes[most] = back;
    await settled();
    for (let i = 0; i < 20; i++) await oneBatch();
    for (const n of nodes) expect(await missing(n, acked)).toEqual([]);

    // Rolling restart under concurrent load: each node stops gracefully (SIGTERM: it hands its
    // shards over) and comes back; writers only ever see UNAVAILABLE, which they retry.
    let running = true;
    const writers = Array.from({ length: 2 }, async () => {
      while (running) await oneBatch();
    });
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      n.alive = false;
      const gone = new Promise<number | null>((r) => n.child.once("exit", r));
      n.child.kill("SIGTERM");
      expect(await gone).toBe(0);
      n.client.close();
      nodes[i] = await start(n.id, dirs[i]!);
      await settled();
    }
    running = false;
    await Promise.all(writers);
    for (const n of nodes) expect(await missing(n, acked)).toEqual([]);
  }, 240_000);
});
