/**
 * `startNode`: an embedded single node. It assembles, as components of the runtime's `Node`
 * (started in order, drained and stopped in reverse, SIGINT/SIGTERM handled when asked):
 *   1. the metrics endpoint (`/metrics`, `/healthz`, `/readyz`),
 *   2. the shard logs (one `ShardLog` per shard from the `ShardLogProvider`: by default the WAL in
 *      the data directory, volatile with `--no-wal`),
 *   3. the actor system with S graph shard actors (each recovers from its log in `preStart`),
 *      after the guardian (`guardian/<node>`), which recovers the constitution from its log before
 *      any shard starts, so every write is validated against the persisted constitution
 *      (see guardian.ts),
 *   4. the gRPC server (TokenService, GraphService, AdminService with the constitution and
 *      guardian methods, health, reflection) over the coordinator (`GraphRouter`). Health says
 *      NOT_SERVING until every shard has recovered.
 */
import { join } from "node:path";
import { hostname } from "node:os";
import {
  FieldEngineActor,
  FieldEventHub,
  GraphRouter,
  GraphShardActor,
  ShardBoard,
  type GraphShardEnv,
  type FieldEngineMessage,
  type ShardLog,
  type SnapshotPolicy,
} from "../actors/index.ts";
import { DEFAULT_HIERARCHY_PARAMS } from "../core/field/hierarchy-types.ts";
import { DEFAULT_FIELD_DETECTION_PARAMS, DEFAULT_FORCE_PARAMS } from "../core/field/params.ts";
import { FieldPool } from "../runtime/field/index.ts";
import { fieldBackend } from "./field-backend.ts";
import { QUOTA_NAMES, ShardGuard, type GuardianHub } from "../actors/guardian/index.ts";
import { ApiServer, SERVICE_NAMES, ServingStatus, type ApiLimits, type NodeBackend } from "../api/index.ts";
import { toNeuroGraphError, type NeuroGraphError } from "../core/errors.ts";
import { DEFAULT_CONNECTION_LIMITS, DEFAULT_TOKEN_LIMITS } from "../core/limits.ts";
import {
  ActorSystem,
  Node,
  actorAddress,
  actorSystemComponent,
  combineObservers,
  shardAddress,
  type ActorRef,
  type ActorRefBase,
  type Component,
} from "../runtime/index.ts";
import {
  BlackBox,
  MetricsRegistry,
  createLogger,
  installFatalHandlers,
  startMetricsServer,
  withFieldStepSpan,
  type Logger,
  type MetricsServer,
} from "../telemetry/index.ts";
import type { ClusterRuntime } from "./cluster-node.ts";
import { defaultSampling, type SamplingParams } from "../core/constitution/index.ts";
import { SAMPLING_REASONS } from "../sampling/index.ts";
import type { ServeConfig } from "./config.ts";
import { ensureDataDir, notServingReason, packageVersion, reconcileEdges, rootCause, shardDecider } from "./start-support.ts";
import { NodeObservability, type NodeTracingOptions } from "./node-observability.ts";
import { TracedShardLog } from "./traced-shard-log.ts";
import { constitutionLogOf, createGuardianHub, guardianParts, spawnGuardian, type NodeGuardianOptions } from "./guardian.ts";
import { MetricsInterceptor, blackBoxObserver, collectNodeFigures, metricsObserver, recordShardStates } from "./observability.ts";
import { volatileShardLogs, walShardLogs, walStatsOf, walTuningOf, type ShardLogProvider, type ShardLogSetup } from "./shard-logs.ts";

export { volatileShardLogs, walShardLogs, type ShardLogContext, type ShardLogProvider, type ShardLogSetup } from "./shard-logs.ts";

