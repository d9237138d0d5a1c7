/**
 * The seam between a graph shard and its durability. Every change to a shard's state is a
 * `ShardMutation`; the shard appends it to its `ShardLog` and replies to the writer only when the
 * append is durable. Mutations are *resolved* before they are logged (ids allocated, rejected
 * items removed), so replaying the log re-applies them without validation and rebuilds exactly
 * the same store. The WAL actor implements this interface over LMDB; `VolatileShardLog` keeps
 * nothing (a node started without a data directory, and tests of the shard alone).
 */

export type ShardMutation =
  /** Tokens created: packed 64-byte records with their final ids. */
  | { readonly kind: "tokens.insert"; readonly records: Uint8Array }
  /** Whole token records replaced (ids exist). */
  | { readonly kind: "tokens.update"; readonly records: Uint8Array }
  /** Tokens deleted, with every connection touching them in this shard. */
  | { readonly kind: "tokens.delete"; readonly ids: Uint32Array }
  /** Connections created or replaced: packed 64-byte connection records. Records whose source
   *  belongs to another shard are mirror in-edges of a local target. */
  | { readonly kind: "connections.upsert"; readonly records: Uint8Array }
  /** Connections removed by key; entry i is (sources[i], targets[i], types[i]). */
  | {
      readonly kind: "connections.remove";
      readonly sources: Uint32Array;
      readonly targets: Uint32Array;
      readonly types: Uint8Array;
    }
  /** A new constitution document (canonical encoding) became active. */
  | { readonly kind: "constitution.set"; readonly document: Uint8Array }
  /** Results of the field engine (positions, fields, hierarchy) as an encoded payload. */
  | { readonly kind: "field.result"; readonly payload: Uint8Array };

export type ShardMutationKind = ShardMutation["kind"];

export interface AppendTicket {
  /** Log sequence number assigned synchronously, in append order. */
  readonly lsn: number;
  /** Resolves once the record is durable; rejects if the commit failed. */
  readonly durable: Promise<void>;
}

export interface ShardSnapshotData {
  /** The LSN of the last mutation included in the snapshot. */
  readonly lsn: number;
  /** N × 64-byte token records. */
  readonly tokens: Uint8Array;
  /** M × 64-byte connection records (owned and mirrors). */
  readonly connections: Uint8Array;
}

export interface RecoveryHandler {
  /** Called at most once, first, with the newest valid snapshot. */
  loadSnapshot(snapshot: ShardSnapshotData): void;
  /** Called for every logged mutation after the snapshot, in LSN order. */
  apply(mutation: ShardMutation, lsn: number): void;
}

export interface RecoveryReport {
  readonly snapshotLsn: number;
  readonly replayedRecords: number;
  readonly lastLsn: number;
  readonly durationMs: number;
  /** Non-fatal findings, e.g. a torn tail that was truncated. */
  readonly warnings: readonly string[];
}

export interface ShardLogStats {
  readonly lastLsn: number;
  readonly durableLsn: number;
  readonly pendingBytes: number;
  readonly lastCommitMs: number;
  readonly lastSnapshotLsn: number;
  readonly lastSnapshotAt: number;
  /** A failed commit makes the log read-only until the node restarts. */
  readonly degraded: string | undefined;
}

export interface ShardLog {
  /** Replays the durable state into `handler`; called once, before the first append. */
  recover(handler: RecoveryHandler): Promise<RecoveryReport>;
  /** Appends one resolved mutation. Throws OverloadedError when the byte queue is full. */
  append(mutation: ShardMutation): AppendTicket;
  /** Writes a snapshot covering `data.lsn` and prunes the log at or below it. */
  snapshot(data: ShardSnapshotData): Promise<void>;
  stats(): ShardLogStats;
  close(): Promise<void>;
}

const RESOLVED: Promise<void> = Promise.resolve();

/** Keeps nothing: appends are "durable" at once. For nodes without persistence and shard tests. */
export class VolatileShardLog implements ShardLog {
  private lsn = 0;

  recover(_handler: RecoveryHandler): Promise<RecoveryReport> {
    return Promise.resolve({ snapshotLsn: 0, replayedRecords: 0, lastLsn: 0, durationMs: 0, warnings: [] });
  }

  append(_mutation: ShardMutation): AppendTicket {
    this.lsn++;
    return { lsn: this.lsn, durable: RESOLVED };
  }

  snapshot(_data: ShardSnapshotData): Promise<void> {
    return RESOLVED;
  }

  stats(): ShardLogStats {
    return {
      lastLsn: this.lsn,
      durableLsn: this.lsn,
      pendingBytes: 0,
      lastCommitMs: 0,
      lastSnapshotLsn: 0,
      lastSnapshotAt: 0,
      degraded: undefined,
    };
  }

  close(): Promise<void> {
    return RESOLVED;
  }
}
