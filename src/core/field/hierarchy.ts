/**
 * Emergent hierarchy as a pure planner (DESIGN §3.6): given this detection's tracked fields and
 * the previous hierarchy state, decide which parents to create, which PartOf connections to add
 * or remove and which parents to deactivate, and return that as a plan of writes plus the next
 * state. The field actor applies the plan through the normal write path (WAL first). The same
 * state and input always give the same plan.
 *
 * Level 1: a field stable for `stabilitySteps` detections gets a parent token (Concept, level 1,
 * at its members' centroid) with PartOf connections member → parent. A group forms a field in
 * every active space; a stable field whose members match an existing parent (Jaccard ≥ 0.5) joins
 * that parent instead of creating another, so one group gets one parent. A parent keeps the
 * members of its first source (lowest space) in sync. A source whose members drifted away from
 * the parent's (Jaccard < 0.5) is detached (it may join another parent or get its own). When
 * none of its fields is left the parent is deactivated and its PartOf connections removed.
 *
 * Level ℓ+1 (ℓ ≥ 1, up to maxLevels): level-ℓ parents A, B are joined when their leaf tokens
 * are well connected: at least `parentLinkDensity` of A's leaves have a connection into B and
 * of B's leaves into A (`parentAffinities` counts them); connected groups of ≥ minChildren
 * parents are clusters, tracked like fields, and a cluster stable for stabilitySteps gets a
 * level-(ℓ+1) parent the same way.
 * Proximity alone cannot tell groups of groups apart (short-range repulsion packs every group
 * against its neighbours), the connections between the groups can.
 */
import { CONNECTION_FLAGS, Mutability } from "../connection/layout.ts";
import { COORDS_PER_TOKEN } from "../token/columns.ts";
import { EntityType, TOKEN_FLAGS, withEntityType, withHierarchyLevel } from "../token/flags.ts";
import { type ClusterSource, clusterParents } from "./affinity.ts";
import {
  CONNECTION_TYPE_PART_OF,
  DEFAULT_HIERARCHY_PARAMS,
  type HierarchyInput,
  type HierarchyParams,
  type HierarchyPlan,
  type HierarchyState,
  type ParentCluster,
  type ParentTokenWrite,
  validateHierarchyParams,
} from "./hierarchy-types.ts";
import { roundHalfAway } from "./geometry.ts";
import { JACCARD_MATCH, matchSets } from "./tracking.ts";


/** Writes a plan collects while it is being made. */
interface PlanBuilder {
  readonly creates: ParentTokenWrite[];
  readonly deactivates: number[];
  readonly connectS: number[];
  readonly connectT: number[];
  readonly disconnectS: number[];
  readonly disconnectT: number[];
}

interface MutableParent {
  id: number;
  level: number;
  sources: number[];
  members: Uint32Array;
  leafCount: number;
  centroidRaw: Int16Array;
}

/** A set a parent can stand for: a field (level 1) or a parent cluster (higher levels). */
interface Source {
  readonly id: number;
  /** Fields: their space; clusters: 0. A parent has at most one source per space. */
  readonly space: number;
  readonly members: Uint32Array;
  readonly age: number;
  readonly centroidRaw: Int16Array;
  readonly leafCount: number;
}

export function jaccard(a: Uint32Array, b: Uint32Array): number {
  let i = 0;
  let j = 0;
  let inter = 0;
  while (i < a.length && j < b.length) {
    if (a[i]! < b[j]!) i++;
    else if (a[i]! > b[j]!) j++;
    else {
      inter++;
      i++;
      j++;
    }
  }
  const union = a.length + b.length - inter;
  return union === 0 ? 0 : inter / union;
}

