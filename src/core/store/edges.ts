/**
 * The connections of one shard: an arena plus per-token adjacency. A connection a → b is
 * *owned* by a's shard and linked into a's out-list (and b's in-list when b is local). A shard
 * also keeps a *mirror* of each connection whose target it owns but whose source lives on another
 * shard, linked only into the target's in-list, so `in`/`both` traversals work per shard. The
 * actor layer keeps mirrors in step by sending the owner's record to the target's shard.
 */
import { CONNECTION_FLAGS } from "../connection/layout.ts";
import { ConnectionArena, EdgeState, NO_EDGE } from "../connection/arena.ts";
import { checkConnectionRecordLength } from "../connection/codec.ts";
// The format's one validator lives with the constitution (structure + limits; rejects self-loops).
import { validateConnectionRecords } from "../constitution/records.ts";
import type { FieldViolation } from "../errors.ts";
import { ValidationError } from "../errors.ts";
import type { Expansion, ExpandRequest } from "../graph/expansion.ts";
import { Direction } from "../graph/expansion.ts";
import type { ConnectionLimits } from "../limits.ts";
import { recordViews } from "../token/views.ts";
import { Adjacency } from "./adjacency.ts";
import { BatchCounter, BatchKeySet } from "./hash.ts";
import type { KeyBuffer } from "./key-buffer.ts";
import type { TokenTable } from "./token-table.ts";
import type { ConnectOptions, ConnectResult, WriteOptions, WriteResult } from "./types.ts";
import { StoreRule } from "./types.ts";

const BIDIRECTIONAL = CONNECTION_FLAGS.BIDIRECTIONAL;

export class EdgeSet {
  readonly arena: ConnectionArena;
  readonly adj = new Adjacency();

