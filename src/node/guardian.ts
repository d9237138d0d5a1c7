/**
 * The guardian of an embedded node: its shared state (`GuardianHub`, handed to every shard as a
 * `ShardGuard` and to the coordinator for quota admission), the guardian actor
 * (`guardian/<node>`), its constitution log, and the API's `GuardianBackend` (constitution,
 * stats and events through `GuardianFrontend`; Activate / Feedback through the shards).
 *
 * The constitution log: a `ShardLog` of its own that the shard log provider opens
 * (`openGuardianLog`; the WAL provides one next to the shards' logs), wrapped as
 * `ShardLogConstitutionLog` (`constitution.set` records). A provider without one (volatile
 * logs) keeps the constitution in memory, like the data.
 */
import {
  GraphLearning,
  type GraphRouter,
  type ShardLog,
} from "../actors/index.ts";
import {
  GuardianActor,
  GuardianFrontend,
  GuardianHub,
  MemoryConstitutionLog,
  ShardLogConstitutionLog,
  type ConstitutionLog,
  type GuardianMessage,
} from "../actors/guardian/index.ts";
import type { GuardianBackend } from "../api/index.ts";
import type { Constitution } from "../core/constitution/index.ts";
import type { ActorRef, ActorSystem } from "../runtime/index.ts";
import type { BlackBox, Logger, MetricsRegistry } from "../telemetry/index.ts";

export interface NodeGuardianOptions {
  /** The document a node with an empty constitution log starts from (default: the default profile). */
  readonly initialConstitution?: Constitution;
  /** Where constitution changes are logged (default: the provider's guardian log, else memory). */
  readonly constitutionLog?: ConstitutionLog;
  /** Learning sweep period (ms; default 60 000; 0 = none). */
  readonly learningSweepIntervalMs?: number;
  /** Minimum time between two soft-threshold cleanups (ms; default 10 000). */
  readonly cleanupCooldownMs?: number;
  /** Process RSS probe (default `process.memoryUsage.rss()`). */
  readonly rssProbe?: () => number;
  /**
   * Enforce the constitution on writes (default true). false: shards check values against the
   * default limits only, and no quota is admitted or reported (the guardian actor still serves
   * the constitution). Only for measuring what enforcement costs (benchmarks); never in service.
   */
  readonly enforce?: boolean;
}

export function guardianAddress(nodeId: string): string {
  // Address keys travel as NATS subject tokens: no '.'.
  return `guardian/${nodeId.replace(/[^A-Za-z0-9_\-:~@+=]/g, "_").slice(0, 128) || "node"}`;
}

/** The constitution log: an explicit one, the provider's guardian log, or memory. */
export function constitutionLogOf(explicit: ConstitutionLog | undefined, log: ShardLog | undefined): ConstitutionLog {
  if (explicit !== undefined) return explicit;
  return log === undefined ? new MemoryConstitutionLog() : new ShardLogConstitutionLog(log);
}

export function createGuardianHub(shardCount: number, metrics: MetricsRegistry, blackBox: BlackBox, initial?: Constitution): GuardianHub {
  return new GuardianHub({ shardCount, metrics, blackBox, ...(initial === undefined ? {} : { initial }) });
}

export interface GuardianParts {
  readonly ref: ActorRef<GuardianMessage>;
  readonly learning: GraphLearning;
  readonly backend: GuardianBackend;
}

/** The guardian's ref, the shards' learning and maintenance, and the API backend (spawn with `spawnGuardian`). */
export function guardianParts(system: ActorSystem, nodeId: string, hub: GuardianHub, router: GraphRouter): GuardianParts {
  const ref = system.ref<GuardianMessage>(guardianAddress(nodeId));
  const frontend = new GuardianFrontend(ref, hub);
  const learning = new GraphLearning(router, hub, ref);
  const backend: GuardianBackend = {
    getConstitution: (c) => frontend.getConstitution(c),
    updateConstitution: (r, c) => frontend.updateConstitution(r, c),
    validateConstitution: (r, c) => frontend.validateConstitution(r, c),
    rollbackConstitution: (o, c) => frontend.rollbackConstitution(o, c),
    constitutionHistory: (c) => frontend.constitutionHistory(c),
    guardianStats: (c) => frontend.guardianStats(c),
    watchEvents: (o, c) => frontend.watchEvents(o, c),
    activate: (keys, tokens, options, c) => learning.activate(keys, tokens, options, c),
    feedback: (keys, success, options, c) => learning.feedback(keys, success, options, c),
  };
  return { ref, learning, backend };
}

/** Spawns the guardian actor; resolves once it recovered its constitution log. */
export async function spawnGuardian(
  system: ActorSystem,
  nodeId: string,
  hub: GuardianHub,
  log: ConstitutionLog,
  learning: GraphLearning,
  options: NodeGuardianOptions,
  logger: Logger,
): Promise<ActorRef<GuardianMessage>> {
  const ref = system.spawn<GuardianMessage>(guardianAddress(nodeId), () =>
    new GuardianActor({
      hub,
      log,
      maintenance: learning,
      logger,
      ...(options.initialConstitution === undefined ? {} : { initial: options.initialConstitution }),
      ...(options.learningSweepIntervalMs === undefined ? {} : { learningSweepIntervalMs: options.learningSweepIntervalMs }),
      ...(options.cleanupCooldownMs === undefined ? {} : { cleanupCooldownMs: options.cleanupCooldownMs }),
      ...(options.rssProbe === undefined ? {} : { rssProbe: options.rssProbe }),
    }),
  );
  await system.started(ref);
  return ref;
}
