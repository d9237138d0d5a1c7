/**
 * The pieces of node start-up that need none of its state: version, data directory, error
 * unwrapping, the shards' supervision rule, the start-up edge reconciliation and the readiness
 * reason.
 */
import { mkdirSync, readFileSync } from "node:fs";
import type { GraphRouter, ShardBoard } from "../actors/index.ts";
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
    const r = await router.reconcileEdges();
    metrics.walEdgeRepaired("mirror_added", r.mirrorsAdded);
    metrics.walEdgeRepaired("mirror_updated", r.mirrorsUpdated);
    metrics.walEdgeRepaired("mirror_removed", r.mirrorsRemoved);
    metrics.walEdgeRepaired("owner_removed", r.ownersRemoved);
    const repaired = r.mirrorsAdded + r.mirrorsUpdated + r.mirrorsRemoved + r.ownersRemoved;
    const line = { ...r, repaired, durationMs: Math.round(performance.now() - started) };
    if (repaired > 0) logger.warn(line, "repaired cross-shard connections left on one side by a crash");
    else logger.debug(line, "cross-shard connections agree on both sides");
  } catch (err) {
    logger.error({ err: toNeuroGraphError(err) }, "reconciling cross-shard connections failed; connections torn by a crash stay one-sided until the next start");
  }
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
