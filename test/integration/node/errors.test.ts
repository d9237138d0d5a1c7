/**
 * Every failing request gets the right status and details, and leaves the data exactly as it was
 * (a full dump of tokens and connections is compared before and after).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { status, type ServiceError } from "@grpc/grpc-js";
import { decodeStatusDetails } from "../../../src/api/errors.ts";
import { Code } from "../../../src/gen/google/rpc/code.ts";
import { Direction, RecordFormat, Space } from "../../../src/gen/neurograph/v1/common.ts";
import { PathAlgorithm, TraversalOrder } from "../../../src/gen/neurograph/v1/graph_service.ts";
import { packConnections, packTokens } from "../api/fixtures.ts";
import { call, dump, failure, startTestNode, type TestNode } from "./harness.ts";
import { ALL_IDS, loadGraph } from "./graph-fixture.ts";

const PROBE = [...ALL_IDS, 9, 10, 11, 12, 13, 14];

describe("errors through a node leave the data unchanged", () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode();
    await loadGraph(t);
  });
  afterAll(async () => t.close());

  /** Runs a call that must fail; checks its code and that a full dump did not change. */
  async function failsCleanly(code: status, run: () => Promise<unknown>): Promise<ServiceError> {
    const before = await dump(t, PROBE);
    const err = await failure(run());
    expect(err.code, err.details).toBe(code);
    const after = await dump(t, PROBE);
    expect(after.missing).toEqual(before.missing);
    expect(after.tokens.equals(before.tokens)).toBe(true);
    expect(after.connections.equals(before.connections)).toBe(true);
    return err;
  }
  const create = (value: Buffer) => call(t.tokens.createTokens.bind(t.tokens), { tokens: { payload: { $case: "packed", value } }, partial: false });
  const connect = (value: Buffer) => call(t.graph.connect.bind(t.graph), { connections: { payload: { $case: "packed", value } }, partial: false });

  it("a bad value anywhere in a batch spanning shards: INVALID_ARGUMENT naming the item", async () => {
    const err = await failsCleanly(status.INVALID_ARGUMENT, () => create(packTokens([{ id: 9 }, { id: 10 }, { id: 0 }, { id: 11, weight: 2 }])));
    const d = decodeStatusDetails(err.metadata);
    expect(d.badRequest?.fieldViolations.map((v) => v.field)).toEqual(["tokens[3].weight"]);
  });

  it("an existing id among new ones on other shards: ALREADY_EXISTS, nothing created", async () => {
    const err = await failsCleanly(status.ALREADY_EXISTS, () => create(packTokens([{ id: 9 }, { id: 10 }, { id: 0 }, { id: 3 }])));
    expect(err.details).toContain("token 3 already exists");
  });

  it("a repeated id: INVALID_ARGUMENT", async () => {
    await failsCleanly(status.INVALID_ARGUMENT, () => create(packTokens([{ id: 9 }, { id: 10 }, { id: 9 }])));
  });

  it("an update of a missing token among existing ones: NOT_FOUND, nothing updated", async () => {
    const err = await failsCleanly(status.NOT_FOUND, () =>
      call(t.tokens.updateTokens.bind(t.tokens), { tokens: { payload: { $case: "packed", value: packTokens([{ id: 1, weight: 0.9 }, { id: 2, weight: 0.9 }, { id: 13 }]) } }, partial: false }),
    );
    expect(err.details).toContain("token 13 does not exist");
  });

  it("a delete of a missing token: NOT_FOUND, nothing deleted and no connection removed", async () => {
    await failsCleanly(status.NOT_FOUND, () => call(t.tokens.deleteTokens.bind(t.tokens), { ids: [1, 3, 14], partial: false }));
    await failsCleanly(status.INVALID_ARGUMENT, () => call(t.tokens.deleteTokens.bind(t.tokens), { ids: [1, 0], partial: false }));
  });

  it("a connection to a missing token on another shard: NOT_FOUND, no owned edge and no mirror", async () => {
    const err = await failsCleanly(status.NOT_FOUND, () => connect(packConnections([{ source: 4, target: 5 }, { source: 1, target: 14 }])));
    expect(err.details).toContain("target token 14 does not exist");
    await failsCleanly(status.NOT_FOUND, () => connect(packConnections([{ source: 13, target: 1 }])));
  });

  it("a connection that exists: ALREADY_EXISTS, values unchanged", async () => {
    await failsCleanly(status.ALREADY_EXISTS, () => connect(packConnections([{ source: 4, target: 6 }, { source: 1, target: 2, confidence: 0.9 }])));
  });

  it("an undefined connection type or an out-of-range value: INVALID_ARGUMENT", async () => {
    await failsCleanly(status.INVALID_ARGUMENT, () => connect(packConnections([{ source: 4, target: 6, type: 0xf0 }])));
    await failsCleanly(status.INVALID_ARGUMENT, () => connect(packConnections([{ source: 4, target: 6, confidence: 1.5 }])));
  });

  it("a disconnect of a missing key: NOT_FOUND, nothing removed", async () => {
    await failsCleanly(status.NOT_FOUND, () =>
      call(t.graph.disconnect.bind(t.graph), { connections: [{ source: 1, target: 2 }, { source: 2, target: 1 }], partial: false }),
    );
  });

  it("partial batches apply the valid items and report the others with their codes", async () => {
    const res = await call(t.tokens.createTokens.bind(t.tokens), {
      tokens: { payload: { $case: "packed", value: packTokens([{ id: 9 }, { id: 3 }, { id: 10, weight: -1 }]) } },
      partial: true,
    });
    expect(res.accepted).toBe(1);
    expect(res.ids).toEqual([9, 0, 0]);
    expect(res.rejected.map((r) => [r.index, r.id, r.code])).toEqual([
      [1, 3, Code.ALREADY_EXISTS],
      [2, 10, Code.INVALID_ARGUMENT],
    ]);
    const edges = await call(t.graph.connect.bind(t.graph), {
      connections: { payload: { $case: "packed", value: packConnections([{ source: 9, target: 2 }, { source: 9, target: 14 }]) } },
      partial: true,
    });
    expect(edges.accepted).toBe(1);
    expect(edges.rejected.map((r) => [r.index, r.code])).toEqual([[1, Code.NOT_FOUND]]);
    const gone = await call(t.tokens.deleteTokens.bind(t.tokens), { ids: [9, 14], partial: true });
    expect(gone).toMatchObject({ deleted: 1, connectionsRemoved: 1 });
    expect(gone.rejected.map((r) => [r.index, r.id, r.code])).toEqual([[1, 14, Code.NOT_FOUND]]);
  });

  it("reads of unknown tokens: NOT_FOUND", async () => {
    const get = () => call(t.tokens.getTokens.bind(t.tokens), { ids: [1, 14], format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: false });
    expect((await failsCleanly(status.NOT_FOUND, get)).details).toContain("14");
    await failsCleanly(status.NOT_FOUND, () =>
      call(t.graph.traverse.bind(t.graph), { start: [1, 14], order: TraversalOrder.TRAVERSAL_ORDER_BFS, direction: Direction.DIRECTION_OUT, maxNodes: 0, connectionTypes: [], format: RecordFormat.RECORD_FORMAT_NONE }),
    );
    await failsCleanly(status.NOT_FOUND, () =>
      call(t.graph.shortestPath.bind(t.graph), { source: 1, target: 14, algorithm: PathAlgorithm.PATH_ALGORITHM_DIJKSTRA, direction: Direction.DIRECTION_OUT, connectionTypes: [] }),
    );
    await failsCleanly(status.NOT_FOUND, () =>
      call(t.graph.spreadingActivation.bind(t.graph), { seeds: [14], seedEnergies: [], direction: Direction.DIRECTION_OUT, maxResults: 0, connectionTypes: [] }),
    );
    await failsCleanly(status.NOT_FOUND, () =>
      call(t.graph.getConnections.bind(t.graph), { ids: [14], direction: Direction.DIRECTION_OUT, connectionTypes: [], limit: 0, format: RecordFormat.RECORD_FORMAT_PACKED }),
    );
    await failsCleanly(status.NOT_FOUND, () =>
      call(t.tokens.neighbors.bind(t.tokens), { id: 14, space: Space.SPACE_L1_PHYSICAL, radius: 1, limit: 0, format: RecordFormat.RECORD_FORMAT_NONE }),
    );
    await failsCleanly(status.NOT_FOUND, () =>
      call(t.tokens.kNearest.bind(t.tokens), { space: Space.SPACE_L1_PHYSICAL, query: { $case: "id", value: 14 }, k: 2, format: RecordFormat.RECORD_FORMAT_NONE }),
    );
  });

  it("a query point outside its space: INVALID_ARGUMENT", async () => {
    const err = await failsCleanly(status.INVALID_ARGUMENT, () =>
      call(t.tokens.range.bind(t.tokens), { space: Space.SPACE_L2_SENSORY, center: { x: 5, y: 0, z: 0 }, radius: 1, limit: 0, format: RecordFormat.RECORD_FORMAT_NONE }),
    );
    expect(err.details).toContain("x");
  });

  it("edge validation: sizes and ids of 0 never reach the shards", async () => {
    await failsCleanly(status.INVALID_ARGUMENT, () => create(Buffer.alloc(65)));
    await failsCleanly(status.INVALID_ARGUMENT, () =>
      call(t.tokens.getTokens.bind(t.tokens), { ids: [0], format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: true }),
    );
  });
});
