/**
 * A graph shard with the guardian in its env: writes follow the active constitution of the hub
 * (read per batch), batches are counted with one event per batch with rejections, usage feeds the
 * quota gate, and learning is served; without a guardian the shard refuses to learn.
 */
import { afterEach, describe, expect, it } from "vitest";
import { GraphShardActor, ShardBoard, VolatileShardLog, type ShardMessage } from "../../../src/actors/index.ts";
import { GuardianHub, ShardGuard, activeConstitution } from "../../../src/actors/guardian/index.ts";
import { defaultConstitution, nextVersion } from "../../../src/core/constitution/index.ts";
import { ErrorCode, NeuroGraphError } from "../../../src/core/errors.ts";
import { DEFAULT_CONNECTION_LIMITS, DEFAULT_TOKEN_LIMITS } from "../../../src/core/limits.ts";
import { ActorSystem, shardAddress, type ActorRef } from "../../../src/runtime/index.ts";
import { packConnections, packTokens } from "../../integration/api/fixtures.ts";

let system: ActorSystem | undefined;
afterEach(async () => {
  await system?.shutdown({ force: true });
  system = undefined;
});

async function spawnShard(hub: GuardianHub | undefined): Promise<ActorRef<ShardMessage>> {
  system = new ActorSystem({ nodeId: "test" });
  const env = {
    shard: 0,
    shardCount: 1,
    log: new VolatileShardLog(),
    board: new ShardBoard(1),
    tokenLimits: DEFAULT_TOKEN_LIMITS,
    connectionLimits: DEFAULT_CONNECTION_LIMITS,
    stashCapacity: 4,
    maxPendingBytes: 1 << 20,
    ...(hub === undefined ? {} : { guard: new ShardGuard(hub, 0) }),
  };
  const ref = system.spawn(shardAddress(0), () => new GraphShardActor(env));
  await system.started(ref);
  return ref;
}

const write = (op: (ShardMessage & { type: "shard.write" })["op"], partial = false): ShardMessage & { type: "shard.write" } => ({ type: "shard.write", op, partial });
const tokens = (ids: number[]) => ({ kind: "insert" as const, records: new Uint8Array(packTokens(ids.map((id) => ({ id })))) });
const edges = (pairs: [number, number][]) => ({ kind: "connect" as const, records: new Uint8Array(packConnections(pairs.map(([source, target]) => ({ source, target })))) });

describe("graph shard with a guardian", () => {
  it("enforces the hub's active constitution at the next batch and counts every batch", async () => {
    const hub = new GuardianHub({ shardCount: 1 });
    const events = hub.events.subscribe({ kinds: ["validation_failed"] });
    const ref = await spawnShard(hub);
    await ref.ask(write(tokens([1, 2, 3, 4])));
    expect(hub.quotas.usageOf("tokens")).toBe(4);
    const narrow = nextVersion(defaultConstitution(), { connections: { maxOutDegree: 1 } }, { createdAtUnixMs: 1 });
    hub.install(activeConstitution(narrow), { action: "update" });
    const r = await ref.ask(write(edges([[1, 2], [1, 3]]), true));
    expect(r.applied).toBe(1);
    expect(r.violations.map((v) => v.rule)).toEqual(["max_out_degree"]);
    expect(hub.quotas.usageOf("connections")).toBe(1);
    const e = events.poll();
    expect(e).toHaveLength(1);
    const first = e[0]!;
    expect(first.kind === "validation_failed" && [first.source, first.itemKind, first.items, first.rejected]).toEqual(["shard/0", "connection", 2, 1]);
    hub.install(activeConstitution(nextVersion(narrow, { connections: { maxOutDegree: 5 } }, { createdAtUnixMs: 2 })), { action: "update" });
    expect((await ref.ask(write(edges([[1, 3]])))).applied).toBe(1);
    const validated = hub.stats.snapshot().validated;
    expect(validated.find((v) => v.rule === "token")?.count).toBe(4);
    expect(validated.find((v) => v.rule === "connection")?.count).toBe(3);
  });

  it("learns under the guardian; without one it answers FAILED_PRECONDITION", async () => {
    const hub = new GuardianHub({ shardCount: 1 });
    const ref = await spawnShard(hub);
    await ref.ask(write(tokens([1, 2])));
    await ref.ask(write(edges([[1, 2]])));
    const keys = { sources: Uint32Array.of(1), targets: Uint32Array.of(2), types: Int16Array.of(-1) };
    const r = await ref.ask({ type: "shard.learn", op: { kind: "feedback", keys, success: Uint8Array.of(1), strict: true, granted: false } });
    expect(r.applied).toBe(1);
    expect(hub.budget.totals.granted).toBe(1);
    await system!.shutdown({ force: true });
    const bare = await spawnShard(undefined);
    const err = await bare.ask({ type: "shard.learn", op: { kind: "sweep" } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NeuroGraphError);
    expect((err as NeuroGraphError).code).toBe(ErrorCode.FailedPrecondition);
  });
});