export interface StartNodeOptions {
  /**
   * Where shard logs come from. Default: the WAL in the data directory with the configuration's
   * settings, or `volatileShardLogs` (everything lost at exit) when the configuration says `--no-wal`.
   */
  readonly shardLogs?: ShardLogSetup;
  /** When shards write snapshots to their logs (default: when the log says, e.g. the WAL's settings). */
  readonly snapshot?: SnapshotPolicy;
  /** Default: JSON lines on stderr at the configured level. */
  readonly logger?: Logger;
  /** Resolve only once every shard recovered and health is SERVING (default true). */
  readonly waitUntilReady?: boolean;
  /**
   * Install process handlers (default false): SIGINT/SIGTERM stop the node and exit, SIGUSR2
   * dumps the black box, an uncaught error dumps it and exits non-zero.
   */
  readonly handleSignals?: boolean;
  /** Called with the exit code after a signal-initiated stop (default `process.exit`). */
  readonly exit?: (code: number) => void;
  readonly apiLimits?: Partial<ApiLimits>;
  /** Writes waiting for the log, per shard, before writes get RESOURCE_EXHAUSTED (default: `--wal-queue-bytes`). */
  readonly maxPendingBytes?: number;
  /** Tracing from code (an in-memory exporter in tests); production uses the OTEL_* variables. */
  readonly tracing?: NodeTracingOptions;
  /** Sampling section of the constitution in force at start (default: the default constitution's). */
  readonly sampling?: SamplingParams;
  /**
   * Count gRPC calls and actor messages into the metrics (default true). The registry and its
   * endpoint stay; only the per-call and per-message hooks go. For measuring their cost.
   */
  readonly metricsHooks?: boolean;
  /** The guardian: initial constitution, constitution log, learning sweep, cleanup cooldown. */
  readonly guardian?: NodeGuardianOptions;
}

export interface NodeHandle {
  /** `host:port` the gRPC API listens on. */
  readonly grpcAddress: string;
  /** Base URL of the metrics endpoint, e.g. `http://127.0.0.1:9464`. */
  readonly metricsAddress: string;
  readonly nodeId: string;
  /** Resolves once every shard recovered (health SERVING); rejects if the node stops first. */
  readonly ready: Promise<void>;
  readonly board: ShardBoard;
  readonly metrics: MetricsRegistry;
  readonly blackBox: BlackBox;
  /** Tracing, sampling (`applyConstitution` on a constitution change) and AdminService's side of them. */
  readonly observability: NodeObservability;
  /** The node's actor system (to spawn further actors next to the shards). */
  readonly system: ActorSystem;
  /** The guardian's shared state: active constitution, quotas, mutation budget, events, stats. */
  readonly guardian: GuardianHub;
  /** Graceful stop (idempotent); `force` skips the drain. */
  stop(options?: { force?: boolean }): Promise<{ clean: boolean }>;
}

