/**
 * Co-activation tracking in fixed memory: tokens activated within `window` ms of each other are
 * counted per unordered pair; a pair that reaches `minCount` becomes a hypothesis candidate
 * (smaller id → larger id) and its count restarts.
 *
 * Everything lives in typed arrays sized at construction:
 * - a ring of the `recentCapacity` most recent activations (token, time), in time order;
 * - a pair table of `pairCapacity` slots (open addressing, a probe window of 8 slots). When the
 *   window has no free slot, the weakest pair in it (lowest count, then oldest) is evicted, so
 *   a flood of one-off pairs can never grow memory or push out frequent pairs; pairs not seen
 *   for `pairTtlMs` count as free slots;
 * - a per-call scratch set (stamped, never cleared) that counts each pair once per call.
 * Work per call is bounded: at most `maxTokensPerCall` tokens and `maxPairsPerCall` pair
 * updates, the most recent activations first.
 */
import { ValidationError } from "../../core/errors.ts";

export interface CoactivationOptions {
  /** Recent activations remembered (default 256). */
  readonly recentCapacity?: number;
  /** Pair slots, rounded up to a power of two (default 16 384). */
  readonly pairCapacity?: number;
  /** Tokens of one call considered; the rest are ignored (default 64). */
  readonly maxTokensPerCall?: number;
  /** Pair updates per call at most (default 1024). */
  readonly maxPairsPerCall?: number;
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

function pow2AtLeast(n: number): number {
  let c = 1;
  while (c < n) c *= 2;
  return c;
}

export class CoactivationTable {
  private readonly recentIds: Uint32Array;
  private readonly recentAt: Float64Array;
  /** Next ring slot to write (the oldest entry once the ring is full). */
  private recentNext = 0;
  private readonly pairA: Uint32Array;
  private readonly pairB: Uint32Array;
  private readonly pairCount: Uint32Array;
  private readonly pairSeen: Float64Array;
  private readonly mask: number;
  private readonly maxTokens: number;
  private readonly maxPairs: number;
  private readonly ttl: number;
  private readonly seenKeys: Uint32Array;
  private readonly seenStamp: Uint32Array;
  private readonly seenMask: number;
  private stamp = 0;
  private readonly callTokens: Uint32Array;
  private evictions = 0;

  constructor(options: CoactivationOptions = {}) {
    const recent = positiveInt("recentCapacity", options.recentCapacity ?? 256, 65_536);
    const pairs = positiveInt("pairCapacity", options.pairCapacity ?? 16_384, 1 << 24);
    this.maxTokens = positiveInt("maxTokensPerCall", options.maxTokensPerCall ?? 64, 4096);
    this.maxPairs = positiveInt("maxPairsPerCall", options.maxPairsPerCall ?? 1024, 1 << 20);
    this.ttl = options.pairTtlMs ?? 3_600_000;
    const cap = pow2AtLeast(Math.max(PROBE, pairs));
    this.mask = cap - 1;
    this.recentIds = new Uint32Array(recent);
    this.recentAt = new Float64Array(recent).fill(-Infinity);
    this.pairA = new Uint32Array(cap);
    this.pairB = new Uint32Array(cap);
    this.pairCount = new Uint32Array(cap);
    this.pairSeen = new Float64Array(cap);
    const seen = pow2AtLeast(4 * (recent + this.maxTokens));
    this.seenKeys = new Uint32Array(seen);
    this.seenStamp = new Uint32Array(seen);
    this.seenMask = seen - 1;
    this.callTokens = new Uint32Array(this.maxTokens);
  }

  /** Bytes held (fixed at construction). */
  get byteSize(): number {
    let n = 0;
    for (const a of [this.recentIds, this.recentAt, this.pairA, this.pairB, this.pairCount, this.pairSeen, this.seenKeys, this.seenStamp, this.callTokens]) n += a.byteLength;
    return n;
  }

  /** Pairs evicted from a full probe window so far. */
  get evicted(): number {
    return this.evictions;
  }

  /** The current count of the pair {a, b} (0 when not tracked). */
  countOf(a: number, b: number, nowMs: number): number {
    const s = this.find(Math.min(a, b), Math.max(a, b), nowMs);
    return s < 0 ? 0 : this.pairCount[s]!;
  }

