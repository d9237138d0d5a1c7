/**
 * Transactions of two coordinators whose prepares reach the shards in opposite orders, as they can
 * in cluster mode (each node's coordinator sends over NATS). Delays on chosen shards stand in for
 * the network: they decide the order of arrival, nothing is timed.
 */
import { afterEach, describe, expect, it } from "vitest";
import { GraphRouter, GraphShardActor, ShardBoard, VolatileShardLog } from "../../../src/actors/index.ts";
import type { ShardMessage } from "../../../src/actors/shard-protocol.ts";
import { DEFAULT_CONNECTION_LIMITS, DEFAULT_TOKEN_LIMITS } from "../../../src/core/limits.ts";
import { ActorSystem, shardAddress, type ActorRef } from "../../../src/runtime/index.ts";
import { packTokens } from "../../integration/api/fixtures.ts";

const S = 2;
let system: ActorSystem | undefined;

afterEach(async () => {
  await system?.shutdown({ force: true });
  system = undefined;
});

/** A coordinator whose prepares to `slowShard` arrive later than its others. */
class DelayedRouter extends GraphRouter {
  constructor(
    options: ConstructorParameters<typeof GraphRouter>[0],
    private readonly slowShard: number,
  ) {
    super(options);
  }

  override ref(shard: number): ActorRef<ShardMessage> {
    const inner = super.ref(shard);
    if (shard !== this.slowShard) return inner;
    return {
      address: inner.address,
      path: inner.path,
      tell: (m, o) => inner.tell(m, o),
      ask: (async (m: ShardMessage, o) => {
        if (m.type === "shard.prepare") await new Promise((r) => setTimeout(r, 50));
        return inner.ask(m, o);
      }) as ActorRef<ShardMessage>["ask"],
    };
  }
}

async function twoCoordinators(orderedPrepares: boolean): Promise<{ a: GraphRouter; b: GraphRouter; board: ShardBoard }> {
  system = new ActorSystem({ mailboxCapacity: 64, askTimeoutMs: 10_000 });
  const board = new ShardBoard(S);
  const refs = [];
  for (let s = 0; s < S; s++) {
    const env = {
      shard: s,
      shardCount: S,
      log: new VolatileShardLog(),
      board,
      tokenLimits: DEFAULT_TOKEN_LIMITS,
      connectionLimits: DEFAULT_CONNECTION_LIMITS,
      stashCapacity: 64,
      maxPendingBytes: 2 ** 24,
    };
    refs.push(system.spawn(shardAddress(s), () => new GraphShardActor(env)));
  }
  await Promise.all(refs.map((r) => system!.started(r)));
  const options = { system, board, shardCount: S, nodeId: "t", version: "t", orderedPrepares };
  // a reaches shard 0 first, b reaches shard 1 first: opposite orders.
  return { a: new DelayedRouter(options, 1), b: new DelayedRouter(options, 0), board };
}

const scope = (ms: number): { deadline: number; signal: AbortSignal } => ({ deadline: Date.now() + ms, signal: new AbortController().signal });
const strict = { partial: false };

describe("transactions across shards from two coordinators", () => {
  it("with prepares in ascending shard order, both strict batches commit", async () => {
    const { a, b, board } = await twoCoordinators(true);
    const [ra, rb] = await Promise.all([
      a.createTokens(new Uint8Array(packTokens([{ id: 2 }, { id: 3 }])), strict, scope(5_000)),
      b.createTokens(new Uint8Array(packTokens([{ id: 4 }, { id: 5 }])), strict, scope(5_000)),
    ]);
    expect(ra.accepted).toBe(2);
    expect(rb.accepted).toBe(2);
    expect(Array.from(board.tokens)).toEqual([2, 2]);
    const got = await a.getTokens(Uint32Array.from([2, 3, 4, 5]), { allowMissing: true }, scope(5_000));
    expect(Array.from(got.missing)).toEqual([]);
  });

  it("with prepares sent all at once, opposite arrival orders hold each other's shards until a deadline breaks the tie", async () => {
    const { a, b, board } = await twoCoordinators(false);
    const results = await Promise.allSettled([
      a.createTokens(new Uint8Array(packTokens([{ id: 2 }, { id: 3 }])), strict, scope(500)),
      b.createTokens(new Uint8Array(packTokens([{ id: 4 }, { id: 5 }])), strict, scope(500)),
    ]);
    // Neither can finish while the other holds its second shard: the first deadline fails one (its
    // abort frees the shard), and only then can the other commit.
    const failed = results.filter((r) => r.status === "rejected");
    expect(failed.length).toBeGreaterThanOrEqual(1);
    for (const f of failed) expect((f.reason as { code?: string }).code).toBe("DEADLINE_EXCEEDED");
    const committed = results.length - failed.length;
    expect(Array.from(board.tokens)).toEqual([committed, committed]);
  });
});
