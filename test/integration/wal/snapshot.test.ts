import { open } from "lmdb";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { OverloadedError } from "../../../src/core/errors.ts";
import { RecordType, encodeRecord } from "../../../src/core/wal/index.ts";
import { listSnapshots } from "../../../src/actors/wal/index.ts";
import { WalHarness, range, tempDataDir, tokens } from "../../support/wal-harness.ts";
import { generateMutation, streamedModel } from "../../support/wal-model.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dataDir(): string {
  const d = tempDataDir();
  cleanups.push(d.remove);
  return d.dir;
}

async function openH(dir: string, options = {}, streamed = false): Promise<WalHarness> {
  const h = await WalHarness.open(dir, options, streamed ? streamedModel : undefined);
  cleanups.push(() => h.close());
  return h;
}


async function ingest(h: WalHarness, from: number, to: number, seed = 3): Promise<void> {
  const durable: Promise<void>[] = [];
  for (let k = from; k <= to; k++) for (let s = 0; s < 2; s++) durable.push(h.append(s, generateMutation(seed, s, 2, k, 40)).durable);
  await Promise.all(durable);
}

/** Resolves when pruning has removed every log record at or below `lsn` of shard `s`. */
async function pruned(h: WalHarness, s: number, lsn: number): Promise<void> {
  const log = h.wal.env.shard(s).log;
  for (let i = 0; i < 200; i++) {
    await h.wal.env.committer.whenIdle();
    log.resetReadTxn();
    if (log.getKeysCount({ end: lsn + 1 }) === 0) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`shard ${s}: log at or below ${lsn} was not pruned`);
}

