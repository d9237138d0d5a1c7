/**
 * The local LMDB copy of the replicated logs and snapshots (real nats-server with JetStream, real
 * LMDB): a node that takes a shard back recovers what it already has from its disk and fetches
 * only what others wrote since, with exactly the state a recovery from JetStream alone gives; a
 * snapshot is read locally only while it is the newest; a damaged local record or a recreated
 * stream is noticed and JetStream is read instead.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { open } from "lmdb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReplicatedLogs } from "../../../src/actors/cluster/log-setup.ts";
import type { RecoveryHandler, RecoveryReport, ShardMutation } from "../../../src/actors/shard-log.ts";
import { startNatsServer, type NatsServer } from "../../support/nats-server.ts";
import { closeAll, rawClient } from "../nats/support.ts";

const CLUSTER = "lc";
let server: NatsServer;
let nc: NatsConnection;
let dir: string;
/** No cache: what JetStream alone gives. */
let plain: ReplicatedLogs;
const opened: ReplicatedLogs[] = [];

const insert = (first: number, n: number): ShardMutation => {
  const records = new Uint8Array(64 * n);
  const dv = new DataView(records.buffer);
  for (let i = 0; i < n; i++) dv.setUint32(i * 64 + 48, first + i, true);
  return { kind: "tokens.insert", records };
};

async function recoverIds(logs: ReplicatedLogs, shard: number, owner: string, epoch: number): Promise<{ ids: number[]; report: RecoveryReport; log: ReturnType<ReplicatedLogs["open"]> }> {
  const ids: number[] = [];
  const take = (records: Uint8Array): void => {
    const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
    for (let at = 0; at < records.byteLength; at += 64) ids.push(dv.getUint32(at + 48, true));
  };
  const handler: RecoveryHandler = { loadSnapshot: (s) => take(s.tokens), apply: (m) => (m.kind === "tokens.insert" ? take(m.records) : undefined) };
  const log = logs.open(shard, { owner, epoch });
  const report = await log.recover(handler);
  return { ids, report, log };
}

async function cached(name: string): Promise<ReplicatedLogs> {
  const logs = await ReplicatedLogs.open({ connection: nc, cluster: CLUSTER, replicas: 1, maxPartBytes: 16 * 1024, appendTimeoutMs: 5000, cacheDir: join(dir, name) });
  opened.push(logs);
  return logs;
}

const range = (first: number, n: number): number[] => Array.from({ length: n }, (_, i) => first + i);

beforeAll(async () => {
  server = await startNatsServer({ jetstream: true });
  nc = await rawClient(server.url);
  dir = mkdtempSync(join(tmpdir(), "ng-cache-"));
  plain = await ReplicatedLogs.open({ connection: nc, cluster: CLUSTER, replicas: 1, maxPartBytes: 16 * 1024, appendTimeoutMs: 5000 });
}, 60_000);

