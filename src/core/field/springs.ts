/**
 * Spring input of the force kernels. The field actor turns the store's connections into a
 * `SpringList` (one entry per connection, endpoints as slot indices of the position snapshot,
 * possibly ghost slots of remote tokens), and `buildForceGraph` turns that into a `ForceGraph`:
 * a CSR by local token with every spring listed at both of its local endpoints. Each token's
 * spring force is then a sum in a fixed order over its own entries, so the result does not depend
 * on how the tokens are split between workers.
 */
import { type FieldViolation, ValidationError } from "../errors.ts";
import { allocFloat32, allocInt32, allocUint8 } from "./buffers.ts";

/** One entry per connection. All arrays have at least `count` elements. */
export interface SpringList {
  readonly count: number;
  /** Slot of endpoint a (source) in the position snapshot. */
  readonly source: Int32Array;
  /** Slot of endpoint b (target). */
  readonly target: Int32Array;
  /** 0..1 */
  readonly rigidity: Float32Array;
  /** 0..1 */
  readonly confidence: Float32Array;
  /** −10..10, negative repels. */
  readonly pull: Float32Array;
  /** d₀ > 0, decoded units. */
  readonly preferredDistance: Float32Array;
  /** Bit s = the spring acts in space s; 0 = all spaces. */
  readonly activeSpaces: Uint8Array;
}

/**
 * CSR by local token (slots 0..tokenCount-1). The springs of token i are entries
 * `offsets[i] .. offsets[i+1]-1`: the other endpoint's slot, coefficient rigidity·confidence·pull
 * (without k), preferred distance and space mask (0 already resolved to 0xff).
 * Entries of a token are in the order of the SpringList.
 */
export interface ForceGraph {
  readonly tokenCount: number;
  readonly offsets: Int32Array;
  readonly neighbor: Int32Array;
  readonly coefficient: Float32Array;
  readonly preferredDistance: Float32Array;
  readonly spaces: Uint8Array;
}

/** A SpringList over plain arrays (copies into typed arrays). Convenience for tests and tools. */
export function springListOf(edges: {
  source: ArrayLike<number>;
  target: ArrayLike<number>;
  rigidity?: ArrayLike<number> | number;
  confidence?: ArrayLike<number> | number;
  pull?: ArrayLike<number> | number;
  preferredDistance?: ArrayLike<number> | number;
  activeSpaces?: ArrayLike<number> | number;
}): SpringList {
  const n = edges.source.length;
  const col = <T extends Float32Array | Uint8Array>(make: (n: number) => T, v: ArrayLike<number> | number | undefined, dflt: number): T => {
    const a = make(n);
    if (typeof v === "number" || v === undefined) a.fill(v ?? dflt);
    else a.set(Array.from(v).slice(0, n));
    return a;
  };
  return {
    count: n,
    source: Int32Array.from(edges.source),
    target: Int32Array.from(edges.target),
    rigidity: col((k) => new Float32Array(k), edges.rigidity, 1),
    confidence: col((k) => new Float32Array(k), edges.confidence, 1),
    pull: col((k) => new Float32Array(k), edges.pull, 1),
    preferredDistance: col((k) => new Float32Array(k), edges.preferredDistance, 1),
    activeSpaces: col((k) => new Uint8Array(k), edges.activeSpaces, 0),
  };
}

/** Checks every spring; throws one ValidationError listing the bad ones and builds nothing. */
export function validateSpringList(springs: SpringList, slotCount: number): void {
  const v: FieldViolation[] = [];
  const bad = (index: number, field: string, value: number, rule: string, description: string): void => {
    if (v.length < 100) v.push({ index, field, value: String(value), rule, description });
  };
  for (let e = 0; e < springs.count; e++) {
    const a = springs.source[e]!;
    const b = springs.target[e]!;
    if (!(a >= 0 && a < slotCount)) bad(e, "source", a, "slot_range", `must be a slot in [0, ${slotCount})`);
    if (!(b >= 0 && b < slotCount)) bad(e, "target", b, "slot_range", `must be a slot in [0, ${slotCount})`);
    const r = springs.rigidity[e]!;
    if (!(r >= 0 && r <= 1)) bad(e, "rigidity", r, "rigidity_range", "must be in [0, 1]");
    const c = springs.confidence[e]!;
    if (!(c >= 0 && c <= 1)) bad(e, "confidence", c, "confidence_range", "must be in [0, 1]");
    const p = springs.pull[e]!;
    if (!(p >= -10 && p <= 10)) bad(e, "pull", p, "pull_range", "must be in [-10, 10]");
    const d = springs.preferredDistance[e]!;
    if (!(d > 0 && d <= 65536)) bad(e, "preferredDistance", d, "preferred_distance_range", "must be a positive finite distance");
  }
  if (v.length > 0) throw ValidationError.of("springs", v);
}

/**
 * Builds the CSR for local slots [0, tokenCount). Springs whose endpoints are both ghosts
 * (≥ tokenCount) or equal are skipped. `slotCount` bounds all endpoints (local + ghosts).
 * Validates first; bad input throws and builds nothing. With `shared`, the arrays live in
 * SharedArrayBuffers so worker threads can read them without copies.
 */
export function buildForceGraph(
  springs: SpringList,
  tokenCount: number,
  slotCount: number = tokenCount,
  options: { readonly shared?: boolean } = {},
): ForceGraph {
  validateSpringList(springs, slotCount);
  const shared = options.shared ?? false;
  const offsets = allocInt32(tokenCount + 1, shared);
  const m = springs.count;
  for (let e = 0; e < m; e++) {
    const a = springs.source[e]!;
    const b = springs.target[e]!;
    if (a === b) continue;
    if (a < tokenCount) offsets[a + 1]!++;
    if (b < tokenCount) offsets[b + 1]!++;
  }
  for (let i = 0; i < tokenCount; i++) offsets[i + 1]! += offsets[i]!;
  const total = offsets[tokenCount]!;
  const neighbor = allocInt32(total, shared);
  const coefficient = allocFloat32(total, shared);
  const preferredDistance = allocFloat32(total, shared);
  const spaces = allocUint8(total, shared);
  const cursor = offsets.slice(0, tokenCount);
  for (let e = 0; e < m; e++) {
    const a = springs.source[e]!;
    const b = springs.target[e]!;
    if (a === b) continue;
    const coef = springs.rigidity[e]! * springs.confidence[e]! * springs.pull[e]!;
    const d0 = springs.preferredDistance[e]!;
    const mask = springs.activeSpaces[e]! === 0 ? 0xff : springs.activeSpaces[e]!;
    if (a < tokenCount) {
      const p = cursor[a]!++;
      neighbor[p] = b;
      coefficient[p] = coef;
      preferredDistance[p] = d0;
      spaces[p] = mask;
    }
    if (b < tokenCount) {
      const p = cursor[b]!++;
      neighbor[p] = a;
      coefficient[p] = coef;
      preferredDistance[p] = d0;
      spaces[p] = mask;
    }
  }
  return { tokenCount, offsets, neighbor, coefficient, preferredDistance, spaces };
}