describe("WAL snapshots and pruning (real LMDB)", () => {
  it("snapshot + prune + later records recover to exactly the original state", async () => {
    const dir = dataDir();
    const h = await openH(dir, { snapshotChunkBytes: 640 });
    await ingest(h, 1, 40);
    const snaps = await Promise.all(h.wal.logs.map((log, s) => log.snapshotWithResult(h.models[s]!.snapshotData())));
    expect(snaps.map((r) => r.lsn)).toEqual([40, 40]);
    expect(snaps[0]!.chunks).toBeGreaterThan(2);
    await Promise.all([0, 1].map((s) => pruned(h, s, 40)));
    await ingest(h, 41, 55);
    expect(h.wal.logs[0]!.stats()).toMatchObject({ lastSnapshotLsn: 40, lastLsn: 55 });
    const digests = h.models.map((m) => m.digest());
    const constitutions = h.models.map((m) => (m.constitution === undefined ? undefined : Array.from(m.constitution)));
    await h.close();

    const again = await openH(dir);
    expect(again.reports.map((r) => [r.snapshotLsn, r.replayedRecords, r.lastLsn])).toEqual([[40, 15, 55], [40, 15, 55]]);
    expect(again.models.map((m) => m.digest())).toEqual(digests);
    expect(again.models.map((m) => (m.constitution === undefined ? undefined : Array.from(m.constitution)))).toEqual(constitutions);
    expect(constitutions.some((c) => c !== undefined)).toBe(true);
  });

  it("streams a snapshot's token records to a handler that takes them in pieces, whatever the chunk size", async () => {
    for (const chunkBytes of [100, 640, 1 << 20]) {
      const dir = dataDir();
      const h = await openH(dir, { snapshotChunkBytes: chunkBytes });
      await ingest(h, 1, 30);
      await Promise.all(h.wal.logs.map((log, s) => log.snapshotWithResult(h.models[s]!.snapshotData())));
      await ingest(h, 31, 36);
      const digests = h.models.map((m) => m.digest());
      await h.close();

      const streamed = await openH(dir, {}, true);
      expect(streamed.reports.map((r) => [r.snapshotLsn, r.lastLsn])).toEqual([[30, 36], [30, 36]]);
      expect(streamed.models.map((m) => m.streamedSnapshots)).toEqual([1, 1]);
      expect(streamed.models.map((m) => m.digest())).toEqual(digests);
      await streamed.close();
      const assembled = await openH(dir);
      expect(assembled.models.map((m) => m.digest())).toEqual(digests);
    }
  });

  it("replaces the previous snapshot only once the new one is complete, then removes it", async () => {
    const dir = dataDir();
    const h = await openH(dir, { snapshotChunkBytes: 128 });
    await ingest(h, 1, 10);
    await h.wal.logs[0]!.snapshot(h.models[0]!.snapshotData());
    await ingest(h, 11, 20);
    const second = h.wal.logs[0]!.snapshot(h.models[0]!.snapshotData());
    // While the second is being written the first stays complete and valid.
    await expect(h.wal.logs[0]!.snapshot(h.models[0]!.snapshotData())).rejects.toBeInstanceOf(OverloadedError);
    const during = listSnapshots(h.wal.env.shard(0));
    expect(during.find((s) => s.lsn === 10)?.hasManifest).toBe(true);
    await second;
    await pruned(h, 0, 20);
    expect(listSnapshots(h.wal.env.shard(0)).map((s) => [s.lsn, s.hasManifest])).toEqual([[20, true]]);
  });

  it("ignores an incomplete snapshot left by a crash and uses the previous one", async () => {
    const dir = dataDir();
    const h = await openH(dir);
    await ingest(h, 1, 12);
    await h.wal.logs[1]!.snapshot(h.models[1]!.snapshotData());
    await pruned(h, 1, 12);
    await ingest(h, 13, 20);
    const digest = h.models[1]!.digest();
    await h.close();
    // A crash while writing a snapshot at LSN 18 leaves chunks without a manifest.
    const raw = open({ path: join(dir, "wal"), maxDbs: 8 });
    const snap = raw.openDB({ name: "snap.1", encoding: "binary" });
    snap.putSync([18, 1], encodeRecord(18, RecordType.SnapshotChunk, 1, Uint8Array.of(8, 1, 0x22, 0)));
    await raw.close();

    const again = await openH(dir);
    expect(again.reports[1]).toMatchObject({ snapshotLsn: 12, replayedRecords: 8, lastLsn: 20, warnings: [] });
    expect(again.models[1]!.digest()).toBe(digest);
    await again.wal.env.committer.whenIdle();
    expect(listSnapshots(again.wal.env.shard(1)).map((s) => s.lsn)).toEqual([12]);
  });

  it("snapshots an empty shard and one whose state is empty after deletes", async () => {
    const dir = dataDir();
    const h = await openH(dir);
    await h.wal.logs[0]!.snapshot({ lsn: 0, tokens: new Uint8Array(0), connections: new Uint8Array(0) });
    await h.append(0, { kind: "tokens.insert", records: tokens(range(1, 3)) }).durable;
    await h.append(0, { kind: "tokens.delete", ids: Uint32Array.from(range(1, 3)) }).durable;
    await h.wal.logs[0]!.snapshot(h.models[0]!.snapshotData());
    await h.close();
    const again = await openH(dir);
    expect(again.reports[0]).toMatchObject({ snapshotLsn: 2, snapshotTokens: 0, replayedRecords: 0, lastLsn: 2 });
    expect(again.append(0, { kind: "tokens.delete", ids: Uint32Array.of(5) }).lsn).toBe(3);
  });

  it("says when a snapshot is due by records, bytes or age", async () => {
    const h = await openH(dataDir(), { snapshotEveryRecords: 5, snapshotEveryBytes: 10_000, snapshotEveryMs: 60_000 });
    const log = h.wal.logs[0]!;
    expect(log.snapshotDue()).toBe(false);
    for (let i = 0; i < 4; i++) await h.append(0, { kind: "tokens.delete", ids: Uint32Array.of(i) }).durable;
    expect(log.snapshotDue()).toBe(false);
    expect(log.snapshotDue(Date.now() + 61_000)).toBe(true);
    await h.append(0, { kind: "tokens.delete", ids: Uint32Array.of(9) }).durable;
    expect(log.snapshotDue()).toBe(true);
    await log.snapshot(h.models[0]!.snapshotData());
    expect(log.snapshotDue()).toBe(false);
    await h.append(0, { kind: "tokens.insert", records: tokens(range(1, 200)) }).durable;
    expect(log.snapshotDue()).toBe(true);
  });
});

describe("WAL shutdown during a snapshot", () => {
  it("rejects the unfinished snapshot, keeps the previous state valid, and recovers it", async () => {
    const d = tempDataDir();
    cleanups.push(d.remove);
    const h = await WalHarness.open(d.dir, { snapshotChunkBytes: 64 });
    cleanups.push(() => h.close());
    await h.append(0, { kind: "tokens.insert", records: tokens(range(1, 200)) }).durable;
    const digest = h.models[0]!.digest();
    const snap = h.wal.logs[0]!.snapshot(h.models[0]!.snapshotData());
    const outcome = snap.then(
      () => "written",
      (err: unknown) => (err as Error).message,
    );
    await h.close();
    const message = await outcome;
    // Either the 200 chunks made it before the close, or the snapshot was refused cleanly.
    expect(["written", "the WAL is closing; the node is shutting down"]).toContain(message);
    const again = await WalHarness.open(d.dir);
    cleanups.push(() => again.close());
    expect(again.reports[0]).toMatchObject({ lastLsn: 1, warnings: [] });
    expect(again.models[0]!.digest()).toBe(digest);
  });
});
