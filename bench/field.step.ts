/**
 * One force step on the node's Piscina field pool (DESIGN §8 `field.step_1m`) over the synthetic
 * graph of `lib/field-input.ts`: N tokens, average degree 4, 3 active spaces.
 *
 * Emits, per size (10k, 100k, 1m):
 *  - field.step_{size}_t{1,2}: seconds per step with 1 and 2 worker threads (best of a few), with
 *    the CPU seconds of the process (all threads) and the step profile (wall time of the force
 *    and integration phases, busy time per task kind summed over threads);
 *  - field.step_{size}: the best of those configurations (its thread count in `threads`);
 *  - field.step_speedup_{size}: time with 1 thread / time with 2.
 * Steps run from the output of the previous one (double buffering, as the engine does). The
 * positions of the 1- and 2-thread runs are compared: they must be bit-identical.
 * Usage: npm run bench -- field.step [maxN]
 */
import { allocInt16 } from "../src/core/field/buffers.ts";
import { stepConstants } from "../src/core/field/integrate.ts";
import { DEFAULT_FORCE_PARAMS, spaceTemperaturesAt } from "../src/core/field/params.ts";
import { allocateFieldWorkspace } from "../src/core/field/step.ts";
import { FieldPool, type FieldStepProfile } from "../src/runtime/field/index.ts";
import { BENCH_SPACES_MASK, fieldBenchInput } from "./lib/field-input.ts";
import { emit, gc, machine } from "./lib/report.ts";

interface Run {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly profile: FieldStepProfile | undefined;
  readonly out: Int16Array;
}

/** Best of `repeat` steps (after a warm-up step), each from the previous step's output. */
async function timeSteps(pool: FieldPool, n: number, repeat: number): Promise<Run> {
  const { attrs, graph } = fieldBenchInput(n, 42);
  const params = { ...DEFAULT_FORCE_PARAMS, activeSpaces: BENCH_SPACES_MASK };
  const ws = allocateFieldWorkspace(n, true);
  let cur = attrs;
  let next = allocInt16(n * 24, true);
  let best: Omit<Run, "out"> = { seconds: Infinity, cpuSeconds: Infinity, profile: undefined };
  for (let r = 0; r <= repeat; r++) {
    const constants = stepConstants(params, spaceTemperaturesAt(params, r));
    gc();
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await pool.step(ws, cur, n, graph, constants, next);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    // r = 0 warms up (grids allocated, code optimised).
    if (r > 0 && seconds < best.seconds) best = { seconds, cpuSeconds: (c.user + c.system) / 1e6, profile: pool.lastProfile };
    const prev = cur.positions;
    cur = { ...cur, positions: next };
    next = prev;
  }
  return { ...best, out: cur.positions };
}

function profileDetails(p: FieldStepProfile | undefined): Record<string, number> {
  if (p === undefined) return {};
  const r = (v: number): number => Number(v.toFixed(1));
  return {
    forces_wall_ms: r(p.forcesWallMs),
    integrate_wall_ms: r(p.integrateWallMs),
    grid_busy_ms: r(p.busyMs.grid),
    pack_busy_ms: r(p.busyMs.pack),
    repulsion_busy_ms: r(p.busyMs.repulsion),
    integrate_busy_ms: r(p.busyMs.integrate),
  };
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
try {
  for (const [label, n] of sizes) {
    if (n > maxN) continue;
    const repeat = n >= 1_000_000 ? 3 : 5;
    const runs = new Map<number, Run>();
    for (const t of [1, 2]) {
      const run = await timeSteps(poolOf(t), n, repeat);
      const first = runs.get(1);
      if (first !== undefined && Buffer.compare(Buffer.from(first.out.buffer), Buffer.from(run.out.buffer)) !== 0) {
        throw new Error(`positions differ between thread counts at N=${n}`);
      }
      runs.set(t, run);
      emit(`field.step_${label}_t${t}`, run.seconds, "s", {
        tokens: n,
        threads: t,
        us_per_token: (run.seconds * 1e6) / n,
        cpu_seconds: Number(run.cpuSeconds.toFixed(4)),
        spaces: 3,
        degree: 4,
        ...profileDetails(run.profile),
      });
      process.stderr.write(`field.step N=${n} threads=${t}: ${run.seconds.toFixed(3)} s (cpu ${run.cpuSeconds.toFixed(3)} s)\n`);
    }
    const [bestThreads, best] = [...runs].reduce((a, b) => (b[1].seconds < a[1].seconds ? b : a));
    emit(`field.step_${label}`, best.seconds, "s", {
      tokens: n,
      threads: bestThreads,
      us_per_token: (best.seconds * 1e6) / n,
      by_threads: Object.fromEntries([...runs].map(([t, r]) => [`t${t}`, Number(r.seconds.toFixed(4))])),
      budget_1m_s: 1,
      machine: machine(),
    });
    emit(`field.step_speedup_${label}`, runs.get(1)!.seconds / runs.get(2)!.seconds, "x", { tokens: n, from_threads: 1, to_threads: 2 });
  }
} finally {
  for (const p of pools.values()) await p.close();
}
