/**
 * Connectivity between parents of one hierarchy level, the input of next-level clustering.
 * `parentAffinities` counts, for every pair of parents A, B, how many leaves of A have at least
 * one connection to a leaf of B and vice versa; `clusterParents` joins A and B when both
 * fractions reach the density, min(linkedA / |A|, linkedB / |B|) ≥ density.
 *
 * Counting linked leaves rather than connections keeps a stray token from distorting the
 * picture: a token of group X that sits in group Y's field brings all its connections to X
 * along, but it is one linked leaf on Y's side.
 */
/** Leaves of parent a linked to leaves of b (`linkedA`) and vice versa (`linkedB`); a < b. */
export interface ParentAffinity {
  readonly a: number;
  readonly b: number;
  readonly linkedA: number;
  readonly linkedB: number;
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
 * Counts linked leaves between parents. `owner[slot]` is the index (into `parentIds`) of the
 * parent whose leaf sits in that slot, or −1; `source`/`target` are the connections' endpoint
 * slots (e.g. a SpringList's). Returns pairs with a < b, sorted.
 */
export function parentAffinities(
  owner: Int32Array,
  parentIds: Uint32Array,
  source: Int32Array,
  target: Int32Array,
  count: number,
): ParentAffinity[] {
  const P = parentIds.length;
  // (slot, other parent) for both ends of every connection between two parents' leaves.
  const ends = new Float64Array(count * 2);
  let n = 0;
  for (let e = 0; e < count; e++) {
    const sa = source[e]!;
    const sb = target[e]!;
    const pa = owner[sa] ?? -1;
    const pb = owner[sb] ?? -1;
    if (pa < 0 || pb < 0 || pa === pb) continue;
    ends[n++] = sa * P + pb;
    ends[n++] = sb * P + pa;
  }
  const sorted = ends.subarray(0, n).sort();
  // Distinct (slot, other) → (own parent, other parent) counts.
  const pairs = new Float64Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const k = sorted[i]!;
    if (i > 0 && sorted[i - 1] === k) continue;
    const other = k % P;
    const slot = (k - other) / P;
    pairs[m++] = owner[slot]! * P + other;
  }
  const counted = pairs.subarray(0, m).sort();
  const linked = new Map<number, number>();
  for (let s = 0; s < m; ) {
    const k = counted[s]!;
    let e = s;
    while (e < m && counted[e] === k) e++;
    linked.set(k, e - s);
    s = e;
  }
  const out: ParentAffinity[] = [];
  for (const [k, c] of linked) {
    const other = k % P;
    const own = (k - other) / P;
    if (parentIds[own]! > parentIds[other]!) continue;
    const back = linked.get(other * P + own) ?? 0;
    out.push({ a: parentIds[own]!, b: parentIds[other]!, linkedA: c, linkedB: back });
  }
  out.sort((x, y) => x.a - y.a || x.b - y.b);
  return out;
}

/**
 * Joins parents a, b when min(linkedA / leaves_a, linkedB / leaves_b) ≥ density; returns the
 * connected groups with at least `minChildren` parents, ordered by their smallest id.
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
    const la = sorted[i]!.leafCount;
    const lb = sorted[j]!.leafCount;
    if (la <= 0 || lb <= 0 || Math.min(af.linkedA / la, af.linkedB / lb) < density) continue;
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
