/**
 * Graph algorithms on a 1 M-node ShardStore with out-degree 8 (random targets, confidence in
 * [0.1, 1]): a full BFS and a full Dijkstra tree through the expansion protocol (runSync +
 * store.expand), with the number of round trips; and, as a floor, a BFS written directly against
 * the store's adjacency cursors.
 *
 *   npm run bench -- core.graph              (N=1000000, DEGREE=8 by default)
 */
import { Direction, bfs, dijkstraTree, runSync, spreadingActivation } from "../src/core/graph/index.ts";
import type { ExpandRequest, Expansion } from "../src/core/graph/index.ts";
import { ShardStore } from "../src/core/store/index.ts";
import { CONNECTION_RECORD_SIZE, connectionFields, encodeConnection } from "../src/core/connection/index.ts";
import { TOKEN_RECORD_SIZE } from "../src/core/token/index.ts";
import { emit, gc, machine } from "./lib/report.ts";

const N = Number(process.env.N ?? 1_000_000);
const DEGREE = Number(process.env.DEGREE ?? 8);
const NOW = 1_700_000_000;

let seed = 0x9e3779b9;
function rand(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}

function buildGraph(): ShardStore {
  const store = new ShardStore({ initialCapacity: N, initialConnectionCapacity: N * DEGREE });
  const tokens = new Uint8Array(N * TOKEN_RECORD_SIZE);
  const u32 = new Uint32Array(tokens.buffer);
  const u16 = new Uint16Array(tokens.buffer);
  for (let i = 0; i < N; i++) {
    u32[i * 16 + 12] = i + 1;
    u16[i * 32 + 26] = 0x0001;
    u32[i * 16 + 15] = NOW;
  }
  store.insertRecords(tokens);
  const template = encodeConnection(connectionFields(1, 2, 0x50, NOW));
  const chunk = 1 << 20;
  const records = new Uint8Array(chunk * CONNECTION_RECORD_SIZE);
  const r32 = new Uint32Array(records.buffer);
  const f32 = new Float32Array(records.buffer);
  for (let i = 0; i < chunk; i++) records.set(template, i * CONNECTION_RECORD_SIZE);
  let filled = 0;
  const flush = (): void => {
    store.connectRecords(records.subarray(0, filled * CONNECTION_RECORD_SIZE));
    filled = 0;
  };
  const picked = new Uint32Array(DEGREE);
  for (let s = 1; s <= N; s++) {
    for (let d = 0; d < DEGREE; d++) {
      // Distinct targets per source, no self-loops: (source, target, type) is the connection key.
      let t = 0;
      for (let again = true; again; ) {
        t = 1 + Math.floor(rand() * N);
        again = t === s;
        for (let j = 0; j < d && !again; j++) again = picked[j] === t;
      }
      picked[d] = t;
      const w = filled * 16;
      r32[w] = s;
      r32[w + 1] = t;
      f32[w + 7] = 0.1 + 0.9 * rand(); // confidence = the edge weight
      if (++filled === chunk) flush();
    }
  }
  flush();
  return store;
}

/** BFS straight over the store's out-edge cursors: the floor the protocol version is compared with. */
function directBfs(store: ShardStore, source: number): number {
  const seen = new Uint8Array(N + 1);
  const queue = new Uint32Array(N);
  let head = 0;
  let tail = 0;
  queue[tail++] = source;
  seen[source] = 1;
  const targets = store.connections.targets;
  while (head < tail) {
    const u = queue[head++]!;
    for (let e = store.firstOutEdge(u); e >= 0; e = store.nextOutEdge(e)) {
      const v = targets[e]!;
      if (seen[v] === 0) {
        seen[v] = 1;
        queue[tail++] = v;
      }
    }
  }
  return tail;
}

/** Wall seconds of `fn`, and its CPU milliseconds (wall ≫ CPU means the machine was busy). */
function timed<T>(fn: () => T): { value: T; seconds: number; cpuMs: number } {
  gc();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const value = fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { value, seconds, cpuMs: Math.round((c.user + c.system) / 1e3) };
}

const built = timed(buildGraph);
const store = built.value;
console.error(`core.graph: ${N} nodes, ${store.connectionCount} connections built in ${built.seconds.toFixed(1)} s`);
const info = { nodes: N, degree: DEGREE, connections: store.connectionCount, ...machine() };

let requests = 0;
let expanded = 0;
/** Wall ns spent inside store.expand: the store's share of a traversal. */
let expandNs = 0n;
const expand = (req: ExpandRequest): Expansion => {
  requests++;
  expanded += req.nodes.length;
  const t0 = process.hrtime.bigint();
  const exp = store.expand(req);
  expandNs += process.hrtime.bigint() - t0;
  return exp;
};
const expandMs = (): number => Math.round(Number(expandNs) / 1e6);

for (let rep = 0; rep < 2; rep++) {
  requests = 0;
  expanded = 0;
  expandNs = 0n;
  const b = timed(() => runSync(bfs(1, { direction: Direction.Out }), expand));
  if (rep === 1) {
    emit("core.graph.bfs_1m", b.seconds * 1e3, "ms", {
      ...info,
      reached: b.value.nodes.length,
      nodesPerSecond: Math.round(b.value.nodes.length / b.seconds),
      cpuMs: b.cpuMs,
      storeExpandMs: expandMs(),
      roundTrips: requests,
      maxDepth: Math.max(...b.value.depths.subarray(b.value.depths.length - 1)),
    });
  }
}

for (let rep = 0; rep < 2; rep++) {
  requests = 0;
  expanded = 0;
  expandNs = 0n;
  const d = timed(() => runSync(dijkstraTree(1, { direction: Direction.Out }), expand));
  if (rep === 1) {
    emit("core.graph.dijkstra_1m", d.seconds * 1e3, "ms", {
      ...info,
      settled: d.value.nodes.length,
      nodesPerSecond: Math.round(d.value.nodes.length / d.seconds),
      cpuMs: d.cpuMs,
      storeExpandMs: expandMs(),
      roundTrips: requests,
      nodesExpanded: expanded,
    });
  }
}

const direct = timed(() => directBfs(store, 1));
emit("core.graph.bfs_1m_direct", direct.seconds * 1e3, "ms", { ...info, reached: direct.value, nodesPerSecond: Math.round(direct.value / direct.seconds), cpuMs: direct.cpuMs });

requests = 0;
const act = timed(() => runSync(spreadingActivation(1, { maxDepth: 4, decay: 0.1, threshold: 0, minEnergy: 0.001 }), expand));
emit("core.graph.activation_depth4_1m", act.seconds * 1e3, "ms", { ...info, fired: act.value.fired, cpuMs: act.cpuMs, roundTrips: requests });
