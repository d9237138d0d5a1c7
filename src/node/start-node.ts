/**
 * `startNode`: an embedded single node. It assembles, as components of the runtime's `Node`
 * (started in order, drained and stopped in reverse, SIGINT/SIGTERM handled when asked):
 *   1. the metrics endpoint (`/metrics`, `/healthz`, `/readyz`),
 *   2. the shard logs (one `ShardLog` per shard from the `ShardLogProvider`: by default the WAL in
 *      the data directory, volatile with `--no-wal`),
 *   3. the actor system with S graph shard actors (each recovers from its log in `preStart`),
 *   4. the gRPC server (TokenService, GraphService, AdminService, health, reflection) over the
 *      coordinator (`GraphRouter`). Health says NOT_SERVING until every shard has recovered.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { GraphRouter, GraphShardActor, ShardBoard, type ShardLog, type SnapshotPolicy } from "../actors/index.ts";
import { ApiServer, SERVICE_NAMES, ServingStatus, type ApiLimits, type NodeBackend } from "../api/index.ts";
import { ErrorCode, FailedPreconditionError, InternalError, NeuroGraphError, toNeuroGraphError } from "../core/errors.ts";
import { DEFAULT_CONNECTION_LIMITS, DEFAULT_TOKEN_LIMITS } from "../core/limits.ts";
import { ActorSystem, Node, actorSystemComponent, combineObservers, defaultDecider, shardAddress, type ActorRefBase, type Directive } from "../runtime/index.ts";
import {
  BlackBox,
  MetricsRegistry,
  createLogger,
  installFatalHandlers,
  startMetricsServer,
  type Logger,
  type MetricsServer,
} from "../telemetry/index.ts";
import type { ServeConfig } from "./config.ts";
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
  /** Graceful stop (idempotent); `force` skips the drain. */
  stop(options?: { force?: boolean }): Promise<{ clean: boolean }>;
}

function packageVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    const v = (pkg as { version?: unknown }).version;
    return typeof v === "string" ? v : "unknown";
  } catch {
    return "unknown";
  }
}

function ensureDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new FailedPreconditionError(`cannot create the data directory ${dataDir} (${reason}); choose another with --data-dir / NG_DATA_DIR`);
  }
}

