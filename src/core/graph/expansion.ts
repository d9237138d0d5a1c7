/**
 * The protocol between graph algorithms and whoever holds the adjacency. Algorithms are step
 * machines (generators) that yield an `ExpandRequest` for a batch of nodes and receive an
 * `Expansion`; a local driver answers from a shard store at once, the graph shard actors answer
 * with one request per shard. So the same algorithm code runs in process and across shards.
 */

export const Direction = { Out: 0, In: 1, Both: 2 } as const;
export type Direction = (typeof Direction)[keyof typeof Direction];

export interface ExpandRequest {
  /** Node ids to expand, no duplicates. */
  readonly nodes: Uint32Array;
  readonly direction: Direction;
}

/** Neighbours of request node i are entries `offsets[i] .. offsets[i + 1] - 1`. */
export interface Expansion {
  /** length = nodes.length + 1 */
  readonly offsets: Uint32Array;
  readonly neighbors: Uint32Array;
  /** Edge weight used by weighted algorithms (connection confidence; see docs). */
  readonly weights: Float32Array;
  readonly types: Uint8Array;
  /** 1 when the edge leaves the requested node (a → b), 0 when it arrives (b ← a). */
  readonly outgoing: Uint8Array;
  /** 1 when the requested node exists, per request node. */
  readonly exists: Uint8Array;
}
