/**
 * Co-activation tracking in fixed memory: tokens activated within `window` ms of each other are
 * counted per unordered pair; a pair that reaches `minCount` becomes a hypothesis candidate
 * (smaller id → larger id) and its count restarts.
 *
 * Everything lives in typed arrays sized at construction:
 * - a ring of the `recentCapacity` most recently activated distinct tokens with their times;
 * - a pair table of `pairCapacity` slots (open addressing, a probe window of 8 slots). When the
 *   window has no free slot, the weakest pair in it (lowest count, then oldest) is evicted, so
 *   a flood of one-off pairs can never grow memory or push out frequent pairs; pairs not seen
 *   for `pairTtlMs` count as free slots.
 * Work per activation call is bounded by `maxTokensPerCall` × `recentCapacity`.
 */
import { ValidationError } from "../../core/errors.ts";

export interface CoactivationOptions {
  /** Distinct recently activated tokens remembered (default 256). */
  readonly recentCapacity?: number;
  /** Pair slots, rounded up to a power of two (default 16 384). */
  readonly pairCapacity?: number;
  /** Tokens of one call considered; the rest are ignored (default 64). */
  readonly maxTokensPerCall?: number;
  /** A pair not seen for this long is forgotten (default 1 h). */
  readonly pairTtlMs?: number;
}

export interface CoactivationCandidates {
  readonly sources: Uint32Array;
  readonly targets: Uint32Array;
}

const PROBE = 8;
const EMPTY: CoactivationCandidates = Object.freeze({ sources: new Uint32Array(0), targets: new Uint32Array(0) });

function positiveInt(field: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 1 || v > max) {
    throw ValidationError.of("co-activation options", [{ field, value: String(v), rule: "range", description: `must be an integer from 1 to ${max}` }]);
  }
  return v;
}

export class CoactivationTable {
  private readonly recentIds: Uint32Array;
  private readonly recentAt: Float64Array;
  private recentNext = 0;
  private readonly pairA: Uint32Array;
  private readonly pairB: Uint32Array;
  private readonly pairCount: Uint32Array;
  private readonly pairSeen: Float64Array;
  private readonly mask: number;
  private readonly maxTokens: number;
  private readonly ttl: number;
  private evictions = 0;

  constructor(options: CoactivationOptions = {}) {
    const recent = positiveInt("recentCapacity", options.recentCapacity ?? 256, 65_536);
    const pairs = positiveInt("pairCapacity", options.pairCapacity ?? 16_384, 1 << 24);
    this.maxTokens = positiveInt("maxTokensPerCall", options.maxTokensPerCall ?? 64, 4096);
    this.ttl = options.pairTtlMs ?? 3_600_000;
    let cap = PROBE;
    while (cap < pairs) cap *= 2;
    this.mask = cap - 1;
    this.recentIds = new Uint32Array(recent);
    this.recentAt = new Float64Array(recent).fill(-Infinity);
    this.pairA = new Uint32Array(cap);
    this.pairB = new Uint32Array(cap);
    this.pairCount = new Uint32Array(cap);
    this.pairSeen = new Float64Array(cap);
  }

  /** Bytes held (fixed at construction). */
  get byteSize(): number {
    return this.recentIds.byteLength + this.recentAt.byteLength + this.pairA.byteLength + this.pairB.byteLength + this.pairCount.byteLength + this.pairSeen.byteLength;
  }

  /** Pairs evicted from a full probe window so far. */
  get evicted(): number {
    return this.evictions;
  }

  /** The current count of the pair {a, b} (0 when not tracked). */
  countOf(a: number, b: number, nowMs: number): number {
    const [lo, hi] = a < b ? [a, b] : [b, a];
    const s = this.find(lo, hi, nowMs);
    return s < 0 ? 0 : this.pairCount[s]!;
  }

