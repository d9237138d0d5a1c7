/**
 * A small graph spread over 4 shards (shard = id mod 4), with same-shard and cross-shard
 * connections, known positions in L1 and confidences chosen so BFS and Dijkstra disagree.
 *
 *   1 →(1.0) 5 →(1.0) 6 →(1.0) 3 →(0.5) 7        8 →(0.5) 1
 *   1 →(0.5) 2 →(0.5) 3
 */
import { packConnections, packTokens, type EdgeSpec, type TokenSpec } from "../api/fixtures.ts";
import { call, type TestNode } from "./harness.ts";

export const TOKENS: TokenSpec[] = [
  { id: 1, l1: [0, 0, 0] },
  { id: 2, l1: [1, 0, 0] },
  { id: 3, l1: [0, 2, 0] },
  { id: 4, l1: [5, 5, 5] },
  { id: 5, l1: [0, 0, 3] },
  { id: 6, l1: [-1, 0, 0] },
  { id: 7, l1: [10, 10, 10] },
  { id: 8, l1: [0.5, 0, 0] },
];

export const EDGES: EdgeSpec[] = [
  { source: 1, target: 5, confidence: 1 },
  { source: 1, target: 2, confidence: 0.5 },
  { source: 2, target: 3, confidence: 0.5 },
  { source: 3, target: 7, confidence: 0.5 },
  { source: 5, target: 6, confidence: 1 },
  { source: 6, target: 3, confidence: 1 },
  { source: 8, target: 1, confidence: 0.5 },
];

export const ALL_IDS = TOKENS.map((t) => t.id);

export async function loadGraph(t: TestNode): Promise<void> {
  await call(t.tokens.createTokens.bind(t.tokens), { tokens: { payload: { $case: "packed", value: packTokens(TOKENS) } }, partial: false });
  await call(t.graph.connect.bind(t.graph), { connections: { payload: { $case: "packed", value: packConnections(EDGES) } }, partial: false });
}

/** Connection records as (source, target) pairs. */
export function edgePairs(records: Buffer): [number, number][] {
  const out: [number, number][] = [];
  for (let o = 0; o < records.length; o += 64) out.push([records.readUInt32LE(o), records.readUInt32LE(o + 4)]);
  return out;
}
