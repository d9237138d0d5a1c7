/**
 * Spatial index at 1 M tokens in a real ShardStore: index build (counting sort, one space),
 * neighbours within a radius and k nearest (k = 10), each next to a brute-force scan of the
 * store's columns. Tokens are uniform over L1 (±327.67) and clustered in L5 (±3.2767).
 *
 *   npm run bench -- core.spatial            (N=1000000 by default; N=200000 for a quick look)
 */
import { SpatialIndex } from "../src/core/spatial/index.ts";
import { ShardStore } from "../src/core/store/index.ts";
import { SCALES, TOKEN_RECORD_SIZE } from "../src/core/token/index.ts";
import type { TokenColumns } from "../src/core/token/index.ts";
import { emit, gc, machine } from "./lib/report.ts";

const N = Number(process.env.N ?? 1_000_000);
const L1 = 0;
const L5 = 4;
const K = 10;
const RADIUS_L1 = 10; // decoded units: ≈ 15 neighbours on average at 1 M uniform tokens
const RADIUS_L5 = 0.02;

let seed = 0x2545f491;
function rand(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}

function gaussian(): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

function buildStore(n: number): ShardStore {
  const records = new Uint8Array(n * TOKEN_RECORD_SIZE);
  const i16 = new Int16Array(records.buffer);
  const u32 = new Uint32Array(records.buffer);
  const u16 = new Uint16Array(records.buffer);
  const centres = Array.from({ length: 64 }, () => [gaussian() * 8000, gaussian() * 8000, gaussian() * 8000]);
  for (let i = 0; i < n; i++) {
    const w = i * 32;
    for (let a = 0; a < 3; a++) i16[w + L1 * 3 + a] = Math.floor(rand() * 65535) - 32767;
    const c = centres[i % centres.length]!;
    for (let a = 0; a < 3; a++) i16[w + L5 * 3 + a] = Math.max(-32768, Math.min(32767, Math.round(c[a]! + gaussian() * 600)));
    u32[i * 16 + 12] = i + 1;
    u16[w + 26] = 0x0001;
    records[i * 64 + 58] = 1 + (i % 200);
    records[i * 64 + 59] = 128;
    u32[i * 16 + 15] = 1_700_000_000;
  }
  const store = new ShardStore({ initialCapacity: n });
  store.insertRecords(records);
  return store;
}

/** Wall µs per query over `count` queries, and CPU µs per query (wall ≫ CPU: the machine was busy). */
function perQuery(count: number, query: (i: number) => number): { us: number; cpuUs: number; meanResults: number } {
  let results = 0;
  for (let i = 0; i < Math.min(200, count); i++) query(i); // warm-up
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) results += query(i);
  const us = Number(process.hrtime.bigint() - t0) / 1e3 / count;
  const c = process.cpuUsage(c0);
  return { us, cpuUs: Number(((c.user + c.system) / count).toFixed(2)), meanResults: results / count };
}

/** Brute force: exact squared distances over every slot, k best kept by insertion into a tiny sorted list. */
function bruteKnn(cols: TokenColumns, space: number, px: number, py: number, pz: number, k: number, exclude: number): number {
  const best = new Float64Array(k).fill(Infinity);
  const { coords, ids } = cols;
  const n = cols.size;
  for (let i = 0; i < n; i++) {
    const o = i * 24 + space * 3;
    const dx = coords[o]! - px;
    const dy = coords[o + 1]! - py;
    const dz = coords[o + 2]! - pz;
    const d2 = dx * dx + dy * dy + dz * dz;
    if (d2 >= best[k - 1]! || ids[i] === exclude) continue;
    let j = k - 1;
    while (j > 0 && best[j - 1]! > d2) {
      best[j] = best[j - 1]!;
      j--;
    }
    best[j] = d2;
  }
  return k;
}

function bruteRadius(cols: TokenColumns, space: number, px: number, py: number, pz: number, r2: number): number {
  const { coords } = cols;
  let hits = 0;
  for (let i = 0; i < cols.size; i++) {
    const o = i * 24 + space * 3;
    const dx = coords[o]! - px;
    const dy = coords[o + 1]! - py;
    const dz = coords[o + 2]! - pz;
    if (dx * dx + dy * dy + dz * dz <= r2) hits++;
  }
  return hits;
}

const t0 = process.hrtime.bigint();
const store = buildStore(N);
console.error(`core.spatial: ${N} tokens stored in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s`);
const index = new SpatialIndex(store);
const info = { tokens: N, ...machine() };
const queries = 20_000;
const ids = Uint32Array.from({ length: queries }, () => 1 + Math.floor(rand() * N));

for (const [space, label, radius] of [
  [L1, "", RADIUS_L1],
  [L5, "_clustered", RADIUS_L5],
] as const) {
  gc();
  const b0 = process.hrtime.bigint();
  index.build(space);
  const buildMs = Number(process.hrtime.bigint() - b0) / 1e6;
  let best = buildMs;
  for (let i = 0; i < 3; i++) {
    const s = process.hrtime.bigint();
    index.build(space);
    best = Math.min(best, Number(process.hrtime.bigint() - s) / 1e6);
  }
  const detail = { ...info, space: `L${space + 1}`, cellSize: index.cellSizes()[space] };
  emit(`core.spatial.build_1m${label}`, best, "ms", { ...detail, firstBuildMs: Number(buildMs.toFixed(1)) });

  const radiusRun = perQuery(queries, (i) => index.neighbors(ids[i]!, space, radius).count);
  emit(`core.spatial.radius_1m${label}`, radiusRun.us, "us/query", { ...detail, radius, meanResults: Number(radiusRun.meanResults.toFixed(2)), cpuUs: radiusRun.cpuUs });

  const knnRun = perQuery(queries, (i) => index.nearestTo(ids[i]!, space, K).count);
  emit(`core.spatial.knn10_1m${label}`, knnRun.us, "us/query", { ...detail, k: K, cpuUs: knnRun.cpuUs });

  const scale = SCALES[space]!;
  const point = (i: number): [number, number, number] => {
    const cols = store.columns;
    const o = store.slotOf(ids[i]!) * 24 + space * 3;
    return [cols.coords[o]!, cols.coords[o + 1]!, cols.coords[o + 2]!];
  };
  const bruteQueries = 20;
  const bk = perQuery(bruteQueries, (i) => bruteKnn(store.columns, space, ...point(i), K, ids[i]!));
  emit(`core.spatial.knn10_bruteforce_1m${label}`, bk.us, "us/query", { ...detail, k: K, cpuUs: bk.cpuUs, speedup: Number((bk.us / knnRun.us).toFixed(0)) });
  const R = radius * scale;
  const br = perQuery(bruteQueries, (i) => bruteRadius(store.columns, space, ...point(i), R * R));
  emit(`core.spatial.radius_bruteforce_1m${label}`, br.us, "us/query", { ...detail, radius, cpuUs: br.cpuUs, speedup: Number((br.us / radiusRun.us).toFixed(0)) });
}

// Between rebuilds: 500 changed tokens sit in the overflow that every query scans.
const moved = Uint32Array.from({ length: 500 }, () => 1 + Math.floor(rand() * N));
for (const id of moved) index.noteChanged(id);
const overflowRun = perQuery(queries, (i) => index.nearestTo(ids[i]!, L1, K).count);
emit("core.spatial.knn10_1m_overflow", overflowRun.us, "us/query", { ...info, overflow: index.overflowSize(L1), cpuUs: overflowRun.cpuUs });
emit("core.spatial.index_bytes_per_token", index.byteSize() / N / 2, "B/token/space", { ...info, spacesBuilt: 2 });
