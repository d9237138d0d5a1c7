/**
 * Background jobs that write a snapshot and prune the log behind it, one unit per group commit
 * (docs/wal.md §4). A snapshot's chunks go out one per commit, CRC computed just before; the
 * manifest joins the transaction of the last chunk, so the snapshot becomes valid atomically.
 * The previous snapshot stays until then. Pruning afterwards removes log records at or below the
 * snapshot's LSN and the older snapshots, `pruneBatch` keys per commit.
 */
import type { Key } from "lmdb";
import type { NeuroGraphError } from "../../core/errors.ts";
import {
  type ChunkPlan,
  encodeSnapshotChunk,
  encodeSnapshotManifest,
  planSnapshotChunks,
} from "../../core/wal/index.ts";
import type { ShardSnapshotData } from "../shard-log.ts";
import type { ShardDatabases } from "./environment.ts";
import type { BackgroundJob, BackgroundUnit, CommitListener, CommitOp } from "./group-commit.ts";
import { REMOVE_CHARGE } from "./removal.ts";
import { listSnapshots } from "./snapshot-store.ts";

const allocUnsafe = (n: number): Uint8Array => Buffer.allocUnsafe(n);

export interface SnapshotOutcome {
  readonly lsn: number;
  readonly chunks: number;
  readonly bytes: number;
  readonly createdAtMs: number;
}

export class SnapshotJob implements BackgroundJob {
  private readonly plan: ChunkPlan[];
  private readonly crcs: number[] = [];
  private next = 0;
  private finished = false;
  private bytes = 0;
  private readonly createdAtMs = Date.now();

  constructor(
    private readonly dbs: ShardDatabases,
    private readonly shard: number,
    private readonly data: ShardSnapshotData,
    chunkBytes: number,
    private readonly done: (outcome: SnapshotOutcome | NeuroGraphError) => void,
  ) {
    this.plan = planSnapshotChunks(data, chunkBytes);
  }

  nextUnit(): BackgroundUnit | undefined {
    if (this.finished || this.next > this.plan.length) return undefined;
    const ops: CommitOp[] = [];
    let bytes = 0;
    if (this.next < this.plan.length) {
      const chunk = this.plan[this.next]!;
      const { record, crc } = encodeSnapshotChunk(this.data.lsn, this.shard, chunk, allocUnsafe);
      this.crcs.push(crc);
      ops.push({ db: this.dbs.snap, key: [this.data.lsn, chunk.index + 1], value: record });
      bytes += record.length;
      this.next++;
    }
    const last = this.next === this.plan.length;
    if (last) {
      const manifest = encodeSnapshotManifest(
        {
          shard: this.shard,
          lsn: this.data.lsn,
          createdAtMs: this.createdAtMs,
          tokenBytes: this.data.tokens.length,
          connectionBytes: this.data.connections.length,
          constitutionBytes: this.data.constitution?.length ?? 0,
          hasConstitution: this.data.constitution !== undefined,
          chunkCrcs: this.crcs,
        },
        allocUnsafe,
      );
      ops.push({ db: this.dbs.snap, key: [this.data.lsn, 0], value: manifest });
      bytes += manifest.length;
      this.next++;
    }
    this.bytes += bytes;
    const listener: CommitListener = {
      committed: () => {
        if (!last || this.finished) return;
        this.finished = true;
        this.done({ lsn: this.data.lsn, chunks: this.plan.length, bytes: this.bytes, createdAtMs: this.createdAtMs });
      },
      failed: (error) => this.abort(error),
    };
    return { ops, bytes, listener };
  }

  abort(error: NeuroGraphError): void {
    if (this.finished) return;
    this.finished = true;
    this.done(error);
  }
}

/** Removes log records ≤ `upToLsn` and every snapshot older than `upToLsn`. */
export class PruneJob implements BackgroundJob {
  private cursor = 0;
  private logDone = false;
  private snapKeys: Key[] | undefined;
  private finished = false;
  private removed = 0;

  constructor(
    private readonly dbs: ShardDatabases,
    private readonly upToLsn: number,
    private readonly batch: number,
    private readonly done: (removed: number, error?: NeuroGraphError) => void,
  ) {}

  nextUnit(): BackgroundUnit | undefined {
    if (this.finished) return undefined;
    const keys: Key[] = [];
    if (!this.logDone) {
      for (const key of this.dbs.log.getKeys({ start: this.cursor, end: this.upToLsn + 1, limit: this.batch })) keys.push(key);
      if (keys.length < this.batch) this.logDone = true;
      const last = keys[keys.length - 1];
      if (typeof last === "number") this.cursor = last + 1;
    }
    if (keys.length < this.batch) {
      this.snapKeys ??= listSnapshots(this.dbs)
        .filter((s) => s.lsn < this.upToLsn)
        .flatMap((s) => s.parts.map((p): Key => [s.lsn, p]));
      while (keys.length < this.batch && this.snapKeys.length > 0) keys.push(this.snapKeys.pop()!);
    }
    const lastUnit = this.logDone && this.snapKeys !== undefined && this.snapKeys.length === 0;
    if (keys.length === 0) {
      this.finish();
      return undefined;
    }
    const ops = keys.map((key): CommitOp => ({ db: key instanceof Array ? this.dbs.snap : this.dbs.log, key, value: undefined }));
    const count = keys.length;
    return {
      ops,
      bytes: count * REMOVE_CHARGE,
      listener: {
        committed: () => {
          this.removed += count;
          if (lastUnit) this.finish();
        },
        failed: (error) => this.abort(error),
      },
    };
  }

  abort(error: NeuroGraphError): void {
    if (this.finished) return;
    this.finished = true;
    this.done(this.removed, error);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.done(this.removed);
  }
}
