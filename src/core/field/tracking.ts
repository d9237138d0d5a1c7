/**
 * Persistent identities of fields (and of parent clusters) across steps: a new set keeps the id
 * of a previous set when their Jaccard similarity |A∩B| / |A∪B| is ≥ 0.5. Pairs are matched
 * greedily by best similarity; ties go to the smaller previous id, then to the earlier new set.
 * Unmatched new sets get fresh ids from a counter; unmatched previous sets have dissolved.
 */
import { InternalError } from "../errors.ts";
import type { DetectedField } from "./fields.ts";

export const JACCARD_MATCH = 0.5;

/** (id · 2²¹ + set) is exact in a double for u32 ids and up to 2²¹ sets per side. */
const SET_RADIX = 2 ** 21;

/**
 * For every new set, the index of the previous set it continues, or −1.
 * Sets are ascending id arrays; `previousIds` orders ties.
 */
export function matchSets(previous: readonly Uint32Array[], previousIds: ArrayLike<number>, next: readonly Uint32Array[]): Int32Array {
  const P = previous.length;
  const N = next.length;
  const match = new Int32Array(N).fill(-1);
  if (P === 0 || N === 0) return match;
  if (P > SET_RADIX || N > SET_RADIX) throw new InternalError(`cannot match ${P} against ${N} sets (limit ${SET_RADIX})`);
  // (id, set) pairs of both sides, sorted by id, joined.
  const flatten = (sets: readonly Uint32Array[]): { ids: Float64Array; owner: Int32Array } => {
    let total = 0;
    for (const s of sets) total += s.length;
    const keyed = new Float64Array(total);
    let at = 0;
    sets.forEach((s, k) => {
      for (let i = 0; i < s.length; i++) keyed[at++] = s[i]! * SET_RADIX + k;
    });
    keyed.sort();
    const ids = new Float64Array(total);
    const owner = new Int32Array(total);
    for (let i = 0; i < total; i++) {
      const k = keyed[i]! % SET_RADIX;
      owner[i] = k;
      ids[i] = (keyed[i]! - k) / SET_RADIX;
    }
    return { ids, owner };
  };
  const a = flatten(previous);
  const b = flatten(next);
  const pairKeys: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.ids.length && j < b.ids.length) {
    const x = a.ids[i]!;
    const y = b.ids[j]!;
    if (x < y) i++;
    else if (y < x) j++;
    else {
      let i2 = i;
      while (i2 < a.ids.length && a.ids[i2] === x) i2++;
      let j2 = j;
      while (j2 < b.ids.length && b.ids[j2] === x) j2++;
      for (let p = i; p < i2; p++) for (let q = j; q < j2; q++) pairKeys.push(a.owner[p]! * N + b.owner[q]!);
      i = i2;
      j = j2;
    }
  }
  return greedy(Float64Array.from(pairKeys).sort(), previous, previousIds, next, match);
}

function greedy(
  pairKeys: Float64Array,
  previous: readonly Uint32Array[],
  previousIds: ArrayLike<number>,
  next: readonly Uint32Array[],
  match: Int32Array,
): Int32Array {
  const N = next.length;
  const candidates: { p: number; q: number; j: number }[] = [];
  for (let s = 0; s < pairKeys.length; ) {
    const key = pairKeys[s]!;
    let e = s;
    while (e < pairKeys.length && pairKeys[e] === key) e++;
    const inter = e - s;
    const q = key % N;
    const p = (key - q) / N;
    const union = previous[p]!.length + next[q]!.length - inter;
    const j = inter / union;
    if (j >= JACCARD_MATCH) candidates.push({ p, q, j });
    s = e;
  }
  candidates.sort((x, y) => y.j - x.j || previousIds[x.p]! - previousIds[y.p]! || x.q - y.q);
  const taken = new Uint8Array(previous.length);
  for (const c of candidates) {
    if (taken[c.p] !== 0 || match[c.q] !== -1) continue;
    taken[c.p] = 1;
    match[c.q] = c.p;
  }
  return match;
}

/** A detected field with its persistent id and the number of consecutive detections. */
export interface TrackedField extends DetectedField {
  readonly id: number;
  /** 1 on the detection that created it, +1 on every later detection that continued it. */
  readonly age: number;
}

export interface TrackingResult {
  readonly fields: TrackedField[];
  /** Previous fields that no new field continues. */
  readonly dissolved: TrackedField[];
  readonly nextId: number;
}

/**
 * Continues the previous fields with this detection's fields, per (space, level): matched ones
 * keep id and age+1, others get ids nextId, nextId+1, … in (space, level, anchor) order.
 */
export function trackFields(previous: readonly TrackedField[], detected: readonly DetectedField[], nextId: number): TrackingResult {
  const scopeOf = (f: { space: number; level: number }): number => f.level * 8 + f.space;
  const ordered = [...detected].sort((a, b) => scopeOf(a) - scopeOf(b) || a.anchorKey - b.anchorKey);
  const scopes = [...new Set([...ordered.map(scopeOf), ...previous.map(scopeOf)])].sort((a, b) => a - b);
  const fields: TrackedField[] = [];
  const dissolved: TrackedField[] = [];
  let id = nextId;
  for (const scope of scopes) {
    const prev = previous.filter((f) => scopeOf(f) === scope);
    const next = ordered.filter((f) => scopeOf(f) === scope);
    const match = matchSets(
      prev.map((f) => f.members),
      prev.map((f) => f.id),
      next.map((f) => f.members),
    );
    const continued = new Uint8Array(prev.length);
    next.forEach((f, q) => {
      const p = match[q]!;
      if (p >= 0) {
        continued[p] = 1;
        fields.push({ ...f, id: prev[p]!.id, age: prev[p]!.age + 1 });
      } else {
        fields.push({ ...f, id: id++, age: 1 });
      }
    });
    prev.forEach((f, p) => {
      if (continued[p] === 0) dissolved.push(f);
    });
  }
  return { fields, dissolved, nextId: id };
}
