/**
 * A single-threaded field loop over planted structure, for tests: groups of tokens densely
 * connected inside, fewer connections between sibling groups of a super-group, and a sparse
 * background across super-groups. It steps the kernels, detects and tracks fields, plans the
 * hierarchy and applies the plan (parent tokens and PartOf springs join the simulation), the way
 * the field actor will.
 */
import { parentAffinities, parentLeaves } from "../../../src/core/field/affinity.ts";
import { type FieldDetectionParams, type ForceParams, spaceTemperaturesAt, spacesOf } from "../../../src/core/field/params.ts";
import { type DetectedField, detectFields } from "../../../src/core/field/fields.ts";
import { EMPTY_HIERARCHY, type HierarchyParams, type HierarchyPlan, type HierarchyState } from "../../../src/core/field/hierarchy-types.ts";
import { TOKEN_FLAGS } from "../../../src/core/token/flags.ts";
import { planHierarchy } from "../../../src/core/field/hierarchy.ts";
import { stepConstants } from "../../../src/core/field/integrate.ts";
import { SCALES } from "../../../src/core/token/layout.ts";
import { SeededRandom } from "../../../src/core/field/prng.ts";
import { type SpringList, buildForceGraph, type ForceGraph } from "../../../src/core/field/springs.ts";
import { type FieldWorkspace, allocateFieldWorkspace, fieldStep } from "../../../src/core/field/step.ts";
import { type TrackedField, trackFields } from "../../../src/core/field/tracking.ts";

export interface PlantedSpec {
  readonly seed: number;
  readonly groups: number;
  readonly groupSize: number;
  /** Groups per super-group (1 = no super-groups). */
  readonly groupsPerSuper: number;
  /** Average connections per token inside its group. */
  readonly intraDegree: number;
  /** Average connections per token to sibling groups of its super-group. */
  readonly siblingDegree: number;
  /** Average connections per token to other super-groups. */
  readonly crossDegree: number;
  /** Initial positions uniform in ±spread decoded units. */
  readonly spread: number;
  readonly radiusRaw: number;
  readonly strengthRaw: number;
  readonly rigidity: number;
  readonly confidence: number;
  readonly pull: number;
  readonly preferredDistance: number;
}

/**
 * 8 groups × 50 tokens (8 connections per token inside its group) in 2 super-groups of 4
 * (1 connection per token to sibling groups, 0.1 to the other super-group); token radius 2.5,
 * strength 1; connections rigidity 0.5, confidence 0.8, pull 1, preferred distance 0.1;
 * random start in ±8 decoded units.
 */
export const DEFAULT_PLANTED: PlantedSpec = {
  seed: 7,
  groups: 8,
  groupSize: 50,
  groupsPerSuper: 4,
  intraDegree: 8,
  siblingDegree: 1,
  crossDegree: 0.1,
  spread: 8,
  radiusRaw: 250,
  strengthRaw: 255,
  rigidity: 0.5,
  confidence: 0.8,
  pull: 1,
  preferredDistance: 0.1,
};

interface Edge {
  a: number;
  b: number;
  rigidity: number;
  confidence: number;
  pull: number;
  d0: number;
}

export class PlantedWorld {
  readonly spec: PlantedSpec;
  readonly tokens: number;
  /** Planted group of each token (slot < tokens). */
  readonly group: Int32Array;
  count: number;
  positions: Int16Array;
  next: Int16Array;
  ids: Uint32Array;
  flags: Uint16Array;
  radii: Uint8Array;
  strengths: Uint8Array;
  private readonly edges: Edge[] = [];
  private readonly slotOfId = new Map<number, number>();
  private graph: ForceGraph | undefined;
  private springs: SpringList | undefined;
  private readonly ws: FieldWorkspace;
  step = 0;
  fields: TrackedField[] = [];
  nextFieldId = 1;
  hierarchy: HierarchyState = EMPTY_HIERARCHY;