  constructor(
    private readonly tokens: TokenTable,
    private readonly shard: number,
    private readonly shardCount: number,
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
    const n = checkConnectionRecordLength(records);
    const strict = opts.strict ?? true;
    const limits = opts.limits === undefined ? storeLimits : opts.limits;
    const skip = opts.skip;
    const invalid = new Uint8Array(n);
    const violations = validateConnectionRecords(records, limits ?? undefined, { invalid, skip });
    const reject = (i: number, field: string, value: number, rule: string, description: string): void => {
      invalid[i] = 1;
      violations.push({ index: i, field, value: String(value), rule, description });
    };
    const rec = recordViews(records);
    const { u8, u32 } = rec;
    const dups = new BatchKeySet(n);
    const maxOut = limits?.maxOutDegree ?? 0;
    const maxIn = limits?.maxInDegree ?? 0;
    const outAdded = maxOut > 0 ? new BatchCounter(n) : undefined;
    const inAdded = maxIn > 0 ? new BatchCounter(n) : undefined;
    const existing = new Int32Array(n);
    const srcSlots = new Int32Array(n);
    const tgtSlots = new Int32Array(n);
    const { outDegree, inDegree } = this.adj;
    for (let i = 0; i < n; i++) {
      if (skip !== undefined && (skip[i] ?? 0) !== 0) continue;
      const source = u32[i << 4]!;
      const target = u32[(i << 4) + 1]!;
      const type = u8[(i << 6) + 8]!;
      const srcLocal = this.owns(source);
      const tgtLocal = this.owns(target);
      const srcSlot = srcLocal ? this.tokens.slotOf(source) : -1;
      const tgtSlot = tgtLocal ? this.tokens.slotOf(target) : -1;
      srcSlots[i] = srcSlot;
      tgtSlots[i] = tgtSlot;
      if (!srcLocal && !tgtLocal) {
        reject(i, "source", source, StoreRule.notOwned, `neither source nor target belongs to shard ${this.shard} of ${this.shardCount}`);
      }
      if (srcLocal && source !== 0 && srcSlot < 0) reject(i, "source", source, StoreRule.notFound, `source token ${source} does not exist`);
      if (tgtLocal && target !== 0 && tgtSlot < 0) reject(i, "target", target, StoreRule.notFound, `target token ${target} does not exist`);
      if (dups.addOrGet(source, target, type, i) >= 0) {
        reject(i, "key", source, StoreRule.duplicateInBatch, `connection ${source} → ${target} type ${type} appears more than once in the batch`);
      }
      if (invalid[i] !== 0) continue;
      const e = this.arena.find(source, target, type);
      existing[i] = e;
      if (e !== NO_EDGE) continue;
      const outNow = srcLocal && outAdded !== undefined ? (outDegree[srcSlot] ?? 0) + outAdded.get(srcSlot) : 0;
      const inNow = tgtLocal && inAdded !== undefined ? (inDegree[tgtSlot] ?? 0) + inAdded.get(tgtSlot) : 0;
      if (srcLocal && outAdded !== undefined && outNow + 1 > maxOut) {
        reject(i, "source", source, StoreRule.maxOutDegree, `token ${source} would exceed the maximum out-degree ${maxOut}`);
      }
      if (tgtLocal && inAdded !== undefined && inNow + 1 > maxIn) {
        reject(i, "target", target, StoreRule.maxInDegree, `token ${target} would exceed the maximum in-degree ${maxIn}`);
      }
      if (invalid[i] !== 0) continue;
      if (srcLocal) outAdded?.increment(srcSlot);
      if (tgtLocal) inAdded?.increment(tgtSlot);
    }
    if (strict && violations.length > 0) throw ValidationError.of("connection batch", violations);
    const accepted = new Uint8Array(n);
    let created = 0;
    let updated = 0;
    for (let i = 0; i < n; i++) {
      if ((skip !== undefined && (skip[i] ?? 0) !== 0) || invalid[i] !== 0) continue;
      accepted[i] = 1;
      if (existing[i] === NO_EDGE) created++;
    }
    if (created > 0) {
      if (!this.adj.allocated) this.adj.ensure(Math.max(this.tokens.capacity, 1));
      this.arena.reserve(created);
    }
    for (let i = 0; i < n; i++) {
      if (accepted[i] === 0) continue;
      const e = existing[i]!;
      if (e !== NO_EDGE) {
        this.arena.overwrite(e, rec, i);
        updated++;
        continue;
      }
      const srcSlot = srcSlots[i]!;
      const tgtSlot = tgtSlots[i]!;
      const ne = this.arena.add(rec, i, srcSlot >= 0 ? EdgeState.Owned : EdgeState.Mirror);
      if (srcSlot >= 0) this.adj.linkOut(this.arena, ne, srcSlot);
      if (tgtSlot >= 0) this.adj.linkIn(this.arena, ne, tgtSlot);
    }
    return { applied: created + updated, created, updated, accepted, violations };
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
    for (let e = this.adj.outHead[slot]!; e !== NO_EDGE; ) {
      const next = a.nextOut[e]!;
      const target = c.targets[e]!;
      if (this.owns(target)) this.adj.unlinkIn(a, e, target === id ? slot : this.tokens.slotOf(target));
      else remoteOut.push(id, target, c.types[e]!);
      a.release(e);
      dropped++;
      e = next;
    }
    for (let e = this.adj.inHead[slot]!; e !== NO_EDGE; ) {
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

  /**
   * Neighbours per requested node. Out: out-edges plus in-edges flagged BIDIRECTIONAL; In: the
   * reverse; Both: every out- and in-edge. Weight = confidence. Lists are newest first.
   */
  expand(req: ExpandRequest): Expansion {
    const nodes = req.nodes;
    const n = nodes.length;
    const dir = req.direction;
    const offsets = new Uint32Array(n + 1);
    const exists = new Uint8Array(n);
    const slots = new Int32Array(n);
    const a = this.arena;
    const c = a.columns;
    const allocated = this.adj.allocated;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const slot = this.tokens.slotOf(nodes[i]!);
      slots[i] = slot;
      offsets[i] = total;
      if (slot < 0) continue;
      exists[i] = 1;
      if (!allocated) continue;
      if (dir === Direction.Both) {
        total += this.adj.outDegree[slot]! + this.adj.inDegree[slot]!;
        continue;
      }
      for (let e = this.adj.outHead[slot]!; e !== NO_EDGE; e = a.nextOut[e]!) {
        if (dir === Direction.Out || (c.flags[e]! & BIDIRECTIONAL) !== 0) total++;
      }
      for (let e = this.adj.inHead[slot]!; e !== NO_EDGE; e = a.nextIn[e]!) {
        if (dir === Direction.In || (c.flags[e]! & BIDIRECTIONAL) !== 0) total++;
      }
    }
    offsets[n] = total;
    const neighbors = new Uint32Array(total);
    const weights = new Float32Array(total);
    const types = new Uint8Array(total);
    const outgoing = new Uint8Array(total);
    if (allocated) {
      let k = 0;
      for (let i = 0; i < n; i++) {
        const slot = slots[i]!;
        if (slot < 0) continue;
        for (let e = this.adj.outHead[slot]!; e !== NO_EDGE; e = a.nextOut[e]!) {
          if (dir === Direction.In && (c.flags[e]! & BIDIRECTIONAL) === 0) continue;
          neighbors[k] = c.targets[e]!;
          weights[k] = c.confidence[e]!;
          types[k] = c.types[e]!;
          outgoing[k++] = 1;
        }
        for (let e = this.adj.inHead[slot]!; e !== NO_EDGE; e = a.nextIn[e]!) {
          if (dir === Direction.Out && (c.flags[e]! & BIDIRECTIONAL) === 0) continue;
          neighbors[k] = c.sources[e]!;
          weights[k] = c.confidence[e]!;
          types[k] = c.types[e]!;
          outgoing[k++] = 0;
        }
      }
    }
    return { offsets, neighbors, weights, types, outgoing, exists };
  }
}
