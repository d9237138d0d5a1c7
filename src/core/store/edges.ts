/**
 * The connections of one shard: an arena plus per-token adjacency. A connection a → b is
 * *owned* by a's shard and linked into a's out-list (and b's in-list when b is local). A shard
 * also keeps a *mirror* of each connection whose target it owns but whose source lives on another
 * shard, linked only into the target's in-list, so `in`/`both` traversals work per shard. The
 * actor layer keeps mirrors in step by sending the owner's record to the target's shard.
 */
import { ConnectionArena, EdgeState, NO_EDGE } from "../connection/arena.ts";
import type { FieldViolation } from "../errors.ts";
import { ValidationError } from "../errors.ts";
import type { Expansion, ExpandRequest } from "../graph/expansion.ts";
import type { ConnectionLimits } from "../limits.ts";
import { Adjacency } from "./adjacency.ts";
import { expandAdjacency } from "./expand.ts";
import { connectRecords } from "./connect.ts";
import { BatchKeySet } from "./hash.ts";
import type { KeyBuffer } from "./key-buffer.ts";
import type { TokenTable } from "./token-table.ts";
import type { ConnectOptions, ConnectResult, WriteOptions, WriteResult } from "./types.ts";
import { StoreRule } from "./types.ts";

export class EdgeSet {
  readonly arena: ConnectionArena;
  readonly adj = new Adjacency();

  constructor(
    readonly tokens: TokenTable,
    readonly shard: number,
    readonly shardCount: number,
    capacity: number,
  ) {
    this.arena = new ConnectionArena(capacity);
  }

  owns(id: number): boolean {
    return id % this.shardCount === this.shard;
  }

  byteSize(): number {
    return this.arena.byteSize() + this.adj.byteSize();
  }

  /** Keeps the adjacency heads as long as the token columns. */
  tokenCapacityChanged(): void {
    if (this.adj.allocated) this.adj.resize(this.tokens.capacity);
  }

  connect(records: Uint8Array, opts: ConnectOptions, storeLimits: ConnectionLimits): ConnectResult {
    return connectRecords(this, records, opts, storeLimits);
  }

  /** Removes connections by key; a missing key is a NOT_FOUND violation. */
  disconnect(sources: Uint32Array, targets: Uint32Array, types: Uint8Array, opts: WriteOptions): WriteResult {
    const n = sources.length;
    if (targets.length !== n || types.length !== n) {
      throw ValidationError.of("disconnect request", [
        { field: "keys", value: `${n}/${targets.length}/${types.length}`, rule: "keys_length", description: "sources, targets and types must have the same length" },
      ]);
    }
    const strict = opts.strict ?? true;
    const skip = opts.skip;
    const violations: FieldViolation[] = [];
    const edges = new Int32Array(n).fill(NO_EDGE);
    const dups = new BatchKeySet(n);
    for (let i = 0; i < n; i++) {
      if (skip !== undefined && (skip[i] ?? 0) !== 0) continue;
      const s = sources[i]!;
      const t = targets[i]!;
      const y = types[i]!;
      const e = this.arena.find(s, t, y);
      if (e === NO_EDGE) {
        violations.push({ index: i, field: "key", value: `${s}→${t}:${y}`, rule: StoreRule.notFound, description: `connection ${s} → ${t} type ${y} does not exist` });
      } else if (dups.addOrGet(s, t, y, i) >= 0) {
        violations.push({ index: i, field: "key", value: `${s}→${t}:${y}`, rule: StoreRule.duplicateInBatch, description: "key appears more than once in the batch" });
      } else {
        edges[i] = e;
      }
    }
    if (strict && violations.length > 0) throw ValidationError.of("disconnect batch", violations);
    const accepted = new Uint8Array(n);
    let applied = 0;
    for (let i = 0; i < n; i++) {
      const e = edges[i]!;
      if (e === NO_EDGE) continue;
      this.removeEdge(e);
      accepted[i] = 1;
      applied++;
    }
    return { applied, accepted, violations };
  }

  /** Unlinks and frees one live entry. */
  removeEdge(e: number): void {
    const a = this.arena;
    if (a.state[e] === EdgeState.Owned) this.adj.unlinkOut(a, e, this.tokens.slotOf(a.columns.sources[e]!));
    const target = a.columns.targets[e]!;
    if (this.owns(target)) this.adj.unlinkIn(a, e, this.tokens.slotOf(target));
    a.release(e);
  }

  /**
   * Removes every connection touching the token `id` in `slot` (before the slot is freed).
   * Returns how many were dropped; remote keys go to the buffers.
   */
  dropToken(slot: number, id: number, remoteIn: KeyBuffer, remoteOut: KeyBuffer): number {
    if (!this.adj.allocated) return 0;
    const a = this.arena;
    const c = a.columns;
    let dropped = 0;
    for (let e = this.adj.outHead(slot); e !== NO_EDGE; ) {
      const next = a.nextOut[e]!;
      const target = c.targets[e]!;
      if (this.owns(target)) this.adj.unlinkIn(a, e, target === id ? slot : this.tokens.slotOf(target));
      else remoteOut.push(id, target, c.types[e]!);
      a.release(e);
      dropped++;
      e = next;
    }
    for (let e = this.adj.inHead(slot); e !== NO_EDGE; ) {
      const next = a.nextIn[e]!;
      const source = c.sources[e]!;
      if (a.state[e] === EdgeState.Mirror) remoteIn.push(source, id, c.types[e]!);
      else this.adj.unlinkOut(a, e, this.tokens.slotOf(source));
      a.release(e);
      dropped++;
      e = next;
    }
    this.adj.clearSlot(slot);
    return dropped;
  }

  /** Swap-remove moved the token of slot `from` into `to`. */
  slotMoved(from: number, to: number): void {
    if (this.adj.allocated) this.adj.moveSlot(from, to);
  }

  /** Neighbours per requested node (see expand.ts). */
  expand(req: ExpandRequest): Expansion {
    return expandAdjacency(this.tokens, this.arena, this.adj, req);
  }
}
