import { open } from "lmdb";
import { closeSync, openSync, readFileSync, readdirSync, writeSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DataLossError } from "../../../src/core/errors.ts";
import type { QuarantineReport } from "../../../src/actors/wal/index.ts";
import { WalHarness, range, tempDataDir, tokens } from "../../support/wal-harness.ts";
import { ModelShard, streamedModel } from "../../support/wal-model.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dataDir(): string {
  const d = tempDataDir();
  cleanups.push(d.remove);
  return d.dir;
}

async function openH(dir: string, options = {}): Promise<WalHarness> {
  const h = await WalHarness.open(dir, options);
  cleanups.push(() => h.close());
  return h;
}

/** 100 tokens (6.4 KB: LMDB overflow pages, stored once in the file) with bytes unique to `k`. */
function bigInsert(k: number): Uint8Array {
  const recs = tokens(range(k * 1000, 100));
  for (let i = 0; i < 100; i++) for (let b = 0; b < 48; b++) recs[i * 64 + b] = (k * 31 + i * 7 + b) & 0xff;
  return recs;
}

/** Writes `n` big inserts to shard 0; returns the digest of the model after each LSN. */
async function writeLog(dir: string, n: number): Promise<string[]> {
  const h = await openH(dir);
  const digests: string[] = [];
  for (let k = 1; k <= n; k++) {
    await h.append(0, { kind: "tokens.insert", records: bigInsert(k) }).durable;
    digests.push(h.models[0]!.digest());
  }
  await h.append(1, { kind: "tokens.insert", records: tokens([7]) }).durable;
  await h.close();
  return digests;
}

/** Rewrites one stored value through LMDB itself (the node is stopped). */
async function rewrite(dir: string, db: string, key: number | number[], change: (v: Uint8Array) => Uint8Array | undefined): Promise<void> {
  const raw = open({ path: join(dir, "wal"), maxDbs: 8 });
  const d = raw.openDB<Uint8Array, number | number[]>({ name: db, encoding: "binary" });
  const v = d.getBinary(key);
  if (v === undefined) throw new Error(`no value at ${String(key)}`);
  const next = change(Uint8Array.from(v));
  if (next === undefined) d.removeSync(key);
  else d.putSync(key, next);
  await raw.close();
}

/** Flips one bit of the data file where `needle` (a record's unique bytes) is stored. */
function flipInFile(dir: string, needle: Uint8Array): void {
  const path = join(dir, "wal", "data.mdb");
  const file = readFileSync(path);
  const at = file.indexOf(needle);
  expect(at).toBeGreaterThan(0);
  expect(file.indexOf(needle, at + 1)).toBe(-1);
  const fd = openSync(path, "r+");
  writeSync(fd, Uint8Array.of(file[at + 10]! ^ 0x20), 0, 1, at + 10);
  closeSync(fd);
}

async function refusal(dir: string): Promise<DataLossError> {
  const err: unknown = await WalHarness.open(dir).then(
    (h) => h.close().then(() => undefined),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DataLossError);
  return err as DataLossError;
}

function quarantineReports(dir: string): QuarantineReport[] {
  const root = join(dir, "wal-quarantine");
  return readdirSync(root).flatMap((session) =>
    readdirSync(join(root, session)).map((shard) => JSON.parse(readFileSync(join(root, session, shard, "report.json"), "utf8")) as QuarantineReport),
  );
}

