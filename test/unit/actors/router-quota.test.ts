/**
 * Quota admission of pipelined writes through the coordinator and real graph shard actors: the
 * shards' commits are held (their replies wait for durability), so every write stays in flight
 * after its shards applied it and reported their figures to the gate. A quota of N must admit
 * exactly N, and refuse the next write naming the quota, its usage and its limit.
 */
import { afterEach, describe, expect, it } from "vitest";
import { GraphRouter, GraphShardActor, ShardBoard } from "../../../src/actors/index.ts";
import { GuardianHub, RECORD_BYTES_ESTIMATE, ShardGuard } from "../../../src/actors/guardian/index.ts";
import { defaultConstitution, nextVersion } from "../../../src/core/constitution/index.ts";
import { QuotaExceededError } from "../../../src/core/errors.ts";
import { DEFAULT_CONNECTION_LIMITS, DEFAULT_TOKEN_LIMITS } from "../../../src/core/limits.ts";
import { ActorSystem, shardAddress } from "../../../src/runtime/index.ts";
import { packConnections, packTokens } from "../../integration/api/fixtures.ts";
import { ControlledLog } from "./controlled-log.ts";

const S = 2;
const scope = { deadline: Infinity, signal: new AbortController().signal };

let system: ActorSystem | undefined;
afterEach(async () => {
  await system?.shutdown({ force: true });
  system = undefined;
});

interface Node {
  readonly router: GraphRouter;
  readonly hub: GuardianHub;
  readonly logs: ControlledLog[];
}

async function startNode(quotas: Record<string, number>): Promise<Node> {
  system = new ActorSystem({ nodeId: "quota-test" });
  const board = new ShardBoard(S);
  const doc = nextVersion(defaultConstitution(), { quotas }, { createdAtUnixMs: 1 });
  const hub = new GuardianHub({ shardCount: S, initial: doc });
  const logs = Array.from({ length: S }, () => new ControlledLog());
  for (let s = 0; s < S; s++) {
    const env = {
      shard: s,
      shardCount: S,
      log: logs[s]!,
      board,
      tokenLimits: DEFAULT_TOKEN_LIMITS,
      connectionLimits: DEFAULT_CONNECTION_LIMITS,
      stashCapacity: 64,
      maxPendingBytes: 1 << 26,
      guard: new ShardGuard(hub, s),
    };
    await system.started(system.spawn(shardAddress(s), () => new GraphShardActor(env)));
  }
  const router = new GraphRouter({ system, board, shardCount: S, nodeId: "quota-test", version: "test", guardian: hub });
  return { router, hub, logs };
}

const fresh = (n: number) => new Uint8Array(packTokens(Array.from({ length: n }, () => ({ id: 0 }))));
const withIds = (ids: readonly number[]) => new Uint8Array(packTokens(ids.map((id) => ({ id }))));

