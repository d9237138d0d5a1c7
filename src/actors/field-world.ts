/**
 * The field engine's working copy of a node's tokens (not an actor: a helper of
 * `FieldEngineActor`). Built in bulk from the shards' `field-snapshot` replies into
 * SharedArrayBuffers the field pool's workers read and write in place: slots are shard 0's
 * tokens in slot order, then shard 1's, …; springs are every shard's owned connections, in
 * shard then arena order (so the order, and the result, depend only on the stored data). Every
 * shard of the node is local, so no spring needs a ghost endpoint.
 */
import { allocInt16, allocUint16, allocUint32, allocUint8 } from "../core/field/buffers.ts";
import { encodeFieldResult } from "../core/field/result-codec.ts";
import { type ForceGraph, type SpringList, buildForceGraph } from "../core/field/springs.ts";
import type { TokenAttributes } from "../core/field/step.ts";
import type { FieldSnapshotReply } from "./shard-protocol.ts";

export interface FieldWorld {
  readonly count: number;
  /** attrs.positions is the current snapshot; `next` receives a step (then they swap). */
  attrs: TokenAttributes;
  next: Int16Array;
  /** Slots of shard s are [shardStart[s], shardStart[s+1]). */
  readonly shardStart: Int32Array;
  /** Each shard's applied LSN when it was copied. */
  readonly lsns: Float64Array;
  readonly springs: SpringList;
  readonly graph: ForceGraph;
  /** Ids ascending and their slots, for id → slot lookups without a per-token object. */
  readonly sortedIds: Uint32Array;
  readonly sortedSlots: Int32Array;
  /** Engine state found in a shard's snapshot (the state shard's). */
  readonly state: Uint8Array | undefined;
}

/** Slot of `id`, or −1. */
export function slotOf(world: FieldWorld, id: number): number {
  const a = world.sortedIds;
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return lo < a.length && a[lo] === id ? world.sortedSlots[lo]! : -1;
}

export function buildWorld(snaps: readonly FieldSnapshotReply[]): FieldWorld {
  const shardStart = new Int32Array(snaps.length + 1);
  snaps.forEach((s, k) => (shardStart[k + 1] = shardStart[k]! + s.count));
  const n = shardStart[snaps.length]!;
  const cap = Math.max(1, n);
  const positions = allocInt16(cap * 24, true);
  const ids = allocUint32(cap, true);
  const flags = allocUint16(cap, true);
  const radii = allocUint8(cap, true);
  const strengths = allocUint8(cap, true);
  let state: Uint8Array | undefined;
  snaps.forEach((s, k) => {
    const at = shardStart[k]!;
    positions.set(s.positions.subarray(0, s.count * 24), at * 24);
    ids.set(s.ids.subarray(0, s.count), at);
    flags.set(s.flags.subarray(0, s.count), at);
    radii.set(s.radii.subarray(0, s.count), at);
    strengths.set(s.strengths.subarray(0, s.count), at);
    state ??= s.state;
  });
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((x, y) => ids[x]! - ids[y]!);
  const sortedIds = Uint32Array.from(order, (slot) => ids[slot]!);
  const world0 = { sortedIds, sortedSlots: order };
  let m = 0;
  for (const s of snaps) m += s.springs.count;
  const springs = {
    count: 0,
    source: new Int32Array(m),
    target: new Int32Array(m),
    rigidity: new Float32Array(m),
    confidence: new Float32Array(m),
    pull: new Float32Array(m),
    preferredDistance: new Float32Array(m),
    activeSpaces: new Uint8Array(m),
  };
  let k = 0;
  for (const s of snaps) {
    const c = s.springs;
    for (let e = 0; e < c.count; e++) {
      const a = slotOf(world0 as FieldWorld, c.source[e]!);
      const b = slotOf(world0 as FieldWorld, c.target[e]!);
      if (a < 0 || b < 0) continue; // an endpoint deleted between two shards' copies
      springs.source[k] = a;
      springs.target[k] = b;
      springs.rigidity[k] = c.rigidity[e]!;
      springs.confidence[k] = c.confidence[e]!;
      springs.pull[k] = c.pull[e]!;
      springs.preferredDistance[k] = Math.max(c.preferredDistance[e]!, 1e-6);
      springs.activeSpaces[k] = c.activeSpaces[e]!;
      k++;
    }
  }
  const list: SpringList = { ...springs, count: k };
  const next = allocInt16(cap * 24, true);
  next.set(positions);
  return {
    count: n,
    attrs: { positions, ids, flags, radii, strengths },
    next,
    shardStart,
    lsns: Float64Array.from(snaps, (s) => s.lsn),
    springs: list,
    graph: buildForceGraph(list, n, n, { shared: true }),
    sortedIds,
    sortedSlots: order,
    state,
  };
}

/** The payload that moves shard `shard`'s tokens to the world's current positions (spaces of `mask`). */
export function positionsPayload(world: FieldWorld, shard: number, mask: number): Uint8Array {
  const begin = world.shardStart[shard]!;
  const end = world.shardStart[shard + 1]!;
  const spaces: number[] = [];
  for (let s = 0; s < 8; s++) if ((mask & (1 << s)) !== 0) spaces.push(s);
  const stride = spaces.length * 3;
  const coords = new Int16Array((end - begin) * stride);
  const pos = world.attrs.positions;
  for (let i = begin; i < end; i++) {
    const o = (i - begin) * stride;
    for (let a = 0; a < spaces.length; a++) {
      const src = i * 24 + spaces[a]! * 3;
      coords[o + a * 3] = pos[src]!;
      coords[o + a * 3 + 1] = pos[src + 1]!;
      coords[o + a * 3 + 2] = pos[src + 2]!;
    }
  }
  return encodeFieldResult({ positions: { spaceMask: mask, ids: world.attrs.ids.slice(begin, end), coords } });
}

/** Swaps the snapshot and the step output after a step. */
export function swapPositions(world: FieldWorld): void {
  const cur = world.attrs.positions;
  world.attrs = { ...world.attrs, positions: world.next };
  world.next = cur;
}
