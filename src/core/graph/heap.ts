/**
 * Binary min-heap of (key, id, item) triples on typed arrays, ordered by key then id, so pops are
 * deterministic on equal keys. Dijkstra uses it with lazy deletion (stale entries are skipped by
 * the caller).
 */
export class MinHeap {
  private keys = new Float64Array(64);
  private ids = new Uint32Array(64);
  private items = new Int32Array(64);
  size = 0;

  push(key: number, id: number, item: number): void {
    if (this.size === this.keys.length) this.grow();
    const keys = this.keys;
    const ids = this.ids;
    const items = this.items;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pk = keys[p]!;
      if (pk < key || (pk === key && ids[p]! <= id)) break;
      keys[i] = pk;
      ids[i] = ids[p]!;
      items[i] = items[p]!;
      i = p;
    }
    keys[i] = key;
    ids[i] = id;
    items[i] = item;
  }

  /** Key of the minimum; call only when size > 0. */
  peekKey(): number {
    return this.keys[0]!;
  }

  /** Removes the minimum and returns its item; call only when size > 0. */
  pop(): number {
    const keys = this.keys;
    const ids = this.ids;
    const items = this.items;
    const top = items[0]!;
    const n = --this.size;
    if (n === 0) return top;
    const key = keys[n]!;
    const id = ids[n]!;
    const item = items[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const r = c + 1;
      if (r < n && (keys[r]! < keys[c]! || (keys[r] === keys[c] && ids[r]! < ids[c]!))) c = r;
      const ck = keys[c]!;
      if (key < ck || (key === ck && id <= ids[c]!)) break;
      keys[i] = ck;
      ids[i] = ids[c]!;
      items[i] = items[c]!;
      i = c;
    }
    keys[i] = key;
    ids[i] = id;
    items[i] = item;
    return top;
  }

  private grow(): void {
    const cap = this.keys.length * 2;
    const keys = new Float64Array(cap);
    keys.set(this.keys);
    const ids = new Uint32Array(cap);
    ids.set(this.ids);
    const items = new Int32Array(cap);
    items.set(this.items);
    this.keys = keys;
    this.ids = ids;
    this.items = items;
  }
}
