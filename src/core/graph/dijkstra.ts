/**
 * The state of one Dijkstra search, advanced by plain methods so the hot loops run outside the
 * generator (see paths.ts for the step machine and the semantics). Per-node state lives in typed
 * arrays indexed by the node's dense index; fetched adjacency is cached in two growing arrays.
 */
import { IdIndex } from "./id-index.ts";
import type { Expansion } from "./expansion.ts";
import { IndexedMinHeap } from "./heap.ts";
import { ensure } from "./buffers.ts";
import { isTraversableWeight } from "./params.ts";

export interface DijkstraRun {
  readonly found: boolean;
  readonly truncated: boolean;
  /** Discovered ids by internal index. */
  readonly ids: Uint32Array;
  readonly parents: Int32Array;
  readonly parentWeights: Float32Array;
  /** Internal indices in settle order, `settled` of them, and their final costs. */
  readonly order: Int32Array;
  readonly orderCosts: Float64Array;
  readonly settled: number;
  readonly targetIndex: number;
}

const EXPANDED = 1;
/** `dist` of a settled node: its final cost moved to `orderCosts`, so one read decides a relaxation. */
const SETTLED_DIST = -1;

export class DijkstraSearch {
  private readonly nodes = new IdIndex(64);
  private dist = new Float64Array(64);
  private parents = new Int32Array(64);
  private parentWeights = new Float32Array(64);
  private state = new Uint8Array(64);
  private adjStart = new Int32Array(64);
  private adjEnd = new Int32Array(64);
  private cacheNb = new Uint32Array(1024);
  private cacheW = new Float32Array(1024);
  private cacheLen = 0;
  /** Discovered nodes whose adjacency has not been fetched yet. */
  private pending = new Int32Array(64);
  private pendingLen = 0;
  private order = new Int32Array(64);
  private orderCosts = new Float64Array(64);
  private settled = 0;
  private truncated = false;
  private found = true;
  private targetIndex = -1;
  private readonly heap = new IndexedMinHeap();

  constructor(
    source: number,
    private readonly target: number,
    private readonly maxCost: number,
    private readonly maxNodes: number,
  ) {
    this.nodes.add(source);
    this.parents[0] = -1;
    this.pending[this.pendingLen++] = 0;
    this.heap.update(0, 0, source);
  }

  /**
   * Settles nodes until one needs its adjacency (returns true: fetch `pendingBatch()` and call
   * `absorb`) or the search is over (false).
   */
  advance(): boolean {
    const heap = this.heap;
    while (heap.size > 0 && this.targetIndex < 0 && !this.truncated) {
      if (heap.peekKey() > this.maxCost) return false;
      if ((this.state[heap.peekItem()]! & EXPANDED) === 0) return true;
      const du = heap.peekKey();
      this.settle(heap.pop(), du);
    }
    return false;
  }

  /** Ids of every discovered node whose adjacency is not cached (the current frontier). */
  pendingBatch(): Uint32Array {
    const batch = new Uint32Array(this.pendingLen);
    const ids = this.nodes.ids;
    for (let i = 0; i < this.pendingLen; i++) batch[i] = ids[this.pending[i]!]!;
    return batch;
  }

  /** Caches the adjacency of the pending batch; false when the source turned out not to exist. */
  absorb(exp: Expansion): boolean {
    if (this.settled === 0 && exp.exists[0] !== 1) {
      this.found = false;
      return false;
    }
    const { offsets, neighbors, weights } = exp;
    const n = this.pendingLen;
    const total = offsets[n]!;
    const base = this.cacheLen;
    this.cacheNb = ensure(this.cacheNb, base + total);
    this.cacheW = ensure(this.cacheW, base + total);
    this.cacheNb.set(neighbors.subarray(0, total), base);
    this.cacheW.set(weights.subarray(0, total), base);
    for (let i = 0; i < n; i++) {
      const idx = this.pending[i]!;
      this.adjStart[idx] = base + offsets[i]!;
      this.adjEnd[idx] = base + offsets[i + 1]!;
      this.state[idx]! |= EXPANDED;
    }
    this.cacheLen = base + total;
    this.pendingLen = 0;
    return true;
  }

  run(): DijkstraRun {
    return {
      found: this.found,
      truncated: this.truncated,
      ids: this.nodes.ids,
      parents: this.parents,
      parentWeights: this.parentWeights,
      order: this.order,
      orderCosts: this.orderCosts,
      settled: this.found ? this.settled : 0,
      targetIndex: this.targetIndex,
    };
  }

  private settle(u: number, du: number): void {
    this.dist[u] = SETTLED_DIST;
    if (this.settled === this.order.length) {
      this.order = ensure(this.order, this.settled + 1);
      this.orderCosts = ensure(this.orderCosts, this.settled + 1);
    }
    this.orderCosts[this.settled] = du;
    this.order[this.settled++] = u;
    if (this.nodes.ids[u] === this.target) {
      this.targetIndex = u;
      return;
    }
    const { cacheW, cacheNb, nodes, heap } = this;
    const end = this.adjEnd[u]!;
    for (let e = this.adjStart[u]!; e < end; e++) {
      const w = cacheW[e]!;
      if (!isTraversableWeight(w)) continue;
      const nd = du + 1 / w;
      const nb = cacheNb[e]!;
      let vi = nodes.indexOf(nb);
      if (vi < 0) {
        if (nodes.size >= this.maxNodes) {
          this.truncated = true;
          return;
        }
        vi = nodes.add(nb);
        this.grow(vi + 1);
        this.pending[this.pendingLen++] = vi;
      } else {
        const dv = this.dist[vi]!;
        if (dv === SETTLED_DIST || nd >= dv) continue;
      }
      this.dist[vi] = nd;
      this.parents[vi] = u;
      this.parentWeights[vi] = w;
      heap.update(vi, nd, nb);
    }
  }

  /** Room for `n` nodes in every per-node array (and in `pending`). */
  private grow(n: number): void {
    if (n <= this.dist.length) return;
    this.dist = ensure(this.dist, n);
    this.parents = ensure(this.parents, n);
    this.parentWeights = ensure(this.parentWeights, n);
    this.state = ensure(this.state, n);
    this.adjStart = ensure(this.adjStart, n);
    this.adjEnd = ensure(this.adjEnd, n);
    this.pending = ensure(this.pending, n);
  }
}
