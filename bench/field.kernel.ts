/**
 * Single-threaded cost of one force step (all kernels: cell grids, repulsion, springs + move)
 * against N. Graph: N tokens, 2N random connections (average degree 4), 3 active spaces
 * (L1, L3, L7), every token with radius 0.8 and strength 1, positions uniform in a cube sized so
 * a token has ≈ 8 others within its repulsion range (a crowded but realistic field).
 *
 * Emits field.kernel_step_{10k,100k,1m} (seconds per step) with µs per token, plus the phases.
 * Usage: npm run bench -- field.kernel [maxN]
 */
import { type StepConstants, stepConstants } from "../src/core/field/integrate.ts";
import { DEFAULT_PHYSICS_PARAMS } from "../src/core/field/params.ts";
import { SeededRandom } from "../src/core/field/prng.ts";
import { buildForceGraph, type SpringList } from "../src/core/field/springs.ts";
import { SPACE_SCALES } from "../src/core/field/geometry.ts";
import { allocateFieldWorkspace, fieldStep, type TokenAttributes } from "../src/core/field/step.ts";
import { allocateCellGrid, allocateGridScratch, buildCellGrid, gridCellCount } from "../src/core/field/grid.ts";
import { allocateRepulsionScratch, computeRepulsion } from "../src/core/field/repulsion.ts";
import { allocateIntegrationScratch, integrateRange, repulsionStride } from "../src/core/field/integrate.ts";
import { emit, gc, machine } from "./lib/report.ts";

const SPACES_MASK = 0b0100_0101; // L1, L3, L7
const RADIUS_RAW = 80;
const NEIGHBOURS = 8;

function makeInput(n: number, seed: number): { attrs: TokenAttributes; springs: SpringList } {
  const rnd = new SeededRandom(seed);
  const R = RADIUS_RAW / 100;
  const side = Math.cbrt((n * (4 / 3) * Math.PI * R * R * R) / NEIGHBOURS);
  const positions = new Int16Array(n * 24);
  for (let i = 0; i < n; i++) {
    for (let s = 0; s < 8; s++) {
      if ((SPACES_MASK & (1 << s)) === 0) continue;
      const sc = SPACE_SCALES[s]!;
      for (let a = 0; a < 3; a++) positions[i * 24 + s * 3 + a] = Math.round(rnd.range(-side / 2, side / 2) * sc);
    }
  }
  const ids = new Uint32Array(n);
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
  return {
    attrs: { positions, ids, flags: new Uint16Array(n), radii: new Uint8Array(n).fill(RADIUS_RAW), strengths: new Uint8Array(n).fill(255) },
    springs,
  };
}

function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function phases(attrs: TokenAttributes, n: number, constants: StepConstants, graph: ReturnType<typeof buildForceGraph>, out: Int16Array): { grid: number; repulsion: number; integrate: number; candidates: number } {
  const scratch = allocateGridScratch(n);
  const rs = allocateRepulsionScratch();
  const stride = repulsionStride(constants);
  const rep = new Float32Array(n * stride);
  let tg = 0;
  let tr = 0;
  let cells = 0;
  let mask = 0;
  for (let a = 0; a < constants.spaces.length; a++) {
    const s = constants.spaces[a]!;
    const grid = allocateCellGrid(n);
    tg += time(() => buildCellGrid(grid, scratch, attrs, n, s));
    cells += gridCellCount(grid);
    mask |= 1 << s;
    tr += time(() => computeRepulsion(grid, attrs.ids, constants.repulsionConstant, 0, gridCellCount(grid), { out: rep, outStride: stride, outOffset: a * 3, localCount: n }, rs));
  }
  const ti = time(() =>
    integrateRange({ positions: attrs.positions, ids: attrs.ids, flags: attrs.flags, graph, repulsion: rep, repulsionMask: mask, constants }, out, 0, n, allocateIntegrationScratch()),
  );
  return { grid: tg, repulsion: tr, integrate: ti, candidates: n / (cells / constants.spaces.length) };
}

const maxN = Number(process.argv[2] ?? 1_000_000);
const sizes: [number, string][] = [
  [10_000, "10k"],
  [100_000, "100k"],
  [1_000_000, "1m"],
];
for (const [n, label] of sizes) {
  if (n > maxN) continue;
  const { attrs, springs } = makeInput(n, 42);
  const graph = buildForceGraph(springs, n, n);
  const params = { ...DEFAULT_PHYSICS_PARAMS, activeSpaces: SPACES_MASK };
  const constants = stepConstants(params, params.temperature);
  const ws = allocateFieldWorkspace(n);
  const out = new Int16Array(n * 24);
  const reps = n >= 1_000_000 ? 3 : n >= 100_000 ? 5 : 20;
  fieldStep(ws, attrs, n, graph, constants, out);
  gc();
  let best = Infinity;
  for (let r = 0; r < reps; r++) best = Math.min(best, time(() => fieldStep(ws, attrs, n, graph, constants, out)));
  const ph = phases(attrs, n, constants, graph, out);
  emit(`field.kernel_step_${label}`, best, "s", {
    tokens: n,
    connections: springs.count,
    spaces: 3,
    us_per_token: (best * 1e6) / n,
    grid_s: ph.grid,
    repulsion_s: ph.repulsion,
    integrate_s: ph.integrate,
    tokens_per_cell: ph.candidates,
    machine: machine(),
  });
}
