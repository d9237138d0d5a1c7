/**
 * GraphService: decode → validate at the edge → backend → encode. No domain logic here.
 */
import { RecordFormat } from "../gen/neurograph/v1/common.ts";
import type { ConnectionList } from "../gen/neurograph/v1/connection.ts";
import {
  PathAlgorithm,
  TraversalOrder,
  type ConnectRequest,
  type ConnectResponse,
  type DisconnectRequest,
  type DisconnectResponse,
  type GetConnectionsRequest,
  type GetConnectionsResponse,
  type GraphServiceServer,
  type ShortestPathRequest,
  type ShortestPathResponse,
  type SpreadingActivationRequest,
  type SpreadingActivationResponse,
  type TraverseRequest,
  type TraverseResponse,
} from "../gen/neurograph/v1/graph_service.ts";
import type { NodeBackend } from "./backend.ts";
import { asBuffer, mergeRejections, prepareBatch, toItemError } from "./batch.ts";
import type { ApiLimits } from "./config.ts";
import { unary, type CallContext, type HandlerEnv } from "./handlers.ts";
import { decodeConnections, decodeTokens, encodeConnectionKeys, encodeConnections } from "./records.ts";
import { RequestCheck } from "./validation.ts";

/** Defaults of optional graph query parameters (documented in graph_service.proto). */
export const GRAPH_QUERY_DEFAULTS = Object.freeze({
  traverseDepth: 3,
  activationDecay: 0.5,
  activationThreshold: 0.01,
  activationDepth: 3,
  connectionLimit: 10_000,
});

export class GraphServiceHandlers {
  constructor(
    private readonly backend: NodeBackend,
    private readonly limits: ApiLimits,
  ) {}

  async connect(req: ConnectRequest, ctx: CallContext): Promise<ConnectResponse> {
    const check = new RequestCheck("Connect request", this.limits);
    const batch = prepareBatch<ConnectionList>(
      check,
      "connections",
      req.connections?.payload,
      (list) => list.connections,
      (list) => encodeConnections(list.connections),
      req.partial,
      () => 0,
    );
    check.done();
    if (batch.records.length === 0) return { accepted: 0, rejected: mergeRejections(batch, []).map(toItemError) };
    const res = await this.backend.connect(batch.records, { partial: req.partial }, ctx);
    return { accepted: res.accepted, rejected: mergeRejections(batch, res.rejected).map(toItemError) };
  }

  async disconnect(req: DisconnectRequest, ctx: CallContext): Promise<DisconnectResponse> {
    const check = new RequestCheck("Disconnect request", this.limits);
    check.batchSize("connections", req.connections.length);
    const encoded = encodeConnectionKeys(req.connections);
    check.violations.push(...encoded.violations);
    check.done();
    if (req.connections.length === 0) return { removed: 0, rejected: [] };
    const res = await this.backend.disconnect(encoded.keys, { partial: req.partial }, ctx);
    return { removed: res.accepted, rejected: res.rejected.map(toItemError) };
  }

  async getConnections(req: GetConnectionsRequest, ctx: CallContext): Promise<GetConnectionsResponse> {
    const check = new RequestCheck("GetConnections request", this.limits);
    const ids = check.ids("ids", req.ids);
    const direction = check.direction("direction", req.direction);
    const types = check.types("connection_types", req.connectionTypes);
    const limit = check.limit("limit", req.limit, GRAPH_QUERY_DEFAULTS.connectionLimit, this.limits.maxResultLimit);
    const format = check.format("format", req.format, RecordFormat.RECORD_FORMAT_PACKED);
    check.done();
    const res = await this.backend.getConnections({ ids, direction, types, limit }, ctx);
    return {
      records: format.packed ? asBuffer(res.records) : Buffer.alloc(0),
      connections: format.structured ? decodeConnections(res.records) : [],
      truncated: res.truncated,
    };
  }

  async traverse(req: TraverseRequest, ctx: CallContext): Promise<TraverseResponse> {
    const check = new RequestCheck("Traverse request", this.limits);
    const start = check.ids("start", req.start);
    let order: "bfs" | "dfs" = "bfs";
    if (req.order === TraversalOrder.TRAVERSAL_ORDER_DFS) order = "dfs";
    else if (req.order !== TraversalOrder.TRAVERSAL_ORDER_BFS && req.order !== TraversalOrder.TRAVERSAL_ORDER_UNSPECIFIED) {
      check.add("order", req.order, "enum_value", "order must be TRAVERSAL_ORDER_BFS or TRAVERSAL_ORDER_DFS");
    }
    const direction = check.direction("direction", req.direction);
    const maxDepth = check.depth("max_depth", req.maxDepth, GRAPH_QUERY_DEFAULTS.traverseDepth);
    const maxNodes = check.limit("max_nodes", req.maxNodes, this.limits.defaultTraversalNodes, this.limits.maxTraversalNodes);
    const types = check.types("connection_types", req.connectionTypes);
    const format = check.format("format", req.format, RecordFormat.RECORD_FORMAT_NONE);
    check.done();
    const res = await this.backend.traverse(
      { start, order, direction, maxDepth, maxNodes, types, withRecords: format.packed || format.structured },
      ctx,
    );
    return {
      ids: Array.from(res.ids),
      depths: Array.from(res.depths),
      parents: Array.from(res.parents),
      truncated: res.truncated,
      records: format.packed ? asBuffer(res.records) : Buffer.alloc(0),
      tokens: format.structured && res.records !== undefined ? decodeTokens(res.records) : [],
    };
  }