export async function startNode(config: ServeConfig, options: StartNodeOptions = {}): Promise<NodeHandle> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const nodeId = config.nodeId ?? hostname();
  const version = packageVersion();
  const S = config.shards;
  ensureDataDir(config.dataDir);

  const metrics = new MetricsRegistry({ shards: S, version, samplingReasons: SAMPLING_REASONS, quotas: QUOTA_NAMES });
  const board = new ShardBoard(S);
  const blackBox = new BlackBox({ dataDir: config.dataDir });
  recordShardStates(blackBox, board);
  // Cluster mode (--nats): the NATS transport, and shards owned by lease (cluster-node.ts).
  let cluster: ClusterRuntime | undefined;
  if (config.nats !== undefined) {
    const { prepareCluster } = await import("./cluster-node.ts");
    const { natsSettings } = await import("../runtime/nats/index.ts");
    const nats = natsSettings(config);
    // The local copy of the shards' logs and snapshots lives beside the data (not with --no-wal: no disk).
    const cacheDir = config.wal ? join(config.dataDir, "cluster-cache") : undefined;
    if (nats !== undefined) cluster = await prepareCluster({ nats, shardCount: S, leaseMs: config.lease, ...(cacheDir === undefined ? {} : { cacheDir }) }, logger);
  }
  const obs = NodeObservability.create({
    mode: config.tracing,
    traceSampleRate: config.traceSampleRate,
    traceTail: config.traceTail,
    traceHeaders: config.traceHeaders,
    nodeId,
    version,
    adminToken: config.adminToken,
    constitution: options.sampling ?? defaultSampling(),
    metrics,
    blackBox,
    logger,
    ...(options.tracing === undefined ? {} : { tracing: options.tracing }),
  });
  const hooks = options.metricsHooks ?? true;
  const system = new ActorSystem({
    nodeId,
    ...(cluster === undefined ? {} : { transport: cluster.transport, codecs: cluster.codecs }),
    mailboxCapacity: config.mailboxCapacity,
    askTimeoutMs: config.askTimeout,
    // Tracing first: the headers its beforeReceive returns are what the turn's sends carry.
    observer: combineObservers(obs.observer(), ...(hooks ? [metricsObserver(metrics, blackBox, config.slowTurn)] : []), blackBoxObserver(blackBox)),
    onFatal: (error, address) => {
      const shard = address.kind === "shard" ? Number(address.key) : -1;
      const root = rootCause(error);
      fatal.push(root);
      if (shard >= 0 && shard < S) board.setState(shard, "failed", root.message);
      logger.fatal({ actor: `${address.kind}/${address.key}`, err: error }, "actor failed beyond its restart limit and was stopped");
    },
  });
  collectNodeFigures(metrics, board, system);
  const guardianOptions = options.guardian ?? {};
  const hub = createGuardianHub(S, metrics, blackBox, guardianOptions.initialConstitution);
  const logs: ShardLog[] = [];
  let guardianLog: ShardLog | undefined;
  const enforce = guardianOptions.enforce ?? true;
  const router = new GraphRouter({ system, board, shardCount: S, nodeId, version, ...(enforce ? { guardian: hub } : {}), walStats: (s) => walStatsOf(logs[s]), orderedPrepares: cluster !== undefined });
  const backend: NodeBackend = router;
  // Shards hold calls until recovery is complete (every shard recovered, cross-shard edges reconciled).
  const recovery = { open: false };
  // The field engine: one pool of worker threads per node, one engine actor over every shard.
  const fieldPool = new FieldPool(config.fieldThreads > 0 ? { threads: config.fieldThreads } : {});
  const fieldEvents = new FieldEventHub();
  let fieldEngine: ActorRef<FieldEngineMessage> | undefined;
  const fieldRef = (): ActorRef<FieldEngineMessage> => {
    fieldEngine ??= system.spawn(actorAddress("field", "node"), () =>
      new FieldEngineActor({
        shardCount: S,
        pool: fieldPool,
        writer: router,
        force: DEFAULT_FORCE_PARAMS,
        detection: DEFAULT_FIELD_DETECTION_PARAMS,
        hierarchy: DEFAULT_HIERARCHY_PARAMS,
        detectEvery: config.fieldBatch,
        events: fieldEvents,
        logger,
        metrics,
        traceStep: withFieldStepSpan,
      }),
    );
    return fieldEngine;
  };
  const guardian = guardianParts(system, nodeId, hub, router);
  const api = new ApiServer(
    {
      backend,
      guardian: guardian.backend,
      field: fieldBackend(() => fieldRef(), fieldEvents),
      observability: obs,
      interceptors: [...obs.interceptors(), ...(hooks ? [new MetricsInterceptor(metrics, blackBox, config.slowTurn)] : [])],
      onInternalError: (error, errorId) => {
        logger.error({ err: error, errorId }, "internal error in a gRPC call");
        blackBox.recoveredException("grpc", error, { error_id: errorId });
      },
    },
    {
      address: config.grpcAddr.address,
      ...(config.tlsCert !== undefined && config.tlsKey !== undefined
        ? { tls: { certFile: config.tlsCert, keyFile: config.tlsKey, ...(config.tlsCa === undefined ? {} : { caFile: config.tlsCa }), requireClientCert: config.tlsClientAuth } }
        : {}),
      maxReceiveMessageBytes: config.maxRecvMessage,
      maxSendMessageBytes: config.maxSendMessage,
      shutdownTimeoutMs: config.shutdownTimeout,
      ...(config.adminToken === undefined ? {} : { adminToken: config.adminToken }),
      ...(options.apiLimits === undefined ? {} : { limits: options.apiLimits }),
    },
  );

  const node = new Node({ shutdownTimeoutMs: config.shutdownTimeout, log: (line) => logger.info(line) });
  let metricsServer: MetricsServer | undefined;
  let provider: ShardLogProvider | undefined;
  const refs: ActorRefBase[] = [];
  const fatal: NeuroGraphError[] = [];
  let accepting = true;
  let reconciled = false;

  let clusterReady = false;
  /** Shards this node serves: all of them, or in cluster mode the ones it holds leases for. */
  const localShards = (): number[] => cluster?.owned() ?? Array.from({ length: S }, (_, s) => s);
  /** Start-up recovery is done: the edge reconciliation (single node) or the cluster's join. */
  const recovered = (): boolean => (cluster === undefined ? reconciled : clusterReady);
  const allServing = (): boolean => recovered() && localShards().every((s) => board.state(s) === "serving");
  const updateHealth = (): void => {
    if (!accepting || api.address === undefined) return;
    const usable = recovered() && localShards().every((s) => board.state(s) === "serving" || board.state(s) === "read_only");
    const status = usable ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    for (const name of ["", SERVICE_NAMES.token, SERVICE_NAMES.graph, SERVICE_NAMES.admin]) api.health.setStatus(name, status);
  };
  board.onStateChange(updateHealth);

  // First to start, last to stop: the spans of everything stopping before it are flushed.
  node.add({
    name: "tracing",
    async start() {
      await obs.start();
      logger.info({ tracing: obs.tracingEnabled, sampling: obs.sampling.config }, `tracing ${obs.tracingEnabled ? "on" : "off"}: ${obs.tracingReason}`);
    },
    stop: () => obs.shutdown(),
  });
  node.add({
    name: "metrics",
    async start() {
      metricsServer = await startMetricsServer({
        metrics,
        host: config.metricsAddr.host,
        port: config.metricsAddr.port,
        ready: () => (allServing() ? { ready: true } : { ready: false, reason: notServingReason(board) }),
      });
    },
    async stop() {
      await metricsServer?.close();
    },
  });
  // The actor system stops last (after the logs closed), the shard actors first (before them).
  node.add(actorSystemComponent(system));
  // Before the shards: no write is checked against an older constitution than the saved one.
  const guardianComponent: Component = {
    name: "guardian",
    async start() {
      // Cluster mode: one constitution for every node, kept in JetStream.
      const shared = guardianOptions.constitutionLog === undefined ? await cluster?.constitutionLog() : undefined;
      const log = shared ?? constitutionLogOf(guardianOptions.constitutionLog, guardianLog);
      await spawnGuardian(system, nodeId, hub, log, guardian.learning, guardianOptions, logger);
    },
    async stop(ctx) {
      await system.stop(guardian.ref, { force: ctx.force });
    },
  };
  const shardEnv = (s: number, log: ShardLog): GraphShardEnv => ({
    shard: s,
    shardCount: S,
    // WAL commit spans (gRPC → shard → WAL commit) whatever the log is, only while tracing runs.
    log: obs.tracingEnabled ? new TracedShardLog(log, s) : log,
    board,
    tokenLimits: DEFAULT_TOKEN_LIMITS,
    connectionLimits: DEFAULT_CONNECTION_LIMITS,
    stashCapacity: config.mailboxCapacity,
    maxPendingBytes: options.maxPendingBytes ?? config.walQueueBytes,
    logger,
    ...(enforce ? { guard: new ShardGuard(hub, s) } : {}),
    ...(options.snapshot === undefined ? {} : { snapshot: options.snapshot }),
  });
  // Cluster mode: guardian, then the shards this node holds leases for. Single node: shard logs,
  // guardian (its log comes from the same provider), shards.
  if (cluster !== undefined) node.add(guardianComponent);
  if (cluster !== undefined) node.add(cluster.shards({ system, board, env: shardEnv, mailboxCapacity: config.mailboxCapacity, decide: shardDecider, logger }));
  else node.add({
    name: "shard-logs",
    async start() {
      const setup = options.shardLogs ?? (config.wal ? walShardLogs(walTuningOf(config)) : volatileShardLogs);
      if (options.shardLogs === undefined && !config.wal) {
        logger.warn({ dataDir: config.dataDir }, "running WITHOUT a write-ahead log (--no-wal): every token and connection is lost when the process stops");
      }
      provider = await setup({ system, dataDir: config.dataDir, shardCount: S, repair: config.repair, logger, metrics, blackBox });
      for (let s = 0; s < S; s++) logs.push(await provider.open(s));
      if (guardianOptions.constitutionLog === undefined) guardianLog = await provider.openGuardianLog?.();
    },
    async stop() {
      for (const log of guardianLog === undefined ? logs : [...logs, guardianLog]) {
        try {
          await log.close();
        } catch (err) {
          logger.error({ err: toNeuroGraphError(err) }, "closing a shard log failed");
        }
      }
      await provider?.close?.();
    },
  });
  if (cluster === undefined) node.add(guardianComponent);
  if (cluster === undefined) node.add({
    name: "shards",
    start() {
      for (let s = 0; s < S; s++) {
        // Single node: shards hold calls until the cross-shard edges are reconciled.
        const env = { ...shardEnv(s, logs[s]!), recovery };
        refs.push(
          system.spawn(shardAddress(s), () => new GraphShardActor(env), { mailboxCapacity: config.mailboxCapacity, supervision: { decide: shardDecider } }),
        );
      }
    },
    async drain(ctx) {
      if (!ctx.force) await system.whenIdle(Math.max(0, ctx.deadline - Date.now()));
    },
    async stop(ctx) {
      await Promise.all(refs.map((r) => system.stop(r, { force: ctx.force })));
    },
  });
  if (config.nats !== undefined) {
    // Loaded only in NATS mode: a single embedded node never loads the NATS client.
    const { natsIngestComponent } = await import("./nats-ingest.ts");
    const { natsSettings } = await import("../runtime/nats/index.ts");
    const nats = natsSettings(config);
    if (nats !== undefined) {
      const settings = {
        nats,
        jetstream: config.ingestJetstream,
        maxAckPending: config.ingestMaxAckPending,
        duplicateWindowMs: config.ingestDuplicateWindow,
        concurrency: config.ingestConcurrency,
      };
      node.add(natsIngestComponent(settings, router, logger, metrics));
    }
  }
  node.add({
    name: "field-engine",
    start() {
      fieldRef();
    },
    async stop(ctx) {
      if (fieldEngine !== undefined) await system.stop(fieldEngine, { force: ctx.force });
      await fieldPool.close();
    },
  });
  node.add({
    name: "grpc",
    async start() {
      await api.start();
      updateHealth(); // NOT_SERVING until every shard has recovered
    },
    async drain(ctx) {
      accepting = false;
      // In-flight calls get half of what is left of the shutdown budget: the shards' graceful
      // handoff (cluster mode) and the log flushes after it need the rest. Calls still open at
      // that limit are answered UNAVAILABLE (retryable), never cancelled.
      await api.stop(Math.max(0, Math.floor((ctx.deadline - Date.now()) / 2)));
    },
    async stop() {
      accepting = false;
      await api.stop(0);
    },
  });

  const stopRemovers: (() => void)[] = [];
  try {
    await node.start();
  } catch (err) {
    throw rootCause(toNeuroGraphError(err));
  }
  if (options.handleSignals === true) {
    stopRemovers.push(node.handleSignals(options.exit === undefined ? {} : { exit: options.exit }));
    stopRemovers.push(blackBox.installSignalHandler({ logger }));
    stopRemovers.push(installFatalHandlers({ blackBox, logger, onFatal: async () => void (await node.stop({ force: true })) }));
  }
  const started = cluster === undefined ? Promise.all(refs.map((r) => system.started(r))) : cluster.ready.then(() => void (clusterReady = true));
  const ready = started.then(
    async () => {
      logger.info({ shards: S, tokens: board.tokens.reduce((a, b) => a + b, 0) }, "every shard recovered");
      // Single node only: in cluster mode shards recover one by one under leases, on several nodes.
      if (cluster === undefined) {
        await reconcileEdges(router, metrics, logger);
        reconciled = true;
        recovery.open = true;
        router.openShards();
      }
      updateHealth();
    },
    (err: unknown) => {
      throw fatal[0] ?? toNeuroGraphError(err);
    },
  );
  ready.catch(() => undefined);
  if (options.waitUntilReady ?? true) {
    try {
      await ready;
    } catch (err) {
      for (const remove of stopRemovers) remove();
      await node.stop({ force: true });
      throw err;
    }
  }

  return {
    grpcAddress: api.address?.address ?? config.grpcAddr.address,
    metricsAddress: metricsServer?.url ?? "",
    nodeId,
    ready,
    board,
    metrics,
    blackBox,
    observability: obs,
    system,
    guardian: hub,
    async stop(opts = {}) {
      for (const remove of stopRemovers) remove();
      const r = await node.stop(opts.force === true ? { force: true } : {});
      return { clean: r.clean };
    },
  };
}