afterAll(async () => {
  for (const l of opened) await l.close().catch(() => undefined);
  await closeAll();
  await server?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe("the local cluster cache", () => {
  it("a node taking a shard back reads its own part from disk and fetches only what others wrote since", async () => {
    const a = await cached("a");
    const b = await cached("b");
    const first = await recoverIds(a, 1, "a", 1);
    expect(first.report.sources).toEqual({ snapshot: "none", cachedMessages: 0, fetchedMessages: 0 });
    await Promise.all([first.log.append(insert(1, 10)).durable, first.log.append(insert(11, 600)).durable]); // 38 KB: in parts
    await first.log.append(insert(611, 5)).durable;
    await first.log.close();

    // Node a again (a restart): everything from its disk, nothing but its new fence from JetStream.
    const again = await recoverIds(a, 1, "a", 2);
    expect(again.ids).toEqual(range(1, 615));
    expect(again.report.sources?.fetchedMessages).toBe(0);
    expect(again.report.sources?.cachedMessages).toBeGreaterThan(3);
    await again.log.close();

    // Node b takes over and writes; node a takes it back: only b's part travels.
    const byB = await recoverIds(b, 1, "b", 3);
    expect(byB.report.sources?.cachedMessages).toBe(0);
    await byB.log.append(insert(1000, 7)).durable;
    await byB.log.close();
    const back = await recoverIds(a, 1, "a", 4);
    const reference = await recoverIds(plain, 1, "ref", 5);
    expect(back.ids).toEqual([...range(1, 615), ...range(1000, 7)]);
    expect(reference.ids).toEqual(back.ids);
    expect(back.report.lastLsn).toBe(reference.report.lastLsn);
    expect(back.report.sources?.fetchedMessages).toBe(2); // b's fence and b's batch
    await back.log.close();
    await reference.log.close();
  });

  it("uses its copy of a snapshot only while it is the newest", async () => {
    const a = await cached("a2");
    const b = await cached("b2");
    const owner = await recoverIds(a, 2, "a", 1);
    await owner.log.append(insert(1, 3)).durable;
    const second = owner.log.append(insert(4, 3));
    await second.durable;
    const tokens = new Uint8Array(64 * 6);
    for (let i = 0; i < 6; i++) new DataView(tokens.buffer).setUint32(i * 64 + 48, i + 1, true);
    await owner.log.snapshot({ lsn: second.lsn, tokens, connections: new Uint8Array(0) });
    await owner.log.append(insert(7, 2)).durable;
    await owner.log.close();

    const again = await recoverIds(a, 2, "a", 2);
    expect(again.ids).toEqual(range(1, 8));
    expect(again.report.sources).toEqual({ snapshot: "cache", cachedMessages: 1, fetchedMessages: 0 }); // the batch after the snapshot
    await again.log.close();

    // Another owner saves a newer snapshot: a's copy is stale and is not used.
    const byB = await recoverIds(b, 2, "b", 3);
    expect(byB.report.sources?.snapshot).toBe("store");
    const third = byB.log.append(insert(9, 1));
    await third.durable;
    const all = new Uint8Array(64 * 9);
    for (let i = 0; i < 9; i++) new DataView(all.buffer).setUint32(i * 64 + 48, i + 1, true);
    await byB.log.snapshot({ lsn: third.lsn, tokens: all, connections: new Uint8Array(0) });
    await byB.log.close();
    const back = await recoverIds(a, 2, "a", 4);
    expect(back.ids).toEqual(range(1, 9));
    expect(back.report.sources?.snapshot).toBe("store");
    await back.log.close();
  });

  it("a damaged local record is noticed and JetStream is read instead", async () => {
    const a = await cached("a3");
    const owner = await recoverIds(a, 3, "a", 1);
    for (let i = 0; i < 4; i++) await owner.log.append(insert(1 + 10 * i, 10)).durable;
    await owner.log.close();
    await a.close();
    opened.splice(opened.indexOf(a), 1);

    // Flip one byte of the payload of a cached message of shard 3.
    const env = open({ path: join(dir, "a3"), maxDbs: 4 });
    const log = env.openDB<Uint8Array, (string | number)[]>({ name: "log", encoding: "binary" });
    const keys = [...log.getKeys({ start: [3, 0], end: [3, Number.MAX_SAFE_INTEGER] })];
    expect(keys.length).toBeGreaterThan(3);
    const victim = keys[2]!;
    const value = Uint8Array.from(log.getBinary(victim)!);
    value[value.length - 1]! ^= 0x01;
    await log.put(victim, value);
    await env.close();

    const reopened = await cached("a3");
    const again = await recoverIds(reopened, 3, "a", 2);
    expect(again.ids).toEqual(range(1, 40));
    expect(again.report.sources?.fetchedMessages).toBeGreaterThan(0);
    await again.log.close();
  });

  it("a stream deleted and made again empties the cache", async () => {
    const a = await cached("a4");
    const owner = await recoverIds(a, 4, "a", 1);
    await owner.log.append(insert(1, 5)).durable;
    await owner.log.close();
    await a.close();
    opened.splice(opened.indexOf(a), 1);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(plain.stream);

    const fresh = await cached("a4");
    const again = await recoverIds(fresh, 4, "a", 2);
    expect(again.ids).toEqual([]);
    expect(again.report.sources).toEqual({ snapshot: "none", cachedMessages: 0, fetchedMessages: 0 });
    await again.log.close();
  });
});
