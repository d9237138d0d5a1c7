/**
 * Batch connection upsert of a shard store (`ShardStore.connectRecords`), keyed by
 * (source, target, type). Validates the whole batch before changing anything (strict) or
 * applies exactly the valid items (non-strict).
 *
 * Three phases, so that cache misses overlap instead of queueing one behind the other:
 * 1. column work with independent loads: every record's key mix, source and target slots
 *    (batch id-table lookup), and a touch of its key-table position and target adjacency;
 * 2. the checks, item by item (ownership, existence, duplicates, upsert lookup, degrees);
 * 3. the writes.
 * Degree limits are checked against the adjacency's own counters, raised tentatively for each
 * accepted create (so later items of the batch see them) and lowered again if a strict batch is
 * rejected; the links of phase 3 then do not count again. No hash table per call for degrees,
 * no object per item on the success path.
 */
import { EdgeState, NO_EDGE, connectionKeyMix } from "../connection/arena.ts";
import { checkConnectionRecordLength } from "../connection/codec.ts";
import { CONNECTION_FLAGS } from "../connection/layout.ts";
// The format's one validator lives with the constitution (structure + limits; rejects self-loops).
import { validateConnectionRecords } from "../constitution/records.ts";
import { ValidationError } from "../errors.ts";
import type { ConnectionLimits } from "../limits.ts";
import { recordViews } from "../token/views.ts";
import { ADJ_STRIDE } from "./adjacency.ts";
import type { EdgeSet } from "./edges.ts";
import { BatchCounter, BatchKeySet } from "./hash.ts";
import { touchSink } from "./touch.ts";
import type { ConnectOptions, ConnectResult } from "./types.ts";
import { StoreRule } from "./types.ts";

const BIDIRECTIONAL = CONNECTION_FLAGS.BIDIRECTIONAL;
/** Item kinds decided by the checks. */
const SKIP = 0;
const UPDATE = 1;
const CREATE = 2;