describe("WAL corruption handling (real LMDB)", () => {
  it("truncates a torn tail with a warning, keeps the raw record, and continues at the next LSN", async () => {
    const dir = dataDir();
    const digests = await writeLog(dir, 6);
    await rewrite(dir, "log.0", 6, (v) => v.subarray(0, v.length - 100));
    const h = await openH(dir);
    expect(h.reports[0]).toMatchObject({ lastLsn: 5, replayedRecords: 5, repaired: false });
    expect(h.reports[0]!.warnings).toHaveLength(1);
    expect(h.reports[0]!.warnings[0]).toMatch(/shard 0: torn write at the end of the log: 1 unreadable record\(s\) from LSN 6 .*truncated to LSN 5/);
    expect(h.models[0]!.digest()).toBe(digests[4]);
    expect(h.reports[1]).toMatchObject({ lastLsn: 1, warnings: [] });
    const [report] = quarantineReports(dir);
    expect(report).toMatchObject({ shard: 0, keptUpToLsn: 5, files: [{ file: "log-from-6.bin", entries: [{ lsn: 6, intact: false }] }] });
    expect(h.append(0, { kind: "tokens.delete", ids: Uint32Array.of(1) }).lsn).toBe(6);
    await h.close();
    const again = await openH(dir);
    expect(again.reports[0]).toMatchObject({ lastLsn: 6, warnings: [] });
  });

  it("refuses a flipped bit in the middle with the documented message; --repair keeps everything before it", async () => {
    const dir = dataDir();
    const digests = await writeLog(dir, 10);
    flipInFile(dir, bigInsert(5).subarray(64 * 50, 64 * 50 + 52));
    const err = await refusal(dir);
    expect(err.message).toMatch(/^shard 0: the record at LSN 5 is damaged \(CRC32C mismatch: stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\) and is not the last one: 5 more stored record\(s\) follow, 5 of them intact\./);
    expect(err.message).toMatch(/To keep everything up to LSN 4 and move the damaged part and everything after it aside into .*wal-quarantine\/, restart with `neurograph serve --repair`\./);
    expect(err.code).toBe("DATA_LOSS");
    // The refusal changed nothing: a second start refuses the same way.
    expect((await refusal(dir)).message).toBe(err.message);

    const repaired = await openH(dir, { repair: true });
    expect(repaired.reports[0]).toMatchObject({ lastLsn: 4, replayedRecords: 4, repaired: true });
    expect(repaired.models[0]!.digest()).toBe(digests[3]);
    const [report] = quarantineReports(dir);
    expect(report!.keptUpToLsn).toBe(4);
    expect(report!.files[0]!.entries.map((e) => [e.lsn, e.intact])).toEqual([[5, false], [6, true], [7, true], [8, true], [9, true], [10, true]]);
    expect(repaired.reports[0]!.quarantineDir).toMatch(/wal-quarantine\/.*\/shard-0$/);
    await repaired.close();

    const after = await openH(dir);
    expect(after.reports[0]).toMatchObject({ lastLsn: 4, warnings: [], repaired: false });
  });

  it("refuses a missing LSN (gap), naming the range; repair keeps the records before it", async () => {
    const dir = dataDir();
    const digests = await writeLog(dir, 8);
    await rewrite(dir, "log.0", 6, () => undefined);
    const err = await refusal(dir);
    expect(err.message).toMatch(/^shard 0: the log has a hole: LSN 6 is missing \(the next stored record is LSN 7\)\. .*--repair/);
    const repaired = await openH(dir, { repair: true });
    expect(repaired.reports[0]).toMatchObject({ lastLsn: 5, repaired: true });
    expect(repaired.models[0]!.digest()).toBe(digests[4]);
    expect(quarantineReports(dir)[0]!.files[0]!.entries.map((e) => e.lsn)).toEqual([7, 8]);
  });

  it("finds a token chunk damaged while it streams into the store; repair loads the older snapshot instead", async () => {
    const dir = dataDir();
    let h = await openH(dir, { snapshotChunkBytes: 4096 });
    for (let k = 1; k <= 3; k++) await h.append(0, { kind: "tokens.insert", records: bigInsert(k) }).durable;
    await h.wal.logs[0]!.snapshot(h.models[0]!.snapshotData());
    const older = h.models[0]!.digest();
    await h.close();
    // Keep the snapshot at LSN 3: the next one replaces it (as if a crash came before its cleanup).
    const raw = open({ path: join(dir, "wal"), maxDbs: 8 });
    const snap = raw.openDB<Uint8Array, number[]>({ name: "snap.0", encoding: "binary" });
    const kept = [...snap.getRange({})].map(({ key, value }) => [key, Uint8Array.from(value)] as const);
    await raw.close();
    h = await openH(dir, { snapshotChunkBytes: 4096 });
    for (let k = 4; k <= 5; k++) await h.append(0, { kind: "tokens.insert", records: bigInsert(k) }).durable;
    await h.wal.logs[0]!.snapshot(h.models[0]!.snapshotData());
    await h.wal.env.committer.whenIdle();
    await h.append(0, { kind: "tokens.insert", records: bigInsert(6) }).durable;
    await h.close();
    const back = open({ path: join(dir, "wal"), maxDbs: 8 });
    const snapBack = back.openDB<Uint8Array, number[]>({ name: "snap.0", encoding: "binary" });
    for (const [key, value] of kept) snapBack.putSync([...key], value);
    await back.close();
    // Chunk 1 of the snapshot at LSN 5: a token chunk after an intact one, so the store has taken
    // records from it before the damage shows.
    await rewrite(dir, "snap.0", [5, 2], (v) => {
      v[60]! ^= 1;
      return v;
    });
    const err = await refusal(dir);
    expect(err.message).toMatch(/^shard 0: the snapshot at LSN 5 is unreadable \(chunk 1 is damaged: CRC32C mismatch.*\)\. .*`neurograph serve --repair`/);
    // A store that takes the records streamed, as shard actors do.
    const repaired = await WalHarness.open(dir, { repair: true }, streamedModel);
    cleanups.push(() => repaired.close());
    expect(repaired.reports[0]).toMatchObject({ snapshotLsn: 3, lastLsn: 3, repaired: true });
    // The damaged snapshot was taken in part (its chunk 0), then the older one replaced it.
    expect(repaired.models[0]!.streamedSnapshots).toBe(1);
    expect(repaired.models[0]!.digest()).toBe(older);
    expect(quarantineReports(dir)[0]!.files.map((f) => f.file)).toEqual(["snapshot-5.bin", "log-from-4.bin"]);
  });

  it("refuses an unreadable snapshot; repair falls back and moves it and the log after it aside", async () => {
    const dir = dataDir();
    const h = await openH(dir, { snapshotChunkBytes: 4096 });
    for (let k = 1; k <= 5; k++) await h.append(0, { kind: "tokens.insert", records: bigInsert(k) }).durable;
    await h.wal.logs[0]!.snapshot(h.models[0]!.snapshotData());
    await h.append(0, { kind: "tokens.insert", records: bigInsert(6) }).durable;
    await h.close();
    await rewrite(dir, "snap.0", [5, 3], (v) => {
      v[40]! ^= 1;
      return v;
    });
    const err = await refusal(dir);
    expect(err.message).toMatch(/^shard 0: the snapshot at LSN 5 is unreadable \(chunk 2 is damaged: CRC32C mismatch.*\)\. .*`neurograph serve --repair`/);
    const repaired = await openH(dir, { repair: true });
    expect(repaired.reports[0]).toMatchObject({ snapshotLsn: 0, lastLsn: 0, repaired: true });
    expect(repaired.reports[0]!.warnings).toHaveLength(2);
    expect(repaired.models[0]!.digest()).toBe(new ModelShard().digest());
    const files = quarantineReports(dir)[0]!.files.map((f) => f.file);
    expect(files).toEqual(["snapshot-5.bin", "log-from-1.bin"]);
  });
});
