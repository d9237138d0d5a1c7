/**
 * `TokenWriter`: bulk ingest over the client-streaming `IngestTokens` RPC. Tokens (objects or
 * packed records) are copied into 64-byte records and sent in messages of `batchSize` tokens.
 * Back-pressure: when the stream's `write()` returns false, the writer waits for 'drain' before
 * it sends more, and the promise `write()` returned resolves only then, so a producer that
 * awaits its writes never buffers more than the stream does.
 *
 * Each batch buffer is the serialized `IngestTokensRequest` itself (field tag and length in
 * front of the records, the flags behind), so records are copied once into it and never
 * re-encoded: the stream is opened with an identity serializer.
 *
 * The stream is not retried: a failure part-way leaves the messages before it applied (strict
 * mode ends at the first invalid message; the error says how many records were applied).
 */
import { once } from "node:events";
import type { ClientWritableStream, Metadata, ServiceError } from "@grpc/grpc-js";
import { CancelledError, InternalError, toNeuroGraphError, ValidationError, type NeuroGraphError } from "../core/errors.ts";
import type { IngestTokensResponse } from "../gen/neurograph/v1/token_service.ts";
import { checkPacked, encodeTokenInputs, nowSeconds, TOKEN_RECORD_SIZE, type TokenInput } from "./records.ts";
import { toTypedError } from "./rpc.ts";
import { fromItemError, type ItemRejection } from "./types.ts";

export const DEFAULT_INGEST_BATCH = 10_000;

export interface IngestOptions {
  /** Tokens per stream message (default 10 000; the server caps it, 100 000 by default). */
  readonly batchSize?: number;
  /** Apply the valid records and report the rest in the summary (default: strict). */
  readonly partial?: boolean;
  /** Return one id per record in the summary. */
  readonly returnIds?: boolean;
  /** Deadline of the whole stream in ms (default none). */
  readonly deadlineMs?: number;
  /** Aborting cancels the stream. */
  readonly signal?: AbortSignal;
  /** Called after each message is handed to the stream. */
  readonly onProgress?: (progress: IngestProgress) => void;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface IngestProgress {
  /** Records handed to the stream so far. */
  readonly records: number;
  readonly messages: number;
}

export interface IngestSummary {
  readonly received: number;
  readonly accepted: number;
  readonly rejectedCount: number;
  /** The first rejected records (index = stream position); partial mode only. */
  readonly rejected: readonly ItemRejection[];
  readonly messages: number;
  /** With `returnIds`: one id per record in stream order, 0 for a rejected one. */
  readonly ids: Uint32Array;
}

/** Opens the stream; messages are serialized `IngestTokensRequest`s (identity serializer). */
export type OpenIngestStream = (
  metadata: Metadata,
  options: { deadline?: Date },
  callback: (error: ServiceError | null, response?: IngestTokensResponse) => void,
) => ClientWritableStream<Buffer>;

/** Bytes before the records in a batch buffer: field 1 tag + the longest varint length. */
const HEAD = 6;
/** Bytes after the records: `partial` (field 2) and `return_ids` (field 3), when true. */
const TAIL = 4;

/**
 * The serialized IngestTokensRequest of `count` records stored at `buffer[HEAD..]`: the tag and
 * length are written right-aligned before them and the flags after them; returns a view.
 */
export function ingestMessage(buffer: Uint8Array, bytes: number, partial: boolean, returnIds: boolean): Buffer {
  let len = bytes;
  const varint: number[] = [];
  do {
    const low = len % 128;
    len = Math.floor(len / 128);
    varint.push(len > 0 ? low | 0x80 : low);
  } while (len > 0);
  const start = HEAD - 1 - varint.length;
  buffer[start] = 0x0a; // field 1 (records), wire type 2
  buffer.set(varint, start + 1);
  let end = HEAD + bytes;
  if (partial) {
    buffer[end++] = 0x10;
    buffer[end++] = 1;
  }
  if (returnIds) {
    buffer[end++] = 0x18;
    buffer[end++] = 1;
  }
  return Buffer.from(buffer.buffer, buffer.byteOffset + start, end - start);
}

export type TokenWriteInput = TokenInput | readonly TokenInput[] | Uint8Array;

export class TokenWriter {
  readonly #stream: ClientWritableStream<Buffer>;
  readonly #result: Promise<IngestTokensResponse>;
  readonly #batchRecords: number;
  readonly #options: IngestOptions;
  #buffer: Uint8Array;
  #fill = 0;
  #written = 0;
  #sent = 0;
  #messages = 0;
  #drainWaits = 0;
  #waiting = false;
  #failure: NeuroGraphError | undefined;
  #tail: Promise<void> | undefined;
  #ended: Promise<IngestSummary> | undefined;
  #onAbort: (() => void) | undefined;