export function connectRecords(set: EdgeSet, records: Uint8Array, opts: ConnectOptions, storeLimits: ConnectionLimits): ConnectResult {
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
  const arena = set.arena;
  const adj = set.adj;
  const tokens = set.tokens;
  const S = set.shardCount;
  const shard = set.shard;

  // Phase 1.
  const sources = new Uint32Array(n);
  const targets = new Uint32Array(n);
  const mixes = new Int32Array(n);
  for (let i = 0, w = 0; i < n; i++, w += 16) {
    const s = u32[w]!;
    const t = u32[w + 1]!;
    sources[i] = s;
    targets[i] = t;
    mixes[i] = connectionKeyMix(s, t, u32[w + 2]! & 0xff);
  }
  const srcSlots = new Int32Array(n);
  const tgtSlots = new Int32Array(n);
  tokens.table.findMany(sources, n, tokens.cols.ids, srcSlots);
  tokens.table.findMany(targets, n, tokens.cols.ids, tgtSlots);
  touchSink.value ^= touchKeys(arena.keyTable, arena.keyTableShift, mixes, n) ^ touchAdjacency(adj.words, tgtSlots, n);

  // Phase 2.
  const dups = new BatchKeySet(n);
  const maxOut = limits?.maxOutDegree ?? 0;
  const maxIn = limits?.maxInDegree ?? 0;
  const limited = maxOut > 0 || maxIn > 0;
  // Tentative counts live in the adjacency when it exists; before the first connection it does
  // not (allocating it for a batch that may be rejected would change the store), so per-batch
  // counters stand in.
  const precount = limited && adj.allocated;
  const words = adj.words;
  const outAdded = limited && !precount ? new BatchCounter(n) : undefined;
  const inAdded = limited && !precount ? new BatchCounter(n) : undefined;
  const kind = new Uint8Array(n);
  const existing = new Int32Array(n);
  let creates = 0;
  for (let i = 0; i < n; i++) {
    if (skip !== undefined && (skip[i] ?? 0) !== 0) continue;
    const source = sources[i]!;
    const target = targets[i]!;
    const type = u8[(i << 6) + 8]!;
    const mix = mixes[i]!;
    const srcLocal = S === 1 || source % S === shard;
    const tgtLocal = S === 1 || target % S === shard;
    const srcSlot = srcSlots[i]!;
    const tgtSlot = tgtSlots[i]!;
    if (!srcLocal && !tgtLocal) {
      reject(i, "source", source, StoreRule.notOwned, `neither source nor target belongs to shard ${shard} of ${S}`);
    }
    if (srcLocal && source !== 0 && srcSlot < 0) reject(i, "source", source, StoreRule.notFound, `source token ${source} does not exist`);
    if (tgtLocal && target !== 0 && tgtSlot < 0) reject(i, "target", target, StoreRule.notFound, `target token ${target} does not exist`);
    if (dups.addOrGetMixed(mix, source, target, type, i) >= 0) {
      reject(i, "key", source, StoreRule.duplicateInBatch, `connection ${source} → ${target} type ${type} appears more than once in the batch`);
    }
    if (invalid[i] !== 0) continue;
    const e = arena.findMixed(mix, source, target, type);
    if (e !== NO_EDGE) {
      existing[i] = e;
      kind[i] = UPDATE;
      continue;
    }
    if (limited) {
      const outNow = !srcLocal ? 0 : precount ? words[srcSlot * ADJ_STRIDE + 2]! : outAdded!.get(srcSlot);
      const inNow = !tgtLocal ? 0 : precount ? words[tgtSlot * ADJ_STRIDE + 3]! : inAdded!.get(tgtSlot);
      if (srcLocal && maxOut > 0 && outNow + 1 > maxOut) {
        reject(i, "source", source, StoreRule.maxOutDegree, `token ${source} would exceed the maximum out-degree ${maxOut}`);
      }
      if (tgtLocal && maxIn > 0 && inNow + 1 > maxIn) {
        reject(i, "target", target, StoreRule.maxInDegree, `token ${target} would exceed the maximum in-degree ${maxIn}`);
      }
      if (invalid[i] !== 0) continue;
      if (precount) {
        if (srcLocal) words[srcSlot * ADJ_STRIDE + 2]!++;
        if (tgtLocal) words[tgtSlot * ADJ_STRIDE + 3]!++;
      } else {
        if (srcLocal) outAdded!.increment(srcSlot);
        if (tgtLocal) inAdded!.increment(tgtSlot);
      }
    }
    kind[i] = CREATE;
    creates++;
  }
  if (strict && violations.length > 0) {
    if (precount) {
      for (let i = 0; i < n; i++) {
        if (kind[i] !== CREATE) continue;
        if (srcSlots[i]! >= 0) words[srcSlots[i]! * ADJ_STRIDE + 2]!--;
        if (tgtSlots[i]! >= 0) words[tgtSlots[i]! * ADJ_STRIDE + 3]!--;
      }
    }
    throw ValidationError.of("connection batch", violations);
  }

  // Phase 3.
  if (creates > 0) {
    if (!adj.allocated) adj.ensure(Math.max(tokens.capacity, 1));
    arena.reserve(creates);
  }
  const accepted = new Uint8Array(n);
  const flags = arena.columns.flags;
  let updated = 0;
  for (let i = 0; i < n; i++) {
    const k = kind[i]!;
    if (k === SKIP) continue;
    accepted[i] = 1;
    const srcSlot = srcSlots[i]!;
    const tgtSlot = tgtSlots[i]!;
    if (k === UPDATE) {
      const e = existing[i]!;
      const was = (flags[e]! & BIDIRECTIONAL) !== 0;
      arena.overwrite(e, rec, i);
      const now = (flags[e]! & BIDIRECTIONAL) !== 0;
      if (was !== now) adj.bidiChanged(was, now, arena.state[e] === EdgeState.Owned ? srcSlot : -1, tgtSlot);
      updated++;
      continue;
    }
    const ne = arena.addMixed(rec, i, srcSlot >= 0 ? EdgeState.Owned : EdgeState.Mirror, mixes[i]!);
    if (srcSlot >= 0) adj.linkOut(arena, ne, srcSlot, !precount);
    if (tgtSlot >= 0) adj.linkIn(arena, ne, tgtSlot, !precount);
  }
  return { applied: creates + updated, created: creates, updated, accepted, violations };
}

/** Loads every key's home entry (independent loads: the misses overlap). */
function touchKeys(keys: Uint32Array, shift: number, mixes: Int32Array, n: number): number {
  let sink = 0;
  for (let i = 0; i < n; i++) sink ^= keys[Math.imul(mixes[i]!, 0x9e3779b9) >>> shift]!;
  return sink;
}

/** Loads the adjacency line of every local target. */
function touchAdjacency(words: Int32Array, slots: Int32Array, n: number): number {
  if (words.length === 0) return 0;
  let sink = 0;
  for (let i = 0; i < n; i++) {
    const s = slots[i]!;
    if (s >= 0) sink ^= words[s * ADJ_STRIDE]!;
  }
  return sink;
}
