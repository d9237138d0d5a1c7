/**
 * The JetStream resources behind the replicated shard logs of one cluster (DESIGN §5): the stream
 * `NG_<cluster>_LOG` (subjects `ng.<cluster>.log.<shard>`, file storage, limits retention,
 * replicas = min(3, servers)) and the object store `ng-<cluster>-snapshots`. Creating them is
 * safe when several nodes start at once; `open` gives the `ShardLog` of one shard for one
 * ownership (owner + lease epoch).
 */
import { DiscardPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import { UnavailableError, type NeuroGraphError } from "../../core/errors.ts";
import { ensureStream } from "../../runtime/cluster/jetstream-setup.ts";
import { ClusterSubjects } from "../../runtime/nats/index.ts";
import type { Logger } from "../../telemetry/index.ts";
import { ClusterCache } from "./local-cache.ts";
import { ReplicatedShardLog } from "./replicated-log.ts";
import { SnapshotStore } from "./snapshot-store.ts";

const MS = 1_000_000;

export interface ReplicatedLogsOptions {
  readonly connection: NatsConnection;
  readonly cluster: string;
  readonly replicas: number;
  /** Retry window of one append (default 10 s). */
  readonly appendTimeoutMs?: number;
  /** Largest part of a batch in one stream message (default: the server's max payload less 8 KiB). */
  readonly maxPartBytes?: number;
  readonly snapshotEveryRecords?: number;
  readonly snapshotEveryBytes?: number;
  /** Where this node keeps its local copy of the logs and snapshots (LMDB); none without it. */
  readonly cacheDir?: string;
  readonly logger?: Logger;
}

export interface ShardOwnership {
  /** The owning node and its lease epoch (fence markers and logs name them). */
  readonly owner: string;
  readonly epoch: number;
  /** Whether the lease is still held (snapshots and prunes check it). */
  readonly mayWrite?: () => boolean;
  /** The log cannot go on (fenced by a newer owner, or JetStream failing). */
  readonly onFailure?: (kind: "fenced" | "failed", error: NeuroGraphError) => void;
}

export function logStreamName(cluster: string): string {
  return `NG_${cluster}_LOG`;
}

export function snapshotBucketName(cluster: string): string {
  return `ng-${cluster}-snapshots`;
}

export class ReplicatedLogs {
  private constructor(
    private readonly o: ReplicatedLogsOptions,
    readonly stream: string,
    private readonly root: string,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly snapshots: SnapshotStore,
    private readonly maxPartBytes: number,
    private readonly cache: ClusterCache | undefined,
  ) {}

  /** Creates (or updates) the log stream and the snapshot store. */
  static async open(o: ReplicatedLogsOptions): Promise<ReplicatedLogs> {
    const subjects = new ClusterSubjects(o.cluster);
    const stream = logStreamName(o.cluster);
    const jsm = await jetstreamManager(o.connection);
    const maxPayload = o.connection.info?.max_payload ?? 1024 * 1024;
    await ensureStream(jsm, {
      name: stream,
      subjects: [`${subjects.root}.log.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.New,
      num_replicas: o.replicas,
      duplicate_window: 120_000 * MS,
    });
    let store;
    const objm = new Objm(jetstream(o.connection, { timeout: 15_000 }));
    for (let attempt = 0; store === undefined; attempt++) {
      try {
        store = await objm.create(snapshotBucketName(o.cluster), { replicas: o.replicas, storage: StorageType.File });
      } catch (err) {
        // Idempotent: retried when a busy cluster or a concurrent start makes it time out.
        if (attempt < 3) {
          await new Promise((r) => setTimeout(r, 250 * (attempt + 1)));
          continue;
        }
        throw new UnavailableError(`cannot open the snapshot object store ${snapshotBucketName(o.cluster)}: ${err instanceof Error ? err.message : String(err)}; check JetStream on the NATS servers`, { cause: err });
      }
    }
    // Room for headers (part, message id, expectations) below the server's limit.
    const maxPartBytes = o.maxPartBytes ?? Math.max(4096, maxPayload - 8192);
    let cache: ClusterCache | undefined;
    if (o.cacheDir !== undefined) {
      // The stream's creation time tells a cache of this stream from one of an earlier stream of the same name.
      const created = (await jsm.streams.info(stream)).created;
      cache = ClusterCache.open(o.cacheDir, `${stream}@${created}`, o.logger);
    }
    return new ReplicatedLogs(o, stream, subjects.root, jetstream(o.connection), jsm, new SnapshotStore(store, Math.min(maxPartBytes, 1024 * 1024)), maxPartBytes, cache);
  }

  /** Closes the local cache (after every shard's log closed). */
  async close(): Promise<void> {
    await this.cache?.close();
  }

  subject(shard: number): string {
    return `${this.root}.log.${shard}`;
  }

  /** The log of `shard` for one ownership; `recover` fences out every earlier owner. */
  open(shard: number, ownership: ShardOwnership): ReplicatedShardLog {
    const o = this.o;
    return new ReplicatedShardLog({
      js: this.js,
      jsm: this.jsm,
      stream: this.stream,
      subject: this.subject(shard),
      shard,
      snapshots: this.snapshots,
      owner: ownership.owner,
      epoch: ownership.epoch,
      maxPartBytes: this.maxPartBytes,
      ...(o.appendTimeoutMs === undefined ? {} : { appendTimeoutMs: o.appendTimeoutMs }),
      ...(o.snapshotEveryRecords === undefined ? {} : { snapshotEveryRecords: o.snapshotEveryRecords }),
      ...(o.snapshotEveryBytes === undefined ? {} : { snapshotEveryBytes: o.snapshotEveryBytes }),
      ...(ownership.mayWrite === undefined ? {} : { mayWrite: ownership.mayWrite }),
      ...(ownership.onFailure === undefined ? {} : { onFailure: ownership.onFailure }),
      ...(this.cache === undefined ? {} : { cache: this.cache.shard(shard) }),
      ...(o.logger === undefined ? {} : { logger: o.logger }),
    });
  }
}
