/**
 * `NeuroGraphClient`: typed methods over every RPC of TokenService, GraphService, AdminService
 * and grpc.health.v1, on one channel. Small calls take and return token objects; bulk calls take
 * packed 64-byte records (`Uint8Array`) and return them on request.
 *
 * Retried when they fail with UNAVAILABLE or overload (RESOURCE_EXHAUSTED, not quota): reads,
 * queries, updates, deletes, disconnects, and creates whose tokens all carry explicit ids (a
 * retry after a lost reply then reports ALREADY_EXISTS for tokens the first attempt created).
 * Never retried: creates that allocate ids, connects, the ingest stream.
 */
import { credentials } from "@grpc/grpc-js";
import { AlreadyExistsError, ErrorCode } from "../core/errors.ts";
import { RecordFormat } from "../gen/neurograph/v1/common.ts";
import { AdminServiceClient } from "../gen/neurograph/v1/admin_service.ts";
import { FieldServiceClient } from "../gen/neurograph/v1/field_service.ts";
import { GraphServiceClient } from "../gen/neurograph/v1/graph_service.ts";
import { TokenServiceClient, TokenServiceService, type SpatialQueryResponse } from "../gen/neurograph/v1/token_service.ts";
import { HealthClient } from "../gen/grpc/health/v1/health.ts";
import { createMany, type CreateManyOptions } from "./batch.ts";
import { FieldClient } from "./field.ts";
import { ingestAll, TokenWriter, type IngestOptions, type IngestSummary, type TokenWriteInput } from "./ingest.ts";
import { resolveClientOptions, type ClientOptions, type ResolvedClientOptions } from "./options.ts";
import {
  checkPacked,
  CONNECTION_RECORD_SIZE,
  decodeConnectionRecords,
  decodeTokenRecords,
  encodeConnectionInputs,
  TOKEN_RECORD_SIZE,
  encodeTokenInputs,
  tokenRecordIds,
  type Connection,
  type ConnectionInput,
  type ConnectionKey,
  type Token,
  type TokenInput,
} from "./records.ts";
import { Invoker, rpc, type CallOptions } from "./rpc.ts";
import {
  asBuffer,
  fromItemError,
  healthStatusName,
  idList,
  shardStateName,
  toAlgorithm,
  toDirection,
  toOrder,
  toSpace,
  toVec3,
  type CreateResult,
  type DeleteResult,
  type GetConnectionsQuery,
  type HealthStatus,
  type KNearestQuery,
  type NeighborsQuery,
  type NodeStats,
  type RangeQuery,
  type ShardInfo,
  type ShardSnapshotInfo,
  type ShortestPathQuery,
  type ShortestPathResult,
  type SpatialResult,
  type SpreadingActivationQuery,
  type SpreadingActivationResult,
  type TraverseQuery,
  type TraverseResult,
  type WriteOptions,
  type WriteResult,
} from "./types.ts";

type Tokens = readonly TokenInput[] | Uint8Array;
type Call = WriteOptions & CallOptions;

function packTokens(tokens: Tokens): Uint8Array {
  if (tokens instanceof Uint8Array) {
    checkPacked(tokens, "token records");
    return tokens;
  }
  return encodeTokenInputs(tokens);
}

function tokenBatch(records: Uint8Array): { payload: { $case: "packed"; value: Buffer } } {
  return { payload: { $case: "packed", value: asBuffer(records) } };
}

function spatial(res: SpatialQueryResponse, withTokens: boolean | undefined): SpatialResult {
  const base = { ids: Uint32Array.from(res.ids), distances: Float64Array.from(res.distances), truncated: res.truncated };
  if (withTokens !== true) return base;
  return { ...base, records: res.records, tokens: decodeTokenRecords(res.records) };
}

const ABSENT = 0;
const STORED_AS_SENT = 1;
const STORED_OTHERWISE = 2;