/** Lets the shard actors run their turns until `done` holds. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) await new Promise<void>((r) => setImmediate(r));
  expect(done()).toBe(true);
}

function refusal(err: unknown): QuotaExceededError {
  expect(err).toBeInstanceOf(QuotaExceededError);
  return err as QuotaExceededError;
}

describe("quota admission of pipelined writes", () => {
  it("tokens: a quota of N admits exactly N while earlier writes are applied but not yet answered", async () => {
    const n = await startNode({ maxTokens: 12 });
    for (const log of n.logs) log.holdCommits = true;
    const first = n.router.createTokens(fresh(4), { partial: false }, scope);
    await until(() => n.hub.quotas.usageOf("tokens") === 4);
    // Applied and reported, still in flight (its reply waits for the held commit): it counts once.
    const second = n.router.ingestTokens(fresh(4), { partial: false, returnIds: false }, scope);
    await until(() => n.hub.quotas.usageOf("tokens") === 8);
    const third = n.router.createTokens(fresh(4), { partial: true }, scope);
    await until(() => n.hub.quotas.usageOf("tokens") === 12);
    const err = refusal(await n.router.createTokens(fresh(1), { partial: true }, scope).catch((e: unknown) => e));
    expect(err).toMatchObject({ quota: "tokens", usage: 12, limit: 12 });
    expect(err.message).toContain("quota tokens exhausted: usage 12 of limit 12");
    for (const log of n.logs) log.release();
    const accepted = (await Promise.all([first, second, third])).map((r) => r.accepted);
    expect(accepted).toEqual([4, 4, 4]);
    expect(n.hub.quotas.usageOf("tokens")).toBe(12);
    // Nothing held: every reservation ended with its write.
    expect(n.hub.quotas.fits(0, 1, 64)).toBe(true);
    expect(n.hub.quotas.fits(1, 0, 0)).toBe(false);
  });

  it("tokens: writes admitted but not yet applied hold their share; the one past the limit is refused", async () => {
    const n = await startNode({ maxTokens: 10 });
    for (const log of n.logs) log.holdCommits = true;
    // Three writes admitted in one turn: none applied yet when the fourth asks.
    const writes = [n.router.createTokens(fresh(3), { partial: false }, scope), n.router.createTokens(fresh(3), { partial: false }, scope), n.router.createTokens(fresh(3), { partial: false }, scope)];
    expect(n.hub.quotas.inFlight()).toMatchObject({ tokens: 9, writes: 3 });
    const err = refusal(await n.router.createTokens(fresh(2), { partial: false }, scope).catch((e: unknown) => e));
    expect(err).toMatchObject({ quota: "tokens", usage: 9, limit: 10 });
    await until(() => n.hub.quotas.usageOf("tokens") === 9);
    for (const log of n.logs) log.release();
    expect((await Promise.all(writes)).map((r) => r.accepted)).toEqual([3, 3, 3]);
    expect(refusal(await n.router.createTokens(fresh(2), { partial: false }, scope).catch((e: unknown) => e))).toMatchObject({ usage: 9, limit: 10 });
  });

  it("tokens: a write that applied less than it reserved frees the rest in the turn it applied", async () => {
    const n = await startNode({ maxTokens: 6 });
    await n.router.createTokens(withIds([1, 2]), { partial: false }, scope);
    for (const log of n.logs) log.holdCommits = true;
    // Reserves 4, creates 2 (ids 1 and 2 exist already); still in flight.
    const partial = n.router.createTokens(withIds([1, 2, 3, 4]), { partial: true }, scope);
    await until(() => n.hub.quotas.usageOf("tokens") === 4);
    const more = n.router.createTokens(fresh(2), { partial: false }, scope);
    await until(() => n.hub.quotas.usageOf("tokens") === 6);
    const err = refusal(await n.router.createTokens(fresh(1), { partial: false }, scope).catch((e: unknown) => e));
    expect(err).toMatchObject({ quota: "tokens", usage: 6, limit: 6 });
    for (const log of n.logs) log.release();
    expect((await partial).accepted).toBe(2);
    expect((await more).accepted).toBe(2);
    expect(n.hub.quotas.inFlight()).toEqual({ tokens: 0, connections: 0, bytes: 0, writes: 0 });
  });

  it("connections: pipelined connects fill the quota exactly; a cross-shard one counts its mirror", async () => {
    const n = await startNode({ maxConnections: 5 });
    await n.router.createTokens(withIds([1, 2, 3, 4, 5, 6, 7, 8]), { partial: false }, scope);
    for (const log of n.logs) log.holdCommits = true;
    const edges = (pairs: [number, number][]) => new Uint8Array(packConnections(pairs.map(([source, target]) => ({ source, target }))));
    // Same-shard connections apply in one turn each (1 entry per connection).
    const a = n.router.connect(edges([[1, 3]]), { partial: false }, scope);
    await until(() => n.hub.quotas.usageOf("connections") === 1);
    const b = n.router.connect(edges([[2, 4], [4, 6]]), { partial: false }, scope);
    await until(() => n.hub.quotas.usageOf("connections") === 3);
    const c = n.router.connect(edges([[5, 7]]), { partial: false }, scope);
    await until(() => n.hub.quotas.usageOf("connections") === 4);
    // 3 → 8 crosses shards: the owned edge and its mirror, 2 entries; 4 + 2 > 5.
    const err = refusal(await n.router.connect(edges([[3, 8]]), { partial: false }, scope).catch((e: unknown) => e));
    expect(err).toMatchObject({ quota: "connections", usage: 4, limit: 5 });
    const d = n.router.connect(edges([[7, 1]]), { partial: false }, scope);
    await until(() => n.hub.quotas.usageOf("connections") === 5);
    expect(refusal(await n.router.connect(edges([[2, 6]]), { partial: true }, scope).catch((e: unknown) => e))).toMatchObject({ usage: 5, limit: 5 });
    for (const log of n.logs) log.release();
    expect((await Promise.all([a, b, c, d])).map((r) => r.accepted)).toEqual([1, 2, 1, 1]);
    expect(n.hub.quotas.usageOf("connections")).toBe(5);
    expect(n.hub.quotas.inFlight()).toEqual({ tokens: 0, connections: 0, bytes: 0, writes: 0 });
  });

  it("store bytes: an applied write in flight counts its real growth once, not its estimate on top", async () => {
    const probe = await startNode({});
    await probe.router.createTokens(fresh(8), { partial: false }, scope);
    const base = probe.hub.quotas.usageOf("store_bytes");
    await system!.shutdown({ force: true });
    // Room for exactly one more write of 8 tokens (its estimate) once the first has applied.
    const n = await startNode({ maxStoreBytes: base + 8 * RECORD_BYTES_ESTIMATE });
    for (const log of n.logs) log.holdCommits = true;
    const first = n.router.createTokens(fresh(8), { partial: false }, scope);
    await until(() => n.hub.quotas.usageOf("tokens") === 8);
    expect(n.hub.quotas.usageOf("store_bytes")).toBe(base);
    const second = n.router.createTokens(fresh(8), { partial: false }, scope);
    await until(() => n.hub.quotas.usageOf("tokens") === 16);
    for (const log of n.logs) log.release();
    expect((await Promise.all([first, second])).map((r) => r.accepted)).toEqual([8, 8]);
  });
});
