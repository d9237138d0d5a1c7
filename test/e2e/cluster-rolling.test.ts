/**
 * Cluster mode with `neurograph serve` child processes on a real 3-server JetStream cluster,
 * driven through the client library (`NeuroGraphClient` with every node's address):
 *
 * - Rolling restart of all three nodes (SIGTERM: graceful handoff; restart on the same port and
 *   data directory) under concurrent writes: every write the client library returns is there
 *   afterwards on every node, no call fails, and every failure the library saw on the way (and
 *   retried) was UNAVAILABLE (never CANCELLED or DEADLINE_EXCEEDED).
 * - Fencing: a node paused (SIGSTOP) beyond its lease loses its shards to the others; writes
 *   that reach it while it still believes it owns them are rejected (UNAVAILABLE) or, once it
 *   knows better, forwarded to the new owners: nothing it acknowledges is lost and nothing it
 *   rejects is applied. Resumed, it rejoins cleanly and takes its shards back.
 */
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NeuroGraphClient } from "../../src/client/index.ts";
import { ErrorCode, NeuroGraphError } from "../../src/core/errors.ts";
import { freePort, startNatsCluster, type NatsCluster } from "../support/nats-server.ts";
import { spawnServe, type ServeChild } from "../support/serve-process.ts";

const SHARDS = 4;
const trace = (what: string): void => void (process.env["NG_ROLL_TRACE"] === "1" && process.stderr.write(`${new Date().toISOString()} ${what}\n`));
// 5 s (the DESIGN default): a 3 s lease expires under a starved 2-core machine and the cluster thrashes.
const LEASE = "5s";

interface Node {
  readonly id: string;
  readonly dir: string;
  readonly port: number;
  child: ServeChild;
}

let nats: NatsCluster | undefined;
const nodes: Node[] = [];
const clients: NeuroGraphClient[] = [];

function spawnNode(n: Omit<Node, "child">): ServeChild {
  const child = spawnServe(n.dir, [
    ...["--grpc-addr", `127.0.0.1:${n.port}`, "--shards", String(SHARDS), "--nats", nats!.url, "--cluster", "roll"],
    ...["--node-id", n.id, "--lease", LEASE, "--ask-timeout", "5s", "--ingest-jetstream=false"],
    ...(process.env["NG_ROLL_TRACE"] === "1" ? ["--log-level", "info"] : []),
  ]);
  const logs = process.env["NG_ROLL_LOGS"];
  if (logs !== undefined) void child.exit.then(() => appendFileSync(join(logs, `${n.id}.log`), child.stderr()));
  void child.exit.then((code) => trace(`${n.id} exited with ${code}: ${child.stderr().split("\n").filter((l) => /node:|"level":[45]0/.test(l) && !/prepared transaction expired|shard\.learn/.test(l)).join("\n").slice(-3000)}`));
  return child;
}

async function startNode(id: string): Promise<Node> {
  const n = { id, dir: mkdtempSync(join(tmpdir(), `ng-roll-${id}-`)), port: await freePort() };
  const child = spawnNode(n);
  await child.serving;
  trace(`started ${id} on ${n.port}`);
  return { ...n, child };
}

async function restart(n: Node): Promise<void> {
  n.child = spawnNode(n);
  await n.child.serving;
  trace(`restarted ${n.id}`);
}

function client(options: ConstructorParameters<typeof NeuroGraphClient>[0]): NeuroGraphClient {
  const c = new NeuroGraphClient(options);
  clients.push(c);
  return c;
}

const direct = new Map<number, NeuroGraphClient>();

/** A client of one node only. */
function at(n: Node): NeuroGraphClient {
  let c = direct.get(n.port);
  if (c === undefined) direct.set(n.port, (c = client({ address: `127.0.0.1:${n.port}` })));
  return c;
}

