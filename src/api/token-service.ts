/**
 * TokenService: decode → validate at the edge → backend → encode. No domain logic here.
 */
import { RecordFormat } from "../gen/neurograph/v1/common.ts";
import type { TokenList } from "../gen/neurograph/v1/token.ts";
import type {
  CreateTokensRequest,
  CreateTokensResponse,
  DeleteTokensRequest,
  DeleteTokensResponse,
  GetTokensRequest,
  GetTokensResponse,
  IngestTokensRequest,
  IngestTokensResponse,
  KNearestRequest,
  NeighborsRequest,
  RangeRequest,
  SpatialQueryResponse,
  TokenServiceServer,
  UpdateTokensRequest,
  UpdateTokensResponse,
} from "../gen/neurograph/v1/token_service.ts";
import { TokenServiceService } from "../gen/neurograph/v1/token_service.ts";
import type { NodeBackend, SpatialMatches } from "./backend.ts";
import { asBuffer, mergeRejections, prepareBatch, spreadIds, toItemError, type PreparedBatch } from "./batch.ts";
import type { ApiLimits } from "./config.ts";
import { clientStreaming, unary, type CallContext, type HandlerEnv } from "./handlers.ts";
import { decodeIngestTokensRequest, ingestStream } from "./ingest.ts";
import { decodeTokens, encodeTokens, tokenIdAt } from "./records.ts";
import { RequestCheck, type FormatChoice } from "./validation.ts";

/**
 * The TokenService definition the server registers: the generated one, except that a streamed
 * IngestTokens message's records are a view of the received message instead of a copy (the
 * router copies them once anyway, into the shards' parts).
 */
export const tokenServiceDefinition = {
  ...TokenServiceService,
  ingestTokens: { ...TokenServiceService.ingestTokens, requestDeserialize: decodeIngestTokensRequest },
} as const;

function prepareTokens(check: RequestCheck, batch: CreateTokensRequest["tokens"], partial: boolean): PreparedBatch {
  return prepareBatch<TokenList>(
    check,
    "tokens",
    batch?.payload,
    (list) => list.tokens,
    (list) => encodeTokens(list.tokens),
    partial,
    tokenIdAt,
  );
}

export class TokenServiceHandlers {
  constructor(
    private readonly backend: NodeBackend,
    private readonly limits: ApiLimits,
  ) {}

  async createTokens(req: CreateTokensRequest, ctx: CallContext): Promise<CreateTokensResponse> {
    const check = new RequestCheck("CreateTokens request", this.limits);
    const batch = prepareTokens(check, req.tokens, req.partial);
    check.done();
    if (batch.records.length === 0) {
      const rejected = mergeRejections(batch, []);
      return { ids: new Array<number>(batch.count).fill(0), accepted: 0, rejected: rejected.map(toItemError) };
    }
    const res = await this.backend.createTokens(batch.records, { partial: req.partial }, ctx);
    return {
      ids: spreadIds(batch, res.ids),
      accepted: res.accepted,
      rejected: mergeRejections(batch, res.rejected).map(toItemError),
    };
  }

  async getTokens(req: GetTokensRequest, ctx: CallContext): Promise<GetTokensResponse> {
    const check = new RequestCheck("GetTokens request", this.limits);
    const ids = check.ids("ids", req.ids);
    const format = check.format("format", req.format, RecordFormat.RECORD_FORMAT_PACKED);
    check.done();
    const res = await this.backend.getTokens(ids, { allowMissing: req.allowMissing }, ctx);
    return {
      records: format.packed ? asBuffer(res.records) : Buffer.alloc(0),
      tokens: format.structured ? decodeTokens(res.records) : [],
      missing: Array.from(res.missing),
    };
  }

  async updateTokens(req: UpdateTokensRequest, ctx: CallContext): Promise<UpdateTokensResponse> {
    const check = new RequestCheck("UpdateTokens request", this.limits);
    const batch = prepareTokens(check, req.tokens, req.partial);
    // Updates match by id: id 0 cannot name a token.
    let zeroIds = 0;
    for (let i = 0; i < batch.records.length / 64 && zeroIds < 100; i++) {
      if (tokenIdAt(batch.records, i) === 0) {
        const index = batch.indexMap === null ? i : batch.indexMap[i]!;
        check.add("id", 0, "id_nonzero", "id must name an existing token (0 is only valid in CreateTokens)", index);
        zeroIds++;
      }
    }
    check.done();
    if (batch.records.length === 0) return { accepted: 0, rejected: mergeRejections(batch, []).map(toItemError) };
    const res = await this.backend.updateTokens(batch.records, { partial: req.partial }, ctx);
    return { accepted: res.accepted, rejected: mergeRejections(batch, res.rejected).map(toItemError) };
  }

