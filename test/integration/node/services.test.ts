import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Direction, RecordFormat, Space } from "../../../src/gen/neurograph/v1/common.ts";
import { PathAlgorithm, TraversalOrder, type TraverseRequest } from "../../../src/gen/neurograph/v1/graph_service.ts";
import { packTokens } from "../api/fixtures.ts";
import { call, startTestNode, type TestNode } from "./harness.ts";
import { ALL_IDS, TOKENS, edgePairs, loadGraph } from "./graph-fixture.ts";

describe("a node over real gRPC (4 shards)", () => {
  let t: TestNode;
  beforeEach(async () => {
    t = await startTestNode();
  });
  afterEach(async () => t.close());

  const get = (ids: number[], allowMissing = false) =>
    call(t.tokens.getTokens.bind(t.tokens), { ids, format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing });
  const connections = async (ids: number[], direction: Direction): Promise<[number, number][]> =>
    edgePairs(
      (await call(t.graph.getConnections.bind(t.graph), { ids, direction, connectionTypes: [], limit: 0, format: RecordFormat.RECORD_FORMAT_PACKED })).records,
    );
  const walk = (req: Partial<TraverseRequest>) =>
    call(t.graph.traverse.bind(t.graph), {
      start: [1],
      order: TraversalOrder.TRAVERSAL_ORDER_BFS,
      direction: Direction.DIRECTION_OUT,
      maxDepth: 5,
      maxNodes: 0,
      connectionTypes: [],
      format: RecordFormat.RECORD_FORMAT_NONE,
      ...req,
    });
  /** Ids by depth, each depth sorted (order within a level is the shards' listing order). */
  const levels = (res: { ids: number[]; depths: number[] }): number[][] => {
    const out: number[][] = [];
    res.ids.forEach((id, i) => (out[res.depths[i]!] ??= []).push(id));
    return out.map((l) => l.sort((a, b) => a - b));
  };

  it("creates tokens (allocating ids for id 0 round-robin over the shards) and gets them back byte for byte", async () => {
    const res = await call(t.tokens.createTokens.bind(t.tokens), {
      tokens: { payload: { $case: "packed", value: packTokens([{ id: 0 }, { id: 7 }, { id: 0 }, { id: 0 }, { id: 0 }, { id: 0 }]) } },
      partial: false,
    });
    expect(res.accepted).toBe(6);
    expect(res.ids[1]).toBe(7);
    expect(new Set(res.ids).size).toBe(6);
    expect(res.ids.every((id) => id > 0)).toBe(true);
    const allocated = res.ids.filter((_, i) => i !== 1);
    expect(new Set(allocated.map((id) => id % 4)).size).toBe(4); // five tokens dealt over four shards
    const got = await get(res.ids);
    const expected = packTokens([{ id: 0 }, { id: 7 }, { id: 0 }, { id: 0 }, { id: 0 }, { id: 0 }]);
    res.ids.forEach((id, i) => expected.writeUInt32LE(id, i * 64 + 48));
    expect(got.records.equals(expected)).toBe(true);
  });

  it("gets in request order across shards, reporting missing ids when allowed", async () => {
    await loadGraph(t);
    const res = await get([4, 99, 1, 6], true);
    expect(res.missing).toEqual([99]);
    expect([0, 1, 2].map((i) => res.records.readUInt32LE(i * 64 + 48))).toEqual([4, 1, 6]);
  });

  it("updates whole records", async () => {
    await loadGraph(t);
    const updated = packTokens([{ ...TOKENS[1]!, weight: 0.75 }, { ...TOKENS[2]!, l1: [3, 3, 3] }]);
    const res = await call(t.tokens.updateTokens.bind(t.tokens), { tokens: { payload: { $case: "packed", value: updated } }, partial: false });
    expect(res).toEqual({ accepted: 2, rejected: [] });
    expect((await get([2, 3])).records.equals(updated)).toBe(true);
  });

  it("connects within and across shards; mirrors make incoming connections visible", async () => {
    await loadGraph(t);
    expect((await connections([1], Direction.DIRECTION_OUT)).sort()).toEqual([[1, 2], [1, 5]]);
    expect(await connections([3], Direction.DIRECTION_IN)).toEqual(expect.arrayContaining([[2, 3], [6, 3]]));
    expect((await connections([3], Direction.DIRECTION_IN)).length).toBe(2);
    expect((await connections([1], Direction.DIRECTION_BOTH)).sort()).toEqual([[1, 2], [1, 5], [8, 1]]);
    const stats = await call(t.admin.getStats.bind(t.admin), {});
    expect(stats.connections).toBe(7 + 5); // 7 owned, 5 of them cross-shard with a mirror
  });

  it("traverses breadth- and depth-first in every direction, across shards", async () => {
    await loadGraph(t);
    expect(levels(await walk({}))).toEqual([[1], [2, 5], [3, 6], [7]]);
    expect(levels(await walk({ maxDepth: 1 }))).toEqual([[1], [2, 5]]);
    expect(levels(await walk({ start: [3], direction: Direction.DIRECTION_IN }))).toEqual([[3], [2, 6], [1, 5], [8]]);
    expect(levels(await walk({ start: [7], direction: Direction.DIRECTION_BOTH, maxDepth: 2 }))).toEqual([[7], [3], [2, 6]]);
    const multi = await walk({ start: [7, 8], direction: Direction.DIRECTION_IN });
    expect(levels(multi)).toEqual([[7, 8], [3], [2, 6], [1, 5]]);
    expect(multi.parents.slice(0, 2)).toEqual([0, 0]);
    const dfs = await walk({ order: TraversalOrder.TRAVERSAL_ORDER_DFS });
    expect([...dfs.ids].sort()).toEqual([1, 2, 3, 5, 6, 7]);
    dfs.ids.forEach((id, i) => {
      if (i === 0) return expect(dfs.parents[i]).toBe(0);
      const parent = dfs.parents[i]!;
      expect(dfs.ids.indexOf(parent)).toBeLessThan(i); // preorder: a parent comes before its children
      expect(dfs.depths[i]).toBe(dfs.depths[dfs.ids.indexOf(parent)]! + 1);
    });
    const limited = await walk({ maxNodes: 3 });
    expect(limited.ids.length).toBe(3);
    expect(limited.truncated).toBe(true);
    const withRecords = await walk({ maxDepth: 1, format: RecordFormat.RECORD_FORMAT_PACKED });
    expect(withRecords.records.length).toBe(3 * 64);
    expect(withRecords.records.readUInt32LE(48)).toBe(1);
  });

  it("finds shortest paths by hops (BFS) and by cost (Dijkstra)", async () => {
    await loadGraph(t);
    const path = (algorithm: PathAlgorithm, target: number, direction = Direction.DIRECTION_OUT) =>
      call(t.graph.shortestPath.bind(t.graph), { source: 1, target, algorithm, direction, connectionTypes: [] });
    const bfs = await path(PathAlgorithm.PATH_ALGORITHM_BFS, 7);
    expect(bfs).toMatchObject({ found: true, path: [1, 2, 3, 7], cost: 3 });
    expect(bfs.visited).toBeGreaterThan(0);
    const dijkstra = await path(PathAlgorithm.PATH_ALGORITHM_DIJKSTRA, 7);
    expect(dijkstra).toMatchObject({ found: true, path: [1, 5, 6, 3, 7] });
    expect(dijkstra.cost).toBeCloseTo(5, 6);
    expect(await path(PathAlgorithm.PATH_ALGORITHM_BFS, 4)).toMatchObject({ found: false, path: [] });
    expect(await path(PathAlgorithm.PATH_ALGORITHM_BFS, 8, Direction.DIRECTION_IN)).toMatchObject({ found: true, path: [1, 8] });
  });

  it("spreads activation with decay, weights and a threshold", async () => {
    await loadGraph(t);
    const res = await call(t.graph.spreadingActivation.bind(t.graph), {
      seeds: [1],
      seedEnergies: [],
      decay: 0.5,
      threshold: 0.01,
      maxDepth: 3,
      direction: Direction.DIRECTION_OUT,
      maxResults: 0,
      connectionTypes: [],
    });
    expect(res.ids).toEqual([1, 5, 2, 6, 3, 7]);
    expect(res.energies).toEqual([1, 0.5, 0.25, 0.25, 0.0625, 0.015625]);
    expect(res.depths).toEqual([0, 1, 1, 2, 2, 3]);
    expect(res.truncated).toBe(false);
    const top = await call(t.graph.spreadingActivation.bind(t.graph), {
      seeds: [3, 8],
      seedEnergies: [1, 2],
      decay: 0.5,
      threshold: 0.2,
      maxDepth: 2,
      direction: Direction.DIRECTION_IN,
      maxResults: 2,
      connectionTypes: [],
    });
    expect(top.ids).toEqual([8, 3]);
    expect(top.truncated).toBe(true);
  });

  it("answers neighbours, range and k-nearest queries merged over every shard", async () => {
    await loadGraph(t);
    const neighbors = await call(t.tokens.neighbors.bind(t.tokens), { id: 1, space: Space.SPACE_L1_PHYSICAL, radius: 1.5, limit: 0, format: RecordFormat.RECORD_FORMAT_NONE });
    expect(neighbors).toMatchObject({ ids: [8, 2, 6], distances: [0.5, 1, 1], truncated: false });
    const range = await call(t.tokens.range.bind(t.tokens), { space: Space.SPACE_L1_PHYSICAL, center: { x: 0, y: 0, z: 0 }, radius: 2, limit: 0, format: RecordFormat.RECORD_FORMAT_PACKED });
    expect(range.ids).toEqual([1, 8, 2, 6, 3]);
    expect(range.records.readUInt32LE(4 * 64 + 48)).toBe(3);
    const limited = await call(t.tokens.range.bind(t.tokens), { space: Space.SPACE_L1_PHYSICAL, center: { x: 0, y: 0, z: 0 }, radius: 2, limit: 2, format: RecordFormat.RECORD_FORMAT_NONE });
    expect(limited).toMatchObject({ ids: [1, 8], truncated: true });
    const byId = await call(t.tokens.kNearest.bind(t.tokens), { space: Space.SPACE_L1_PHYSICAL, query: { $case: "id", value: 1 }, k: 3, format: RecordFormat.RECORD_FORMAT_NONE });
    expect(byId).toMatchObject({ ids: [8, 2, 6], truncated: true });
    const byPoint = await call(t.tokens.kNearest.bind(t.tokens), { space: Space.SPACE_L1_PHYSICAL, query: { $case: "point", value: { x: 5, y: 5, z: 4 } }, k: 2, format: RecordFormat.RECORD_FORMAT_NONE });
    expect(byPoint.ids).toEqual([4, 3]);
    expect(byPoint.distances[0]).toBeCloseTo(1, 9);
  });

  it("keeps spatial answers current after creates, moves and deletes", async () => {
    await loadGraph(t);
    const near = async (): Promise<number[]> =>
      (await call(t.tokens.range.bind(t.tokens), { space: Space.SPACE_L1_PHYSICAL, center: { x: 0, y: 0, z: 0 }, radius: 1.2, limit: 0, format: RecordFormat.RECORD_FORMAT_NONE })).ids;
    expect(await near()).toEqual([1, 8, 2, 6]);
    await call(t.tokens.updateTokens.bind(t.tokens), { tokens: { payload: { $case: "packed", value: packTokens([{ ...TOKENS[1]!, l1: [50, 0, 0] }]) } }, partial: false });
    await call(t.tokens.createTokens.bind(t.tokens), { tokens: { payload: { $case: "packed", value: packTokens([{ id: 11, l1: [0.25, 0, 0] }]) } }, partial: false });
    await call(t.tokens.deleteTokens.bind(t.tokens), { ids: [8], partial: false });
    expect(await near()).toEqual([1, 11, 6]);
  });

  it("deletes tokens with every connection touching them, on every shard", async () => {
    await loadGraph(t);
    const res = await call(t.tokens.deleteTokens.bind(t.tokens), { ids: [3], partial: false });
    expect(res).toEqual({ deleted: 1, rejected: [], connectionsRemoved: 3 });
    expect(await connections([2, 6], Direction.DIRECTION_OUT)).toEqual([]);
    expect(await connections([7], Direction.DIRECTION_IN)).toEqual([]);
    expect((await get(ALL_IDS, true)).missing).toEqual([3]);
    const stats = await call(t.admin.getStats.bind(t.admin), {});
    expect(stats.connections).toBe(4 + 3);
    expect(stats.tokens).toBe(7);
  });

  it("disconnects by key, with or without a type, and drops the mirror", async () => {
    await loadGraph(t);
    const res = await call(t.graph.disconnect.bind(t.graph), { connections: [{ source: 1, target: 2 }, { source: 5, target: 6, type: 0x50 }], partial: false });
    expect(res).toEqual({ removed: 2, rejected: [] });
    expect(await connections([2, 6], Direction.DIRECTION_IN)).toEqual([]);
    expect(await connections([1], Direction.DIRECTION_OUT)).toEqual([[1, 5]]);
  });

  it("ingests a client stream of packed records", async () => {
    const stream = await new Promise<{ received: number; accepted: number; ids: number[] }>((resolve, reject) => {
      const call = t.tokens.ingestTokens((err, res) => (err === null ? resolve(res) : reject(err)));
      for (let m = 0; m < 5; m++) call.write({ records: packTokens(Array.from({ length: 100 }, () => ({ id: 0 }))), partial: false, returnIds: true });
      call.end();
    });
    expect(stream.received).toBe(500);
    expect(stream.accepted).toBe(500);
    expect(new Set(stream.ids).size).toBe(500);
    const stats = await call(t.admin.getStats.bind(t.admin), {});
    expect(stats.tokens).toBe(500);
  });
});