/** The typed error underneath the wrappers of node start and supervision. */
function rootCause(error: NeuroGraphError): NeuroGraphError {
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
async function reconcileEdges(router: GraphRouter, metrics: MetricsRegistry, logger: Logger): Promise<void> {
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
function shardDecider(error: unknown): Directive {
  return error instanceof NeuroGraphError && error.code === ErrorCode.DataLoss ? "escalate" : defaultDecider(error);
}

export async function startNode(config: ServeConfig, options: StartNodeOptions = {}): Promise<NodeHandle> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const nodeId = config.nodeId ?? hostname();
  const version = packageVersion();
  const S = config.shards;
  ensureDataDir(config.dataDir);

  const metrics = new MetricsRegistry({ shards: S, version });
  const board = new ShardBoard(S);
  const blackBox = new BlackBox({ dataDir: config.dataDir });
  recordShardStates(blackBox, board);
  const system = new ActorSystem({
    nodeId,
    mailboxCapacity: config.mailboxCapacity,
    askTimeoutMs: config.askTimeout,
    observer: combineObservers(metricsObserver(metrics), blackBoxObserver(blackBox)),
    onFatal: (error, address) => {
      const shard = address.kind === "shard" ? Number(address.key) : -1;
      const root = rootCause(error);
      fatal.push(root);
      if (shard >= 0 && shard < S) board.setState(shard, "failed", root.message);
      logger.fatal({ actor: `${address.kind}/${address.key}`, err: error }, "actor failed beyond its restart limit and was stopped");
    },
  });
  collectNodeFigures(metrics, board, system);
  const logs: ShardLog[] = [];
  const router = new GraphRouter({ system, board, shardCount: S, nodeId, version, walStats: (s) => walStatsOf(logs[s]) });
  const backend: NodeBackend = router;
  // Shards hold calls until recovery is complete (every shard recovered, cross-shard edges reconciled).
  const recovery = { open: false };
  const api = new ApiServer(
    {
      backend,
      interceptors: [new MetricsInterceptor(metrics)],
      onInternalError: (error, errorId) => logger.error({ err: error, errorId }, "internal error in a gRPC call"),
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

  const allServing = (): boolean => reconciled && board.count("serving") === S;
  const updateHealth = (): void => {
    if (!accepting || api.address === undefined) return;
    const usable = reconciled && board.count("serving") + board.count("read_only") === S;
    api.health.setStatus("", usable ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
    for (const name of [SERVICE_NAMES.token, SERVICE_NAMES.graph, SERVICE_NAMES.admin]) {
      api.health.setStatus(name, usable ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
    }
  };
  board.onStateChange(updateHealth);

  node.add({
    name: "metrics",
    async start() {
      metricsServer = await startMetricsServer({
        metrics,
        host: config.metricsAddr.host,
        port: config.metricsAddr.port,
        ready: () => {
          if (allServing()) return { ready: true };
          const states = Array.from({ length: S }, (_, s) => board.state(s)).filter((st) => st !== "serving");
          return { ready: false, reason: `${states.length} of ${S} shards not serving (${[...new Set(states)].join(", ")})` };
        },
      });
    },
    async stop() {
      await metricsServer?.close();
    },
  });
  // The actor system stops last (after the logs closed), the shard actors first (before them).
  node.add(actorSystemComponent(system));
  node.add({
    name: "shard-logs",
    async start() {
      const setup = options.shardLogs ?? (config.wal ? walShardLogs(walTuningOf(config)) : volatileShardLogs);
      if (options.shardLogs === undefined && !config.wal) {
        logger.warn({ dataDir: config.dataDir }, "running WITHOUT a write-ahead log (--no-wal): every token and connection is lost when the process stops");
      }
      provider = await setup({ system, dataDir: config.dataDir, shardCount: S, repair: config.repair, logger, metrics, blackBox });
      for (let s = 0; s < S; s++) logs.push(await provider.open(s));
    },
    async stop() {
      for (const log of logs) {
        try {
          await log.close();
        } catch (err) {
          logger.error({ err: toNeuroGraphError(err) }, "closing a shard log failed");
        }
      }
      await provider?.close?.();
    },
  });
  node.add({
    name: "shards",
    start() {
      for (let s = 0; s < S; s++) {
        const env = {
          shard: s,
          shardCount: S,
          log: logs[s]!,
          board,
          tokenLimits: DEFAULT_TOKEN_LIMITS,
          connectionLimits: DEFAULT_CONNECTION_LIMITS,
          stashCapacity: config.mailboxCapacity,
          maxPendingBytes: options.maxPendingBytes ?? config.walQueueBytes,
          logger,
          recovery,
          ...(options.snapshot === undefined ? {} : { snapshot: options.snapshot }),
        };
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
  node.add({
    name: "grpc",
    async start() {
      await api.start();
      updateHealth(); // NOT_SERVING until every shard has recovered
    },
    async drain(ctx) {
      accepting = false;
      await api.stop(Math.max(0, ctx.deadline - Date.now()));
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
  const ready = Promise.all(refs.map((r) => system.started(r))).then(
    async () => {
      logger.info({ shards: S, tokens: board.tokens.reduce((a, b) => a + b, 0) }, "every shard recovered");
      await reconcileEdges(router, metrics, logger);
      reconciled = true;
      recovery.open = true;
      router.openShards();
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
    async stop(opts = {}) {
      for (const remove of stopRemovers) remove();
      const r = await node.stop(opts.force === true ? { force: true } : {});
      return { clean: r.clean };
    },
  };
}
