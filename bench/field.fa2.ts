/**
 * Side by side, per iteration: our force step against ForceAtlas2 (`graphology-layout-forceatlas2`,
 * the layout of Gephi and sigma.js) on the same graph: the synthetic graph of `lib/field-input.ts`
 * (N nodes, 2N random edges, average degree 4). FA2 starts from our L1 x, y and uses its inferred
 * settings (Barnes–Hut above 2 000 nodes). Its time per iteration is measured without the graph →
 * matrix conversion: (time of 1 + k iterations − time of 1 iteration) / k. Ours is one pool step
 * (best of 1 and 2 threads) in 3 active 3-D spaces, FA2 lays out one 2-D plane.
 *
 * Emits field.fa2_{size}: FA2 ms per iteration, with ours (ms per step, µs per node, per space)
 * and both CPU times in the details, and field.fa2_ratio_{size}: FA2 time per iteration / ours
 * per step (wall; the CPU ratio in the details).
 * Needs the dev dependencies graphology and graphology-layout-forceatlas2 (exits 2 without them).
 * Usage: npm run bench -- field.fa2 [maxN] (default 100 000; 1 000 000 needs a few GB of heap).
 */
import { allocInt16 } from "../src/core/field/buffers.ts";
import { stepConstants } from "../src/core/field/integrate.ts";
import { DEFAULT_FORCE_PARAMS, spaceTemperaturesAt } from "../src/core/field/params.ts";
import { allocateFieldWorkspace } from "../src/core/field/step.ts";
import { SCALES } from "../src/core/token/layout.ts";
import { FieldPool } from "../src/runtime/field/index.ts";
import { BENCH_SPACES_MASK, type FieldBenchInput, fieldBenchInput } from "./lib/field-input.ts";
import { emit, gc, machine } from "./lib/report.ts";

interface GraphLike {
  readonly order: number;
  readonly size: number;
  addNode(key: number, attributes: { x: number; y: number }): unknown;
  addUndirectedEdge(a: number, b: number): unknown;
}
type GraphCtor = new (options: { type: "undirected"; multi: boolean; allowSelfLoops: boolean }) => GraphLike;
interface ForceAtlas2 {
  assign(graph: GraphLike, params: { iterations: number; settings: Record<string, unknown> }): void;
  inferSettings(graph: GraphLike): Record<string, unknown>;
}

async function loadFa2(): Promise<{ Graph: GraphCtor; fa2: ForceAtlas2 }> {
  try {
    const g = (await import("graphology")) as unknown as { default: GraphCtor };
    const f = (await import("graphology-layout-forceatlas2")) as unknown as { default: ForceAtlas2 };
    return { Graph: g.default, fa2: f.default };
  } catch (err) {
    process.stderr.write(
      `field.fa2 needs graphology and graphology-layout-forceatlas2: install them with\n` +
        `  npm install --save-dev graphology graphology-layout-forceatlas2 graphology-types\n` +
        `(${err instanceof Error ? err.message : String(err)})\n`,
    );
    process.exit(2);
  }
}

function graphOf(Graph: GraphCtor, input: FieldBenchInput, n: number): GraphLike {
  // Multi-graph: the random edges may repeat, and FA2 should see every one of them, as ours does.
  const graph = new Graph({ type: "undirected", multi: true, allowSelfLoops: false });
  const pos = input.attrs.positions;
  for (let i = 0; i < n; i++) graph.addNode(i, { x: pos[i * 24]! / SCALES[0]!, y: pos[i * 24 + 1]! / SCALES[0]! });
  const { source, target, count } = input.springs;
  for (let e = 0; e < count; e++) if (source[e] !== target[e]) graph.addUndirectedEdge(source[e]!, target[e]!);
  return graph;
}

/** Wall and CPU seconds of `fn`. */
function timed(fn: () => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  fn();
  const c = process.cpuUsage(c0);
  return { wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: (c.user + c.system) / 1e6 };
}