const recordsFormat = (withTokens: boolean | undefined): RecordFormat => (withTokens === true ? RecordFormat.RECORD_FORMAT_PACKED : RecordFormat.RECORD_FORMAT_NONE);

export class NeuroGraphClient {
  readonly options: ResolvedClientOptions;
  readonly #invoker: Invoker;
  readonly #tokens: TokenServiceClient;
  readonly #graph: GraphServiceClient;
  readonly #admin: AdminServiceClient;
  readonly #health: HealthClient;
  /** The field engine (FieldService). */
  readonly field: FieldClient;

  /** A client that connects lazily, on its first call. Throws a ValidationError for bad options. */
  constructor(options: ClientOptions = {}) {
    this.options = resolveClientOptions(options);
    this.#invoker = new Invoker(this.options);
    const stubOptions = { channelOverride: this.#invoker.channel };
    const insecure = credentials.createInsecure();
    this.#tokens = new TokenServiceClient(this.options.address, insecure, stubOptions);
    this.#graph = new GraphServiceClient(this.options.address, insecure, stubOptions);
    this.#admin = new AdminServiceClient(this.options.address, insecure, stubOptions);
    this.#health = new HealthClient(this.options.address, insecure, stubOptions);
    this.field = new FieldClient(this.#invoker, new FieldServiceClient(this.options.address, insecure, stubOptions));
  }

  /**
   * Creates a client and waits until it is connected (`connectTimeoutMs`, default 5 s);
   * throws UnavailableError when the node cannot be reached.
   */
  static async connect(options: ClientOptions = {}): Promise<NeuroGraphClient> {
    const client = new NeuroGraphClient(options);
    if (client.options.connectTimeoutMs > 0) {
      try {
        await client.#invoker.waitForReady(client.options.connectTimeoutMs);
      } catch (err) {
        client.close();
        throw err;
      }
    }
    return client;
  }

  get address(): string {
    return this.options.address;
  }

  /** Closes the channel; calls in flight fail with CANCELLED or UNAVAILABLE. Idempotent. */
  close(): void {
    this.#invoker.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // ------------------------------------------------------------------------------------------
  // Tokens

  /**
   * Creates tokens (id 0 or absent = allocate). Retried only when every token has an id. When a
   * retry finds tokens already there (an earlier attempt was applied, or applied on some shards,
   * but its answer was lost), the tokens are read back: those stored exactly as sent count as
   * created by this call, and the ones still missing are created (the batch is rolled forward to
   * what was asked). Tokens stored differently were someone else's: ALREADY_EXISTS stands.
   */
  async createTokens(tokens: Tokens, options: Call = {}): Promise<CreateResult> {
    const records = packTokens(tokens);
    const ids = tokenRecordIds(records);
    const explicit = !ids.includes(0);
    let retried = false;
    const call: Call = explicit
      ? {
          ...options,
          onRetry: (e) => {
            retried = true;
            options.onRetry?.(e);
          },
        }
      : options;
    const partial = options.partial ?? false;
    let result: CreateResult;
    try {
      const res = await this.#invoker.unary(rpc(this.#tokens, "createTokens"), { tokens: tokenBatch(records), partial }, explicit, call);
      result = { ids: Uint32Array.from(res.ids), accepted: res.accepted, rejected: res.rejected.map((e) => fromItemError(e)) };
    } catch (err) {
      if (!retried || !(err instanceof AlreadyExistsError)) throw err;
      const stored = await this.#storedAsSent(records, ids, options);
      if (stored.includes(STORED_OTHERWISE)) throw err;
      const absent: number[] = [];
      stored.forEach((state, i) => state === ABSENT && absent.push(i));
      if (absent.length > 0) {
        const rest = new Uint8Array(absent.length * TOKEN_RECORD_SIZE);
        absent.forEach((i, k) => rest.set(records.subarray(i * TOKEN_RECORD_SIZE, (i + 1) * TOKEN_RECORD_SIZE), k * TOKEN_RECORD_SIZE));
        await this.createTokens(rest, options);
      }
      return { ids, accepted: ids.length, rejected: [] };
    }
    if (!retried || !partial || !result.rejected.some((r) => r.code === ErrorCode.AlreadyExists)) return result;
    const stored = await this.#storedAsSent(records, ids, options);
    const rejected = result.rejected.filter((r) => !(r.code === ErrorCode.AlreadyExists && stored[r.index] === STORED_AS_SENT));
    return { ...result, accepted: result.accepted + result.rejected.length - rejected.length, rejected };
  }

  /** Per record: whether the node holds no token with its id, that record byte for byte, or another token. */
  async #storedAsSent(records: Uint8Array, ids: Uint32Array, options: CallOptions): Promise<Uint8Array> {
    const { deadlineMs, signal, metadata } = options;
    const extra = { ...(deadlineMs === undefined ? {} : { deadlineMs }), ...(signal === undefined ? {} : { signal }), ...(metadata === undefined ? {} : { metadata }) };
    const { records: stored, missing } = await this.getTokenRecords(ids, { allowMissing: true, ...extra });
    const absent = new Set(missing);
    const out = new Uint8Array(ids.length);
    for (let i = 0, at = 0; i < ids.length; i++) {
      if (absent.has(ids[i]!)) {
        out[i] = ABSENT;
        continue;
      }
      const sent = records.subarray(i * TOKEN_RECORD_SIZE, (i + 1) * TOKEN_RECORD_SIZE);
      const got = stored.subarray(at * TOKEN_RECORD_SIZE, (at + 1) * TOKEN_RECORD_SIZE);
      at++;
      out[i] = Buffer.compare(sent, got) === 0 ? STORED_AS_SENT : STORED_OTHERWISE;
    }
    return out;
  }

  /** Creates a large set of tokens in chunks of `batchSize`, `concurrency` calls at a time. */
  createMany(tokens: Tokens, options: CreateManyOptions = {}): Promise<CreateResult> {
    return createMany((records, o) => this.createTokens(records, o), tokens, options);
  }

  /** Tokens by id, in request order. Unknown ids: NotFoundError, or listed in `missing` with `allowMissing`. */
  async getTokens(ids: ArrayLike<number>, options: CallOptions & { allowMissing?: boolean } = {}): Promise<{ tokens: Token[]; missing: Uint32Array }> {
    const { records, missing } = await this.getTokenRecords(ids, options);
    return { tokens: decodeTokenRecords(records), missing };
  }

  /** One token; NotFoundError when it does not exist. */
  async getToken(id: number, options: CallOptions = {}): Promise<Token> {
    const { tokens } = await this.getTokens([id], options);
    return tokens[0]!;
  }

  /** Like `getTokens`, as packed records (bulk reads). */
  async getTokenRecords(ids: ArrayLike<number>, options: CallOptions & { allowMissing?: boolean } = {}): Promise<{ records: Uint8Array; missing: Uint32Array }> {
    const req = { ids: idList(ids), format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: options.allowMissing ?? false };
    const res = await this.#invoker.unary(rpc(this.#tokens, "getTokens"), req, true, options);
    return { records: res.records, missing: Uint32Array.from(res.missing) };
  }

  /** Replaces whole tokens, matched by id. */
  async updateTokens(tokens: Tokens, options: Call = {}): Promise<WriteResult> {
    const req = { tokens: tokenBatch(packTokens(tokens)), partial: options.partial ?? false };
    const res = await this.#invoker.unary(rpc(this.#tokens, "updateTokens"), req, true, options);
    return { accepted: res.accepted, rejected: res.rejected.map((e) => fromItemError(e)) };
  }

  /** Deletes tokens with their connections. */
  async deleteTokens(ids: ArrayLike<number>, options: Call = {}): Promise<DeleteResult> {
    const req = { ids: idList(ids), partial: options.partial ?? false };
    const res = await this.#invoker.unary(rpc(this.#tokens, "deleteTokens"), req, true, options);
    return { accepted: res.deleted, rejected: res.rejected.map((e) => fromItemError(e)), connectionsRemoved: res.connectionsRemoved };
  }

  /** A writer for bulk ingest over the IngestTokens stream (see `TokenWriter`). */
  tokenWriter(options: IngestOptions = {}): TokenWriter {
    const stub = this.#tokens;
    const method = TokenServiceService.ingestTokens;
    return new TokenWriter(
      (md, opts, cb) => stub.makeClientStreamRequest(method.path, (message: Buffer) => message, method.responseDeserialize, md, opts, cb),
      this.#invoker.metadata(options.metadata),
      options,
    );
  }

  /** Streams every item of `source` (token objects, arrays of them, packed records) and returns the summary. */
  ingest(source: Iterable<TokenWriteInput> | AsyncIterable<TokenWriteInput>, options: IngestOptions = {}): Promise<IngestSummary> {
    return ingestAll(this.tokenWriter(options), source);
  }

  async neighbors(q: NeighborsQuery, options: CallOptions = {}): Promise<SpatialResult> {
    const req = { id: q.id, space: toSpace(q.space), radius: q.radius, limit: q.limit ?? 0, format: recordsFormat(q.withTokens) };
    return spatial(await this.#invoker.unary(rpc(this.#tokens, "neighbors"), req, true, options), q.withTokens);
  }

  async range(q: RangeQuery, options: CallOptions = {}): Promise<SpatialResult> {
    const req = { space: toSpace(q.space), center: toVec3(q.center), radius: q.radius, limit: q.limit ?? 0, format: recordsFormat(q.withTokens) };
    return spatial(await this.#invoker.unary(rpc(this.#tokens, "range"), req, true, options), q.withTokens);
  }

  async kNearest(q: KNearestQuery, options: CallOptions = {}): Promise<SpatialResult> {
    const query = q.point !== undefined ? { $case: "point" as const, value: toVec3(q.point) } : q.id !== undefined ? { $case: "id" as const, value: q.id } : undefined;
    const req = { space: toSpace(q.space), query, k: q.k, format: recordsFormat(q.withTokens) };
    return spatial(await this.#invoker.unary(rpc(this.#tokens, "kNearest"), req, true, options), q.withTokens);
  }

  // ------------------------------------------------------------------------------------------
  // Graph

  /** Creates connections (objects or packed records). Not retried: Connect is not an upsert. */
  async connect(connections: readonly ConnectionInput[] | Uint8Array, options: Call = {}): Promise<WriteResult> {
    const records = connections instanceof Uint8Array ? connections : encodeConnectionInputs(connections);
    checkPacked(records, "connection records", CONNECTION_RECORD_SIZE);
    const req = { connections: { payload: { $case: "packed" as const, value: asBuffer(records) } }, partial: options.partial ?? false };
    const res = await this.#invoker.unary(rpc(this.#graph, "connect"), req, false, options);
    return { accepted: res.accepted, rejected: res.rejected.map((e) => fromItemError(e)) };
  }

  /** Removes connections; `accepted` = connections removed (a key without type may remove several). */
  async disconnect(keys: readonly ConnectionKey[], options: Call = {}): Promise<WriteResult> {
    const req = { connections: keys.map((k) => ({ source: k.source, target: k.target, type: k.type })), partial: options.partial ?? false };
    const res = await this.#invoker.unary(rpc(this.#graph, "disconnect"), req, true, options);
    return { accepted: res.removed, rejected: res.rejected.map((e) => fromItemError(e)) };
  }

  /** The connections of tokens, grouped by id in request order. */
  async getConnections(ids: ArrayLike<number>, q: GetConnectionsQuery = {}, options: CallOptions = {}): Promise<{ connections: Connection[]; records: Uint8Array; truncated: boolean }> {
    const req = { ids: idList(ids), direction: toDirection(q.direction), connectionTypes: [...(q.types ?? [])], limit: q.limit ?? 0, format: RecordFormat.RECORD_FORMAT_PACKED };
    const res = await this.#invoker.unary(rpc(this.#graph, "getConnections"), req, true, options);
    return { connections: decodeConnectionRecords(res.records), records: res.records, truncated: res.truncated };
  }

  async traverse(q: TraverseQuery, options: CallOptions = {}): Promise<TraverseResult> {
    const req = {
      start: idList(q.start, "start"),
      order: toOrder(q.order),
      direction: toDirection(q.direction),
      maxDepth: q.maxDepth,
      maxNodes: q.maxNodes ?? 0,
      connectionTypes: [...(q.types ?? [])],
      format: recordsFormat(q.withTokens),
    };
    const res = await this.#invoker.unary(rpc(this.#graph, "traverse"), req, true, options);
    const base = { ids: Uint32Array.from(res.ids), depths: Uint32Array.from(res.depths), parents: Uint32Array.from(res.parents), truncated: res.truncated };
    return q.withTokens === true ? { ...base, records: res.records, tokens: decodeTokenRecords(res.records) } : base;
  }

  async shortestPath(q: ShortestPathQuery, options: CallOptions = {}): Promise<ShortestPathResult> {
    const req = {
      source: q.source,
      target: q.target,
      algorithm: toAlgorithm(q.algorithm),
      direction: toDirection(q.direction),
      maxDepth: q.maxDepth,
      connectionTypes: [...(q.types ?? [])],
    };
    const res = await this.#invoker.unary(rpc(this.#graph, "shortestPath"), req, true, options);
    return { found: res.found, path: Uint32Array.from(res.path), cost: res.cost, visited: res.visited };
  }

  async spreadingActivation(q: SpreadingActivationQuery, options: CallOptions = {}): Promise<SpreadingActivationResult> {
    const req = {
      seeds: idList(q.seeds, "seeds"),
      seedEnergies: [...(q.energies ?? [])],
      decay: q.decay,
      threshold: q.threshold,
      maxDepth: q.maxDepth,
      direction: toDirection(q.direction),
      maxResults: q.maxResults ?? 0,
      connectionTypes: [...(q.types ?? [])],
    };
    const res = await this.#invoker.unary(rpc(this.#graph, "spreadingActivation"), req, true, options);
    return { ids: Uint32Array.from(res.ids), energies: Float32Array.from(res.energies), depths: Uint32Array.from(res.depths), truncated: res.truncated };
  }

  // ------------------------------------------------------------------------------------------
  // Admin and health

  async stats(options: CallOptions = {}): Promise<NodeStats> {
    const res = await this.#invoker.unary(rpc(this.#admin, "getStats"), {}, true, options);
    return { ...res };
  }

  async listShards(options: CallOptions = {}): Promise<ShardInfo[]> {
    const res = await this.#invoker.unary(rpc(this.#admin, "listShards"), {}, true, options);
    return res.shards.map((s) => ({ ...s, state: shardStateName(s.state) }));
  }

  /**
   * Writes a snapshot of the given shards (all when none are given) and prunes their logs;
   * resolves once every snapshot is durable. FAILED_PRECONDITION on a node without a WAL.
   */
  async snapshot(shards: readonly number[] = [], options: CallOptions = {}): Promise<ShardSnapshotInfo[]> {
    const res = await this.#invoker.unary(rpc(this.#admin, "snapshot"), { shards: [...shards] }, false, options);
    return res.shards.map((s) => ({ ...s }));
  }

  /** The serving status of the node ("") or of one service, e.g. `neurograph.v1.TokenService`. */
  async health(service = "", options: CallOptions = {}): Promise<HealthStatus> {
    const res = await this.#invoker.unary(rpc(this.#health, "check"), { service }, true, options);
    return healthStatusName(res.status);
  }
}
