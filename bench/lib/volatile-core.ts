/**
 * A node's in-process core as `startNode` builds it, without gRPC and with volatile shard logs
 * (so the log does not hide what a bench measures): coordinator (`GraphRouter`) over `shards`
 * graph shard actors, with the guardian when a hub is given.
 */
import { GraphRouter, GraphShardActor, ShardBoard, VolatileShardLog } from "../../src/actors/index.ts";
import { type GuardianHub, ShardGuard } from "../../src/actors/guardian/index.ts";
import { DEFAULT_CONNECTION_LIMITS, DEFAULT_TOKEN_LIMITS } from "../../src/core/limits.ts";
import { ActorSystem, shardAddress } from "../../src/runtime/index.ts";

export interface VolatileCore {
  readonly router: GraphRouter;
  readonly board: ShardBoard;
  readonly system: ActorSystem;
}

export async function startVolatileCore(shards: number, hub?: GuardianHub): Promise<VolatileCore> {
  const system = new ActorSystem({ mailboxCapacity: 1024, askTimeoutMs: 600_000 });
  const board = new ShardBoard(shards);
  const refs = [];
  for (let s = 0; s < shards; s++) {
    const env = {
      shard: s,
      shardCount: shards,
      log: new VolatileShardLog(),
      board,
      tokenLimits: DEFAULT_TOKEN_LIMITS,
      connectionLimits: DEFAULT_CONNECTION_LIMITS,
      stashCapacity: 1024,
      maxPendingBytes: 2 ** 30,
      ...(hub === undefined ? {} : { guard: new ShardGuard(hub, s) }),
    };
    refs.push(system.spawn(shardAddress(s), () => new GraphShardActor(env)));
  }
  await Promise.all(refs.map((r) => system.started(r)));
  const router = new GraphRouter({ system, board, shardCount: shards, nodeId: "bench", version: "bench", ...(hub === undefined ? {} : { guardian: hub }) });
  return { router, board, system };
}
