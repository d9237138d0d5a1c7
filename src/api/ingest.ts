/**
 * `IngestTokens` (client streaming), pipelined: up to `INGEST_PIPELINE_DEPTH` messages are in
 * the backend at once, so decoding the next message, applying this one and the WAL's group
 * commit of the previous ones overlap (one message at a time waits for a disk sync per message).
 * Results are folded in message order, so stream positions and returned ids stay in order.
 *
 * Which messages may overlap: partial-mode messages (each item stands alone) and strict messages
 * whose records all ask for an allocated id (the backend validates those before it dispatches
 * anything, so a bad one fails before the next is sent). A strict message with given ids can
 * only be judged by the shards, so it waits for everything before it and the stream waits for
 * it: a bad one stops the stream with nothing after it applied.
 */
import { QuotaExceededError, ValidationError } from "../core/errors.ts";
/** Byte offset of the id in a packed 64-byte token record. */
const TOKEN_ID_OFFSET = 48;
import type { ItemError } from "../gen/neurograph/v1/common.ts";
import type { IngestTokensRequest, IngestTokensResponse } from "../gen/neurograph/v1/token_service.ts";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import type { CreateTokensResult, IngestOptions, NodeBackend, RequestContext } from "./backend.ts";
import { toItemError } from "./batch.ts";
import type { ApiLimits } from "./config.ts";
import { RequestCheck } from "./validation.ts";

/** Messages of one stream in the backend at once. */
export const INGEST_PIPELINE_DEPTH = 4;

interface InFlight {
  readonly result: Promise<CreateTokensResult>;
  /** Stream position of the message's first record, and its record count. */
  readonly base: number;
  readonly count: number;
  /** Set (synchronously after a microtask) once the backend refused the message. */
  failed: boolean;
}

const NO_RECORDS = Buffer.alloc(0);

/**
 * `IngestTokensRequest.decode`, except that `records` is a view of `bytes` (the message grpc-js
 * assembled for this call alone and never reuses) rather than a copy: one allocation and one copy
 * of every streamed batch fewer. Nothing writes through the view (the router copies the records
 * into the shards' parts).
 */
export function decodeIngestTokensRequest(bytes: Buffer): IngestTokensRequest {
  const reader = new BinaryReader(bytes);
  const message: IngestTokensRequest = { records: NO_RECORDS, partial: false, returnIds: false };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 10) {
      const b = reader.bytes();
      message.records = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    } else if (tag === 16) message.partial = reader.bool();
    else if (tag === 24) message.returnIds = reader.bool();
    else if ((tag & 7) === 4 || tag === 0) break;
    else reader.skip(tag & 7);
  }
  return message;
}

/** True when every record's id is 0 (ids to be allocated). */
function allFresh(records: Uint8Array): boolean {
  const n = records.byteLength >>> 6;
  if ((records.byteOffset & 3) === 0) {
    // Aligned: one 32-bit load per record.
    const words = new Uint32Array(records.buffer, records.byteOffset, n * 16);
    for (let i = TOKEN_ID_OFFSET >>> 2; i < words.length; i += 16) if (words[i] !== 0) return false;
    return true;
  }
  // Misaligned (a view into the received message): the id is zero when its four bytes are.
  for (let o = TOKEN_ID_OFFSET; o < records.byteLength; o += 64) if ((records[o]! | records[o + 1]! | records[o + 2]! | records[o + 3]!) !== 0) return false;
  return true;
}

export async function ingestStream(
  backend: NodeBackend,
  limits: ApiLimits,
  requests: AsyncIterable<IngestTokensRequest>,
  ctx: RequestContext,
): Promise<IngestTokensResponse> {
  let options: IngestOptions | undefined;
  let received = 0;
  let accepted = 0;
  let rejectedCount = 0;
  let messages = 0;
  const rejected: ItemError[] = [];
  const ids: number[] = [];
  const pipeline: InFlight[] = [];

  /** Folds the oldest in-flight message into the summary (throws its error, positioned). */
  const settleOldest = async (): Promise<void> => {
    const m = pipeline.shift()!;
    let res: CreateTokensResult;
    try {
      res = await m.result;
    } catch (err) {
      // Let the rest settle, so the error can say exactly what was applied.
      const later = await Promise.allSettled(pipeline.splice(0).map((p) => p.result));
      const applied = later.reduce((n, r) => n + (r.status === "fulfilled" ? r.value.accepted : 0), 0);
      const after = applied === 0 ? "" : `, and ${applied} records of later messages that were already in flight`;
      if (err instanceof QuotaExceededError) {
        throw new QuotaExceededError(err.quota, err.usage, err.limit, {
          cause: err,
          hint: `stream records from ${m.base} were not applied; the ${accepted} records before them were${after}; delete data or raise the limit in the constitution`,
        });
      }
      if (!(err instanceof ValidationError)) throw err;
      const shifted = err.violations.map((v) => (v.index === undefined ? v : { ...v, index: v.index + m.base }));
      throw new ValidationError(`${err.message} (stream records from ${m.base}; the ${accepted} records before this message were applied${after})`, shifted);
    }
    for (const r of res.rejected) {
      rejectedCount++;
      if (rejected.length < limits.maxReportedRejections) rejected.push(toItemError({ ...r, index: r.index + m.base }));
    }
    if (options?.returnIds === true) {
      if (res.ids.length === m.count) for (const id of res.ids) ids.push(id);
      else for (let i = 0; i < m.count; i++) ids.push(0);
    }
    accepted += res.accepted;
  };

  for await (const msg of requests) {
    options ??= { partial: msg.partial, returnIds: msg.returnIds };
    messages++;
    const check = new RequestCheck(`IngestTokens message ${messages}`, limits);
    const count = check.packedCount("records", msg.records);
    check.batchSize("records", count);
    if (check.violations.length > 0) {
      while (pipeline.length > 0) await settleOldest();
      throw ValidationError.of(`IngestTokens message ${messages} (the ${accepted} records before it were applied)`, check.violations);
    }
    if (count === 0) continue;
    // A refusal already seen stops the stream before anything else is sent.
    if (pipeline.some((p) => p.failed)) {
      while (pipeline.length > 0) await settleOldest();
    }
    const overlaps = options.partial || allFresh(msg.records);
    if (!overlaps) while (pipeline.length > 0) await settleOldest();
    const entry: InFlight = { result: backend.ingestTokens(msg.records, options, ctx), base: received, count, failed: false };
    entry.result.catch(() => (entry.failed = true));
    pipeline.push(entry);
    received += count;
    if (!overlaps || pipeline.length >= INGEST_PIPELINE_DEPTH) await settleOldest();
    if (!overlaps) while (pipeline.length > 0) await settleOldest();
  }
  while (pipeline.length > 0) await settleOldest();
  return { received, accepted, rejectedCount, rejected, messages, ids };
}
