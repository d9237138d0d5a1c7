/**
 * Recovery with snapshots loaded on recovery threads (recovery-pool.ts) against recovery on the
 * main thread alone: the same stores bit for bit, the same reports, and damage refused or
 * repaired with the same messages and the same result.
 */
import { open } from "lmdb";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { applyMutation } from "../../../src/actors/apply-mutation.ts";
import type { AdoptedSnapshotData, RecoveryHandler, ShardMutation, ShardSnapshotData, StreamedSnapshotData } from "../../../src/actors/shard-log.ts";
import { startWal, type WalOptions, type WalRecoveryReport } from "../../../src/actors/wal/index.ts";
import { CONNECTION_RECORD_SIZE, ConnectionOffset } from "../../../src/core/connection/index.ts";
import { DataLossError } from "../../../src/core/errors.ts";
import { ShardStore } from "../../../src/core/store/index.ts";
import { ActorSystem } from "../../../src/runtime/index.ts";
import { storeImage } from "../../helpers/store-model.ts";
import { range, tempDataDir, tokens } from "../../support/wal-harness.ts";

const S = 2;
// Every snapshot on the threads (the main thread would otherwise take those not begun yet).
const THREADS: Partial<WalOptions> = { recoveryThreads: 2, recoveryThreadMinTokens: 0, recoveryOnMainThread: false };
const MAIN_ONLY: Partial<WalOptions> = { recoveryThreads: 0 };

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Loads as GraphShardActor does: streamed on this thread, or adopting a thread's arrays. */
class StoreHandler implements RecoveryHandler {
  store: ShardStore;
  constructor(readonly shard: number) {
    this.store = new ShardStore({ shard, shardCount: S });
  }
  loadSnapshot(s: ShardSnapshotData): void {
    this.store = ShardStore.fromSnapshot(s.tokens, s.connections, { shard: this.shard, shardCount: S, initialCapacity: s.tokens.byteLength / 64 + (s.headroomTokens ?? 0) });
  }
  loadStreamedSnapshot(s: StreamedSnapshotData): void {
    this.store = new ShardStore({ shard: this.shard, shardCount: S, initialCapacity: s.tokenCount + (s.headroomTokens ?? 0), initialConnectionCapacity: s.connections.byteLength / 64 });
    for (const piece of s.tokenPieces) this.store.insertRecords(piece, { allocateIds: false });
    this.store.connectRecords(s.connections, { limits: null });
  }
  adoptSnapshot(s: AdoptedSnapshotData): void {
    this.store = new ShardStore({ shard: this.shard, shardCount: S, adoptTokens: s.tokens, initialConnectionCapacity: s.connections.byteLength / 64 });
    this.store.connectRecords(s.connections, { limits: null });
  }
  apply(m: ShardMutation): void {
    applyMutation(this.store, m);
  }
}

/** Connections source → target (both in `shard`), one per pair. */
function connections(pairs: readonly (readonly [number, number])[]): Uint8Array {
  const out = new Uint8Array(pairs.length * CONNECTION_RECORD_SIZE);
  const dv = new DataView(out.buffer);
  pairs.forEach(([src, dst], i) => {
    const b = i * CONNECTION_RECORD_SIZE;
    dv.setUint32(b + ConnectionOffset.source, src, true);
    dv.setUint32(b + ConnectionOffset.target, dst, true);
    dv.setUint8(b + ConnectionOffset.type, 0x50);
    dv.setFloat32(b + ConnectionOffset.confidence, 0.5, true);
  });
  return out;
}

interface Started {
  readonly handlers: StoreHandler[];
  readonly reports: WalRecoveryReport[];
  readonly wal: ReturnType<typeof startWal>;
  close(): Promise<void>;
}

