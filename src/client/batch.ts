/**
 * `createMany`: a large set of tokens as several `CreateTokens` calls of `batchSize` tokens, at
 * most `concurrency` at a time. Results are merged in input order (ids, rejection indices).
 *
 * Not atomic across chunks: in strict mode the first failing chunk stops new chunks from
 * starting, the chunks already sent finish, and the error is thrown with its violation indices
 * shifted to positions in the whole input and a message saying how many tokens were created.
 */
import { FailedPreconditionError, toNeuroGraphError, ValidationError, type FieldViolation, type NeuroGraphError } from "../core/errors.ts";
import { checkPacked, encodeTokenInputs, nowSeconds, TOKEN_RECORD_SIZE, type TokenInput } from "./records.ts";
import type { CallOptions } from "./rpc.ts";
import type { CreateResult, ItemRejection, WriteOptions } from "./types.ts";

export interface CreateManyOptions extends WriteOptions, CallOptions {
  /** Tokens per call (default 10 000). */
  readonly batchSize?: number;
  /** Calls in flight (default 4). */
  readonly concurrency?: number;
}

export type CreateChunk = (records: Uint8Array, options: WriteOptions & CallOptions) => Promise<CreateResult>;

function shifted(err: NeuroGraphError, offset: number, created: number): NeuroGraphError {
  const note = ` (tokens ${offset}.. of the input; ${created} token(s) of other chunks were created)`;
  if (err instanceof ValidationError) {
    return new ValidationError(err.message + note, err.violations.map((v) => (v.index === undefined ? v : { ...v, index: v.index + offset })), { cause: err });
  }
  if (err instanceof FailedPreconditionError) {
    return new FailedPreconditionError(err.message + note, err.violations.map((v) => (v.index === undefined ? v : { ...v, index: v.index + offset })), { cause: err });
  }
  return err;
}

export async function createMany(create: CreateChunk, tokens: readonly TokenInput[] | Uint8Array, options: CreateManyOptions = {}): Promise<CreateResult> {
  const batch = options.batchSize ?? 10_000;
  const concurrency = options.concurrency ?? 4;
  const bad: FieldViolation[] = [];
  if (!Number.isInteger(batch) || batch < 1) bad.push({ field: "batchSize", value: String(batch), rule: "batch_size", description: "batchSize must be a positive integer" });
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    bad.push({ field: "concurrency", value: String(concurrency), rule: "concurrency", description: "concurrency must be an integer in 1..64" });
  }
  if (bad.length > 0) throw ValidationError.of("createMany options", bad);

  // Encode (and so validate) everything before the first call: bad input sends nothing.
  const records = tokens instanceof Uint8Array ? tokens : encodeTokenInputs(tokens, nowSeconds());
  const total = checkPacked(records, "token records");
  const ids = new Uint32Array(total);
  const rejected: ItemRejection[] = [];
  let accepted = 0;
  let next = 0;
  let failure: NeuroGraphError | undefined;
  let failedAt = 0;
  const { batchSize: _b, concurrency: _c, ...callOptions } = options;

  const worker = async (): Promise<void> => {
    while (failure === undefined && next < total) {
      const start = next;
      const end = Math.min(total, start + batch);
      next = end;
      try {
        const res = await create(records.subarray(start * TOKEN_RECORD_SIZE, end * TOKEN_RECORD_SIZE), callOptions);
        ids.set(res.ids.subarray(0, end - start), start);
        accepted += res.accepted;
        for (const r of res.rejected) rejected.push({ ...r, index: r.index + start });
      } catch (err) {
        if (failure === undefined) {
          failure = toNeuroGraphError(err);
          failedAt = start;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.ceil(total / batch)) }, worker));
  if (failure !== undefined) throw shifted(failure, failedAt, accepted);
  rejected.sort((a, b) => a.index - b.index);
  return { ids, accepted, rejected };
}