/** Members of `next` not in `prev` (→ connect) and of `prev` not in `next` (→ disconnect). */
function diffMembers(prev: Uint32Array, next: Uint32Array, parent: number, b: PlanBuilder): void {
  let i = 0;
  let j = 0;
  while (i < prev.length || j < next.length) {
    const p = i < prev.length ? prev[i]! : Infinity;
    const n = j < next.length ? next[j]! : Infinity;
    if (p === n) {
      i++;
      j++;
    } else if (n < p) {
      b.connectS.push(n);
      b.connectT.push(parent);
      j++;
    } else {
      b.disconnectS.push(p);
      b.disconnectT.push(parent);
      i++;
    }
  }
}

/** Sorted (member id, parent) pairs: which parents share members with a set, and how many. */
class MemberIndex {
  private readonly keys: Float64Array;
  private readonly counts: Int32Array;
  private readonly parents: readonly MutableParent[];

  constructor(parents: readonly MutableParent[]) {
    this.parents = parents;
    let total = 0;
    for (const p of parents) total += p.members.length;
    this.keys = new Float64Array(total);
    let at = 0;
    parents.forEach((p, k) => {
      for (let i = 0; i < p.members.length; i++) this.keys[at++] = p.members[i]! * PAIR_RADIX + k;
    });
    this.keys.sort();
    this.counts = new Int32Array(parents.length);
  }

  /** Calls `visit(parent, |members ∩ parent|)` for every parent sharing a member, by index order. */
  overlaps(members: Uint32Array, visit: (p: MutableParent, inter: number) => void): void {
    const touched: number[] = [];
    for (let i = 0; i < members.length; i++) {
      const lo = members[i]! * PAIR_RADIX;
      let l = 0;
      let h = this.keys.length;
      while (l < h) {
        const m = (l + h) >>> 1;
        if (this.keys[m]! < lo) l = m + 1;
        else h = m;
      }
      for (; l < this.keys.length && this.keys[l]! < lo + PAIR_RADIX; l++) {
        const k = this.keys[l]! - lo;
        if (this.counts[k]!++ === 0) touched.push(k);
      }
    }
    touched.sort((x, y) => x - y);
    for (const k of touched) {
      visit(this.parents[k]!, this.counts[k]!);
      this.counts[k] = 0;
    }
  }
}

/** member id · 2²¹ + parent index stays exact in a double. */
const PAIR_RADIX = 2 ** 21;

function parentId(params: HierarchyParams, seq: number): number {
  return ((params.parentIdDomain << 28) | (seq & 0x0fffffff)) >>> 0;
}

/**
 * Reconciles the parents of `level` with this detection's sources: drop vanished sources, attach
 * or create parents for stable unattached sources, sync members, deactivate orphans.
 */
