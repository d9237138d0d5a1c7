import { afterEach, describe, expect, it } from "vitest";
import { FailedPreconditionError, OverloadedError, ValidationError } from "../../../src/core/errors.ts";
import { WalEnvironment, startWal } from "../../../src/actors/wal/index.ts";
import { ActorSystem } from "../../../src/runtime/index.ts";
import { WalHarness, range, tempDataDir, tokens } from "../../support/wal-harness.ts";
import { ModelShard, generateMutation } from "../../support/wal-model.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dataDir(): string {
  const d = tempDataDir();
  cleanups.push(d.remove);
  return d.dir;
}

async function open(dir: string, options = {}): Promise<WalHarness> {
  const h = await WalHarness.open(dir, options);
  cleanups.push(() => h.close());
  return h;
}

describe("WAL log (real LMDB)", () => {
  it("recovers every durable mutation of every kind, per shard, in LSN order", async () => {
    const dir = dataDir();
    const h = await open(dir);
    expect(h.reports.map((r) => [r.snapshotLsn, r.replayedRecords, r.lastLsn])).toEqual([[0, 0, 0], [0, 0, 0]]);
    const durable: Promise<void>[] = [];
    for (let k = 1; k <= 60; k++) {
      for (let s = 0; s < 2; s++) {
        const t = h.append(s, generateMutation(7, s, 2, k, 50));
        expect(t.lsn).toBe(k);
        durable.push(t.durable);
      }
      if (k % 7 === 0) await Promise.all(durable);
    }
    await Promise.all(durable);
    const digests = h.models.map((m) => m.digest());
    expect(h.wal.logs.map((l) => l.stats())).toMatchObject([{ lastLsn: 60, durableLsn: 60, pendingBytes: 0, degraded: undefined }, { lastLsn: 60, durableLsn: 60 }]);
    await h.close();

    const again = await open(dir);
    expect(again.reports.map((r) => [r.snapshotLsn, r.replayedRecords, r.lastLsn, r.warnings.length])).toEqual([[0, 60, 60, 0], [0, 60, 60, 0]]);
    expect(again.models.map((m) => m.digest())).toEqual(digests);
    expect(again.append(0, { kind: "tokens.delete", ids: Uint32Array.of(1) }).lsn).toBe(61);
  });

  it("commits the appends of one event-loop turn as one transaction across shards", async () => {
    const h = await open(dataDir());
    await h.append(0, { kind: "tokens.insert", records: tokens([1]) }).durable;
    const before = h.wal.env.committer.stats();
    const tickets = [];
    for (let i = 0; i < 100; i++) tickets.push(h.append(i % 2, { kind: "tokens.insert", records: tokens(range(10 + i * 10, 10)) }));
    await Promise.all(tickets.map((t) => t.durable));
    const after = h.wal.env.committer.stats();
    expect(after.commits - before.commits).toBe(1);
    expect(after.records - before.records).toBe(100);
  });

  it("caps a transaction at maxBatchBytes (the rest waits for the next one) and batches across turns with maxBatchDelayMs", async () => {
    const h = await open(dataDir(), { maxBatchBytes: 64 * 1024 });
    await h.append(0, { kind: "tokens.delete", ids: Uint32Array.of(1) }).durable;
    const c0 = h.wal.env.committer.stats().commits;
    // 10 records of ~19 KiB: three fit in 64 KiB, so four transactions.
    const tickets = range(0, 10).map((i) => h.append(1, { kind: "tokens.insert", records: tokens(range(1000 + i * 300, 300)) }));
    await Promise.all(tickets.map((t) => t.durable));
    expect(h.wal.env.committer.stats().commits - c0).toBe(4);

    const d = await open(dataDir(), { maxBatchDelayMs: 500 });
    const first = d.append(0, { kind: "tokens.delete", ids: Uint32Array.of(1) });
    await new Promise((r) => setImmediate(r));
    const second = d.append(1, { kind: "tokens.delete", ids: Uint32Array.of(2) });
    await Promise.all([first.durable, second.durable]);
    expect(d.wal.env.committer.stats()).toMatchObject({ commits: 1, records: 2 });
  });

  it("resolves `durable` only after the record is committed, in LSN order", async () => {
    const h = await open(dataDir());
    const log = h.wal.env.shard(0).log;
    const order: number[] = [];
    const seenOnResolve: boolean[] = [];
    const tickets = range(0, 20).map((i) => h.append(0, { kind: "tokens.insert", records: tokens([i + 1]) }));
    expect(tickets.map((t) => log.getBinary(t.lsn))).toEqual(tickets.map(() => undefined));
    await Promise.all(
      tickets.map((t) =>
        t.durable.then(() => {
          order.push(t.lsn);
          log.resetReadTxn();
          seenOnResolve.push(log.getBinary(t.lsn) !== undefined);
        }),
      ),
    );
    expect(order).toEqual(range(1, 20));
    expect(seenOnResolve.every(Boolean)).toBe(true);
  });

  it("applies back-pressure by bytes: a full queue refuses with OverloadedError without using an LSN, and nothing is dropped", async () => {
    const h = await open(dataDir(), { maxPendingBytes: 64 * 1024 });
    const accepted: { lsn: number; durable: Promise<void> }[] = [];
    let refused: unknown;
    for (let i = 0; i < 100 && refused === undefined; i++) {
      try {
        accepted.push(h.wal.logs[0]!.append({ kind: "tokens.insert", records: tokens(range(i * 100 + 1, 100)) }));
      } catch (err) {
        refused = err;
      }
    }
    expect(refused).toBeInstanceOf(OverloadedError);
    expect((refused as OverloadedError).message).toMatch(/shard 0: \d+ bytes in \d+ WAL records are waiting for the disk/);
    expect(accepted.length).toBeGreaterThan(1);
    expect(accepted.map((t) => t.lsn)).toEqual(range(1, accepted.length));
    await Promise.all(accepted.map((t) => t.durable));
    expect(h.wal.logs[0]!.stats().pendingBytes).toBe(0);
    const next = h.wal.logs[0]!.append({ kind: "tokens.delete", ids: Uint32Array.of(1) });
    expect(next.lsn).toBe(accepted.length + 1);
    await next.durable;
  });

  it("bounds the number of pending records too, but always admits one record however large", async () => {
    const h = await open(dataDir(), { maxPendingRecords: 3, maxPendingBytes: 64 * 1024 });
    const big = h.wal.logs[1]!.append({ kind: "tokens.insert", records: tokens(range(1, 2000)) });
    expect(() => h.wal.logs[1]!.append({ kind: "tokens.delete", ids: Uint32Array.of(1) })).toThrow(OverloadedError);
    await big.durable;
    const small = [1, 2, 3].map((i) => h.wal.logs[1]!.append({ kind: "tokens.delete", ids: Uint32Array.of(i) }));
    expect(() => h.wal.logs[1]!.append({ kind: "tokens.delete", ids: Uint32Array.of(9) })).toThrow(/limits 65536 bytes, 3 records/);
    await Promise.all(small.map((t) => t.durable));
  });

  it("refuses appends before recovery, malformed mutations, and snapshots beyond the log", async () => {
    const h = await open(dataDir());
    expect(() => h.wal.logs[0]!.append({ kind: "tokens.insert", records: new Uint8Array(10) })).toThrow(/not a whole number of 64-byte records/);
    expect(h.wal.logs[0]!.stats().lastLsn).toBe(0);
    await expect(h.wal.logs[0]!.snapshot({ lsn: 5, tokens: new Uint8Array(0), connections: new Uint8Array(0) })).rejects.toBeInstanceOf(ValidationError);
    const system = new ActorSystem({ onFatal: () => {} });
    cleanups.push(() => system.shutdown({ force: true }).then(() => undefined));
    const d = dataDir();
    const wal = startWal(system, { dataDir: d, shardCount: 1 });
    cleanups.push(() => wal.close());
    expect(() => wal.logs[0]!.append({ kind: "tokens.delete", ids: Uint32Array.of(1) })).toThrow(FailedPreconditionError);
  });

  it("recovers again for a restarted shard: waits for pending appends, replays the same state, changes nothing", async () => {
    const h = await open(dataDir(), { snapshotChunkBytes: 64 });
    for (let k = 1; k <= 10; k++) await h.append(0, generateMutation(5, 0, 2, k, 30)).durable;
    const snapshotting = h.wal.logs[0]!.snapshot(h.models[0]!.snapshotData());
    const pending = range(11, 5).map((k) => h.append(0, generateMutation(5, 0, 2, k, 30)));
    const again = new ModelShard();
    const report = await h.wal.logs[0]!.recover(again);
    expect(report).toMatchObject({ lastLsn: 15, warnings: [], repaired: false });
    expect(again.digest()).toBe(h.models[0]!.digest());
    await Promise.all(pending.map((t) => t.durable));
    await snapshotting;
    expect(h.append(0, { kind: "tokens.delete", ids: Uint32Array.of(1) }).lsn).toBe(16);
  });

  it("refuses a second writer on the same data directory and a different shard count", async () => {
    const dir = dataDir();
    const h = await open(dir);
    expect(() => WalEnvironment.open({ dataDir: dir, shardCount: 2 })).toThrow(/already open in this process/);
    await h.close();
    expect(() => WalEnvironment.open({ dataDir: dir, shardCount: 4 })).toThrow(/written with 2 shards.*--shards 2/);
    const ok = WalEnvironment.open({ dataDir: dir, shardCount: 2 });
    await ok.close();
  });

  it("validates its settings, naming every bad one", () => {
    expect(() => WalEnvironment.open({ dataDir: "/nonexistent-never", shardCount: 0 })).toThrow(/shardCount/);
    expect(() => WalEnvironment.open({ dataDir: "/nonexistent-never", shardCount: 1, maxBatchBytes: 1, pruneBatch: 0 })).toThrow(
      /wal\.maxBatchBytes.*wal\.pruneBatch/,
    );
  });
});
