/**
 * Cluster mode of `startNode` (`--nats URL --cluster NAME --node-id ID`, DESIGN §4-§5). The node's
 * actor system gets the NATS transport (shards on other nodes are reached over NATS; any node
 * answers for any shard) and, instead of opening every shard locally, the node runs a
 * `ClusterMember`: it holds leases for the shards whose preferred owner it is, and for each one
 * opens the shard's replicated log (JetStream, fenced by the lease epoch) and spawns its graph
 * shard actor, which recovers from the snapshot in the object store plus the log. A lost lease
 * stops the actor at once; a handoff stops it gracefully (its mailbox drains, writes in flight
 * become durable) before the lease is released. A request for a shard that no node serves at
 * that moment gets UNAVAILABLE (NATS "no responders"), which clients retry.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { JetStreamConstitutionLog } from "../actors/cluster/constitution-stream.ts";
import { ReplicatedLogs } from "../actors/cluster/log-setup.ts";
import type { ConstitutionLog } from "../actors/guardian/constitution-log.ts";
import { GraphShardActor, type GraphShardEnv, type ShardBoard, type ShardLog } from "../actors/index.ts";
import { shardCodecs } from "../actors/shard-codecs.ts";
import { toNeuroGraphError } from "../core/errors.ts";
import { defaultReplicas } from "../runtime/cluster/jetstream-setup.ts";
import { NodeRegistry, ShardLeases, type Lease } from "../runtime/cluster/leases.ts";
import { ClusterMember } from "../runtime/cluster/member.ts";
import { CodecRegistry, formatAddress, shardAddress, type ActorRefBase, type ActorSystem, type Component, type Directive } from "../runtime/index.ts";
import { NatsTransport, type NatsSettings } from "../runtime/nats/index.ts";
import type { Logger } from "../telemetry/index.ts";

export interface ClusterSettings {
  readonly nats: NatsSettings;
  readonly shardCount: number;
  readonly leaseMs: number;
  /** This node's local copy of the shards' logs and snapshots (`<dataDir>/cluster-cache`); none when undefined. */
  readonly cacheDir?: string;
  /** JetStream replicas of the log stream, snapshot store and KV buckets (default min(3, servers)). */
  readonly replicas?: number;
}

export interface ClusterShardsOptions {
  readonly system: ActorSystem;
  readonly board: ShardBoard;
  /** The shard environment without its log. */
  readonly env: (shard: number, log: ShardLog) => GraphShardEnv;
  readonly mailboxCapacity: number;
  readonly decide: (error: unknown) => Directive;
  readonly logger: Logger;
}

export interface ClusterRuntime {
  readonly transport: NatsTransport;
  readonly codecs: CodecRegistry;
  /** The component that owns shards by lease (replaces the single node's logs and shards). */
  shards(options: ClusterShardsOptions): Component;
  /** Shards this node serves now. */
  owned(): number[];
  /** The constitution log every node of the cluster shares (a JetStream stream). */
  constitutionLog(): Promise<ConstitutionLog>;
  /** Resolves after the first placement round. */
  readonly ready: Promise<void>;
}

/**
 * How long after a shard changed hands requests still pending to it are failed (UNAVAILABLE):
 * long enough for the old owner's last replies to arrive (it answers everything it took before
 * releasing the lease), short against a call's deadline.
 */
const MOVED_GRACE_MS = 2_000;

/** The replicated log grows until a snapshot lets it be pruned: snapshot by default in cluster mode. */
const CLUSTER_SNAPSHOTS = Object.freeze({ everyMutations: 10_000, intervalMs: 60_000 });

function withSnapshots(env: GraphShardEnv): GraphShardEnv {
  return env.snapshot === undefined ? { ...env, snapshot: CLUSTER_SNAPSHOTS } : env;
}

interface Local {
  readonly lease: Lease;
  readonly log: ShardLog;
  readonly ref: ActorRefBase;
}

