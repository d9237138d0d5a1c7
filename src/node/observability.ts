/**
 * Wiring the node into its metrics: a gRPC call interceptor (calls handled, by method and code,
 * and handling time), an actor-system observer (restarts, mailbox overloads) and a scrape hook
 * that copies the shard board and mailbox depths into gauges, so the message path pays nothing.
 */
import { NeuroGraphError } from "../core/errors.ts";
import { GRPC_CODE_OF, type CallInfo, type CallInterceptor } from "../api/index.ts";
import type { ShardBoard } from "../actors/index.ts";
import type { ActorAddress, ActorSystem, ActorSystemObserver } from "../runtime/index.ts";
import type { BlackBox, MetricsRegistry } from "../telemetry/index.ts";

const UNKNOWN = 2;

/** gRPC status code of what a handler threw. */
function statusCodeOf(err: unknown): number {
  if (err instanceof NeuroGraphError) return GRPC_CODE_OF[err.code];
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : UNKNOWN;
}

export class MetricsInterceptor implements CallInterceptor {
  constructor(private readonly metrics: MetricsRegistry) {}

  async intercept<T>(call: CallInfo, next: () => Promise<T>): Promise<T> {
    const handle = this.metrics.grpcMethod(call.path);
    const started = process.hrtime.bigint();
    try {
      const result = await next();
      handle.handled(0, Number(process.hrtime.bigint() - started) / 1e9);
      return result;
    } catch (err) {
      handle.handled(statusCodeOf(err), Number(process.hrtime.bigint() - started) / 1e9);
      throw err;
    }
  }
}

export function metricsObserver(metrics: MetricsRegistry): ActorSystemObserver {
  return {
    actorRestarted(address: ActorAddress): void {
      metrics.actorRestarted(address.kind);
    },
    overloadRejected(address: ActorAddress): void {
      metrics.actorOverloaded(address.kind);
    },
  };
}

/** Restarts and escalations go to the black box (the ring of recent significant events). */
export function blackBoxObserver(blackBox: BlackBox): ActorSystemObserver {
  return {
    actorRestarted(address, error, attempt, delayMs): void {
      blackBox.actorRestart(`${address.kind}/${address.key}`, error, { attempt, delay_ms: delayMs });
    },
    failureEscalated(address, error): void {
      blackBox.record("generic", `${address.kind}/${address.key}`, `actor gave up after repeated failures: ${error.message}`, { error_code: error.code });
    },
  };
}

/** Shards that turn read-only or fail are black-box events. */
export function recordShardStates(blackBox: BlackBox, board: ShardBoard): void {
  board.onStateChange((shard, state) => {
    if (state !== "read_only" && state !== "failed") return;
    const reason = board.row(shard).reason ?? "unknown";
    blackBox.record(state === "read_only" ? "wal_error" : "generic", `shard/${shard}`, `shard ${shard} is ${state}: ${reason}`, { shard, state });
  });
}

/** Copies shard figures and mailbox depths into the registry at every scrape. */
export function collectNodeFigures(metrics: MetricsRegistry, board: ShardBoard, system: ActorSystem): () => void {
  return metrics.onCollect(() => {
    for (let s = 0; s < board.shardCount; s++) {
      metrics.setTokens(s, board.tokens[s]!);
      metrics.setConnections(s, board.connections[s]!);
    }
    const samples: { kind: string; mailboxDepth: number }[] = [];
    for (const m of system.mailboxes()) samples.push({ kind: m.address.kind, mailboxDepth: m.depth });
    metrics.setActorMailboxes(samples);
  });
}