  constructor(open: OpenIngestStream, metadata: Metadata, options: IngestOptions = {}) {
    const batch = options.batchSize ?? DEFAULT_INGEST_BATCH;
    if (!Number.isInteger(batch) || batch < 1 || batch > 1_000_000) {
      throw ValidationError.of("ingest options", [
        { field: "batchSize", value: String(batch), rule: "batch_size", description: "batchSize must be an integer in 1..1000000 (tokens per message)" },
      ]);
    }
    this.#options = options;
    this.#batchRecords = batch;
    this.#buffer = this.#newBuffer();
    const deadline = options.deadlineMs === undefined || options.deadlineMs === 0 ? undefined : new Date(Date.now() + options.deadlineMs);
    let stream!: ClientWritableStream<Buffer>;
    this.#result = new Promise<IngestTokensResponse>((resolve, reject) => {
      stream = open(metadata, deadline === undefined ? {} : { deadline }, (err, res) => {
        if (this.#onAbort !== undefined) options.signal?.removeEventListener("abort", this.#onAbort);
        if (err === null && res !== undefined) return resolve(res);
        this.#failure = err === null ? new InternalError("the ingest stream ended without a summary") : toTypedError(err);
        reject(this.#failure);
      });
    });
    this.#result.catch(() => undefined);
    this.#stream = stream;
    if (options.signal !== undefined) {
      this.#onAbort = (): void => this.abort();
      if (options.signal.aborted) this.abort();
      else options.signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  /** Records accepted by `write()` so far (sent or buffered). */
  get written(): number {
    return this.#written;
  }
  /** Records handed to the stream. */
  get sent(): number {
    return this.#sent;
  }
  get messages(): number {
    return this.#messages;
  }
  /** How many times the writer waited for the stream to drain (back-pressure). */
  get drainWaits(): number {
    return this.#drainWaits;
  }
  /** The writer is waiting for the stream to drain now. */
  get waitingForDrain(): boolean {
    return this.#waiting;
  }

  /**
   * Adds tokens: one object, an array of objects, or packed 64-byte records. Invalid objects
   * throw a ValidationError (indices are stream positions) and nothing of that input is added.
   * Resolves when the writer can take more; writes run in call order even when not awaited.
   */
  write(input: TokenWriteInput): Promise<void> {
    const run = (): Promise<void> | undefined => {
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#ended !== undefined) throw new CancelledError("the writer is ended; open a new one");
      return this.#copy(this.#records(input), 0);
    };
    if (this.#tail === undefined) {
      try {
        const pending = run();
        return pending === undefined ? Promise.resolve() : this.#track(pending);
      } catch (err) {
        return Promise.reject(toNeuroGraphError(err));
      }
    }
    return this.#track(this.#tail.then(run));
  }

  /** Sends what is buffered, closes the stream and resolves with the server's summary. */
  end(): Promise<IngestSummary> {
    this.#ended ??= this.#end();
    return this.#ended;
  }

  /** Cancels the stream; `end()` and pending writes reject with a CancelledError. */
  abort(): void {
    this.#stream.cancel();
  }

  async #end(): Promise<IngestSummary> {
    if (this.#tail !== undefined) await this.#tail.catch(() => undefined);
    if (this.#failure === undefined && this.#fill > 0) {
      const wait = this.#flush();
      if (wait !== undefined) await wait.catch(() => undefined);
    }
    if (this.#failure === undefined) this.#stream.end();
    const res = await this.#result;
    return {
      received: res.received,
      accepted: res.accepted,
      rejectedCount: res.rejectedCount,
      rejected: res.rejected.map((e) => fromItemError(e)),
      messages: res.messages,
      ids: Uint32Array.from(res.ids),
    };
  }

  #track(p: Promise<void>): Promise<void> {
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    this.#tail = settled;
    void settled.then(() => {
      if (this.#tail === settled) this.#tail = undefined;
    });
    return p;
  }

  #records(input: TokenWriteInput): Uint8Array {
    if (input instanceof Uint8Array) {
      checkPacked(input, "token records");
      return input;
    }
    const list = Array.isArray(input) ? (input as readonly TokenInput[]) : [input as TokenInput];
    return encodeTokenInputs(list, nowSeconds(), this.#written);
  }

  #newBuffer(): Uint8Array {
    return new Uint8Array(HEAD + this.#batchRecords * TOKEN_RECORD_SIZE + TAIL);
  }

  /** Copies records into the current batch, flushing full batches; a promise when it must wait. */
  #copy(records: Uint8Array, from: number): Promise<void> | undefined {
    let offset = from;
    while (offset < records.byteLength) {
      const room = this.#batchRecords * TOKEN_RECORD_SIZE - this.#fill;
      const n = Math.min(room, records.byteLength - offset);
      this.#buffer.set(records.subarray(offset, offset + n), HEAD + this.#fill);
      this.#fill += n;
      offset += n;
      this.#written += n / TOKEN_RECORD_SIZE;
      if (n === room) {
        const wait = this.#flush();
        if (wait !== undefined) {
          const rest = offset;
          return wait.then(() => this.#copy(records, rest));
        }
      }
    }
    return undefined;
  }

  /** Sends the current batch in a fresh buffer (the stream may hold it); a promise on back-pressure. */
  #flush(): Promise<void> | undefined {
    const filled = this.#fill;
    const message = ingestMessage(this.#buffer, filled, this.#options.partial ?? false, this.#options.returnIds ?? false);
    this.#buffer = this.#newBuffer();
    this.#fill = 0;
    this.#messages++;
    this.#sent += filled / TOKEN_RECORD_SIZE;
    const ok = this.#stream.write(message);
    this.#options.onProgress?.({ records: this.#sent, messages: this.#messages });
    if (ok) return undefined;
    this.#drainWaits++;
    this.#waiting = true;
    const ended = this.#result.then(() => {
      throw new InternalError("the server ended the ingest stream before the client did");
    });
    return Promise.race([once(this.#stream, "drain").then(() => undefined), ended]).finally(() => {
      this.#waiting = false;
    });
  }
}

/** Writes every item of `source` through a TokenWriter and returns the summary. */
export async function ingestAll(writer: TokenWriter, source: Iterable<TokenWriteInput> | AsyncIterable<TokenWriteInput>): Promise<IngestSummary> {
  try {
    for await (const item of source) await writer.write(item);
  } catch (err) {
    writer.abort();
    await writer.end().catch(() => undefined);
    throw err;
  }
  return writer.end();
}