  async deleteTokens(req: DeleteTokensRequest, ctx: CallContext): Promise<DeleteTokensResponse> {
    const check = new RequestCheck("DeleteTokens request", this.limits);
    const ids = check.ids("ids", req.ids);
    check.done();
    const res = await this.backend.deleteTokens(ids, { partial: req.partial }, ctx);
    return { deleted: res.accepted, rejected: res.rejected.map(toItemError), connectionsRemoved: res.connectionsRemoved };
  }

  /** Pipelined: see `ingest.ts`. */
  ingestTokens(requests: AsyncIterable<IngestTokensRequest>, ctx: CallContext): Promise<IngestTokensResponse> {
    return ingestStream(this.backend, this.limits, requests, ctx);
  }

  async neighbors(req: NeighborsRequest, ctx: CallContext): Promise<SpatialQueryResponse> {
    const check = new RequestCheck("Neighbors request", this.limits);
    const id = check.id("id", req.id);
    const space = check.space("space", req.space);
    const radius = check.positive("radius", req.radius);
    const limit = check.limit("limit", req.limit, this.limits.defaultResultLimit, this.limits.maxResultLimit);
    const format = check.format("format", req.format, RecordFormat.RECORD_FORMAT_NONE);
    check.done();
    const res = await this.backend.neighbors({ id, space, radius, limit, withRecords: format.packed || format.structured }, ctx);
    return spatialResponse(res, format);
  }

  async range(req: RangeRequest, ctx: CallContext): Promise<SpatialQueryResponse> {
    const check = new RequestCheck("Range request", this.limits);
    const space = check.space("space", req.space);
    const center = check.point("center", req.center);
    const radius = check.positive("radius", req.radius);
    const limit = check.limit("limit", req.limit, this.limits.defaultResultLimit, this.limits.maxResultLimit);
    const format = check.format("format", req.format, RecordFormat.RECORD_FORMAT_NONE);
    check.done();
    const res = await this.backend.range({ space, center, radius, limit, withRecords: format.packed || format.structured }, ctx);
    return spatialResponse(res, format);
  }

  async kNearest(req: KNearestRequest, ctx: CallContext): Promise<SpatialQueryResponse> {
    const check = new RequestCheck("KNearest request", this.limits);
    const space = check.space("space", req.space);
    const query = req.query;
    if (query === undefined) check.add("query", "unset", "required", "set either id (a token) or point (a position)");
    else if (query.$case === "id") check.id("id", query.value);
    const point = query?.$case === "point" ? check.point("point", query.value) : undefined;
    if (req.k === 0) check.add("k", 0, "positive", "k must be at least 1");
    const k = check.limit("k", req.k, 1, this.limits.maxResultLimit);
    const format = check.format("format", req.format, RecordFormat.RECORD_FORMAT_NONE);
    check.done();
    const withRecords = format.packed || format.structured;
    const res = await this.backend.kNearest(
      query?.$case === "id" ? { space, id: query.value, k, withRecords } : { space, point: point!, k, withRecords },
      ctx,
    );
    return spatialResponse(res, format);
  }

  /** The grpc-js service implementation. */
  service(env: HandlerEnv): TokenServiceServer {
    return {
      createTokens: unary(env, (r: CreateTokensRequest, c) => this.createTokens(r, c), { batchField: "tokens" }),
      getTokens: unary(env, (r: GetTokensRequest, c) => this.getTokens(r, c), { batchField: "ids" }),
      updateTokens: unary(env, (r: UpdateTokensRequest, c) => this.updateTokens(r, c), { batchField: "tokens" }),
      deleteTokens: unary(env, (r: DeleteTokensRequest, c) => this.deleteTokens(r, c), { batchField: "ids" }),
      ingestTokens: clientStreaming(env, (r: AsyncIterable<IngestTokensRequest>, c) => this.ingestTokens(r, c), { batchField: "records" }),
      neighbors: unary(env, (r: NeighborsRequest, c) => this.neighbors(r, c)),
      range: unary(env, (r: RangeRequest, c) => this.range(r, c)),
      kNearest: unary(env, (r: KNearestRequest, c) => this.kNearest(r, c)),
    };
  }
}

function spatialResponse(res: SpatialMatches, format: FormatChoice): SpatialQueryResponse {
  return {
    ids: Array.from(res.ids),
    distances: Array.from(res.distances),
    truncated: res.truncated,
    records: format.packed ? asBuffer(res.records) : Buffer.alloc(0),
    tokens: format.structured && res.records !== undefined ? decodeTokens(res.records) : [],
  };
}
