/**
 * Single-threaded cost of one force step (all kernels: cell grids, packing, repulsion, springs
 * and move) against N. Graph: N tokens, 2N random connections (average degree 4), 3 active
 * spaces (L1, L3, L7), every token with radius 0.8 and strength 1, positions uniform in a cube
 * sized so that a token has ≈ 8 others within its repulsion range.
 *
 * Emits field.kernel_step_{10k,100k,1m} (seconds per step, best of several) with µs per token
 * and the time of each phase (CPU seconds; `repulsion_full_shell_s` is the earlier kernel that
 * evaluates every pair from both sides, for comparison with the half-shell `repulsion_s`). `cpu_s` is the best step in CPU seconds of this
 * process, which time-slicing on a busy machine does not inflate; `cal_ns` is a fixed scalar
 * loop (ns per iteration) measured in the same run, a gauge of the machine.
 * Usage: npm run bench -- field.kernel [maxN]
 */
import { DEFAULT_FORCE_PARAMS, spaceTemperaturesAt } from "../src/core/field/params.ts";
import { allocateCellGrid, allocateGridScratch, buildCellGrid, gridCellCount, gridEntryCount } from "../src/core/field/grid.ts";
import { type StepConstants, allocateIntegrationScratch, integrateRange, packActivePositions, repulsionStride, stepConstants } from "../src/core/field/integrate.ts";
import { accumulateRepulsionPairs, finishRepulsion } from "../src/core/field/repulsion-pairs.ts";
import { allocateRepulsionScratch, computeRepulsion } from "../src/core/field/repulsion.ts";
import type { ForceGraph } from "../src/core/field/springs.ts";
import { type TokenAttributes, allocateFieldWorkspace, fieldStep } from "../src/core/field/step.ts";
import { BENCH_SPACES_MASK, fieldBenchInput } from "./lib/field-input.ts";
import { emit, gc, machine } from "./lib/report.ts";

function seconds(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** CPU seconds of this process spent in `fn` (robust to time-slicing on a busy machine). */
function cpuSeconds(fn: () => void): number {
  const t0 = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1e6;
}

/** ns per iteration of a fixed scalar loop: a gauge of how busy the machine is. */
function calibration(): number {
  const a = new Int16Array(300_000).map((_, i) => (i * 7919) & 1023);
  let best = Infinity;
  let sink = 0;
  for (let r = 0; r < 20; r++) {
    const t = seconds(() => {
      for (let i = 0; i + 2 < a.length; i += 3) {
        const dx = a[i]! - 5;
        const dy = a[i + 1]! - 7;
        const dz = a[i + 2]! - 9;
        const d2 = dx * dx + dy * dy + dz * dz;
        if (d2 < 6400) sink += Math.sqrt(d2);
      }
    });
    best = Math.min(best, (t * 1e9) / (a.length / 3));
  }
  return sink > 0 ? best : best;
}

function phases(attrs: TokenAttributes, n: number, graph: ForceGraph, constants: StepConstants, out: Int16Array): Record<string, number> {
  const scratch = allocateGridScratch(n);
  const stride = repulsionStride(constants);
  const repulsion = new Float32Array(n * stride);
  const packed = new Int16Array(n * stride);
  const rs = allocateRepulsionScratch();
  const grids = Array.from(constants.spaces, () => allocateCellGrid(n));
  let grid = 0;
  let rep = 0;
  let repFull = 0;
  let mask = 0;
  let entries = 0;
  let cells = 0;
  constants.spaces.forEach((s, a) => {
    const g = grids[a]!;
    grid += cpuSeconds(() => buildCellGrid(g, scratch, attrs, n, s));
    entries += gridEntryCount(g);
    cells += gridCellCount(g);
    mask |= 1 << s;
    rep += cpuSeconds(() => {
      accumulateRepulsionPairs(g, attrs.ids, 0, gridCellCount(g), rs);
      finishRepulsion(g, attrs.ids, constants.repulsionConstant, 0, gridEntryCount(g), { out: repulsion, outStride: stride, outOffset: a * 3, localCount: n }, rs);
    });
    // The earlier kernel (every pair from both sides), for comparison.
    repFull += cpuSeconds(() => computeRepulsion(g, attrs.ids, constants.repulsionConstant, 0, gridCellCount(g), { out: repulsion, outStride: stride, outOffset: a * 3, localCount: n }, rs));
  });
  const pack = cpuSeconds(() => packActivePositions(attrs.positions, constants, 0, n, packed));
  const input = { positions: attrs.positions, packed, ids: attrs.ids, flags: attrs.flags, graph, repulsion, repulsionMask: mask, constants };
  const integrate = cpuSeconds(() => integrateRange(input, out, 0, n, allocateIntegrationScratch()));
  return { grid_s: grid, pack_s: pack, repulsion_s: rep, repulsion_full_shell_s: repFull, integrate_s: integrate, tokens_per_cell: entries / cells };
}

const maxN = Number(process.argv[2] ?? 1_000_000);
const sizes: [number, string][] = [
  [10_000, "10k"],
  [100_000, "100k"],
  [1_000_000, "1m"],
];
for (const [n, label] of sizes) {
  if (n > maxN) continue;
  const { attrs, graph, springs } = fieldBenchInput(n, 42, false);
  const params = { ...DEFAULT_FORCE_PARAMS, activeSpaces: BENCH_SPACES_MASK };
  const constants = stepConstants(params, spaceTemperaturesAt(params, 0));
  const ws = allocateFieldWorkspace(n);
  const out = new Int16Array(n * 24);
  const reps = n >= 1_000_000 ? 4 : n >= 100_000 ? 6 : 20;
  fieldStep(ws, attrs, n, graph, constants, out);
  gc();
  let best = Infinity;
  let bestCpu = Infinity;
  for (let r = 0; r < reps; r++) {
    best = Math.min(best, seconds(() => fieldStep(ws, attrs, n, graph, constants, out)));
    bestCpu = Math.min(bestCpu, cpuSeconds(() => fieldStep(ws, attrs, n, graph, constants, out)));
  }
  const detail = phases(attrs, n, graph, constants, out);
  emit(`field.kernel_step_${label}`, best, "s", {
    tokens: n,
    connections: springs.count,
    spaces: constants.spaces.length,
    us_per_token: (best * 1e6) / n,
    cpu_s: bestCpu,
    ...detail,
    cal_ns: calibration(),
    machine: machine(),
  });
}
