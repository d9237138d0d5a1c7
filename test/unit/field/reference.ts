/**
 * Brute-force O(n²) reference of the field step (DESIGN §3.6), written independently of the
 * kernels: decoded float64 coordinates, every pair checked, springs taken from the edge list.
 */
import { roundHalfAway, unitDirection } from "../../../src/core/field/geometry.ts";
import { SCALES as SPACE_SCALES } from "../../../src/core/token/layout.ts";
import type { SpringList } from "../../../src/core/field/springs.ts";
import type { TokenAttributes } from "../../../src/core/field/step.ts";

export interface ReferenceParams {
  readonly spaces: readonly number[];
  readonly k: number;
  readonly cRep: number;
  readonly gravity: number;
  readonly dt: number;
  readonly temperature: number;
}

function coord(attrs: TokenAttributes, slot: number, s: number): [number, number, number] {
  const b = slot * 24 + s * 3;
  const sc = SPACE_SCALES[s]!;
  return [attrs.positions[b]! / sc, attrs.positions[b + 1]! / sc, attrs.positions[b + 2]! / sc];
}

/** Forces per local token, stride 3 × spaces.length. */
export function referenceForces(attrs: TokenAttributes, local: number, slotCount: number, springs: SpringList, p: ReferenceParams): Float64Array {
  const A = p.spaces.length;
  const out = new Float64Array(local * A * 3);
  const dir = new Float64Array(3);
  for (let a = 0; a < A; a++) {
    const s = p.spaces[a]!;
    for (let i = 0; i < local; i++) {
      const xi = coord(attrs, i, s);
      const f = [0, 0, 0];
      for (let e = 0; e < springs.count; e++) {
        const src = springs.source[e]!;
        const dst = springs.target[e]!;
        if (src === dst || (src !== i && dst !== i)) continue;
        const mask = springs.activeSpaces[e]! === 0 ? 0xff : springs.activeSpaces[e]!;
        if ((mask & (1 << s)) === 0) continue;
        const j = src === i ? dst : src;
        const xj = coord(attrs, j, s);
        const K = p.k * Math.fround(springs.rigidity[e]! * springs.confidence[e]! * springs.pull[e]!);
        const d0 = springs.preferredDistance[e]!;
        const v = [xj[0] - xi[0], xj[1] - xi[1], xj[2] - xi[2]];
        const d = Math.hypot(v[0]!, v[1]!, v[2]!);
        let u: number[];
        if (d === 0) {
          unitDirection(attrs.ids[i]!, attrs.ids[j]!, dir);
          u = [dir[0]!, dir[1]!, dir[2]!];
        } else {
          u = [v[0]! / d, v[1]! / d, v[2]! / d];
        }
        const stretch = K >= 0 ? d - d0 : Math.max(0, d0 - d);
        for (let c = 0; c < 3; c++) f[c]! += K * stretch * u[c]!;
      }
      for (let j = 0; j < slotCount; j++) {
        if (j === i) continue;
        const R = Math.max(attrs.radii[i]!, attrs.radii[j]!) / 100;
        const st = attrs.strengths[j]! / 255;
        if (R === 0 || st === 0) continue;
        const xj = coord(attrs, j, s);
        const v = [xj[0] - xi[0], xj[1] - xi[1], xj[2] - xi[2]];
        const d = Math.hypot(v[0]!, v[1]!, v[2]!);
        if (d >= R) continue;
        let u: number[];
        if (d === 0) {
          unitDirection(attrs.ids[i]!, attrs.ids[j]!, dir);
          u = [dir[0]!, dir[1]!, dir[2]!];
        } else {
          u = [v[0]! / d, v[1]! / d, v[2]! / d];
        }
        for (let c = 0; c < 3; c++) f[c]! -= p.cRep * st * (1 - d / R) * u[c]!;
      }
      for (let c = 0; c < 3; c++) f[c]! -= p.gravity * xi[c]!;
      for (let c = 0; c < 3; c++) out[(i * A + a) * 3 + c] = f[c]!;
    }
  }
  return out;
}

/**
 * Applies the move rule to reference forces: positions of local tokens after one step, and the
 * unrounded raw values (to recognise coordinates that sit on a rounding boundary).
 */
export function referenceMove(
  attrs: TokenAttributes,
  local: number,
  forces: Float64Array,
  p: ReferenceParams,
  locked?: (i: number) => boolean,
): { positions: Int16Array; unrounded: Float64Array } {
  const out = attrs.positions.slice(0, local * 24);
  const unrounded = Float64Array.from(out);
  const A = p.spaces.length;
  for (let i = 0; i < local; i++) {
    if (locked?.(i) === true) continue;
    for (let a = 0; a < A; a++) {
      const s = p.spaces[a]!;
      const m = [0, 1, 2].map((c) => forces[(i * A + a) * 3 + c]! * p.dt);
      const len = Math.hypot(m[0]!, m[1]!, m[2]!);
      if (len > p.temperature) for (let c = 0; c < 3; c++) m[c] = (m[c]! * p.temperature) / len;
      for (let c = 0; c < 3; c++) {
        const raw = attrs.positions[i * 24 + s * 3 + c]! + m[c]! * SPACE_SCALES[s]!;
        unrounded[i * 24 + s * 3 + c] = raw;
        out[i * 24 + s * 3 + c] = Math.max(-32768, Math.min(32767, roundHalfAway(raw)));
      }
    }
  }
  return { positions: out, unrounded };
}
