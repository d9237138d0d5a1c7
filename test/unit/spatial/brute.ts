/** Brute-force spatial answers over every live slot, from the documented definitions. */
import { radiusToRaw } from "../../../src/core/spatial/index.ts";
import { SCALES } from "../../../src/core/token/layout.ts";
import type { SpatialSource } from "../../../src/core/spatial/index.ts";

export interface Hit {
  id: number;
  d2: number;
}

export function allHits(store: SpatialSource, space: number, px: number, py: number, pz: number): Hit[] {
  const c = store.columns;
  const hits: Hit[] = [];
  for (let s = 0; s < c.size; s++) {
    const o = s * 24 + space * 3;
    const dx = c.coords[o]! - px;
    const dy = c.coords[o + 1]! - py;
    const dz = c.coords[o + 2]! - pz;
    hits.push({ id: c.ids[s]!, d2: dx * dx + dy * dy + dz * dz });
  }
  return hits.sort((a, b) => a.d2 - b.d2 || a.id - b.id);
}

export function bruteWithin(store: SpatialSource, space: number, p: [number, number, number], radius: number, exclude = 0): Hit[] {
  const R = radiusToRaw(radius, space);
  return allHits(store, space, ...p).filter((h) => h.d2 <= R * R && h.id !== exclude);
}

export function bruteNearest(store: SpatialSource, space: number, p: [number, number, number], k: number, exclude = 0): Hit[] {
  return allHits(store, space, ...p)
    .filter((h) => h.id !== exclude)
    .slice(0, k);
}

export function bruteInfluence(store: SpatialSource, space: number, p: [number, number, number]): number {
  const c = store.columns;
  const fieldScale = SCALES[space]! / 100;
  let sum = 0;
  for (const h of allHits(store, space, ...p)) {
    const s = store.slotOf(h.id);
    const fr = c.radii[s]! * fieldScale;
    if (fr === 0 || h.d2 > fr * fr) continue;
    sum += (c.strengths[s]! / 255) * (1 - Math.sqrt(h.d2) / fr);
  }
  return sum;
}