async function oursPerStep(pools: FieldPool[], input: FieldBenchInput, n: number, repeat: number): Promise<{ seconds: number; cpu: number; threads: number }> {
  const params = { ...DEFAULT_FORCE_PARAMS, activeSpaces: BENCH_SPACES_MASK };
  let best = { seconds: Infinity, cpu: Infinity, threads: 0 };
  for (const pool of pools) {
    const ws = allocateFieldWorkspace(n, true);
    let cur = input.attrs;
    let next = allocInt16(n * 24, true);
    for (let r = 0; r <= repeat; r++) {
      gc();
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await pool.step(ws, cur, n, input.graph, stepConstants(params, spaceTemperaturesAt(params, r)), next);
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      const c = process.cpuUsage(c0);
      if (r > 0 && s < best.seconds) best = { seconds: s, cpu: (c.user + c.system) / 1e6, threads: pool.threads };
      const prev = cur.positions;
      cur = { ...cur, positions: next };
      next = prev;
    }
  }
  return best;
}

const { Graph, fa2 } = await loadFa2();
const maxN = Number(process.argv[2] ?? 100_000);
const sizes: [string, number][] = [
  ["10k", 10_000],
  ["100k", 100_000],
  ["1m", 1_000_000],
];
const pools = [new FieldPool({ threads: 1 }), new FieldPool({ threads: 2 })];
try {
  for (const [label, n] of sizes) {
    if (n > maxN) continue;
    const input = fieldBenchInput(n, 42);
    const ours = await oursPerStep(pools, input, n, n >= 1_000_000 ? 2 : 4);
    const graph = graphOf(Graph, input, n);
    const settings = fa2.inferSettings(graph);
    const k = n >= 1_000_000 ? 2 : n >= 100_000 ? 4 : 10;
    gc();
    fa2.assign(graph, { iterations: 1, settings }); // warm-up
    gc();
    const one = timed(() => fa2.assign(graph, { iterations: 1, settings }));
    gc();
    const many = timed(() => fa2.assign(graph, { iterations: 1 + k, settings }));
    const fa2Iter = Math.max(0, many.wall - one.wall) / k;
    const fa2IterCpu = Math.max(0, many.cpu - one.cpu) / k;
    emit(`field.fa2_${label}`, fa2Iter * 1000, "ms", {
      nodes: n,
      edges: graph.size,
      fa2_us_per_node: (fa2Iter * 1e6) / n,
      fa2_dimensions: 2,
      fa2_settings: settings,
      fa2_iterations_timed: k,
      fa2_cpu_ms_per_iteration: Number((fa2IterCpu * 1000).toFixed(2)),
      fa2_setup_ms: Number(((one.wall - fa2Iter) * 1000).toFixed(1)),
      ours_ms_per_step: Number((ours.seconds * 1000).toFixed(2)),
      ours_cpu_ms_per_step: Number((ours.cpu * 1000).toFixed(2)),
      ours_us_per_node: (ours.seconds * 1e6) / n,
      ours_us_per_node_space: (ours.seconds * 1e6) / n / 3,
      ours_threads: ours.threads,
      ours_spaces: 3,
      ours_dimensions: 3,
      machine: machine(),
    });
    emit(`field.fa2_ratio_${label}`, fa2Iter / ours.seconds, "x", {
      nodes: n,
      cpu_ratio: Number((fa2IterCpu / ours.cpu).toFixed(3)),
      note: "FA2 seconds per 2-D iteration / ours per step of 3 spaces × 3-D",
    });
    process.stderr.write(`field.fa2 N=${n}: FA2 ${(fa2Iter * 1000).toFixed(1)} ms/iteration, ours ${(ours.seconds * 1000).toFixed(1)} ms/step (${ours.threads} threads)\n`);
  }
} finally {
  for (const p of pools) await p.close();
}
