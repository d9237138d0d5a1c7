/** Random small field inputs for kernel tests, generated from a seed with the core PRNG. */
import { SeededRandom } from "../../../src/core/field/prng.ts";
import { type SpringList, springListOf } from "../../../src/core/field/springs.ts";
import type { TokenAttributes } from "../../../src/core/field/step.ts";

export interface RandomField {
  readonly attrs: TokenAttributes;
  readonly local: number;
  readonly slotCount: number;
  readonly springs: SpringList;
}

/**
 * `local` tokens plus `ghosts` ghost slots, crowded into a small region so repulsion acts, with a
 * few exact duplicates (coincident tokens) and random springs (some repulsive, some to ghosts).
 * With `bigRadii`, about 6 % of the tokens have a radius 7-100 times larger than the rest.
 */
export function randomField(seed: number, local: number, ghosts: number, edges: number, bigRadii = false): RandomField {
  const rnd = new SeededRandom(seed);
  const slotCount = local + ghosts;
  const positions = new Int16Array(slotCount * 24);
  const extent = [250, 25000, 2500, 25000, 25000, 25000, 250, 25000];
  for (let i = 0; i < slotCount; i++) {
    if (i > 0 && rnd.next() < 0.1) {
      positions.copyWithin(i * 24, (i - 1) * 24, i * 24);
      continue;
    }
    for (let c = 0; c < 24; c++) {
      const e = extent[Math.floor(c / 3)]!;
      positions[i * 24 + c] = Math.round(rnd.range(-e, e));
    }
  }
  const ids = new Uint32Array(slotCount);
  for (let i = 0; i < slotCount; i++) ids[i] = 1000 + i * 7 + rnd.nextInt(5);
  const flags = new Uint16Array(slotCount);
  const radii = new Uint8Array(slotCount);
  const strengths = new Uint8Array(slotCount);
  for (let i = 0; i < slotCount; i++) {
    // With bigRadii, a few tokens get a radius many times the others' (the grid's big list).
    if (bigRadii) radii[i] = rnd.next() < 0.06 ? 200 + rnd.nextInt(56) : rnd.nextInt(30);
    else radii[i] = rnd.next() < 0.2 ? 0 : rnd.nextInt(160);
    strengths[i] = rnd.next() < 0.2 ? 0 : rnd.nextInt(256);
  }
  const source: number[] = [];
  const target: number[] = [];
  const rigidity: number[] = [];
  const confidence: number[] = [];
  const pull: number[] = [];
  const preferred: number[] = [];
  const spaces: number[] = [];
  for (let e = 0; e < edges; e++) {
    source.push(rnd.nextInt(slotCount));
    target.push(rnd.next() < 0.05 ? source[e]! : rnd.nextInt(slotCount));
    rigidity.push(rnd.next());
    confidence.push(rnd.next());
    pull.push(rnd.next() < 0.2 ? -rnd.range(0, 10) : rnd.range(0, 10));
    preferred.push(rnd.range(0.01, 3));
    spaces.push(rnd.next() < 0.5 ? 0 : rnd.nextInt(256));
  }
  const springs = springListOf({ source, target, rigidity, confidence, pull, preferredDistance: preferred, activeSpaces: spaces });
  return { attrs: { positions, ids, flags, radii, strengths }, local, slotCount, springs };
}
