import { afterEach, describe, expect, it } from "vitest";
import { GraphShardActor, ShardBoard, type ShardMessage, type ShardLog } from "../../../src/actors/index.ts";
import { OverloadedError, UnavailableError } from "../../../src/core/errors.ts";
import { DEFAULT_CONNECTION_LIMITS, DEFAULT_TOKEN_LIMITS } from "../../../src/core/limits.ts";
import { ActorSystem, shardAddress, type ActorRef } from "../../../src/runtime/index.ts";
import { packConnections, packTokens } from "../../integration/api/fixtures.ts";
import { ControlledLog } from "./controlled-log.ts";

let system: ActorSystem | undefined;
afterEach(async () => {
  await system?.shutdown({ force: true });
  system = undefined;
});

async function spawnShard(log: ShardLog, stashCapacity = 4): Promise<{ ref: ActorRef<ShardMessage>; board: ShardBoard }> {
  system = new ActorSystem({ nodeId: "test" });
  const board = new ShardBoard(2);
  const env = {
    shard: 0,
    shardCount: 2,
    log,
    board,
    tokenLimits: DEFAULT_TOKEN_LIMITS,
    connectionLimits: DEFAULT_CONNECTION_LIMITS,
    stashCapacity,
    maxPendingBytes: 1 << 20,
  };
  const ref = system.spawn(shardAddress(0), () => new GraphShardActor(env));
  await system.started(ref);
  return { ref, board };
}

const insert = (ids: number[]): ShardMessage & { type: "shard.write" } => ({
  type: "shard.write",
  op: { kind: "insert", records: new Uint8Array(packTokens(ids.map((id) => ({ id })))) },
  partial: false,
});
const get = (ids: number[]): ShardMessage & { type: "shard.get" } => ({ type: "shard.get", ids: Uint32Array.from(ids) });

/** Tracks whether a promise settled, without awaiting it. */
function watch<T>(p: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  return { settled: () => done, promise: p };
}

const turns = async (n = 5): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe("graph shard actor: commit-wait", () => {
  it("replies to a write, and to a read after it, only once the write is durable", async () => {
    const log = new ControlledLog();
    log.holdCommits = true;
    const { ref } = await spawnShard(log);
    const write = watch(ref.ask(insert([2, 4])));
    const read = watch(ref.ask(get([2])));
    await turns();
    expect(log.mutations.map((m) => m.kind)).toEqual(["tokens.insert"]); // applied and logged at once
    expect(write.settled()).toBe(false);
    expect(read.settled()).toBe(false);
    log.release();
    expect((await write.promise).applied).toBe(2);
    expect((await read.promise).found[0]).toBe(1);
  });

  it("pipelines writes: the next write is applied while the first is still committing", async () => {
    const log = new ControlledLog();
    log.holdCommits = true;
    const { ref } = await spawnShard(log);
    const a = watch(ref.ask(insert([2])));
    const b = watch(ref.ask(insert([4])));
    await turns();
    expect(log.held).toBe(2);
    expect(a.settled() || b.settled()).toBe(false);
    log.release();
    await Promise.all([a.promise, b.promise]);
  });

  it("answers reads at once when nothing is waiting for the log", async () => {
    const log = new ControlledLog();
    log.holdCommits = true;
    const { ref } = await spawnShard(log);
    expect((await ref.ask(get([2]))).found[0]).toBe(0);
  });

  it("becomes read-only when a commit fails: writes get UNAVAILABLE, reads are served", async () => {
    const log = new ControlledLog();
    log.holdCommits = true;
    const { ref, board } = await spawnShard(log);
    const write = ref.ask(insert([2]));
    await turns();
    log.failHeld(new Error("disk full"));
    await expect(write).rejects.toBeInstanceOf(UnavailableError);
    expect(board.state(0)).toBe("read_only");
    expect(board.row(0).reason).toContain("disk full");
    await expect(ref.ask(insert([4]))).rejects.toThrow(/read-only because its log failed \(disk full\)/);
    expect((await ref.ask(get([2, 4]))).found).toEqual(Uint8Array.of(1, 0));
  });

  it("becomes read-only when the log refuses an append", async () => {
    const log = new ControlledLog();
    const { ref, board } = await spawnShard(log);
    log.refuseAppends = new Error("log closed");
    await expect(ref.ask(insert([2]))).rejects.toBeInstanceOf(UnavailableError);
    expect(board.state(0)).toBe("read_only");
  });

  it("recovers by replaying the log through applyMutation", async () => {
    const records = new Uint8Array(packTokens([{ id: 2 }, { id: 4 }]));
    const log = new ControlledLog([
      { kind: "tokens.insert", records },
      { kind: "connections.upsert", records: new Uint8Array(packConnections([{ source: 2, target: 4 }, { source: 3, target: 4 }])) },
      { kind: "tokens.update", records: new Uint8Array(packTokens([{ id: 4, weight: 0.75 }])) },
    ]);
    const { ref, board } = await spawnShard(log);
    const got = await ref.ask(get([2, 4]));
    expect(got.count).toBe(2);
    expect(new DataView(got.records.buffer).getFloat32(64 + 54, true)).toBe(0.75);
    expect(board.row(0)).toMatchObject({ state: "serving", tokens: 2, connections: 2, appliedLsn: 3, durableLsn: 3 });
    const exp = await ref.ask({ type: "shard.expand", nodes: Uint32Array.of(4), direction: 1, types: null, skipFlags: 0 });
    expect([...exp.neighbors].sort()).toEqual([2, 3]); // the owned edge and the mirror of 3 → 4
  });
});

