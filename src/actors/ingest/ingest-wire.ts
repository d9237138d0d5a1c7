/**
 * The wire form of producer ingest (`proto/neurograph/v1/ingest.proto`): decoding and checking an
 * `IngestBatch` (structure only: the coordinator and the shards check the records themselves),
 * and the `IngestAck` that answers it. Everything wrong with a payload is a `ValidationError`
 * that says what was expected.
 */
import { ErrorCode, ValidationError, type FieldViolation, type NeuroGraphError } from "../../core/errors.ts";
import type { ActorError } from "../../gen/neurograph/v1/envelope.ts";
import { IngestAck, IngestBatch, type IngestItemError } from "../../gen/neurograph/v1/ingest.ts";
import { errorFromWire, errorToWire } from "../../runtime/index.ts";
import type { ItemRejection } from "../router-rejections.ts";

export type IngestKind = "tokens" | "connections";

export interface IngestLimits {
  /** Records per batch (default 100 000, like the gRPC API). */
  readonly maxBatchItems: number;
  /** Rejected items listed in an ack (all are counted); default 100. */
  readonly maxReportedErrors: number;
}

export const DEFAULT_INGEST_LIMITS: IngestLimits = Object.freeze({ maxBatchItems: 100_000, maxReportedErrors: 100 });

export interface DecodedBatch {
  readonly kind: IngestKind;
  /** Packed 64-byte records, 4-byte aligned, owned by the caller. */
  readonly records: Uint8Array;
  readonly count: number;
  readonly partial: boolean;
  readonly producer: string;
  readonly returnIds: boolean;
}

/** What an applied batch came to. */
export interface IngestOutcome {
  readonly accepted: number;
  readonly rejected: readonly ItemRejection[];
  /** Tokens with `returnIds`: one id per item. */
  readonly ids?: Uint32Array;
}

function invalid(violation: Omit<FieldViolation, "index">): ValidationError {
  return ValidationError.of("ingest batch", [violation]);
}

/** Decodes and checks the structure of an ingest batch; throws `ValidationError`. */
export function decodeIngestBatch(kind: IngestKind, data: Uint8Array, limits: IngestLimits = DEFAULT_INGEST_LIMITS): DecodedBatch {
  if (data.length === 0) {
    throw invalid({ field: "body", rule: "ingest_batch", description: "the message is empty; publish a protobuf neurograph.v1.IngestBatch" });
  }
  let batch: IngestBatch;
  try {
    batch = IngestBatch.decode(data);
  } catch (err) {
    throw invalid({
      field: "body",
      value: `${data.length} bytes`,
      rule: "ingest_batch",
      description: `the message is not a protobuf neurograph.v1.IngestBatch (${err instanceof Error ? err.message : String(err)})`,
    });
  }
  const bytes = batch.records.byteLength;
  if (bytes === 0) throw invalid({ field: "records", value: "0 bytes", rule: "non_empty", description: "the batch has no records" });
  if (bytes % 64 !== 0) {
    throw invalid({ field: "records", value: `${bytes} bytes`, rule: "record_size", description: `records are packed 64-byte ${kind === "tokens" ? "token" : "connection"} records; ${bytes} is not a multiple of 64` });
  }
  const count = bytes >>> 6;
  if (count > limits.maxBatchItems) {
    throw invalid({ field: "records", value: String(count), rule: "max_batch_items", description: `a batch holds at most ${limits.maxBatchItems} records; split it` });
  }
  if (batch.returnIds && kind === "connections") {
    throw invalid({ field: "return_ids", value: "true", rule: "tokens_only", description: "return_ids applies to token batches only" });
  }
  // The generated decoder copied the field; copy again only when it is not 4-byte aligned.
  const records = (batch.records.byteOffset & 3) === 0 ? batch.records : new Uint8Array(batch.records);
  return { kind, records, count, partial: batch.partial, producer: batch.producer.slice(0, 128), returnIds: batch.returnIds };
}

/** An `IngestBatch` (for producers, tests and benchmarks). */
export function encodeIngestBatch(records: Uint8Array, options: { partial?: boolean; producer?: string; returnIds?: boolean } = {}): Uint8Array {
  return IngestBatch.encode({
    records: Buffer.from(records.buffer, records.byteOffset, records.byteLength),
    partial: options.partial ?? false,
    producer: options.producer ?? "",
    returnIds: options.returnIds ?? false,
  }).finish();
}

function errorToProto(error: NeuroGraphError): ActorError {
  const w = errorToWire(error);
  return {
    code: w.code,
    message: w.message,
    retryable: w.retryable,
    violations: (w.violations ?? []).map((v) => ({ index: v.index, field: v.field, value: v.value ?? "", rule: v.rule, description: v.description })),
  };
}

export function encodeIngestAck(outcome: IngestOutcome, limits: IngestLimits = DEFAULT_INGEST_LIMITS): Uint8Array {
  const errors: IngestItemError[] = outcome.rejected.slice(0, limits.maxReportedErrors).map((r) => ({
    index: r.index,
    id: r.id,
    code: r.code,
    field: r.field,
    value: r.value ?? "",
    rule: r.rule,
    description: r.description,
  }));
  const ids = outcome.ids;
  return IngestAck.encode({
    accepted: outcome.accepted,
    rejected: outcome.rejected.length,
    errors,
    ids: ids === undefined ? Buffer.alloc(0) : Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength),
    error: undefined,
  }).finish();
}

export function encodeIngestError(error: NeuroGraphError): Uint8Array {
  return IngestAck.encode({ accepted: 0, rejected: 0, errors: [], ids: Buffer.alloc(0), error: errorToProto(error) }).finish();
}

export interface DecodedAck {
  readonly accepted: number;
  readonly rejected: number;
  readonly errors: readonly IngestItemError[];
  readonly ids: Uint32Array;
  /** The typed error when the batch failed as a whole. */
  readonly error: NeuroGraphError | undefined;
}

/** Decodes an `IngestAck` (producer side). */
export function decodeIngestAck(data: Uint8Array): DecodedAck {
  const ack = IngestAck.decode(data);
  const idBytes = new Uint8Array(ack.ids);
  const e = ack.error;
  const known = (Object.values(ErrorCode) as string[]).includes(e?.code ?? "");
  return {
    accepted: ack.accepted,
    rejected: ack.rejected,
    errors: ack.errors,
    ids: new Uint32Array(idBytes.buffer, 0, idBytes.byteLength >>> 2),
    error:
      e === undefined
        ? undefined
        : errorFromWire({
            code: known ? (e.code as ErrorCode) : ErrorCode.Internal,
            message: e.message,
            retryable: e.retryable,
            violations: e.violations.map((v) => ({
              ...(v.index === undefined ? {} : { index: v.index }),
              field: v.field,
              ...(v.value === "" ? {} : { value: v.value }),
              rule: v.rule,
              description: v.description,
            })),
          }),
  };
}
