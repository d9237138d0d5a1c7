/**
 * Plain reference implementations of the graph algorithms, written straight from their documented
 * definitions (recursion, Maps, O(n²) Dijkstra) to check the typed-array step machines against.
 */
import { Direction } from "../../../src/core/graph/index.ts";
import type { TestGraph } from "./test-graph.ts";

export interface RefTraversal {
  nodes: number[];
  depths: number[];
}

export function refBfs(g: TestGraph, s: number, dir: Direction, maxDepth: number): RefTraversal {
  if (!g.nodes.has(s)) return { nodes: [], depths: [] };
  const depth = new Map<number, number>([[s, 0]]);
  const queue = [s];
  for (let q = 0; q < queue.length; q++) {
    const u = queue[q]!;
    const du = depth.get(u)!;
    if (du >= maxDepth) continue;
    for (const st of g.steps(u, dir)) {
      if (depth.has(st.to)) continue;
      depth.set(st.to, du + 1);
      queue.push(st.to);
    }
  }
  return { nodes: queue, depths: queue.map((n) => depth.get(n)!) };
}

export function refDfs(g: TestGraph, s: number, dir: Direction, maxDepth: number): RefTraversal {
  const out: RefTraversal = { nodes: [], depths: [] };
  if (!g.nodes.has(s)) return out;
  const seen = new Set<number>();
  const visit = (u: number, d: number): void => {
    seen.add(u);
    out.nodes.push(u);
    out.depths.push(d);
    if (d >= maxDepth) return;
    for (const st of g.steps(u, dir)) if (!seen.has(st.to)) visit(st.to, d + 1);
  };
  visit(s, 0);
  return out;
}

/** Hop distance (BFS) or -1. */
export function refHops(g: TestGraph, s: number, t: number, dir: Direction): number {
  if (!g.nodes.has(s)) return -1;
  const r = refBfs(g, s, dir, Infinity);
  const i = r.nodes.indexOf(t);
  return i < 0 ? -1 : r.depths[i]!;
}

/** Least costs (1/w over positive finite weights) from s: Map node → cost. */
export function refDijkstra(g: TestGraph, s: number, dir: Direction): Map<number, number> {
  const done = new Map<number, number>();
  if (!g.nodes.has(s)) return done;
  const tentative = new Map<number, number>([[s, 0]]);
  for (;;) {
    let best = -1;
    let bestCost = Infinity;
    for (const [n, c] of tentative) {
      if (c < bestCost || (c === bestCost && n < best)) {
        best = n;
        bestCost = c;
      }
    }
    if (best < 0) return done;
    tentative.delete(best);
    done.set(best, bestCost);
    for (const st of g.steps(best, dir)) {
      const w = Math.fround(st.weight);
      if (!(w > 0 && w < Infinity) || done.has(st.to)) continue;
      const c = bestCost + 1 / w;
      if (c < (tentative.get(st.to) ?? Infinity)) tentative.set(st.to, c);
    }
  }
}

export interface RefActivation {
  nodes: number[];
  energies: number[];
  depths: number[];
  fired: number;
}

export function refActivation(
  g: TestGraph,
  s: number,
  o: { energy: number; decay: number; threshold: number; minEnergy: number; maxDepth: number; direction: Direction },
): RefActivation {
  if (!g.nodes.has(s)) return { nodes: [], energies: [], depths: [], fired: 0 };
  const fired = new Map<number, { e: number; d: number }>([[s, { e: o.energy, d: 0 }]]);
  let wave = [s];
  for (let d = 0; d < o.maxDepth && wave.length > 0; d++) {
    const arriving = new Map<number, number>();
    for (const u of wave) {
      const sent = fired.get(u)!.e * (1 - o.decay);
      for (const st of g.steps(u, o.direction)) {
        const w = Math.fround(st.weight);
        if (!(w > 0 && w < Infinity) || fired.has(st.to)) continue;
        arriving.set(st.to, (arriving.get(st.to) ?? 0) + sent * w);
      }
    }
    wave = [];
    for (const [n, e] of arriving) {
      if (e >= o.minEnergy) {
        fired.set(n, { e, d: d + 1 });
        wave.push(n);
      }
    }
  }
  const report = [...fired.entries()]
    .filter(([n, v]) => n !== s && v.e >= o.threshold)
    .sort((a, b) => b[1].e - a[1].e || a[0] - b[0]);
  return {
    nodes: report.map(([n]) => n),
    energies: report.map(([, v]) => v.e),
    depths: report.map(([, v]) => v.d),
    fired: fired.size,
  };
}

/** Induced edges among `set` (existing members), sorted by source then listing order. */
export function refSubgraph(g: TestGraph, set: number[]): { nodes: number[]; edges: [number, number][] } {
  const members = [...new Set(set)].filter((n) => g.nodes.has(n)).sort((a, b) => a - b);
  const m = new Set(members);
  const edges: [number, number][] = [];
  for (const a of members) {
    for (const st of g.steps(a, Direction.Out)) if (st.outgoing && m.has(st.to)) edges.push([a, st.to]);
  }
  return { nodes: members, edges };
}
