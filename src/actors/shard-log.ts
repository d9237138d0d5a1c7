/**
 * The seam between a graph shard and its durability. Every change to a shard's state is a
 * `ShardMutation`; the shard appends it to its `ShardLog` and replies to the writer only when the
 * append is durable. Mutations are *resolved* before they are logged (ids allocated, rejected
 * items removed), so replaying the log re-applies them without validation and rebuilds exactly
 * the same store. The WAL actor implements this interface over LMDB; `VolatileShardLog` keeps
 * nothing (a node started without a data directory, and tests of the shard alone).
 */

import type { TokenState } from "../core/store/index.ts";
import type { ShardMutation } from "../core/wal/mutation.ts";

// The mutation types are part of the WAL format, so they live in core (src/core/wal/mutation.ts).
export type { ShardMutation, ShardMutationKind } from "../core/wal/mutation.ts";

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
  /**
   * The shard's active constitution document, if it has one: pruning removes the log's
   * `constitution.set` records at or below `lsn`, so the snapshot must carry the document.
   */
  readonly constitution?: Uint8Array | undefined;
  /**
   * Recovery only: tokens the replay after the snapshot may add (an upper bound, from the size of
   * the log records after it). A handler loads the snapshot with room for them, so the replay does
   * not grow (copy) the freshly loaded store.
   */
  readonly headroomTokens?: number | undefined;
}

/** What a snapshot wrote (logs that keep nothing report `unchanged`). */
export interface ShardSnapshotResult {
  readonly lsn: number;
  readonly chunks: number;
  readonly bytes: number;
  readonly durationMs: number;
  /** Nothing was written (nothing logged since the last snapshot, or a log that keeps nothing). */
  readonly unchanged: boolean;
}

/** A snapshot whose token records arrive in pieces (a log that can read them as they are taken). */
export interface StreamedSnapshotData {
  readonly lsn: number;
  readonly tokenCount: number;
  /** The token records in order, in pieces of whole records; each is valid only until the next is taken. */
  readonly tokenPieces: Iterable<Uint8Array>;
  readonly connections: Uint8Array;
  readonly constitution?: Uint8Array | undefined;
  /** As in `ShardSnapshotData`. */
  readonly headroomTokens?: number | undefined;
}

/**
 * A snapshot whose tokens were already loaded into store arrays (on a recovery thread, verified
 * as they were read): the handler adopts the arrays (`ShardStoreOptions.adoptTokens`), which
 * have room for `headroomTokens` more, and loads the connections itself.
 */
export interface AdoptedSnapshotData {
  readonly lsn: number;
  readonly tokenCount: number;
  readonly tokens: TokenState;
  readonly connections: Uint8Array;
  readonly constitution?: Uint8Array | undefined;
  readonly headroomTokens: number;
}

export interface RecoveryHandler {
  /**
   * Called first, with the newest valid snapshot. Called again only when a streamed snapshot
   * turned out damaged half-way (its token chunks are verified as they are read) and repair moved
   * it aside: with an older snapshot, or an empty one. Each call replaces all that was loaded.
   */
  loadSnapshot(snapshot: ShardSnapshotData): void;
  /**
   * Optional: the same, with the token records in pieces, so a store can load them without an
   * intermediate buffer of every token. A log that can stream calls this instead of `loadSnapshot`.
   */
  loadStreamedSnapshot?(snapshot: StreamedSnapshotData): void;
  /**
   * Optional: the same, with the tokens already in store arrays. A log that loads snapshots on
   * other threads calls this instead of the others when it can (a handler without it gets them
   * loaded on its own thread).
   */
  adoptSnapshot?(snapshot: AdoptedSnapshotData): void;
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
  /** Cluster mode: where the snapshot came from and how many log messages came from this node's disk / from JetStream. */
  readonly sources?: { readonly snapshot: "cache" | "store" | "none"; readonly cachedMessages: number; readonly fetchedMessages: number };
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
  /**
   * Replays the durable state into `handler`; called before the first append. A restarted shard
   * calls it again: the log then waits for every append so far to settle and replays the same
   * durable state.
   */
  recover(handler: RecoveryHandler): Promise<RecoveryReport>;
  /** Appends one resolved mutation. Throws OverloadedError when the byte queue is full. */
  append(mutation: ShardMutation): AppendTicket;
  /** Writes a snapshot covering `data.lsn` and prunes the log at or below it. */
  snapshot(data: ShardSnapshotData): Promise<ShardSnapshotResult | void>;
  /**
   * Throws OverloadedError when an append of about `bytes` payload bytes would be refused now.
   * The shard asks before it applies a write, so a full log never leaves a write applied but
   * unlogged.
   */
  checkCapacity?(bytes: number): void;
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

  snapshot(data: ShardSnapshotData): Promise<ShardSnapshotResult> {
    return Promise.resolve({ lsn: data.lsn, chunks: 0, bytes: 0, durationMs: 0, unchanged: true });
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