function reconcileLevel(
  level: number,
  sources: readonly Source[],
  parents: MutableParent[],
  params: HierarchyParams,
  seq: { next: number },
  b: PlanBuilder,
): MutableParent[] {
  const byId = new Map<number, Source>();
  for (const s of sources) byId.set(s.id, s);
  let atLevel = parents.filter((p) => p.level === level);
  for (const p of atLevel) p.sources = p.sources.filter((id) => byId.has(id) && jaccard(p.members, byId.get(id)!.members) >= JACCARD_MATCH);
  atLevel = mergeDuplicates(atLevel, byId, b);
  const attached = new Set<number>();
  for (const p of atLevel) for (const id of p.sources) attached.add(id);
  const stable = sources.filter((s) => s.age >= params.stabilitySteps && !attached.has(s.id));
  stable.sort((x, y) => x.space - y.space || x.id - y.id);
  let index = new MemberIndex(atLevel);
  let indexedSpace = stable[0]?.space ?? 0;
  for (const s of stable) {
    // Sources of one space are disjoint, so the index only needs a rebuild per space.
    if (s.space !== indexedSpace) {
      index = new MemberIndex(atLevel);
      indexedSpace = s.space;
    }
    let best: MutableParent | undefined;
    let bestJ = 0;
    index.overlaps(s.members, (p, inter) => {
      if (p.sources.some((id) => byId.get(id)!.space === s.space)) return;
      const j = inter / (p.members.length + s.members.length - inter);
      if (j >= JACCARD_MATCH && (j > bestJ || (j === bestJ && best !== undefined && p.id < best.id))) {
        best = p;
        bestJ = j;
      }
    });
    if (best !== undefined) {
      best.sources.push(s.id);
      continue;
    }
    const id = parentId(params, seq.next++);
    const created: MutableParent = { id, level, sources: [s.id], members: new Uint32Array(0), leafCount: s.leafCount, centroidRaw: s.centroidRaw };
    atLevel.push(created);
    diffMembers(created.members, s.members, id, b);
    created.members = s.members;
    b.creates.push({
      id,
      level,
      entityType: EntityType.Concept,
      flags: withHierarchyLevel(withEntityType(TOKEN_FLAGS.ACTIVE, EntityType.Concept), level),
      coords: s.centroidRaw.slice(),
      weight: params.parentWeight,
      radiusRaw: 0,
      strengthRaw: 0,
    });
  }
  const kept: MutableParent[] = parents.filter((p) => p.level !== level);
  for (const p of atLevel) {
    if (p.sources.length === 0) {
      b.deactivates.push(p.id);
      diffMembers(p.members, new Uint32Array(0), p.id, b);
      continue;
    }
    // Primary source: lowest space, then the one attached first.
    let primary = byId.get(p.sources[0]!)!;
    for (const id of p.sources) {
      const s = byId.get(id)!;
      if (s.space < primary.space) primary = s;
    }
    diffMembers(p.members, primary.members, p.id, b);
    p.members = primary.members;
    p.leafCount = primary.leafCount;
    p.centroidRaw = primary.centroidRaw;
    kept.push(p);
  }
  kept.sort((x, y) => x.id - y.id);
  return kept;
}

/**
 * Two parents of a level whose members overlap with Jaccard ≥ 0.5 stand for the same set (their
 * sources drifted apart and back): the younger (larger id) is folded into the older one, which
 * takes over its sources of spaces it has none in, and is deactivated.
 */
function mergeDuplicates(atLevel: MutableParent[], byId: ReadonlyMap<number, Source>, b: PlanBuilder): MutableParent[] {
  const ordered = [...atLevel].sort((x, y) => x.id - y.id);
  const index = new MemberIndex(ordered);
  const gone = new Set<number>();
  for (const p of ordered) {
    if (gone.has(p.id)) continue;
    index.overlaps(p.members, (q, inter) => {
      if (q.id <= p.id || gone.has(q.id)) return;
      if (inter / (p.members.length + q.members.length - inter) < JACCARD_MATCH) return;
      for (const id of q.sources) {
        const space = byId.get(id)!.space;
        if (!p.sources.some((own) => byId.get(own)!.space === space)) p.sources.push(id);
      }
      gone.add(q.id);
      b.deactivates.push(q.id);
      diffMembers(q.members, new Uint32Array(0), q.id, b);
    });
  }
  return ordered.filter((p) => !gone.has(p.id));
}

/** Centroid (all spaces, raw) and leaf count of a cluster of parents, leaf-weighted. */
function clusterGeometry(members: Uint32Array, parents: ReadonlyMap<number, MutableParent>): { centroidRaw: Int16Array; leafCount: number } {
  const sums = new Float64Array(COORDS_PER_TOKEN);
  let leaves = 0;
  for (const id of members) {
    const p = parents.get(id);
    if (p === undefined) continue;
    leaves += p.leafCount;
    for (let c = 0; c < COORDS_PER_TOKEN; c++) sums[c] = sums[c]! + p.centroidRaw[c]! * p.leafCount;
  }
  const centroidRaw = new Int16Array(COORDS_PER_TOKEN);
  if (leaves > 0) for (let c = 0; c < COORDS_PER_TOKEN; c++) centroidRaw[c] = roundHalfAway(sums[c]! / leaves);
  return { centroidRaw, leafCount: leaves };
}

/**
 * Plans one hierarchy update. Pure: `state` is not modified; the returned state is what the
 * store holds once the plan is applied.
 */