  constructor(spec: PlantedSpec, spaces: number) {
    this.spec = spec;
    const rnd = new SeededRandom(spec.seed);
    const n = spec.groups * spec.groupSize;
    this.tokens = n;
    const cap = n + 256;
    this.count = n;
    this.positions = new Int16Array(cap * 24);
    this.next = new Int16Array(cap * 24);
    this.ids = new Uint32Array(cap);
    this.flags = new Uint16Array(cap);
    this.radii = new Uint8Array(cap);
    this.strengths = new Uint8Array(cap);
    this.group = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      this.group[i] = Math.floor(i / spec.groupSize);
      this.ids[i] = i + 1;
      this.slotOfId.set(i + 1, i);
      this.flags[i] = TOKEN_FLAGS.ACTIVE;
      this.radii[i] = spec.radiusRaw;
      this.strengths[i] = spec.strengthRaw;
      for (const s of spacesOf(spaces)) {
        for (let a = 0; a < 3; a++) this.positions[i * 24 + s * 3 + a] = Math.round(rnd.range(-spec.spread, spec.spread) * SCALES[s]!);
      }
    }
    const members = (g: number, k: number): number => g * spec.groupSize + k;
    const add = (a: number, b: number): void => {
      if (a !== b) this.edges.push({ a, b, rigidity: spec.rigidity, confidence: spec.confidence, pull: spec.pull, d0: spec.preferredDistance });
    };
    const supers = Math.ceil(spec.groups / spec.groupsPerSuper);
    for (let g = 0; g < spec.groups; g++) {
      const sup = Math.floor(g / spec.groupsPerSuper);
      for (let k = 0; k < spec.groupSize; k++) {
        const a = members(g, k);
        for (let e = 0; e < spec.intraDegree / 2; e++) add(a, members(g, rnd.nextInt(spec.groupSize)));
        if (spec.groupsPerSuper > 1 && rnd.next() < spec.siblingDegree / 2) {
          let sib = sup * spec.groupsPerSuper + rnd.nextInt(spec.groupsPerSuper - 1);
          if (sib >= g) sib++;
          if (sib < spec.groups) add(a, members(sib, rnd.nextInt(spec.groupSize)));
        }
        if (supers > 1 && rnd.next() < spec.crossDegree / 2) {
          let other = rnd.nextInt(spec.groups);
          while (Math.floor(other / spec.groupsPerSuper) === sup) other = rnd.nextInt(spec.groups);
          add(a, members(other, rnd.nextInt(spec.groupSize)));
        }
      }
    }
    this.ws = allocateFieldWorkspace(cap);
  }

  private springList(): SpringList {
    if (this.springs === undefined) {
      const m = this.edges.length;
      this.springs = {
        count: m,
        source: Int32Array.from(this.edges, (e) => e.a),
        target: Int32Array.from(this.edges, (e) => e.b),
        rigidity: Float32Array.from(this.edges, (e) => e.rigidity),
        confidence: Float32Array.from(this.edges, (e) => e.confidence),
        pull: Float32Array.from(this.edges, (e) => e.pull),
        preferredDistance: Float32Array.from(this.edges, (e) => e.d0),
        activeSpaces: new Uint8Array(m),
      };
      this.graph = buildForceGraph(this.springs, this.count, this.count);
    }
    return this.springs;
  }

  /** One force step at the step's temperature. */
  stepPhysics(params: ForceParams, parts = 1): void {
    this.springList();
    const constants = stepConstants(params, spaceTemperaturesAt(params, this.step));
    const attrs = { positions: this.positions, ids: this.ids, flags: this.flags, radii: this.radii, strengths: this.strengths };
    fieldStep(this.ws, attrs, this.count, this.graph!, constants, this.next, parts);
    const t = this.positions;
    this.positions = this.next;
    this.next = t;
    this.step++;
  }

  /** Level-0 fields of every detected space, tracked. */
  detect(params: FieldDetectionParams): TrackedField[] {
    const detected: DetectedField[] = [];
    for (const s of spacesOf(params.spaces)) {
      detected.push(...detectFields({ positions: this.positions, ids: this.ids, flags: this.flags, begin: 0, end: this.count, level: 0 }, s, params));
    }
    const r = trackFields(this.fields, detected, this.nextFieldId);
    this.fields = r.fields;
    this.nextFieldId = r.nextId;
    return r.fields;
  }

  /** Plans the hierarchy from the current fields and applies the plan. */
  updateHierarchy(params: HierarchyParams): HierarchyPlan {
    const springs = this.springList();
    const affinities = [];
    for (let level = 1; level < params.maxLevels; level++) {
      const leaves = parentLeaves(this.hierarchy, level);
      const owner = new Int32Array(this.count).fill(-1);
      for (let p = 0; p < leaves.parentIds.length; p++) {
        for (let k = leaves.offsets[p]!; k < leaves.offsets[p + 1]!; k++) owner[this.slotOfId.get(leaves.leaves[k]!)!] = p;
      }
      affinities.push(...parentAffinities(owner, leaves.parentIds, springs.source, springs.target, springs.count));
    }
    const { plan, state } = planHierarchy(this.hierarchy, { fields: this.fields, affinities }, params);
    this.apply(plan);
    this.hierarchy = state;
    return plan;
  }

  private apply(plan: HierarchyPlan): void {
    for (const p of plan.createParents) {
      const slot = this.count++;
      this.positions.set(p.coords, slot * 24);
      this.ids[slot] = p.id;
      this.flags[slot] = p.flags;
      this.radii[slot] = p.radiusRaw;
      this.strengths[slot] = p.strengthRaw;
      this.slotOfId.set(p.id, slot);
    }
    for (const id of plan.deactivateParents) {
      const slot = this.slotOfId.get(id)!;
      this.flags[slot] = this.flags[slot]! & ~TOKEN_FLAGS.ACTIVE;
    }
    const drop = new Set<string>();
    for (let k = 0; k < plan.disconnect.source.length; k++) drop.add(`${plan.disconnect.source[k]}>${plan.disconnect.target[k]}`);
    if (drop.size > 0) {
      for (let e = this.edges.length - 1; e >= 0; e--) {
        const ed = this.edges[e]!;
        if (drop.has(`${this.ids[ed.a]}>${this.ids[ed.b]}`)) this.edges.splice(e, 1);
      }
    }
    const t = plan.partOf;
    for (let k = 0; k < plan.connect.source.length; k++) {
      this.edges.push({
        a: this.slotOfId.get(plan.connect.source[k]!)!,
        b: this.slotOfId.get(plan.connect.target[k]!)!,
        rigidity: t.rigidity,
        confidence: t.confidence,
        pull: t.pull,
        d0: t.preferredDistance,
      });
    }
    this.springs = undefined;
    this.graph = undefined;
  }

  /** Removes every connection of the tokens of group g, PartOf included, so its field dissolves. */
  dissolveGroup(g: number): void {
    const inGroup = (slot: number): boolean => slot < this.tokens && this.group[slot] === g;
    for (let e = this.edges.length - 1; e >= 0; e--) {
      const ed = this.edges[e]!;
      if (inGroup(ed.a) || inGroup(ed.b)) this.edges.splice(e, 1);
    }
    this.springs = undefined;
    this.graph = undefined;
  }

  /** Field label of each planted token in `space` (−(slot+1) for tokens in no field). */
  fieldLabels(space: number): Int32Array {
    const labels = new Int32Array(this.tokens);
    for (let i = 0; i < this.tokens; i++) labels[i] = -(i + 1);
    for (const f of this.fields) {
      if (f.space !== space || f.level !== 0) continue;
      for (const id of f.members) labels[this.slotOfId.get(id)!] = f.id;
    }
    return labels;
  }
}