export async function prepareCluster(settings: ClusterSettings, logger: Logger): Promise<ClusterRuntime> {
  const { nats } = settings;
  const transport = await NatsTransport.connect(nats.connection, { nodeId: nats.nodeId, cluster: nats.cluster, maxInFlight: nats.maxInFlight, logger });
  const codecs = new CodecRegistry().register(...shardCodecs());
  const local = new Map<number, Local>();
  let member: ClusterMember | undefined;
  let logs: ReplicatedLogs | undefined;
  let stopWatching: (() => void) | undefined;
  const movedTimers = new Set<NodeJS.Timeout>();
  let markReady!: () => void;
  let failReady!: (err: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  ready.catch(() => undefined);
  let replicas: Promise<number> | undefined;
  const replicasOf = (): Promise<number> => (replicas ??= settings.replicas !== undefined ? Promise.resolve(settings.replicas) : jetstreamManager(transport.connection).then((jsm) => defaultReplicas(transport.connection, jsm)));

  return {
    transport,
    codecs,
    ready,
    owned: () => [...local.keys()].sort((a, b) => a - b),
    constitutionLog: async () => JetStreamConstitutionLog.open({ connection: transport.connection, cluster: nats.cluster, replicas: await replicasOf(), logger }),
    shards(o) {
      const { system, board } = o;
      const stopLocal = async (shard: number, force: boolean): Promise<void> => {
        const l = local.get(shard);
        if (l === undefined) return;
        local.delete(shard);
        board.setState(shard, "stopping", force ? "lease lost" : "handing over");
        try {
          await system.stop(l.ref, { force });
        } catch (err) {
          o.logger.warn({ shard, err: toNeuroGraphError(err) }, "stopping a shard actor failed");
        }
        await l.log.close().catch(() => undefined);
        board.setState(shard, "stopped", "owned by another node");
      };
      return {
        name: "cluster-shards",
        async start() {
          const conn = transport.connection;
          const replicas = await replicasOf();
          const opened = await ReplicatedLogs.open({ connection: conn, cluster: nats.cluster, replicas, logger: o.logger, ...(settings.cacheDir === undefined ? {} : { cacheDir: settings.cacheDir }) });
          logs = opened;
          const leases = await ShardLeases.open(conn, nats.cluster, { leaseMs: settings.leaseMs, replicas });
          const nodes = await NodeRegistry.open(conn, nats.cluster, { ttlMs: settings.leaseMs, replicas });
          // A request forwarded to a shard's old owner can be lost (NATS drops what it was
          // delivering as the owner unsubscribed): once the shard changed hands, fail what is
          // still pending to it fast with UNAVAILABLE rather than at the call's deadline.
          stopWatching = await leases.watchOwners((shard) => {
            const changedAt = Date.now();
            const timer = setTimeout(() => {
              movedTimers.delete(timer);
              transport.failInFlight(formatAddress(shardAddress(shard)), changedAt);
            }, MOVED_GRACE_MS);
            timer.unref();
            movedTimers.add(timer);
          });
          for (let s = 0; s < settings.shardCount; s++) board.setState(s, "stopped", "owned by another node");
          member = new ClusterMember({
            nodeId: nats.nodeId,
            shardCount: settings.shardCount,
            leases,
            nodes,
            onAcquired: async (lease) => {
              const log = opened.open(lease.shard, {
                owner: nats.nodeId,
                epoch: lease.epoch,
                mayWrite: () => member?.lease(lease.shard)?.epoch === lease.epoch,
                onFailure: (kind, error) => {
                  o.logger.warn({ shard: lease.shard, kind, err: error }, "the shard's replicated log failed; giving the shard up");
                  void stopLocal(lease.shard, true).then(() => member?.giveUp(lease.shard));
                },
              });
              board.setState(lease.shard, "starting", `taking over (epoch ${lease.epoch})`);
              const ref = system.spawn(shardAddress(lease.shard), () => new GraphShardActor(withSnapshots(o.env(lease.shard, log))), {
                mailboxCapacity: o.mailboxCapacity,
                supervision: { decide: o.decide },
              });
              local.set(lease.shard, { lease, log, ref });
              try {
                await system.started(ref);
              } catch (err) {
                await stopLocal(lease.shard, true);
                throw err;
              }
              o.logger.info({ shard: lease.shard, epoch: lease.epoch }, "serving shard");
            },
            onHandoff: async (lease) => {
              await stopLocal(lease.shard, false);
              o.logger.info({ shard: lease.shard }, "handed shard over");
            },
            onLost: (shard, error) => {
              o.logger.warn({ shard, err: error }, "lost the lease of a shard; stopped serving it");
              void stopLocal(shard, true);
            },
            onError: (error) => o.logger.warn({ err: error }, "cluster membership round failed; retrying"),
          });
          member.start().then(markReady, failReady);
        },
        async drain(ctx) {
          if (ctx.force) member?.halt();
          else await member?.stop();
        },
        async stop() {
          member?.halt();
          stopWatching?.();
          for (const t of movedTimers) clearTimeout(t);
          movedTimers.clear();
          await Promise.all([...local.keys()].map((s) => stopLocal(s, true)));
          await logs?.close();
        },
      };
    },
  };
}
