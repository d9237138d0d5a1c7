/**
 * The demo's data as packed 64-byte records (the wire format of TokenService and GraphService):
 * demo token i is token id i + 1; relations become springs that act in L1 only.
 *
 * Positions: in L1 each root group starts around its own anchor (a circle of radius
 * `anchorRadius` in the x-y plane) with seeded uniform jitter, so the groups meet as neighbours
 * and the structure inside each group (sub-fields) emerges from the springs. In the other seven
 * spaces the tokens are scattered uniformly over 95 % of the space's range: no spring acts there,
 * and scattering keeps them too sparse to form fields (the node's engine moves every space).
 */
import { CONNECTION_RECORD_SIZE, ConnectionOffset, Mutability } from "../core/connection/layout.ts";
import { SeededRandom } from "../core/field/prng.ts";
import { encodeToken, tokenFields } from "../core/token/codec.ts";
import { SCALES, TOKEN_RECORD_SIZE } from "../core/token/layout.ts";
import type { NounSubset } from "./subset.ts";
import { Relation } from "./wordnet.ts";

/** Connection types of the demo's relations (DESIGN §3.2 categories). */
export const RELATION_TYPES: Readonly<Record<Relation, number>> = Object.freeze({
  [Relation.Hypernym]: 0x01, // semantic: is-a
  [Relation.InstanceOf]: 0x02, // semantic: instance of
  // Structural, next to 0x60 (the engine's own PartOf between members and parents).
  [Relation.PartOf]: 0x61,
  [Relation.MemberOf]: 0x62,
  [Relation.SubstanceOf]: 0x63,
});

export const RELATION_NAMES: Readonly<Record<Relation, string>> = Object.freeze({
  [Relation.Hypernym]: "is-a",
  [Relation.InstanceOf]: "instance-of",
  [Relation.PartOf]: "part-of",
  [Relation.MemberOf]: "member-of",
  [Relation.SubstanceOf]: "substance-of",
});

export interface LayoutOptions {
  readonly seed: number;
  /** Token field radius (repulsion range), decoded units. */
  readonly radius: number;
  readonly anchorRadius: number;
  /** Jitter around the anchor, ± decoded units per axis. */
  readonly jitter: number;
}

export const DEFAULT_LAYOUT: LayoutOptions = Object.freeze({ seed: 1, radius: 1, anchorRadius: 8, jitter: 3 });

const TIMESTAMP = 1_700_000_000;
const L1 = 0;

function rounded(v: number, scale: number): number {
  return Math.round(v * scale) / scale;
}

export function tokenRecords(subset: NounSubset, groups: number, layout: LayoutOptions = DEFAULT_LAYOUT): Uint8Array {
  const rnd = new SeededRandom(layout.seed);
  const out = new Uint8Array(subset.count * TOKEN_RECORD_SIZE);
  const coords = new Array<number>(24).fill(0);
  for (let i = 0; i < subset.count; i++) {
    const angle = (2 * Math.PI * subset.group[i]!) / Math.max(1, groups);
    const anchor = [layout.anchorRadius * Math.cos(angle), layout.anchorRadius * Math.sin(angle), 0];
    for (let s = 0; s < SCALES.length; s++) {
      const scale = SCALES[s]!;
      const limit = (0.95 * 32767) / scale;
      for (let a = 0; a < 3; a++) {
        coords[s * 3 + a] = s === L1 ? rounded(anchor[a]! + rnd.range(-layout.jitter, layout.jitter), scale) : rounded(rnd.range(-limit, limit), scale);
      }
    }
    encodeToken(tokenFields(i + 1, TIMESTAMP, { coords, weight: 0.5, fieldRadius: layout.radius, fieldStrength: 1 }), out, i);
  }
  return out;
}

export function connectionRecords(subset: NounSubset): Uint8Array {
  const out = new Uint8Array(subset.edgeCount * CONNECTION_RECORD_SIZE);
  const dv = new DataView(out.buffer);
  for (let e = 0; e < subset.edgeCount; e++) {
    const o = e * CONNECTION_RECORD_SIZE;
    const kind = subset.edgeKind[e]! as Relation;
    const isA = kind === Relation.Hypernym || kind === Relation.InstanceOf;
    dv.setUint32(o + ConnectionOffset.source, subset.edgeSource[e]! + 1, true);
    dv.setUint32(o + ConnectionOffset.target, subset.edgeTarget[e]! + 1, true);
    dv.setUint8(o + ConnectionOffset.type, RELATION_TYPES[kind]);
    dv.setUint8(o + ConnectionOffset.activeSpaces, 1 << L1);
    dv.setUint16(o + ConnectionOffset.flags, 0x0001, true); // ACTIVE
    dv.setUint8(o + ConnectionOffset.mutability, Mutability.Immutable); // facts from the dictionary
    // Part/member/substance links pull more weakly than is-a: they cross the trees.
    dv.setFloat32(o + ConnectionOffset.rigidity, isA ? 0.5 : 0.25, true);
    dv.setFloat32(o + ConnectionOffset.pullStrength, 1, true);
    dv.setFloat32(o + ConnectionOffset.preferredDistance, 0.1, true);
    dv.setFloat32(o + ConnectionOffset.confidence, 0.9, true);
    dv.setUint32(o + ConnectionOffset.createdAt, TIMESTAMP, true);
    dv.setUint32(o + ConnectionOffset.updatedAt, TIMESTAMP, true);
  }
  return out;
}