async function start(dir: string, options: Partial<WalOptions>): Promise<Started> {
  const system = new ActorSystem({ onFatal: () => {} });
  const wal = startWal(system, { dataDir: dir, shardCount: S, snapshotChunkBytes: 16 * 1024, ...options });
  const handlers = wal.logs.map((_, s) => new StoreHandler(s));
  const close = async (): Promise<void> => {
    await wal.close();
    await system.shutdown({ force: true });
  };
  try {
    const reports = await Promise.all(wal.logs.map((log, s) => log.recover(handlers[s]!)));
    return { handlers, reports, wal, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Per shard: 2 000 tokens and some connections in a snapshot, then a tail of inserts and deletes. */
async function populate(dir: string): Promise<void> {
  const n = await start(dir, MAIN_ONLY);
  for (let s = 0; s < S; s++) {
    const { store } = n.handlers[s]!;
    const log = n.wal.logs[s]!;
    for (let b = 0; b < 4; b++) {
      const m: ShardMutation = { kind: "tokens.insert", records: tokens(range(b * 500, 500).map((i) => i * S + s + S), b + 1) };
      applyMutation(store, m);
      await log.append(m).durable;
    }
    const c: ShardMutation = { kind: "connections.upsert", records: connections(range(1, 300).map((i) => [i * S + s, (i + 7) * S + s] as const)) };
    applyMutation(store, c);
    await log.append(c).durable;
    await log.snapshot({ lsn: log.stats().lastLsn, tokens: store.exportTokens(), connections: store.exportConnections() });
  }
  await n.wal.env.committer.whenIdle();
  for (let s = 0; s < S; s++) {
    const { store } = n.handlers[s]!;
    const tail: ShardMutation[] = [
      { kind: "tokens.insert", records: tokens(range(2000, 300).map((i) => i * S + s + S), 9) },
      { kind: "tokens.delete", ids: Uint32Array.from(range(10, 40), (i) => i * S + s + S) },
    ];
    for (const m of tail) {
      applyMutation(store, m);
      await n.wal.logs[s]!.append(m).durable;
    }
  }
  await n.close();
}

function dataDir(): string {
  const d = tempDataDir("ng-wal-par-");
  cleanups.push(d.remove);
  return d.dir;
}

const comparable = (r: WalRecoveryReport): object => ({ ...r, durationMs: 0, snapshotMs: 0, snapshotOnThread: false });

async function refusal(dir: string, options: Partial<WalOptions>): Promise<DataLossError> {
  const err = await start(dir, options).then(
    (n) => n.close().then(() => undefined),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DataLossError);
  return err as DataLossError;
}

/** Flips one bit of a stored value (the node is stopped). */
async function flip(dir: string, db: string, key: number | number[], at: number): Promise<void> {
  const raw = open({ path: join(dir, "wal"), maxDbs: 8 });
  const d = raw.openDB<Uint8Array, number | number[]>({ name: db, encoding: "binary" });
  const v = Uint8Array.from(d.getBinary(key)!);
  v[at]! ^= 1;
  d.putSync(key, v);
  await raw.close();
}

describe("recovery threads (real LMDB)", () => {
  it("rebuild every shard bit for bit as the main thread does, and report the same", async () => {
    const dir = dataDir();
    await populate(dir);
    const main = await start(dir, MAIN_ONLY);
    const mainImages = main.handlers.map((h) => storeImage(h.store));
    const mainReports = main.reports;
    await main.close();
    const threads = await start(dir, THREADS);
    try {
      expect(threads.reports.map((r) => r.snapshotOnThread)).toEqual([true, true]);
      expect(mainReports.map((r) => r.snapshotOnThread)).toEqual([false, false]);
      expect(threads.reports.map(comparable)).toEqual(mainReports.map(comparable));
      expect(threads.reports[0]!.snapshotTokens).toBe(2000);
      threads.handlers.forEach((h, s) => {
        expect(h.store.size).toBe(2260);
        expect(storeImage(h.store)).toEqual(mainImages[s]);
      });
      // The adopted store takes writes as any other.
      const more = tokens([99_000 * S + 1]);
      expect(threads.handlers[1]!.store.insertRecords(more, { allocateIds: false }).applied).toBe(1);
    } finally {
      await threads.close();
    }
    // One thread and the main thread sharing the loads (whoever begins a shard first loads it).
    const shared = await start(dir, { recoveryThreads: 1, recoveryThreadMinTokens: 0 });
    try {
      expect(shared.reports.map(comparable)).toEqual(mainReports.map(comparable));
      shared.handlers.forEach((h, s) => expect(storeImage(h.store)).toEqual(mainImages[s]));
    } finally {
      await shared.close();
    }
  });

  it("refuse a damaged token chunk with the main thread's message; repair gives the same result", async () => {
    const dir = dataDir();
    await populate(dir);
    const snapLsn = 5;
    await flip(dir, "snap.0", [snapLsn, 3], 60);
    const onMain = await refusal(dir, MAIN_ONLY);
    const onThreads = await refusal(dir, THREADS);
    expect(onThreads.message).toBe(onMain.message);
    expect(onThreads.message).toMatch(/^shard 0: the snapshot at LSN 5 is unreadable \(chunk 2 is damaged: CRC32C mismatch.*`neurograph serve --repair`/);
    const repaired = await start(dir, { ...THREADS, repair: true });
    try {
      expect(repaired.reports[0]).toMatchObject({ snapshotLsn: 0, lastLsn: 0, repaired: true, snapshotOnThread: false });
      // The other shard still loads on a thread.
      expect(repaired.reports[1]).toMatchObject({ repaired: false, snapshotOnThread: true, lastLsn: 7 });
      expect(repaired.handlers[0]!.store.size).toBe(0);
      expect(repaired.handlers[1]!.store.size).toBe(2260);
    } finally {
      await repaired.close();
    }
  });

  it("refuse a damaged log record before the tail with the same message", async () => {
    const dir = dataDir();
    await populate(dir);
    await flip(dir, "log.1", 6, 40);
    const onMain = await refusal(dir, MAIN_ONLY);
    const onThreads = await refusal(dir, THREADS);
    expect(onThreads.message).toBe(onMain.message);
    expect(onThreads.message).toMatch(/^shard 1: the record at LSN 6 is damaged .* restart with `neurograph serve --repair`\./);
  });
});