/** Every shard served by exactly one of `live` (each node's own view). */
async function settled(live: readonly Node[]): Promise<void> {
  for (;;) {
    const views = await Promise.all(live.map((n) => at(n).listShards()));
    const serving = views.flatMap((v) => v.filter((s) => s.state === "serving").map((s) => s.shard)).sort((a, b) => a - b);
    if (serving.length === SHARDS && serving.every((s, i) => s === i)) return trace(`settled on ${live.map((n) => n.id).join(",")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Ids of `ids` that a node does not have. */
async function missingOn(c: NeuroGraphClient, ids: readonly number[]): Promise<number[]> {
  const out: number[] = [];
  for (let at = 0; at < ids.length; at += 20_000) out.push(...(await c.getTokenRecords(ids.slice(at, at + 20_000), { allowMissing: true })).missing);
  return out;
}

afterAll(async () => {
  for (const c of clients) c.close();
  for (const n of nodes) {
    n.child.kill("SIGCONT");
    n.child.kill("SIGKILL");
    await n.child.exit;
    rmSync(n.dir, { recursive: true, force: true });
  }
  await nats?.dispose();
});

describe("cluster through the client library (child processes)", () => {
  it("a rolling restart under load loses no acknowledged write and fails no call: the client library retries only UNAVAILABLE", async () => {
    nats = await startNatsCluster({ size: 3 });
    for (const id of ["r1", "r2", "r3"]) nodes.push(await startNode(id));
    const retried: { method: string; code: string }[] = [];
    // A generous deadline: on a shared 2-core machine a node restart takes seconds.
    const ng = client({ addresses: nodes.map((n) => `127.0.0.1:${n.port}`), deadlineMs: 60_000, onRetry: (e) => retried.push({ method: e.method, code: e.error.code }) });
    await settled(nodes);

    const acked: number[] = [];
    const failed: unknown[] = [];
    let calls = 0;
    let next = 0;
    let running = true;
    // Each batch stays on one shard (ids ≡ shard mod SHARDS), taking turns over the shards.
    // Strict batches over several shards are cross-shard transactions, which deadlock between
    // coordinators on different nodes until their deadline (a known gap of the coordinator).
    const writer = async (): Promise<void> => {
      while (running) {
        const base = next;
        next += 20;
        const ids = Array.from({ length: 20 }, (_, k) => (1 + base + k) * SHARDS + ((base / 20) % SHARDS));
        calls++;
        try {
          await ng.createTokens(ids.map((id) => ({ id, weight: 0.25, timestamp: 1_700_000_000 })));
          acked.push(...ids);
        } catch (err) {
          failed.push(err);
          running = false;
        }
      }
    };
    const writers = [writer(), writer(), writer()];
    try {
      await new Promise((r) => setTimeout(r, 500));
      for (const n of nodes) {
        trace(`stopping ${n.id}`);
        n.child.kill("SIGTERM");
        // 0: a clean graceful stop; 1: graceful but unclean (a drain overran its limit, seen on a
        // loaded 2-core CI machine). Both are the stop a rolling restart does; what the test holds
        // the cluster to is that no acknowledged write is lost (checked below). A crash or a
        // forced exit (128 + signal) fails here.
        expect([0, 1], `${n.id} exit code after SIGTERM`).toContain(await n.child.exit);
        await restart(n);
        await settled(nodes);
      }
    } finally {
      running = false;
      await Promise.all(writers);
    }

    console.error(`rolling restart: ${calls} calls, ${acked.length} tokens acknowledged in ${next} attempted, ${retried.length} retries (${[...new Set(retried.map((r) => r.code))].join(", ") || "none"})`);
    // The acceptance: every call succeeds in the end. What the client library saw on the way
    // (and retried) is UNAVAILABLE only: a draining node refuses new calls with it and answers
    // what it must abort with it; a stopping shard owner answers forwarded requests with it.
    // No CANCELLED, no DEADLINE_EXCEEDED, no retry budget run dry.
    const failures = failed.map((e) => (e instanceof NeuroGraphError ? `${e.code}: ${e.message}` : String(e)));
    expect(failures).toEqual([]);
    expect(acked.length).toBe(next);
    expect(calls).toBeGreaterThan(3 * 3);
    expect(retried.filter((r) => r.code !== ErrorCode.Unavailable)).toEqual([]);
    for (const n of nodes) expect(await missingOn(at(n), acked)).toEqual([]);
  }, 420_000);

  it("fences a node paused beyond its lease: what it acknowledges is kept, what it rejects is not applied, and it rejoins", async () => {
    expect(nodes.length).toBe(3);
    await settled(nodes);
    const views = await Promise.all(nodes.map(async (n) => (await at(n).listShards()).filter((s) => s.state === "serving").map((s) => s.shard)));
    const most = views.reduce((best, v, i) => (v.length > views[best]!.length ? i : best), 0);
    const victim = nodes[most]!;
    const victimShards = views[most]!;
    const others = nodes.filter((n) => n !== victim);
    // The stale node is asked directly, without retries, so every outcome is its own.
    const stale = client({ address: `127.0.0.1:${victim.port}`, retry: false, deadlineMs: 20_000 });
    await stale.stats();

    victim.child.kill("SIGSTOP");
    // Its leases expire and the others take its shards over (fencing the log).
    await settled(others);
    // Writes queued on the paused node's connection: it reads them as soon as it resumes, before
    // its lease refresh can tell it that it lost its shards.
    const base = 10_000_000;
    // One shard per batch, one the stale node served (ids of shard s are ≡ s mod SHARDS).
    const batches = Array.from({ length: 8 }, (_, b) => Array.from({ length: 16 }, (_, k) => base + (b * 16 + k) * SHARDS + victimShards[b % victimShards.length]!));
    const outcomes = batches.map((ids) => stale.createTokens(ids.map((id) => ({ id, weight: 0.75, timestamp: 1_700_000_000 }))).then(() => "ok" as const, (e: unknown) => e));
    await new Promise((r) => setTimeout(r, 300));
    victim.child.kill("SIGCONT");
    const results = await Promise.all(outcomes);
    const codes = results.map((r) => (r === "ok" ? "ok" : r instanceof NeuroGraphError ? r.code : String(r)));
    console.error(`writes to the resumed stale owner: ${codes.join(", ")}`);
    expect(codes.every((c) => c === "ok" || c === ErrorCode.Unavailable)).toBe(true);

    // It rejoins: every shard served once by the three nodes again.
    await settled(nodes);
    const ok = batches.filter((_, i) => results[i] === "ok").flat();
    const rejected = batches.filter((_, i) => results[i] !== "ok").flat();
    for (const n of nodes) {
      const c = at(n);
      expect(await missingOn(c, ok)).toEqual([]);
      expect((await missingOn(c, rejected)).length).toBe(rejected.length);
    }
    // Writes through the rejoined node work.
    const after = Array.from({ length: SHARDS * 4 }, (_, k) => base + 50_000 + k);
    await at(victim).createTokens(after.map((id) => ({ id, weight: 0.5 })));
    for (const n of others) expect(await missingOn(at(n), after)).toEqual([]);
  }, 90_000);
});
