import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { status } from "@grpc/grpc-js";
import { RecordFormat, Space } from "../../../src/gen/neurograph/v1/common.ts";
import { PathAlgorithm, TraversalOrder } from "../../../src/gen/neurograph/v1/graph_service.ts";
import { ShardState } from "../../../src/gen/neurograph/v1/admin_service.ts";
import type { IngestTokensRequest, IngestTokensResponse } from "../../../src/gen/neurograph/v1/token_service.ts";
import { Code } from "../../../src/gen/google/rpc/code.ts";
import { statusToError } from "../../../src/api/errors.ts";
import { ValidationError } from "../../../src/core/errors.ts";
import { call, failure, startHarness, type Harness } from "./harness.ts";
import { packConnections, packTokens, structuredConnection, structuredToken, type TokenSpec } from "./fixtures.ts";

const SPECS: TokenSpec[] = [
  { id: 1, l1: [0, 0, 0], weight: 0.25, entityType: 5, level: 1, radius: 1.5, strength: 0.8 },
  { id: 2, l1: [1, 0, 0], l8: [0.1234, -0.5, 3.2767], weight: 0.5 },
  { id: 3, l1: [0, 2, 0], weight: 1 },
  { id: 4, l1: [5, 5, 5], weight: 0 },
];

describe("api services over real gRPC", () => {
  let h: Harness;
  beforeEach(async () => {
    await h?.close();
    h = await startHarness();
  });
  afterAll(async () => h.close());

  const create = (tokens: Parameters<Harness["tokens"]["createTokens"]>[0]) => call(h.tokens.createTokens.bind(h.tokens), tokens);
  const get = (ids: number[], format = RecordFormat.RECORD_FORMAT_PACKED, allowMissing = false) =>
    call(h.tokens.getTokens.bind(h.tokens), { ids, format, allowMissing });

  it("stores the same bytes from the structured and the packed form", async () => {
    const structured = await create({ tokens: { payload: { $case: "structured", value: { tokens: SPECS.map(structuredToken) } } }, partial: false });
    expect(structured).toEqual({ ids: [1, 2, 3, 4], accepted: 4, rejected: [] });
    const fromStructured = await get([1, 2, 3, 4]);
    expect(fromStructured.records.equals(packTokens(SPECS))).toBe(true);

    await call(h.tokens.deleteTokens.bind(h.tokens), { ids: [1, 2, 3, 4], partial: false });
    const packed = await create({ tokens: { payload: { $case: "packed", value: packTokens(SPECS) } }, partial: false });
    expect(packed).toEqual(structured);
    expect((await get([1, 2, 3, 4])).records.equals(fromStructured.records)).toBe(true);
  });

  it("allocates ids for id 0 and returns them in request order", async () => {
    const res = await create({ tokens: { payload: { $case: "packed", value: packTokens([{ id: 0 }, { id: 7 }, { id: 0 }]) } }, partial: false });
    expect(res.ids[1]).toBe(7);
    expect(res.ids[0]).not.toBe(0);
    expect(res.ids[2]).not.toBe(0);
    expect(new Set(res.ids).size).toBe(3);
    const got = await get(res.ids, RecordFormat.RECORD_FORMAT_STRUCTURED);
    expect(got.tokens.map((t) => t.id)).toEqual(res.ids);
    expect(got.records.length).toBe(0);
  });

  it("returns structured copies with decoded fields, and missing ids when allowed", async () => {
    await create({ tokens: { payload: { $case: "packed", value: packTokens(SPECS) } }, partial: false });
    const res = await get([2, 99, 1], RecordFormat.RECORD_FORMAT_BOTH, true);
    expect(res.missing).toEqual([99]);
    expect(res.records.length).toBe(128);
    const [t2, t1] = res.tokens;
    expect(t2!.coords!.l8).toEqual({ x: 0.1234, y: -0.5, z: 3.2767 });
    expect(t2!.coords!.l1).toEqual({ x: 1, y: 0, z: 0 });
    expect(t1).toMatchObject({ id: 1, weight: 0.25, entityType: 5, level: 1, fieldRadius: 1.5, fieldStrength: 0.8, systemFlags: 1, timestamp: 1_700_000_000 });
    const err = await failure(get([2, 99]));
    expect(err.code).toBe(status.NOT_FOUND);
  });

  it("updates whole tokens and reports items of a partial update", async () => {
    await create({ tokens: { payload: { $case: "packed", value: packTokens(SPECS) } }, partial: false });
    const update = packTokens([{ ...SPECS[0]!, weight: 0.75 }, { id: 50 }]);
    const res = await call(h.tokens.updateTokens.bind(h.tokens), { tokens: { payload: { $case: "packed", value: update } }, partial: true });
    expect(res.accepted).toBe(1);
    expect(res.rejected).toEqual([expect.objectContaining({ index: 1, id: 50, code: Code.NOT_FOUND, rule: "token_exists" })]);
    expect((await get([1], RecordFormat.RECORD_FORMAT_STRUCTURED)).tokens[0]!.weight).toBe(0.75);
  });

  it("deletes tokens with their connections", async () => {
    await create({ tokens: { payload: { $case: "packed", value: packTokens(SPECS) } }, partial: false });
    await call(h.graph.connect.bind(h.graph), { connections: { payload: { $case: "packed", value: packConnections([{ source: 1, target: 2 }, { source: 3, target: 1 }, { source: 2, target: 3 }]) } }, partial: false });
    const res = await call(h.tokens.deleteTokens.bind(h.tokens), { ids: [1, 77], partial: true });
    expect(res).toMatchObject({ deleted: 1, connectionsRemoved: 2 });
    expect(res.rejected).toEqual([expect.objectContaining({ index: 1, id: 77, code: Code.NOT_FOUND })]);
    expect(h.backend.edges.size).toBe(1);
  });

  function ingest(messages: IngestTokensRequest[]): Promise<IngestTokensResponse> {
    return new Promise((resolve, reject) => {
      const stream = h.tokens.ingestTokens((err, res) => (err === null ? resolve(res) : reject(err)));
      for (const m of messages) stream.write(m);
      stream.end();
    });
  }
  const chunk = (n: number, from = 0, weight = 0.5): TokenSpec[] => Array.from({ length: n }, (_, i) => ({ id: 0, l1: [from + i, 0, 0], weight }));

  it("ingests a client stream of packed records and returns a summary", async () => {
    const msgs = [0, 1, 2].map((k) => ({ records: packTokens(chunk(100, k * 100)), partial: false, returnIds: k === 0 }));
    const res = await ingest(msgs);
    expect(res).toMatchObject({ received: 300, accepted: 300, rejectedCount: 0, messages: 3 });
    expect(res.ids).toHaveLength(300);
    expect(new Set(res.ids).size).toBe(300);
    expect(h.backend.tokens.size).toBe(300);
  });

  it("reports stream positions of rejected records (partial) and stops at the first bad message (strict)", async () => {
    const bad = chunk(10, 100);
    bad[3]!.weight = 2;
    const partial = await ingest([
      { records: packTokens(chunk(100)), partial: true, returnIds: false },
      { records: packTokens(bad), partial: false, returnIds: false },
    ]);
    expect(partial).toMatchObject({ received: 110, accepted: 109, rejectedCount: 1 });
    expect(partial.rejected).toEqual([expect.objectContaining({ index: 103, rule: "weight_range", code: Code.INVALID_ARGUMENT })]);

    const before = h.backend.tokens.size;
    const err = await failure(ingest([
      { records: packTokens(chunk(100)), partial: false, returnIds: false },
      { records: packTokens(bad), partial: false, returnIds: false },
      { records: packTokens(chunk(100)), partial: false, returnIds: false },
    ]));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain("the 100 records before this message were applied");
    const typed = statusToError(err);
    expect(typed).toBeInstanceOf(ValidationError);
    expect((typed as ValidationError).violations).toEqual([expect.objectContaining({ index: 103, field: "weight", rule: "weight_range" })]);
    expect(h.backend.tokens.size).toBe(before + 100);

    const ragged = await failure(ingest([{ records: Buffer.alloc(100), partial: false, returnIds: false }]));
    expect(ragged.code).toBe(status.INVALID_ARGUMENT);
    expect(ragged.details).toContain("64-byte records");
  });

  it("answers neighbours, range and k-nearest queries", async () => {
    await create({ tokens: { payload: { $case: "packed", value: packTokens(SPECS) } }, partial: false });
    const space = Space.SPACE_L1_PHYSICAL;
    const nb = await call(h.tokens.neighbors.bind(h.tokens), { id: 1, space, radius: 2.5, limit: 0, format: RecordFormat.RECORD_FORMAT_UNSPECIFIED });
    expect(nb).toEqual({ ids: [2, 3], distances: [1, 2], truncated: false, records: Buffer.alloc(0), tokens: [] });
    const range = await call(h.tokens.range.bind(h.tokens), { space, center: { x: 0, y: 0, z: 0 }, radius: 1.5, limit: 1, format: RecordFormat.RECORD_FORMAT_STRUCTURED });
    expect(range.ids).toEqual([1]);
    expect(range.truncated).toBe(true);
    expect(range.tokens[0]!.id).toBe(1);
    const knnPoint = await call(h.tokens.kNearest.bind(h.tokens), { space, query: { $case: "point", value: { x: 5, y: 5, z: 4 } }, k: 2, format: RecordFormat.RECORD_FORMAT_PACKED });
    expect(knnPoint.ids).toEqual([4, 3]);
    expect(knnPoint.records.equals(Buffer.concat([packTokens([SPECS[3]!]), packTokens([SPECS[2]!])]))).toBe(true);
    const knnId = await call(h.tokens.kNearest.bind(h.tokens), { space, query: { $case: "id", value: 1 }, k: 1, format: RecordFormat.RECORD_FORMAT_NONE });
    expect(knnId.ids).toEqual([2]);
  });

  it("connects in either form and walks the graph", async () => {
    await create({ tokens: { payload: { $case: "packed", value: packTokens(SPECS) } }, partial: false });
    const edges = [
      { source: 1, target: 2, confidence: 0.9 },
      { source: 2, target: 3, confidence: 0.9 },
      { source: 1, target: 4, confidence: 0.1 },
      { source: 4, target: 3, confidence: 0.1 },
    ];
    const structured = await call(h.graph.connect.bind(h.graph), { connections: { payload: { $case: "structured", value: { connections: edges.slice(0, 2).map(structuredConnection) } } }, partial: false });
    const packed = await call(h.graph.connect.bind(h.graph), { connections: { payload: { $case: "packed", value: packConnections(edges.slice(2)) } }, partial: false });
    expect(structured).toEqual({ accepted: 2, rejected: [] });
    expect(packed).toEqual({ accepted: 2, rejected: [] });
    const conns = await call(h.graph.getConnections.bind(h.graph), { ids: [1, 2], direction: 0, connectionTypes: [], limit: 0, format: RecordFormat.RECORD_FORMAT_BOTH });
    expect(conns.records.equals(packConnections([edges[0]!, edges[2]!, edges[1]!]))).toBe(true);
    expect(conns.connections.map((c) => [c.source, c.target, c.pullStrength, c.mutability])).toEqual([[1, 2, 1, 2], [1, 4, 1, 2], [2, 3, 1, 2]]);

    const bfs = await call(h.graph.traverse.bind(h.graph), { start: [1], order: TraversalOrder.TRAVERSAL_ORDER_BFS, direction: 0, maxDepth: undefined, maxNodes: 0, connectionTypes: [], format: RecordFormat.RECORD_FORMAT_STRUCTURED });
    expect(bfs).toMatchObject({ ids: [1, 2, 4, 3], depths: [0, 1, 1, 2], parents: [0, 1, 1, 2], truncated: false });
    expect(bfs.tokens.map((t) => t.id)).toEqual([1, 2, 4, 3]);
    const shallow = await call(h.graph.traverse.bind(h.graph), { start: [1], order: TraversalOrder.TRAVERSAL_ORDER_DFS, direction: 0, maxDepth: 0, maxNodes: 0, connectionTypes: [], format: 0 });
    expect(shallow.ids).toEqual([1]);

    const hops = await call(h.graph.shortestPath.bind(h.graph), { source: 1, target: 3, algorithm: PathAlgorithm.PATH_ALGORITHM_BFS, direction: 0, maxDepth: undefined, connectionTypes: [] });
    expect(hops).toMatchObject({ found: true, path: [1, 2, 3], cost: 2 });
    const cheap = await call(h.graph.shortestPath.bind(h.graph), { source: 1, target: 3, algorithm: PathAlgorithm.PATH_ALGORITHM_DIJKSTRA, direction: 0, maxDepth: undefined, connectionTypes: [] });
    expect(cheap.path).toEqual([1, 2, 3]);
    expect(cheap.cost).toBeCloseTo(2 / 0.9, 5);
    const none = await call(h.graph.shortestPath.bind(h.graph), { source: 3, target: 1, algorithm: 0, direction: 0, maxDepth: undefined, connectionTypes: [] });
    expect(none).toMatchObject({ found: false, path: [], cost: 0 });

    const act = await call(h.graph.spreadingActivation.bind(h.graph), { seeds: [1], seedEnergies: [], decay: undefined, threshold: undefined, maxDepth: 1, direction: 0, maxResults: 0, connectionTypes: [] });
    expect(act).toEqual({ ids: [1, 2, 4], energies: [1, 0.5, 0.5], depths: [0, 1, 1], truncated: false });

    const gone = await call(h.graph.disconnect.bind(h.graph), { connections: [{ source: 1, target: 4, type: undefined }], partial: false });
    expect(gone).toEqual({ removed: 1, rejected: [] });
  });

  it("reports node stats and shards", async () => {
    await create({ tokens: { payload: { $case: "packed", value: packTokens(SPECS) } }, partial: false });
    const stats = await call(h.admin.getStats.bind(h.admin), {});
    expect(stats).toMatchObject({ nodeId: "memory-node", tokens: 4, tokenBytes: 256, shardCount: 4, rssBytes: 123456789 });
    const shards = await call(h.admin.listShards.bind(h.admin), {});
    expect(shards.shards.map((s) => s.state)).toEqual([ShardState.SHARD_STATE_SERVING, ShardState.SHARD_STATE_SERVING, ShardState.SHARD_STATE_SERVING, ShardState.SHARD_STATE_READ_ONLY]);
    expect(shards.shards[1]).toMatchObject({ shard: 1, tokens: 1, mailboxDepth: 1, mailboxCapacity: 1024 });
  });
});
