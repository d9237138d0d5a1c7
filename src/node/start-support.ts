/**
 * The pieces of node start-up that need none of its state: version, data directory, error
 * unwrapping, the shards' supervision rule, the start-up edge reconciliation and the readiness
 * reason.
 */
import { mkdirSync, readFileSync } from "node:fs";
import type { EdgeRepairReport, GraphRouter, ShardBoard } from "../actors/index.ts";
import { ErrorCode, FailedPreconditionError, InternalError, NeuroGraphError, toNeuroGraphError } from "../core/errors.ts";
import { defaultDecider, type Directive } from "../runtime/index.ts";
import type { Logger, MetricsRegistry } from "../telemetry/index.ts";

export function packageVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    const v = (pkg as { version?: unknown }).version;
    return typeof v === "string" ? v : "unknown";
  } catch {
    return "unknown";
  }
}

export function ensureDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new FailedPreconditionError(`cannot create the data directory ${dataDir} (${reason}); choose another with --data-dir / NG_DATA_DIR`);
  }
}

/** The typed error underneath the wrappers of node start and supervision. */
export function rootCause(error: NeuroGraphError): NeuroGraphError {
  let e = error;
  while (e instanceof InternalError && e.cause instanceof NeuroGraphError) e = e.cause;
  return e;
}

/**
 * Makes both sides of every cross-shard connection agree after recovery (a crash between the two
 * WAL records of a connect, disconnect or delete leaves one side only). A failure is logged and
 * the node serves anyway (the torn edges stay until the next start); a read-only shard, say,
 * already reports itself.
 */
export async function reconcileEdges(router: GraphRouter, metrics: MetricsRegistry, logger: Logger): Promise<void> {
  try {
    const started = performance.now();
    reportEdgeRepair(await router.reconcileEdges(), started, metrics, logger, {});
  } catch (err) {
    logger.error({ err: toNeuroGraphError(err) }, "reconciling cross-shard connections failed; connections torn by a crash stay one-sided until the next start");
  }
}

function reportEdgeRepair(r: EdgeRepairReport, started: number, metrics: MetricsRegistry, logger: Logger, context: Record<string, unknown>): void {
  metrics.walEdgeRepaired("mirror_added", r.mirrorsAdded);
  metrics.walEdgeRepaired("mirror_updated", r.mirrorsUpdated);
  metrics.walEdgeRepaired("mirror_removed", r.mirrorsRemoved);
  metrics.walEdgeRepaired("owner_removed", r.ownersRemoved);
  const repaired = r.mirrorsAdded + r.mirrorsUpdated + r.mirrorsRemoved + r.ownersRemoved;
  const line = { ...context, ...r, repaired, durationMs: Math.round(performance.now() - started) };
  if (repaired > 0) logger.warn(line, "repaired cross-shard connections left on one side by a crash");
  else logger.debug(line, "cross-shard connections agree on both sides");
}

/** The reconciliation a taken-over shard waits for before serving: each ask bounded by this. */
const GATED_REPAIR_ASK_MS = 5_000;
/** Later attempts, while the shard serves (another shard was not served during the first). */
const SHARD_REPAIR_RETRIES = 5;

/**
 * Cluster mode: a shard taken over reconciles its cross-shard connections with the other shards
 * wherever they are served, while it still holds its client calls, so no write can interleave
 * with the pass (writes between other shards never touch its edges); then it serves (`open`).
 * When some shard is not served at the moment (a cluster starting or rebalancing), the shard
 * serves anyway and the pass is retried with backoff while it serves; a connection written
 * during such a retry can race it. Gives up with an error line after a few tries.
 */
export async function reconcileTakenShard(router: GraphRouter, shard: number, metrics: MetricsRegistry, logger: Logger, still: () => boolean, open: () => void): Promise<void> {
  for (let attempt = 0; still(); attempt++) {
    const started = performance.now();
    try {
      reportEdgeRepair(await router.reconcileShardEdges(shard, GATED_REPAIR_ASK_MS), started, metrics, logger, { shard, attempt });
      open();
      return;
    } catch (err) {
      open();
      if (attempt >= SHARD_REPAIR_RETRIES) {
        logger.error({ shard, err: toNeuroGraphError(err) }, "reconciling the cross-shard connections of a shard taken over failed; connections torn by a crash stay one-sided until it is taken over again");
        return;
      }
      logger.debug({ shard, attempt, err: toNeuroGraphError(err) }, "reconciling the cross-shard connections of a shard taken over failed; retrying");
      await new Promise((r) => setTimeout(r, 1000 * 2 ** attempt).unref());
    }
  }
  open();
}

/** A damaged log does not heal by restarting: stop the shard at once and report it. */
export function shardDecider(error: unknown): Directive {
  return error instanceof NeuroGraphError && error.code === ErrorCode.DataLoss ? "escalate" : defaultDecider(error);
}

/** Why `/readyz` answers 503: how many shards are not serving, and in which states. */
export function notServingReason(board: ShardBoard): string {
  const states = Array.from({ length: board.shardCount }, (_, s) => board.state(s)).filter((st) => st !== "serving");
  return `${states.length} of ${board.shardCount} shards not serving (${[...new Set(states)].join(", ")})`;
}