export function planHierarchy(
  state: HierarchyState,
  input: HierarchyInput,
  params: HierarchyParams = DEFAULT_HIERARCHY_PARAMS,
): { plan: HierarchyPlan; state: HierarchyState } {
  validateHierarchyParams(params);
  const b: PlanBuilder = { creates: [], deactivates: [], connectS: [], connectT: [], disconnectS: [], disconnectT: [] };
  const seq = { next: state.nextSeq };
  let parents: MutableParent[] = state.parents.map((p) => ({ ...p, sources: [...p.sources] }));
  const startIds = new Set(state.parents.map((p) => p.id));
  const clusters: ParentCluster[] = [];
  let nextClusterId = state.nextClusterId;
  if (params.maxLevels >= 1) {
    const fieldSources: Source[] = input.fields
      .filter((f) => f.level === 0)
      .map((f) => ({ id: f.id, space: f.space, members: f.members, age: f.age, centroidRaw: f.centroidRaw, leafCount: f.members.length }));
    parents = reconcileLevel(1, fieldSources, parents, params, seq, b);
  }
  for (let level = 1; level < params.maxLevels; level++) {
    const nodes = parents.filter((p) => p.level === level && startIds.has(p.id));
    const found: ClusterSource[] = clusterParents(
      nodes.map((p) => ({ id: p.id, leafCount: p.leafCount })),
      input.affinities,
      params.parentLinkDensity,
      params.minChildren,
    );
    const tracked = trackClusters(
      state.clusters.filter((c) => c.level === level),
      found,
      level,
      nextClusterId,
    );
    nextClusterId = tracked.nextId;
    clusters.push(...tracked.clusters);
    const byId = new Map(parents.map((p) => [p.id, p]));
    const sources: Source[] = tracked.clusters.map((c) => ({ id: c.id, space: 0, members: c.members, age: c.age, ...clusterGeometry(c.members, byId) }));
    parents = reconcileLevel(level + 1, sources, parents, params, seq, b);
  }
  // Parents above maxLevels (after a parameter change) have no sources any more.
  for (const p of parents.filter((q) => q.level > Math.max(params.maxLevels, 0))) {
    b.deactivates.push(p.id);
    diffMembers(p.members, new Uint32Array(0), p.id, b);
  }
  parents = parents.filter((p) => p.level <= params.maxLevels);
  const plan: HierarchyPlan = {
    createParents: b.creates,
    deactivateParents: Uint32Array.from(b.deactivates),
    connect: { source: Uint32Array.from(b.connectS), target: Uint32Array.from(b.connectT) },
    disconnect: { source: Uint32Array.from(b.disconnectS), target: Uint32Array.from(b.disconnectT) },
    partOf: {
      type: CONNECTION_TYPE_PART_OF,
      flags: CONNECTION_FLAGS.ACTIVE,
      mutability: Mutability.Immutable,
      rigidity: params.partOfRigidity,
      pull: params.partOfPull,
      preferredDistance: params.partOfPreferredDistance,
      confidence: params.partOfConfidence,
      activeSpaces: 0,
    },
  };
  const next: HierarchyState = {
    nextSeq: seq.next,
    nextClusterId,
    parents: parents.map((p) => ({ ...p, sources: [...p.sources] })),
    clusters,
  };
  return { plan, state: next };
}

function trackClusters(
  previous: readonly ParentCluster[],
  found: readonly ClusterSource[],
  level: number,
  nextId: number,
): { clusters: ParentCluster[]; nextId: number } {
  const match = matchClusterSets(previous, found);
  let id = nextId;
  const clusters = found.map((f, q) => {
    const p = match[q]!;
    return p >= 0 ? { id: previous[p]!.id, level, members: f.members, age: previous[p]!.age + 1 } : { id: id++, level, members: f.members, age: 1 };
  });
  return { clusters, nextId: id };
}

function matchClusterSets(previous: readonly ParentCluster[], found: readonly ClusterSource[]): Int32Array {
  return matchSets(
    previous.map((c) => c.members),
    previous.map((c) => c.id),
    found.map((f) => f.members),
  );
}
