/**
 * Graph algorithms as step machines over the expansion protocol, plus their drivers. Run one with
 * `runSync(bfs(1, { maxDepth: 2 }), (req) => store.expand(req))` in process, or with `runAsync`
 * across shard actors.
 */
export { Direction } from "./expansion.ts";
export type { ExpandRequest, Expansion } from "./expansion.ts";
export { runSync, runAsync, checkExpansion } from "./machine.ts";
export type { GraphMachine, ExpandFn, ExpandAsyncFn } from "./machine.ts";
export { MAX_GRAPH_DEPTH, MAX_GRAPH_NODES, edgeCost, isTraversableWeight } from "./params.ts";
export type { TraversalOptions } from "./params.ts";
export { bfs, dfs, kHop } from "./traversal.ts";
export type { TraversalResult } from "./traversal.ts";
export { shortestPath, dijkstraPath, dijkstraTree } from "./paths.ts";
export type { PathResult, ShortestPathTree, DijkstraOptions } from "./paths.ts";
export { subgraph, neighborhood } from "./subgraph.ts";
export type { Subgraph } from "./subgraph.ts";
export { spreadingActivation, DEFAULT_ACTIVATION } from "./activation.ts";
export type { ActivationOptions, ActivationResult } from "./activation.ts";
export { IdIndex } from "./id-index.ts";
