/**
 * The synthetic graph of the field benches (`field.step`, `field.fa2`): N tokens, 2N random
 * connections (average degree 4), 3 active spaces (L1, L3, L7), radius 0.8 and strength 1,
 * positions uniform in a cube sized so a token has ≈ 8 others within its repulsion range; every
 * buffer in SharedArrayBuffers, as the field engine holds them (`shared = false`: plain
 * ArrayBuffers, for the single-threaded kernel bench). Seeded: the same N and seed give
 * the same graph, so two benches can lay out the same graph.
 */
import { allocInt16, allocUint16, allocUint32, allocUint8 } from "../../src/core/field/buffers.ts";
import { SeededRandom } from "../../src/core/field/prng.ts";
import { type ForceGraph, type SpringList, buildForceGraph } from "../../src/core/field/springs.ts";
import type { TokenAttributes } from "../../src/core/field/step.ts";
import { SCALES } from "../../src/core/token/layout.ts";

export const BENCH_SPACES_MASK = 0b0100_0101;
const RADIUS_RAW = 80;
const NEIGHBOURS = 8;

export interface FieldBenchInput {
  readonly attrs: TokenAttributes;
  readonly springs: SpringList;
  readonly graph: ForceGraph;
}

export function fieldBenchInput(n: number, seed: number, shared = true): FieldBenchInput {
  const rnd = new SeededRandom(seed);
  const R = RADIUS_RAW / 100;
  const side = Math.cbrt((n * (4 / 3) * Math.PI * R * R * R) / NEIGHBOURS);
  const positions = allocInt16(n * 24, shared);
  for (let i = 0; i < n; i++) {
    for (let s = 0; s < 8; s++) {
      if ((BENCH_SPACES_MASK & (1 << s)) === 0) continue;
      for (let a = 0; a < 3; a++) positions[i * 24 + s * 3 + a] = Math.round(rnd.range(-side / 2, side / 2) * SCALES[s]!);
    }
  }
  const ids = allocUint32(n, shared);
  for (let i = 0; i < n; i++) ids[i] = i + 1;
  const m = 2 * n;
  const springs: SpringList = {
    count: m,
    source: new Int32Array(m),
    target: new Int32Array(m),
    rigidity: new Float32Array(m).fill(0.5),
    confidence: new Float32Array(m).fill(0.8),
    pull: new Float32Array(m).fill(1),
    preferredDistance: new Float32Array(m).fill(1),
    activeSpaces: new Uint8Array(m),
  };
  for (let e = 0; e < m; e++) {
    springs.source[e] = rnd.nextInt(n);
    springs.target[e] = rnd.nextInt(n);
  }
  const radii = allocUint8(n, shared).fill(RADIUS_RAW);
  const strengths = allocUint8(n, shared).fill(255);
  const attrs = { positions, ids, flags: allocUint16(n, shared), radii, strengths };
  return { attrs, springs, graph: buildForceGraph(springs, n, n, { shared }) };
}
