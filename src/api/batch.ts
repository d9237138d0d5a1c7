/**
 * Batch payloads at the edge: a oneof of packed records or structured items becomes the packed
 * records the backend takes. Strict batches with a bad item fail whole; partial batches drop the
 * items that cannot be encoded, send the rest, and map the backend's per-item results back to
 * request indices.
 */
import { ErrorCode } from "../core/errors.ts";
import type { ItemError } from "../gen/neurograph/v1/common.ts";
import type { ItemRejection } from "./backend.ts";
import { Code } from "../gen/google/rpc/code.ts";
import type { Encoded } from "./records.ts";
import { RECORD_SIZE, type RequestCheck } from "./validation.ts";

/** google.rpc.Code of an item rejection (same numbers as the gRPC status codes). */
const RPC_CODE: Readonly<Record<ErrorCode, Code>> = {
  [ErrorCode.InvalidArgument]: Code.INVALID_ARGUMENT,
  [ErrorCode.NotFound]: Code.NOT_FOUND,
  [ErrorCode.AlreadyExists]: Code.ALREADY_EXISTS,
  [ErrorCode.FailedPrecondition]: Code.FAILED_PRECONDITION,
  [ErrorCode.Overloaded]: Code.RESOURCE_EXHAUSTED,
  [ErrorCode.QuotaExceeded]: Code.RESOURCE_EXHAUSTED,
  [ErrorCode.Unavailable]: Code.UNAVAILABLE,
  [ErrorCode.DeadlineExceeded]: Code.DEADLINE_EXCEEDED,
  [ErrorCode.Cancelled]: Code.CANCELLED,
  [ErrorCode.Unauthenticated]: Code.UNAUTHENTICATED,
  [ErrorCode.PermissionDenied]: Code.PERMISSION_DENIED,
  [ErrorCode.DataLoss]: Code.DATA_LOSS,
  [ErrorCode.Internal]: Code.INTERNAL,
};

export type Payload<T> = { $case: "packed"; value: Uint8Array } | { $case: "structured"; value: T } | undefined;

export interface PreparedBatch {
  /** Items in the request. */
  readonly count: number;
  /** Records to send: all items, or in partial mode the encodable ones. */
  readonly records: Uint8Array;
  /** Request index of each record sent; null when record i is request item i. */
  readonly indexMap: Uint32Array | null;
  /** Items dropped at the edge (partial mode), with request indices. */
  readonly rejected: readonly ItemRejection[];
}

/**
 * Validates the payload's shape (set, whole records, within the batch limit) and encodes a
 * structured one. Reports problems on `check`; in strict mode encoding violations are reported
 * there too, so the caller's `check.done()` throws them all.
 */
export function prepareBatch<T>(
  check: RequestCheck,
  field: string,
  payload: Payload<T>,
  items: (structured: T) => readonly unknown[],
  encode: (structured: T) => Encoded,
  partial: boolean,
  idAt: (records: Uint8Array, i: number) => number,
): PreparedBatch {
  const empty: PreparedBatch = { count: 0, records: new Uint8Array(0), indexMap: null, rejected: [] };
  if (payload === undefined) {
    check.add(field, "unset", "required", `${field} is required: set ${field}.packed (64-byte records) or ${field}.structured`);
    return empty;
  }
  if (payload.$case === "packed") {
    const count = check.packedCount(`${field}.packed`, payload.value);
    check.batchSize(field, count);
    return { count, records: payload.value, indexMap: null, rejected: [] };
  }
  const count = items(payload.value).length;
  check.batchSize(field, count);
  if (count > check.limits.maxBatchItems) return empty;
  const encoded = encode(payload.value);
  if (encoded.violations.length === 0) return { count, records: encoded.records, indexMap: null, rejected: [] };
  if (!partial) {
    check.violations.push(...encoded.violations);
    return empty;
  }
  const bad = new Uint8Array(count);
  const rejected: ItemRejection[] = [];
  for (const v of encoded.violations) {
    const index = v.index ?? 0;
    bad[index] = 1;
    rejected.push({ ...v, index, id: idAt(encoded.records, index), code: ErrorCode.InvalidArgument });
  }
  let good = 0;
  for (let i = 0; i < count; i++) good += 1 - bad[i]!;
  const records = new Uint8Array(good * RECORD_SIZE);
  const indexMap = new Uint32Array(good);
  for (let i = 0, j = 0; i < count; i++) {
    if (bad[i] === 1) continue;
    records.set(encoded.records.subarray(i * RECORD_SIZE, (i + 1) * RECORD_SIZE), j * RECORD_SIZE);
    indexMap[j++] = i;
  }
  return { count, records, indexMap, rejected };
}

/** Backend rejections (indices into the records sent) → request indices, plus edge rejections. */
export function mergeRejections(batch: PreparedBatch, backend: readonly ItemRejection[], offset = 0): ItemRejection[] {
  const map = batch.indexMap;
  const out: ItemRejection[] = batch.rejected.map((r) => ({ ...r, index: r.index + offset }));
  for (const r of backend) out.push({ ...r, index: (map === null ? r.index : (map[r.index] ?? r.index)) + offset });
  out.sort((a, b) => a.index - b.index);
  return out;
}

/** Per-record ids from the backend → one id per request item (0 where rejected). */
export function spreadIds(batch: PreparedBatch, ids: Uint32Array): number[] {
  const out = new Array<number>(batch.count).fill(0);
  const map = batch.indexMap;
  for (let j = 0; j < ids.length; j++) out[map === null ? j : map[j]!] = ids[j]!;
  return out;
}

export function toItemError(r: ItemRejection): ItemError {
  return {
    index: r.index,
    id: r.id,
    code: RPC_CODE[r.code],
    field: r.field,
    value: r.value ?? "",
    rule: r.rule,
    description: r.description,
  };
}

/** A Buffer view of a byte array, without copying (protobuf bytes fields are Buffers). */
export function asBuffer(bytes: Uint8Array | undefined): Buffer {
  if (bytes === undefined) return Buffer.alloc(0);
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
