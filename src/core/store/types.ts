/** Options and results of ShardStore operations. */
import type { FieldViolation } from "../errors.ts";
import type { ConnectionLimits, TokenLimits } from "../limits.ts";
import type { TokenColumns } from "../token/columns.ts";

export interface ShardStoreOptions {
  /** This store's shard number (default 0). Every id must satisfy id % shardCount === shard. */
  readonly shard?: number;
  /** Number of virtual shards (default 1). */
  readonly shardCount?: number;
  /** Token capacity to allocate up front (avoids regrowth; default grows from 1024 by doubling). */
  readonly initialCapacity?: number;
  /** Connection capacity to allocate up front. */
  readonly initialConnectionCapacity?: number;
  /** Limits applied by `connectRecords` unless a call passes its own (default: the constitution's defaults). */
  readonly connectionLimits?: ConnectionLimits;
  /**
   * Start from these tokens (built by another store, e.g. on a recovery thread, and moved here)
   * instead of empty columns; `initialCapacity` is then ignored. The store owns the arrays.
   */
  readonly adoptTokens?: TokenState;
}

/** A store's tokens as plain arrays, to move between threads (`ShardStore.exportTokenState`). */
export interface TokenState {
  /** Capacity = `columns.ids.length`; slots size..capacity-1 all zero. */
  readonly columns: TokenColumns;
  /** The id → slot table (`id-table.ts`) built for `columns` with the store's shard count. */
  readonly idEntries: Uint32Array;
  /** Largest domain-0 id stored (fresh ids are allocated above it). */
  readonly maxLocalId: number;
}

export interface WriteOptions {
  /**
   * true (default): any violation rejects the whole batch with a ValidationError and nothing
   * changes. false: valid items are applied, violations are returned for the rest.
   */
  readonly strict?: boolean;
  /** Items with `skip[i] !== 0` are ignored (neither applied nor reported), e.g. rejected upstream. */
  readonly skip?: Uint8Array;
}

export interface TokenWriteOptions extends WriteOptions {
  /** Also check values against these limits (weight, radius, strength, timestamp). */
  readonly validate?: { readonly limits: TokenLimits; readonly nowSeconds: number };
}

export interface InsertOptions extends TokenWriteOptions {
  /** Id 0 asks for an allocated id (default true); false rejects id 0. */
  readonly allocateIds?: boolean;
}

export interface ConnectOptions extends WriteOptions {
  /**
   * Limits for values, allowed types and degrees. Default: the store's. `null` checks structure
   * only (snapshot import: data accepted under an earlier constitution stays loadable).
   */
  readonly limits?: ConnectionLimits | null;
}

export interface WriteResult {
  /** Items applied. */
  readonly applied: number;
  /** 1 for every applied item. */
  readonly accepted: Uint8Array;
  /** Rejected items (non-strict mode; strict mode throws instead). */
  readonly violations: readonly FieldViolation[];
}

export interface InsertResult extends WriteResult {
  /** The id of every item (allocated ones included; 0 for items not inserted). */
  readonly ids: Uint32Array;
}

export interface ConnectResult extends WriteResult {
  readonly created: number;
  readonly updated: number;
}

/** Connection keys, column-wise. */
export interface EdgeKeys {
  readonly count: number;
  readonly sources: Uint32Array;
  readonly targets: Uint32Array;
  readonly types: Uint8Array;
}

export interface DeleteResult extends WriteResult {
  /** Connections removed along with the tokens (owned and mirrors). */
  readonly droppedConnections: number;
  /**
   * Mirror in-edges dropped because their (local) target was deleted: the source's shard must
   * remove its authoritative connection.
   */
  readonly remoteIn: EdgeKeys;
  /**
   * Owned out-edges to remote targets dropped with their source: the target's shard must remove
   * its mirror.
   */
  readonly remoteOut: EdgeKeys;
}

export interface GetResult {
  /** count × 64 bytes; a missing id gives an all-zero record. */
  readonly records: Uint8Array;
  /** 1 when the id was found. */
  readonly found: Uint8Array;
  /** Number of ids found. */
  readonly count: number;
}

export interface ConnectionGetResult {
  readonly records: Uint8Array;
  readonly found: Uint8Array;
  readonly count: number;
}

/** Violation rules the store reports besides value validation. */
export const StoreRule = {
  alreadyExists: "ALREADY_EXISTS",
  notFound: "NOT_FOUND",
  duplicateInBatch: "duplicate_in_batch",
  notOwned: "not_owned",
  idNonzero: "id_nonzero",
  idSpaceExhausted: "id_space_exhausted",
  maxOutDegree: "max_out_degree",
  maxInDegree: "max_in_degree",
} as const;
