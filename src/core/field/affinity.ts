/**
 * Connectivity between parents of one hierarchy level, the input of next-level clustering:
 * `parentAffinities` counts the connections between the leaf tokens of every pair of parents;
 * `clusterParents` joins parents whose leaves are densely connected and returns the groups.
 */
/** Number of connections between the leaves of parents a and b (a < b). */
export interface ParentAffinity {
  readonly a: number;
  readonly b: number;
  readonly links: number;
}

/** A group of parents of one level (ids ascending). */
export interface ClusterSource {
  readonly members: Uint32Array;
}

/**
 * The leaf tokens (level-0 ids) of every active parent of `level`, as a CSR:
 * leaves of parentIds[p] are leaves[offsets[p] .. offsets[p+1]).
 */
export function parentLeaves(
  state: { readonly parents: readonly { readonly id: number; readonly level: number; readonly members: Uint32Array }[] },
  level: number,
): { parentIds: Uint32Array; offsets: Int32Array; leaves: Uint32Array } {
  const byId = new Map(state.parents.map((p) => [p.id, p]));
  const at = state.parents.filter((p) => p.level === level);
  const collect = (id: number, out: number[]): void => {
    const p = byId.get(id);
    if (p === undefined) return;
    if (p.level === 1) {
      for (const m of p.members) out.push(m);
      return;
    }
    for (const m of p.members) collect(m, out);
  };
  const offsets = new Int32Array(at.length + 1);
  const all: number[] = [];
  at.forEach((p, k) => {
    collect(p.id, all);
    offsets[k + 1] = all.length;
  });
  return { parentIds: Uint32Array.from(at, (p) => p.id), offsets, leaves: Uint32Array.from(all) };
}

/**
 * Counts connections between the leaves of different parents. `owner[slot]` is the index (into
 * `parentIds`) of the parent whose leaf sits in that slot, or −1; `source`/`target` are the
 * connections' endpoint slots (e.g. a SpringList's). Returns pairs with a < b, sorted.
 */
export function parentAffinities(
  owner: Int32Array,
  parentIds: Uint32Array,
  source: Int32Array,
  target: Int32Array,
  count: number,
): ParentAffinity[] {
  const P = parentIds.length;
  const keys = new Float64Array(count);
  let n = 0;
  for (let e = 0; e < count; e++) {
    const pa = owner[source[e]!] ?? -1;
    const pb = owner[target[e]!] ?? -1;
    if (pa < 0 || pb < 0 || pa === pb) continue;
    keys[n++] = pa < pb ? pa * P + pb : pb * P + pa;
  }
  const sorted = keys.subarray(0, n).sort();
  const out: ParentAffinity[] = [];
  for (let s = 0; s < sorted.length; ) {
    const k = sorted[s]!;
    let e = s;
    while (e < sorted.length && sorted[e] === k) e++;
    const pb = k % P;
    const pa = (k - pb) / P;
    const a = parentIds[pa]!;
    const b = parentIds[pb]!;
    out.push(a < b ? { a, b, links: e - s } : { a: b, b: a, links: e - s });
    s = e;
  }
  out.sort((x, y) => x.a - y.a || x.b - y.b);
  return out;
}

/**
 * Joins parents i, j when links / min(leaves_i, leaves_j) ≥ density; returns the connected
 * groups with at least `minChildren` parents, ordered by their smallest id.
 */
export function clusterParents(
  nodes: readonly { id: number; leafCount: number }[],
  affinities: readonly ParentAffinity[],
  density: number,
  minChildren: number,
): ClusterSource[] {
  const sorted = [...nodes].sort((x, y) => x.id - y.id);
  const index = new Map(sorted.map((n, k) => [n.id, k]));
  const parent = Int32Array.from(sorted, (_, k) => k);
  const find = (x: number): number => {
    let r = x;
    while (parent[r]! !== r) r = parent[r]!;
    while (parent[x]! !== r) {
      const n = parent[x]!;
      parent[x] = r;
      x = n;
    }
    return r;
  };
  for (const af of affinities) {
    const i = index.get(af.a);
    const j = index.get(af.b);
    if (i === undefined || j === undefined || i === j) continue;
    const smaller = Math.min(sorted[i]!.leafCount, sorted[j]!.leafCount);
    if (smaller <= 0 || af.links / smaller < density) continue;
    const ri = find(i);
    const rj = find(j);
    if (ri < rj) parent[rj] = ri;
    else if (rj < ri) parent[ri] = rj;
  }
  const groups = new Map<number, number[]>();
  for (let k = 0; k < sorted.length; k++) {
    const r = find(k);
    const g = groups.get(r);
    if (g === undefined) groups.set(r, [sorted[k]!.id]);
    else g.push(sorted[k]!.id);
  }
  return [...groups.entries()]
    .sort((x, y) => x[0] - y[0])
    .filter(([, ids]) => ids.length >= minChildren)
    .map(([, ids]) => ({ members: Uint32Array.from(ids) }));
}
