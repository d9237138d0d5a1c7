/**
 * Shard store: the in-memory tokens and connections of one shard.
 *
 * API summary. `new ShardStore({ shard, shardCount, initialCapacity?, initialConnectionCapacity?,
 * connectionLimits? })`; every id must satisfy `id % shardCount === shard`. Tokens:
 * `insertRecords(records, { strict?, skip?, allocateIds?, validate? }) → InsertResult` (id 0 →
 * allocated id, written back into the records and returned in `ids`), `updateRecords(records,
 * opts) → WriteResult`, `deleteIds(ids, opts) → DeleteResult` (also drops every connection touching
 * the tokens and returns the remote keys other shards must drop: `remoteIn`, `remoteOut`),
 * `get(id) → Uint8Array | undefined`, `getRecords(ids, out?) → { records, found, count }`,
 * `has(id)`, `slotOf(id)`, `size`, `capacity`, `columns: TokenColumns` (read-only, re-read after
 * writes). Connections: `connectRecords(records, { strict?, skip?, limits? }) → ConnectResult`
 * (upsert by (source, target, type); remote source + local target = mirror in-edge),
 * `disconnect(source, target, type) → boolean`, `disconnectKeys(sources, targets, types, opts)`,
 * `getConnectionRecords(...)`, `connectionIndex(...)`, `connections: ConnectionColumns`,
 * `isConnectionLive(e)`, `isMirror(e)`, `outDegree(id)`, `inDegree(id)`, cursors
 * `firstOutEdge(id)/nextOutEdge(e)` and `firstInEdge(id)/nextInEdge(e)` (−1 ends), and
 * `expand(req: ExpandRequest) → Expansion` (graph/expansion.ts; weight = confidence; Out also
 * follows BIDIRECTIONAL in-edges, In also BIDIRECTIONAL out-edges, Both follows all). Learning:
 * `activateConnection`, `recordFeedback`, `decayConnections(now)`, `lifecycleProposals()`,
 * `applyProposal(p, now)`. Snapshots: `exportTokens()`, `exportConnections()`,
 * `ShardStore.fromSnapshot(tokens, connections, options)`. Quotas: `byteSize()` (exact bytes of
 * every typed array owned), `connectionCount`. Strict writes throw `ValidationError` with one
 * violation per bad item (rules ALREADY_EXISTS, NOT_FOUND, duplicate_in_batch, not_owned, …) and
 * leave the store byte-identical; non-strict writes apply the valid items and return violations.
 */
export * from "./types.ts";
export { ShardStore } from "./shard-store.ts";
