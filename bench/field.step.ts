/**
 * One force step on the node's Piscina field pool (DESIGN §8 `field.step_1m`): N tokens, 2N
 * random connections (average degree 4), 3 active spaces (L1, L3, L7), radius 0.8 and strength
 * 1, positions uniform in a cube sized so a token has ≈ 8 others within its repulsion range;
 * every buffer in SharedArrayBuffers, as the field engine holds them.
 *
 * Emits field.step_{10k,100k,1m} (seconds per step with the default thread count, cores − 1,
 * at least 1) and field.step_{…}_t{1,2} per thread count, plus field.step_speedup_{…} (time with
 * 1 thread / time with 2). Positions of every run are compared: they must be bit-identical.
 * Usage: npm run bench -- field.step [maxN]
 */
import { allocInt16, allocUint16, allocUint32, allocUint8 } from "../src/core/field/buffers.ts";
import { stepConstants } from "../src/core/field/integrate.ts";
import { DEFAULT_FORCE_PARAMS, spaceTemperaturesAt } from "../src/core/field/params.ts";
import { SeededRandom } from "../src/core/field/prng.ts";
import { type ForceGraph, type SpringList, buildForceGraph } from "../src/core/field/springs.ts";
import { type TokenAttributes, allocateFieldWorkspace } from "../src/core/field/step.ts";
import { SCALES } from "../src/core/token/layout.ts";
import { FieldPool, defaultFieldThreads } from "../src/runtime/field/index.ts";
import { emit, gc, machine } from "./lib/report.ts";

const SPACES_MASK = 0b0100_0101;
const RADIUS_RAW = 80;
const NEIGHBOURS = 8;

function makeInput(n: number, seed: number): { attrs: TokenAttributes; graph: ForceGraph } {
  const rnd = new SeededRandom(seed);
  const R = RADIUS_RAW / 100;
  const side = Math.cbrt((n * (4 / 3) * Math.PI * R * R * R) / NEIGHBOURS);
  const positions = allocInt16(n * 24, true);
  for (let i = 0; i < n; i++) {
    for (let s = 0; s < 8; s++) {
      if ((SPACES_MASK & (1 << s)) === 0) continue;
      for (let a = 0; a < 3; a++) positions[i * 24 + s * 3 + a] = Math.round(rnd.range(-side / 2, side / 2) * SCALES[s]!);
    }
  }
  const ids = allocUint32(n, true);
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
  const radii = allocUint8(n, true).fill(RADIUS_RAW);
  const strengths = allocUint8(n, true).fill(255);
  const attrs = { positions, ids, flags: allocUint16(n, true), radii, strengths };
  return { attrs, graph: buildForceGraph(springs, n, n, { shared: true }) };
}

async function timeSteps(pool: FieldPool, n: number, repeat: number): Promise<{ best: number; out: Int16Array }> {
  const { attrs, graph } = makeInput(n, 42);
  const params = { ...DEFAULT_FORCE_PARAMS, activeSpaces: SPACES_MASK };
  const constants = stepConstants(params, spaceTemperaturesAt(params, 0));
  const ws = allocateFieldWorkspace(n, true);
  const out = allocInt16(n * 24, true);
  await pool.step(ws, attrs, n, graph, constants, out); // warm-up (allocates the grids)
  let best = Infinity;
  for (let r = 0; r < repeat; r++) {
    gc();
    const t0 = process.hrtime.bigint();
    await pool.step(ws, attrs, n, graph, constants, out);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return { best, out };
}

const maxN = Number(process.argv[2] ?? 1_000_000);
const sizes: [string, number][] = [
  ["10k", 10_000],
  ["100k", 100_000],
  ["1m", 1_000_000],
];
const pools = new Map<number, FieldPool>();
const poolOf = (t: number): FieldPool => {
  let p = pools.get(t);
  if (p === undefined) pools.set(t, (p = new FieldPool({ threads: t })));
  return p;
};
const defaultThreads = defaultFieldThreads();
try {
  for (const [label, n] of sizes) {
    if (n > maxN) continue;
    const repeat = n >= 1_000_000 ? 3 : 5;
    const byThreads = new Map<number, number>();
    let reference: Int16Array | undefined;
    for (const t of [1, 2]) {
      const { best, out } = await timeSteps(poolOf(t), n, repeat);
      byThreads.set(t, best);
      if (reference === undefined) reference = out;
      else if (Buffer.compare(Buffer.from(reference.buffer), Buffer.from(out.buffer)) !== 0) throw new Error(`positions differ between thread counts at N=${n}`);
      emit(`field.step_${label}_t${t}`, best, "s", { tokens: n, threads: t, us_per_token: (best * 1e6) / n, spaces: 3, degree: 4 });
      process.stderr.write(`field.step N=${n} threads=${t}: ${best.toFixed(3)} s\n`);
    }
    const main = byThreads.get(Math.min(2, defaultThreads)) ?? byThreads.get(1)!;
    emit(`field.step_${label}`, main, "s", { tokens: n, threads: Math.min(2, defaultThreads), us_per_token: (main * 1e6) / n, budget_1m_s: 1, machine: machine() });
    emit(`field.step_speedup_${label}`, byThreads.get(1)! / byThreads.get(2)!, "x", { tokens: n, from_threads: 1, to_threads: 2 });
  }
} finally {
  for (const p of pools.values()) await p.close();
}
