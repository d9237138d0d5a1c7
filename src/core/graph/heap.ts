/**
 * Indexed binary min-heap over dense item indices, ordered by (key, id) so pops are deterministic
 * on equal keys. `update` inserts an item or lowers its key in place (decrease-key), so the heap
 * never holds more than one entry per item and never grows past the frontier. Each entry's id and
 * item sit side by side in `meta` (2i, 2i + 1) to keep a sift step to few cache lines.
 */
export class IndexedMinHeap {
  private keys = new Float64Array(64);
  private meta = new Uint32Array(128);
  /** Heap position of each item, -1 when absent. */
  private pos = new Int32Array(64).fill(-1);
  size = 0;

  /** Key of the minimum; call only when size > 0. */
  peekKey(): number {
    return this.keys[0]!;
  }

  /** Item of the minimum; call only when size > 0. */
  peekItem(): number {
    return this.meta[1]!;
  }

  /** Inserts `item` with (key, id), or moves it up to a lower key. */
  update(item: number, key: number, id: number): void {
    if (item >= this.pos.length) this.growPositions(item + 1);
    let i = this.pos[item]!;
    if (i < 0) {
      if (this.size === this.keys.length) this.growHeap();
      i = this.size++;
    }
    this.siftUp(i, key, id, item);
  }

  /** Removes the minimum and returns its item; call only when size > 0. */
  pop(): number {
    const top = this.meta[1]!;
    this.pos[top] = -1;
    const n = --this.size;
    if (n > 0) this.siftDown(this.keys[n]!, this.meta[2 * n]!, this.meta[2 * n + 1]!);
    return top;
  }

  private siftUp(start: number, key: number, id: number, item: number): void {
    const { keys, meta, pos } = this;
    let i = start;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pk = keys[p]!;
      if (pk < key || (pk === key && meta[2 * p]! <= id)) break;
      keys[i] = pk;
      const pItem = meta[2 * p + 1]!;
      meta[2 * i] = meta[2 * p]!;
      meta[2 * i + 1] = pItem;
      pos[pItem] = i;
      i = p;
    }
    keys[i] = key;
    meta[2 * i] = id;
    meta[2 * i + 1] = item;
    pos[item] = i;
  }

  private siftDown(key: number, id: number, item: number): void {
    const { keys, meta, pos } = this;
    const n = this.size;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const r = c + 1;
      if (r < n && (keys[r]! < keys[c]! || (keys[r] === keys[c] && meta[2 * r]! < meta[2 * c]!))) c = r;
      const ck = keys[c]!;
      if (key < ck || (key === ck && id <= meta[2 * c]!)) break;
      keys[i] = ck;
      const cItem = meta[2 * c + 1]!;
      meta[2 * i] = meta[2 * c]!;
      meta[2 * i + 1] = cItem;
      pos[cItem] = i;
      i = c;
    }
    keys[i] = key;
    meta[2 * i] = id;
    meta[2 * i + 1] = item;
    pos[item] = i;
  }

  private growHeap(): void {
    const keys = new Float64Array(this.keys.length * 2);
    keys.set(this.keys);
    const meta = new Uint32Array(this.meta.length * 2);
    meta.set(this.meta);
    this.keys = keys;
    this.meta = meta;
  }

  private growPositions(n: number): void {
    let cap = this.pos.length * 2;
    while (cap < n) cap *= 2;
    const pos = new Int32Array(cap).fill(-1);
    pos.set(this.pos);
    this.pos = pos;
  }
}