  /**
   * Records that `tokens` were activated at `nowMs` (ids 0 and repeats are ignored) and returns
   * the pairs that reached `minCount` co-activations within `windowMs` of each other.
   */
  observe(tokens: ArrayLike<number>, nowMs: number, windowMs: number, minCount: number): CoactivationCandidates {
    const call = distinctSorted(tokens, this.maxTokens);
    const k = call.length;
    if (k === 0) return EMPTY;
    const outA: number[] = [];
    const outB: number[] = [];
    const bump = (x: number, y: number): void => {
      const [lo, hi] = x < y ? [x, y] : [y, x];
      if (this.increment(lo, hi, nowMs) >= minCount) {
        this.forget(lo, hi, nowMs);
        outA.push(lo);
        outB.push(hi);
      }
    };
    // Tokens of earlier calls still within the window.
    const ids = this.recentIds;
    const at = this.recentAt;
    const since = nowMs - windowMs;
    for (let r = 0; r < ids.length; r++) {
      const u = ids[r]!;
      if (u === 0 || at[r]! < since || at[r]! > nowMs || contains(call, u)) continue;
      for (let i = 0; i < k; i++) bump(call[i]!, u);
    }
    // Tokens of this call with each other.
    for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) bump(call[i]!, call[j]!);
    for (let i = 0; i < k; i++) this.remember(call[i]!, nowMs);
    return outA.length === 0 ? EMPTY : { sources: Uint32Array.from(outA), targets: Uint32Array.from(outB) };
  }

  private remember(id: number, nowMs: number): void {
    const ids = this.recentIds;
    for (let r = 0; r < ids.length; r++) {
      if (ids[r] === id) {
        this.recentAt[r] = nowMs;
        return;
      }
    }
    ids[this.recentNext] = id;
    this.recentAt[this.recentNext] = nowMs;
    this.recentNext = (this.recentNext + 1) % ids.length;
  }

  private home(a: number, b: number): number {
    return (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca77)) >>> 0;
  }

  private live(s: number, nowMs: number): boolean {
    return this.pairA[s] !== 0 && nowMs - this.pairSeen[s]! <= this.ttl;
  }

  private find(a: number, b: number, nowMs: number): number {
    const h = this.home(a, b);
    for (let p = 0; p < PROBE; p++) {
      const s = (h + p) & this.mask;
      if (this.pairA[s] === a && this.pairB[s] === b && this.live(s, nowMs)) return s;
    }
    return -1;
  }

  private increment(a: number, b: number, nowMs: number): number {
    let s = this.find(a, b, nowMs);
    if (s < 0) {
      const h = this.home(a, b);
      let victim = -1;
      for (let p = 0; p < PROBE; p++) {
        const t = (h + p) & this.mask;
        if (!this.live(t, nowMs)) {
          victim = t;
          break;
        }
        if (victim < 0 || this.pairCount[t]! < this.pairCount[victim]! || (this.pairCount[t] === this.pairCount[victim] && this.pairSeen[t]! < this.pairSeen[victim]!)) victim = t;
      }
      s = victim;
      if (this.live(s, nowMs)) this.evictions++;
      this.pairA[s] = a;
      this.pairB[s] = b;
      this.pairCount[s] = 0;
    }
    this.pairCount[s] = this.pairCount[s]! + 1;
    this.pairSeen[s] = nowMs;
    return this.pairCount[s]!;
  }

  private forget(a: number, b: number, nowMs: number): void {
    const s = this.find(a, b, nowMs);
    if (s < 0) return;
    this.pairA[s] = 0;
    this.pairB[s] = 0;
    this.pairCount[s] = 0;
  }
}

function distinctSorted(tokens: ArrayLike<number>, max: number): Uint32Array {
  const n = Math.min(tokens.length, max * 4);
  const tmp = new Uint32Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const t = tokens[i]!;
    if (t !== 0) tmp[m++] = t;
  }
  const sorted = tmp.subarray(0, m).sort();
  let d = 0;
  for (let i = 0; i < m && d < max; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[d++] = sorted[i]!;
  return sorted.subarray(0, d);
}

function contains(sorted: Uint32Array, v: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = sorted[mid]!;
    if (x === v) return true;
    if (x < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
