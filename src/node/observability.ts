/**
 * Wiring the node into its metrics: a gRPC call interceptor (calls handled, by method and code,
 * and handling time), an actor-system observer (messages processed, restarts, mailbox overloads)
 * and a scrape hook that copies the shard board and mailbox depths into gauges, so the message
 * path pays nothing for them. Unary calls and actor turns slower than the slow-step threshold are
 * black-box events.
 */
import type { CallInfo, CallInterceptor } from "../api/index.ts";
import type { ShardBoard } from "../actors/index.ts";
import type { ActorAddress, ActorSystem, ActorSystemObserver } from "../runtime/index.ts";
import type { ActorKindMetrics, BlackBox, MetricsRegistry } from "../telemetry/index.ts";
import { statusCodeOf } from "./tracing-interceptor.ts";

export class MetricsInterceptor implements CallInterceptor {
  private readonly slowSeconds: number;

  /** `slowMs`: unary calls taking longer are recorded in `blackBox` (default: never). */
  constructor(
    private readonly metrics: MetricsRegistry,
    private readonly blackBox?: BlackBox,
    slowMs = Infinity,
  ) {
    this.slowSeconds = slowMs / 1000;
  }

  async intercept<T>(call: CallInfo, next: () => Promise<T>): Promise<T> {
    const handle = this.metrics.grpcMethod(call.path);
    const started = process.hrtime.bigint();
    let code = 0;
    try {
      return await next();
    } catch (err) {
      code = statusCodeOf(err);
      throw err;
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      handle.handled(code, seconds);
      if (seconds > this.slowSeconds && call.kind === "unary") {
        this.blackBox?.slowStep(`grpc ${call.service}/${call.method}`, seconds, this.slowSeconds, { code });
      }
    }
  }
}

/**
 * Counts messages processed by actor kind, restarts and overload rejections; turns slower than
 * `slowMs` go to `blackBox` as slow steps.
 */
export function metricsObserver(metrics: MetricsRegistry, blackBox?: BlackBox, slowMs = Infinity): ActorSystemObserver {
  const kinds = new Map<string, ActorKindMetrics>();
  const slowSeconds = slowMs / 1000;
  return {
    messageProcessed(event, durationMs): void {
      const kind = event.address.kind;
      let handle = kinds.get(kind);
      if (handle === undefined) {
        handle = metrics.actorKindMetrics(kind);
        kinds.set(kind, handle);
      }
      handle.messages(1);
      if (durationMs > slowMs) {
        blackBox?.slowStep(`${kind}/${event.address.key}`, durationMs / 1000, slowSeconds, { message: event.typeName });
      }
    },
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
