/**
 * The node's board of local shard figures: each shard actor writes its own row after every turn
 * that changed it (a few typed-array stores), and metrics scrapes, health and the admin API read
 * the board without asking the shards, so monitoring never queues behind a busy or recovering
 * shard. Figures are the shard's applied state (what it has acknowledged or is about to).
 */
import { connectionColumnsByteSize } from "../core/connection/columns.ts";
import type { ShardStore } from "../core/store/index.ts";

export const SHARD_STATES = ["starting", "serving", "read_only", "stopping", "stopped", "failed"] as const;
export type ShardStateName = (typeof SHARD_STATES)[number];

const STATE_CODE: Readonly<Record<ShardStateName, number>> = {
  starting: 0,
  serving: 1,
  read_only: 2,
  stopping: 3,
  stopped: 4,
  failed: 5,
};

export interface ShardRow {
  readonly shard: number;
  readonly state: ShardStateName;
  readonly tokens: number;
  readonly connections: number;
  readonly tokenBytes: number;
  readonly connectionBytes: number;
  readonly restarts: number;
  readonly appliedLsn: number;
  readonly durableLsn: number;
  /** Why the shard is read-only or failed. */
  readonly reason: string | undefined;
}

export class ShardBoard {
  readonly shardCount: number;
  private readonly states: Uint8Array;
  readonly tokens: Float64Array;
  readonly connections: Float64Array;
  readonly tokenBytes: Float64Array;
  readonly connectionBytes: Float64Array;
  readonly restarts: Float64Array;
  readonly appliedLsn: Float64Array;
  readonly durableLsn: Float64Array;
  private readonly reasons: (string | undefined)[];
  private readonly listeners: ((shard: number, state: ShardStateName) => void)[] = [];

  constructor(shardCount: number) {
    this.shardCount = shardCount;
    this.states = new Uint8Array(shardCount);
    this.tokens = new Float64Array(shardCount);
    this.connections = new Float64Array(shardCount);
    this.tokenBytes = new Float64Array(shardCount);
    this.connectionBytes = new Float64Array(shardCount);
    this.restarts = new Float64Array(shardCount);
    this.appliedLsn = new Float64Array(shardCount);
    this.durableLsn = new Float64Array(shardCount);
    this.reasons = new Array<string | undefined>(shardCount).fill(undefined);
  }

  state(shard: number): ShardStateName {
    return SHARD_STATES[this.states[shard] ?? 0] ?? "starting";
  }

  setState(shard: number, state: ShardStateName, reason?: string): void {
    const code = STATE_CODE[state];
    const changed = this.states[shard] !== code;
    this.states[shard] = code;
    this.reasons[shard] = reason;
    if (changed) for (const l of this.listeners) l(shard, state);
  }

  /** Copies a shard's figures to its row (the shard calls it after every turn that changed it). */
  publish(shard: number, store: ShardStore, appliedLsn: number, durableLsn: number): void {
    const connectionBytes = connectionColumnsByteSize(store.connections);
    this.tokens[shard] = store.size;
    this.connections[shard] = store.connectionCount;
    this.connectionBytes[shard] = connectionBytes;
    this.tokenBytes[shard] = store.byteSize() - connectionBytes;
    this.appliedLsn[shard] = appliedLsn;
    this.durableLsn[shard] = durableLsn;
  }

  /** Called on every state change (e.g. to update health). */
  onStateChange(listener: (shard: number, state: ShardStateName) => void): void {
    this.listeners.push(listener);
  }

  /** Shards in `state`. */
  count(state: ShardStateName): number {
    const code = STATE_CODE[state];
    let n = 0;
    for (let s = 0; s < this.shardCount; s++) if (this.states[s] === code) n++;
    return n;
  }

  row(shard: number): ShardRow {
    return {
      shard,
      state: this.state(shard),
      tokens: this.tokens[shard] ?? 0,
      connections: this.connections[shard] ?? 0,
      tokenBytes: this.tokenBytes[shard] ?? 0,
      connectionBytes: this.connectionBytes[shard] ?? 0,
      restarts: this.restarts[shard] ?? 0,
      appliedLsn: this.appliedLsn[shard] ?? 0,
      durableLsn: this.durableLsn[shard] ?? 0,
      reason: this.reasons[shard],
    };
  }
}
