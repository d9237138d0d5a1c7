/**
 * Reusable result buffers of spatial queries: ids and distances in typed arrays that grow by
 * doubling and are overwritten by the next query that writes into them. Ordering is by squared raw
 * distance (an exact integer), then id, so results are stable whatever the index layout.
 */
export class SpatialResult {
  /** Number of valid entries. */
  count = 0;
  /** Token ids, `count` of them. */
  ids: Uint32Array;
  /** Euclidean distances in decoded units of the queried space. */
  distances: Float64Array;
  /** Squared distances in raw fixed-point units (exact integers); the sort key. */
  squared: Float64Array;

  constructor(capacity = 64) {
    const cap = Math.max(8, capacity);
    this.ids = new Uint32Array(cap);
    this.distances = new Float64Array(cap);
    this.squared = new Float64Array(cap);
  }

  /** Copies the valid ids out (for callers that keep them beyond the next query). */
  idList(): number[] {
    return Array.from(this.ids.subarray(0, this.count));
  }

  /** @internal Empties the buffer and makes room for `n` entries. */
  reset(n = 0): void {
    this.count = 0;
    if (n > this.ids.length) this.grow(n);
  }

  /** @internal Appends one entry; `payload` lands in `distances` until `finish`. */
  push(key: number, id: number, payload: number): void {
    const i = this.count;
    if (i === this.ids.length) this.grow(i + 1);
    this.squared[i] = key;
    this.ids[i] = id;
    this.distances[i] = payload;
    this.count = i + 1;
  }

  /**
   * @internal Keeps the `k` smallest (key, id) pairs seen, as a max-heap in the buffers.
   * Call `reset(k)` first and `sortHeap()` at the end.
   */
  offer(key: number, id: number, k: number): void {
    const sq = this.squared;
    const ids = this.ids;
    if (this.count < k) {
      let i = this.count++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!after(key, id, sq[p]!, ids[p]!)) break;
        sq[i] = sq[p]!;
        ids[i] = ids[p]!;
        i = p;
      }
      sq[i] = key;
      ids[i] = id;
      return;
    }
    if (!after(sq[0]!, ids[0]!, key, id)) return;
    siftDown(sq, ids, 0, k, key, id);
  }

  /** @internal Whether the heap holds `k` entries and its worst key is below `bound`. */
  heapFullBelow(k: number, bound: number): boolean {
    return this.count >= k && this.squared[0]! < bound;
  }

  /** @internal Turns the max-heap into ascending order. */
  sortHeap(): void {
    const sq = this.squared;
    const ids = this.ids;
    for (let end = this.count - 1; end > 0; end--) {
      const k = sq[end]!;
      const id = ids[end]!;
      sq[end] = sq[0]!;
      ids[end] = ids[0]!;
      siftDown(sq, ids, 0, end, k, id);
    }
  }

  /** @internal Sorts all entries ascending by (key, id), carrying the payload along. */
  sortAll(): void {
    quicksort(this.squared, this.ids, this.distances, 0, this.count - 1);
  }

  /** @internal Fills `distances` from the squared raw distances. */
  finish(scale: number): this {
    const sq = this.squared;
    const d = this.distances;
    for (let i = 0; i < this.count; i++) d[i] = Math.sqrt(sq[i]!) / scale;
    return this;
  }

  /** Bytes held by the buffers. */
  byteSize(): number {
    return this.ids.byteLength + this.distances.byteLength + this.squared.byteLength;
  }

  private grow(n: number): void {
    let cap = this.ids.length * 2;
    while (cap < n) cap *= 2;
    const ids = new Uint32Array(cap);
    ids.set(this.ids.subarray(0, this.count));
    const d = new Float64Array(cap);
    d.set(this.distances.subarray(0, this.count));
    const sq = new Float64Array(cap);
    sq.set(this.squared.subarray(0, this.count));
    this.ids = ids;
    this.distances = d;
    this.squared = sq;
  }
}

/** (ka, ia) orders after (kb, ib). */
function after(ka: number, ia: number, kb: number, ib: number): boolean {
  return ka > kb || (ka === kb && ia > ib);
}

function siftDown(sq: Float64Array, ids: Uint32Array, start: number, n: number, key: number, id: number): void {
  let i = start;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    const r = c + 1;
    if (r < n && after(sq[r]!, ids[r]!, sq[c]!, ids[c]!)) c = r;
    if (!after(sq[c]!, ids[c]!, key, id)) break;
    sq[i] = sq[c]!;
    ids[i] = ids[c]!;
    i = c;
  }
  sq[i] = key;
  ids[i] = id;
}

function swap(sq: Float64Array, ids: Uint32Array, pl: Float64Array, a: number, b: number): void {
  const k = sq[a]!;
  sq[a] = sq[b]!;
  sq[b] = k;
  const i = ids[a]!;
  ids[a] = ids[b]!;
  ids[b] = i;
  const p = pl[a]!;
  pl[a] = pl[b]!;
  pl[b] = p;
}

/** In-place quicksort of parallel arrays by (key, id); ids are unique, so no two entries tie. */
function quicksort(sq: Float64Array, ids: Uint32Array, pl: Float64Array, lo: number, hi: number): void {
  while (hi - lo > 16) {
    const mid = (lo + hi) >>> 1;
    // Median of three into `hi`.
    if (after(sq[lo]!, ids[lo]!, sq[mid]!, ids[mid]!)) swap(sq, ids, pl, lo, mid);
    if (after(sq[mid]!, ids[mid]!, sq[hi]!, ids[hi]!)) swap(sq, ids, pl, mid, hi);
    if (after(sq[lo]!, ids[lo]!, sq[mid]!, ids[mid]!)) swap(sq, ids, pl, lo, mid);
    swap(sq, ids, pl, mid, hi);
    const pk = sq[hi]!;
    const pi = ids[hi]!;
    let store = lo;
    for (let i = lo; i < hi; i++) {
      if (after(pk, pi, sq[i]!, ids[i]!)) swap(sq, ids, pl, i, store++);
    }
    swap(sq, ids, pl, store, hi);
    // Recurse on the smaller side, loop on the larger: stack depth O(log n).
    if (store - lo < hi - store) {
      quicksort(sq, ids, pl, lo, store - 1);
      lo = store + 1;
    } else {
      quicksort(sq, ids, pl, store + 1, hi);
      hi = store - 1;
    }
  }
  for (let i = lo + 1; i <= hi; i++) {
    const k = sq[i]!;
    const id = ids[i]!;
    const p = pl[i]!;
    let j = i - 1;
    while (j >= lo && after(sq[j]!, ids[j]!, k, id)) {
      sq[j + 1] = sq[j]!;
      ids[j + 1] = ids[j]!;
      pl[j + 1] = pl[j]!;
      j--;
    }
    sq[j + 1] = k;
    ids[j + 1] = id;
    pl[j + 1] = p;
  }
}