  async shortestPath(req: ShortestPathRequest, ctx: CallContext): Promise<ShortestPathResponse> {
    const check = new RequestCheck("ShortestPath request", this.limits);
    const source = check.id("source", req.source);
    const target = check.id("target", req.target);
    let algorithm: "bfs" | "dijkstra" = "bfs";
    if (req.algorithm === PathAlgorithm.PATH_ALGORITHM_DIJKSTRA) algorithm = "dijkstra";
    else if (req.algorithm !== PathAlgorithm.PATH_ALGORITHM_BFS && req.algorithm !== PathAlgorithm.PATH_ALGORITHM_UNSPECIFIED) {
      check.add("algorithm", req.algorithm, "enum_value", "algorithm must be PATH_ALGORITHM_BFS or PATH_ALGORITHM_DIJKSTRA");
    }
    const direction = check.direction("direction", req.direction);
    const maxDepth = check.depth("max_depth", req.maxDepth, this.limits.maxDepth);
    const types = check.types("connection_types", req.connectionTypes);
    check.done();
    const res = await this.backend.shortestPath({ source, target, algorithm, direction, maxDepth, types }, ctx);
    return {
      found: res.path !== null,
      path: res.path === null ? [] : Array.from(res.path),
      cost: res.path === null ? 0 : res.cost,
      visited: res.visited,
    };
  }

  async spreadingActivation(req: SpreadingActivationRequest, ctx: CallContext): Promise<SpreadingActivationResponse> {
    const check = new RequestCheck("SpreadingActivation request", this.limits);
    const seeds = check.ids("seeds", req.seeds);
    let energies: Float32Array;
    if (req.seedEnergies.length === 0) energies = new Float32Array(seeds.length).fill(1);
    else {
      if (req.seedEnergies.length !== seeds.length) {
        check.add("seed_energies", `${req.seedEnergies.length} values`, "same_length", `seed_energies must be empty or hold one energy per seed (${seeds.length})`);
      }
      req.seedEnergies.forEach((e, i) => {
        if (!Number.isFinite(e)) check.add(`seed_energies[${i}]`, e, "finite", "seed energies must be finite numbers");
      });
      energies = Float32Array.from(req.seedEnergies);
    }
    const decay = req.decay ?? GRAPH_QUERY_DEFAULTS.activationDecay;
    if (!(decay > 0 && decay <= 1)) check.add("decay", decay, "range", "decay must be within (0, 1]");
    const threshold = check.inRange("threshold", req.threshold ?? GRAPH_QUERY_DEFAULTS.activationThreshold, 0, Number.MAX_VALUE);
    const maxDepth = check.depth("max_depth", req.maxDepth, GRAPH_QUERY_DEFAULTS.activationDepth);
    const direction = check.direction("direction", req.direction);
    const maxResults = check.limit("max_results", req.maxResults, this.limits.defaultResultLimit, this.limits.maxResultLimit);
    const types = check.types("connection_types", req.connectionTypes);
    check.done();
    const res = await this.backend.spreadingActivation(
      { seeds, energies, decay, threshold, maxDepth, direction, maxResults, types },
      ctx,
    );
    return { ids: Array.from(res.ids), energies: Array.from(res.energies), depths: Array.from(res.depths), truncated: res.truncated };
  }

  /** The grpc-js service implementation (Activate and Feedback are in guardian-service.ts). */
  service(env: HandlerEnv): Omit<GraphServiceServer, "activate" | "feedback"> {
    return {
      connect: unary(env, (r: ConnectRequest, c) => this.connect(r, c), { batchField: "connections" }),
      disconnect: unary(env, (r: DisconnectRequest, c) => this.disconnect(r, c), { batchField: "connections" }),
      getConnections: unary(env, (r: GetConnectionsRequest, c) => this.getConnections(r, c), { batchField: "ids" }),
      traverse: unary(env, (r: TraverseRequest, c) => this.traverse(r, c), { batchField: "start" }),
      shortestPath: unary(env, (r: ShortestPathRequest, c) => this.shortestPath(r, c)),
      spreadingActivation: unary(env, (r: SpreadingActivationRequest, c) => this.spreadingActivation(r, c), { batchField: "seeds" }),
    };
  }
}