  /** Adds `id` to this call's scratch set; false when it is there already. */
  private mark(id: number): boolean {
    const keys = this.seenKeys;
    const stamps = this.seenStamp;
    for (let h = Math.imul(id, 0x9e3779b1) & this.seenMask; ; h = (h + 1) & this.seenMask) {
      if (stamps[h] !== this.stamp) {
        stamps[h] = this.stamp;
        keys[h] = id;
        return true;
      }
      if (keys[h] === id) return false;
    }
  }

  private newCall(): void {
    if (++this.stamp > 0xfffffff0) {
      this.stamp = 1;
      this.seenStamp.fill(0);
    }
  }

  /**
   * Records that `tokens` were activated at `nowMs` (ids 0 and repeats are ignored) and returns
   * the pairs that reached `minCount` co-activations within `windowMs` of each other.
   */
  observe(tokens: ArrayLike<number>, nowMs: number, windowMs: number, minCount: number): CoactivationCandidates {
    this.newCall();
    const call = this.callTokens;
    let k = 0;
    for (let i = 0; i < tokens.length && k < call.length; i++) {
      const t = tokens[i]!;
      if (t !== 0 && this.mark(t)) call[k++] = t;
    }
    if (k === 0) return EMPTY;
    const outA: number[] = [];
    const outB: number[] = [];
    let budget = this.maxPairs;
    // Tokens of this call with each other.
    for (let i = 0; i < k && budget > 0; i++) {
      for (let j = i + 1; j < k && budget > 0; j++, budget--) {
        const x = call[i]!;
        const y = call[j]!;
        const lo = x < y ? x : y;
        const hi = x < y ? y : x;
        if (this.bump(lo, hi, nowMs, minCount)) {
          outA.push(lo);
          outB.push(hi);
        }
      }
    }
    // Earlier activations within the window, newest first, each distinct token once.
    const ids = this.recentIds;
    const at = this.recentAt;
    const since = nowMs - windowMs;
    const R = ids.length;
    for (let step = 1; step <= R && budget >= k; step++) {
      const r = (this.recentNext - step + R) % R;
      const when = at[r]!;
      if (when < since) break;
      const u = ids[r]!;
      if (when > nowMs || !this.mark(u)) continue;
      budget -= k;
      for (let i = 0; i < k; i++) {
        const x = call[i]!;
        const lo = x < u ? x : u;
        const hi = x < u ? u : x;
        if (this.bump(lo, hi, nowMs, minCount)) {
          outA.push(lo);
          outB.push(hi);
        }
      }
    }
    for (let i = 0; i < k; i++) {
      ids[this.recentNext] = call[i]!;
      at[this.recentNext] = nowMs;
      this.recentNext = (this.recentNext + 1) % R;
    }
    return outA.length === 0 ? EMPTY : { sources: Uint32Array.from(outA), targets: Uint32Array.from(outB) };
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

  /** The pair's slot, claiming one (free, expired, or the weakest of the probe window) if needed. One pass. */
  private slotFor(a: number, b: number, nowMs: number): number {
    const A = this.pairA;
    const B = this.pairB;
    const count = this.pairCount;
    const seen = this.pairSeen;
    const ttl = this.ttl;
    const h = this.home(a, b);
    let free = -1;
    let weakest = -1;
    for (let p = 0; p < PROBE; p++) {
      const t = (h + p) & this.mask;
      const ta = A[t]!;
      const live = ta !== 0 && nowMs - seen[t]! <= ttl;
      if (live) {
        if (ta === a && B[t] === b) return t;
        if (weakest < 0 || count[t]! < count[weakest]! || (count[t] === count[weakest] && seen[t]! < seen[weakest]!)) weakest = t;
      } else if (free < 0) free = t;
    }
    let s = free;
    if (s < 0) {
      s = weakest;
      this.evictions++;
    }
    A[s] = a;
    B[s] = b;
    count[s] = 0;
    return s;
  }

  /** Counts one co-activation of {lo < hi}; true (and the pair restarts) when it reached `minCount`. */
  private bump(lo: number, hi: number, nowMs: number, minCount: number): boolean {
    const s = this.slotFor(lo, hi, nowMs);
    const n = this.pairCount[s]! + 1;
    this.pairSeen[s] = nowMs;
    if (n < minCount) {
      this.pairCount[s] = n;
      return false;
    }
    this.pairA[s] = 0;
    this.pairB[s] = 0;
    this.pairCount[s] = 0;
    return true;
  }
}