describe("graph shard actor: prepared transactions", () => {
  it("fences writes (not reads) until the transaction commits, then runs them in order", async () => {
    const { ref } = await spawnShard(new ControlledLog());
    const prepared = await ref.ask({ type: "shard.prepare", txn: 1, op: insert([6]).op, partial: false, expiresAt: Date.now() + 60_000 });
    expect(prepared).toMatchObject({ fenced: true, violations: [] });
    const waiting = watch(ref.ask(insert([8])));
    expect((await ref.ask(get([6]))).found[0]).toBe(0); // prepared, not applied
    await turns();
    expect(waiting.settled()).toBe(false);
    const committed = await ref.ask({ type: "shard.commit", txn: 1, keep: null, release: true });
    expect(committed.applied).toBe(1);
    expect((await waiting.promise).applied).toBe(1);
    expect((await ref.ask(get([6, 8]))).count).toBe(2);
  });

  it("does not fence when a strict check fails, and releases on abort", async () => {
    const { ref } = await spawnShard(new ControlledLog());
    await ref.ask(insert([2]));
    const bad = await ref.ask({ type: "shard.prepare", txn: 1, op: insert([2]).op, partial: false, expiresAt: Date.now() + 60_000 });
    expect(bad.fenced).toBe(false);
    expect(bad.violations.map((v) => v.rule)).toEqual(["ALREADY_EXISTS"]);
    const del = { type: "shard.prepare", txn: 2, op: { kind: "delete", ids: Uint32Array.of(2) }, partial: false, expiresAt: Date.now() + 60_000 } as const;
    expect((await ref.ask(del)).fenced).toBe(true);
    expect(await ref.ask({ type: "shard.abort", txn: 2 })).toBe(true);
    expect((await ref.ask(insert([4]))).applied).toBe(1);
    expect((await ref.ask(get([2]))).found[0]).toBe(1);
  });

  it("releases an expired fence and refuses its late commit", async () => {
    const { ref } = await spawnShard(new ControlledLog());
    await ref.ask({ type: "shard.prepare", txn: 7, op: insert([6]).op, partial: false, expiresAt: Date.now() - 1 });
    await turns();
    expect((await ref.ask(insert([8]))).applied).toBe(1);
    await expect(ref.ask({ type: "shard.commit", txn: 7, keep: null, release: true })).rejects.toThrow(/no prepared transaction 7/);
    expect((await ref.ask(get([6]))).found[0]).toBe(0);
  });

  it("bounds the writes waiting behind a fence", async () => {
    const { ref } = await spawnShard(new ControlledLog(), 2);
    await ref.ask({ type: "shard.prepare", txn: 1, op: insert([6]).op, partial: false, expiresAt: Date.now() + 60_000 });
    const queued = [ref.ask(insert([8])), ref.ask(insert([10]))];
    await expect(ref.ask(insert([12]))).rejects.toBeInstanceOf(OverloadedError);
    await ref.ask({ type: "shard.abort", txn: 1 });
    expect((await Promise.all(queued)).map((r) => r.applied)).toEqual([1, 1]);
  });
});

describe("graph shard actor: failures and snapshots", () => {
  it("is restarted after a bug and recovers its state from the log", async () => {
    const log = new ControlledLog();
    const { ref, board } = await spawnShard(log);
    await ref.ask(insert([2, 4]));
    const broken = { type: "shard.write", op: { kind: "bogus" }, partial: false } as unknown as ShardMessage & { type: "shard.write" };
    await expect(ref.ask(broken)).rejects.toThrow();
    expect((await ref.ask(get([2, 4]))).count).toBe(2);
    expect(log.recoveries).toBe(2);
    expect(board.row(0)).toMatchObject({ state: "serving", restarts: 1, tokens: 2 });
  });

  it("snapshots every N mutations once they are durable", async () => {
    const log = new ControlledLog();
    system = new ActorSystem({ nodeId: "test" });
    const env = {
      shard: 0,
      shardCount: 2,
      log,
      board: new ShardBoard(2),
      tokenLimits: DEFAULT_TOKEN_LIMITS,
      connectionLimits: DEFAULT_CONNECTION_LIMITS,
      stashCapacity: 4,
      maxPendingBytes: 1 << 20,
      snapshot: { everyMutations: 2, intervalMs: 0 },
    };
    const ref = system.spawn(shardAddress(0), () => new GraphShardActor(env));
    await system.started(ref);
    log.holdCommits = true;
    await Promise.all([ref.ask(insert([2])), ref.ask(insert([4])), turns().then(() => log.release())]);
    await turns();
    expect(log.snapshots.map((s) => [s.lsn, s.tokens.length / 64])).toEqual([[2, 2]]);
  });

  it("snapshots when a log that keeps its own policy says one is due", async () => {
    const log = Object.assign(new ControlledLog(), { due: false, snapshotDue(this: { due: boolean }): boolean { return this.due; } });
    const { ref } = await spawnShard(log);
    await ref.ask(insert([2]));
    expect(log.snapshots).toEqual([]);
    log.due = true;
    await ref.ask(insert([4]));
    await turns();
    expect(log.snapshots.map((s) => [s.lsn, s.tokens.length / 64])).toEqual([[2, 2]]);
  });
});
