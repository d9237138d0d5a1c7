/**
 * The records of the replicated shard log (`ng.<cluster>.log.<shard>` in the stream
 * `NG_<cluster>_LOG`). One stream message holds one *batch*: the resolved mutations a shard
 * applied while the previous append was in flight (group commit), framed as
 *
 *   u32 count, then per mutation: u8 kind, u32 length, payload (all little-endian)
 *
 * with payloads: records (tokens.insert / tokens.update / connections.upsert), u32 ids
 * (tokens.delete), `u32 n, n×u32 sources, n×u32 targets, n×u8 types` (connections.remove), the
 * raw document (constitution.set) or payload (field.result). A batch larger than a NATS message
 * is split into parts carried by consecutive messages with the header `Ng-Part: i/n`; the reader
 * joins them and drops a group whose last part never arrived (its owner failed mid-append, so
 * nothing of it was acknowledged). Messages with `Ng-Kind: fence` are ownership markers, not data.
 */
import { DataLossError } from "../../core/errors.ts";
import type { ShardMutation } from "../shard-log.ts";

export const PART_HEADER = "Ng-Part";
export const KIND_HEADER = "Ng-Kind";
export const FENCE_KIND = "fence";

const KIND_CODES = ["tokens.insert", "tokens.update", "tokens.delete", "connections.upsert", "connections.remove", "constitution.set", "field.result"] as const;

function kindCode(kind: ShardMutation["kind"]): number {
  return KIND_CODES.indexOf(kind);
}

function payloadBytes(m: ShardMutation): number {
  switch (m.kind) {
    case "tokens.insert":
    case "tokens.update":
    case "connections.upsert":
      return m.records.byteLength;
    case "tokens.delete":
      return m.ids.byteLength;
    case "connections.remove":
      return 4 + m.sources.length * 9;
    case "constitution.set":
      return m.document.byteLength;
    case "field.result":
      return m.payload.byteLength;
  }
}

/** Bytes `m` takes in a batch (frame header included). */
export function encodedSize(m: ShardMutation): number {
  return 5 + payloadBytes(m);
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Encodes mutations into one batch. */
export function encodeBatch(mutations: readonly ShardMutation[]): Uint8Array {
  let size = 4;
  for (const m of mutations) size += encodedSize(m);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, mutations.length, true);
  let at = 4;
  for (const m of mutations) {
    const len = payloadBytes(m);
    out[at] = kindCode(m.kind);
    dv.setUint32(at + 1, len, true);
    at += 5;
    switch (m.kind) {
      case "tokens.insert":
      case "tokens.update":
      case "connections.upsert":
        out.set(m.records, at);
        break;
      case "tokens.delete":
        out.set(bytesOf(m.ids), at);
        break;
      case "connections.remove": {
        const n = m.sources.length;
        dv.setUint32(at, n, true);
        out.set(bytesOf(m.sources), at + 4);
        out.set(bytesOf(m.targets), at + 4 + 4 * n);
        out.set(m.types, at + 4 + 8 * n);
        break;
      }
      case "constitution.set":
        out.set(m.document, at);
        break;
      case "field.result":
        out.set(m.payload, at);
        break;
    }
    at += len;
  }
  return out;
}

function corrupt(where: string, detail: string): DataLossError {
  return new DataLossError(`the replicated log ${where} holds a damaged batch (${detail}); the shard cannot be recovered from it`);
}

/** A fresh copy of `bytes[from, from + length)` (aligned, owned by the caller). */
function copy(bytes: Uint8Array, from: number, length: number): Uint8Array {
  // Not `bytes.slice`: message data may be a Node Buffer, whose slice is a view (unaligned, shared).
  const out = new Uint8Array(length);
  out.set(bytes.subarray(from, from + length));
  return out;
}

/** Decodes one batch; `where` names it in errors. */
export function decodeBatch(bytes: Uint8Array, where: string): ShardMutation[] {
  if (bytes.byteLength < 4) throw corrupt(where, `${bytes.byteLength} bytes`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = dv.getUint32(0, true);
  const out: ShardMutation[] = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (at + 5 > bytes.byteLength) throw corrupt(where, `mutation ${i} of ${count} is cut off`);
    const kind = KIND_CODES[bytes[at]!];
    const len = dv.getUint32(at + 1, true);
    at += 5;
    if (kind === undefined || at + len > bytes.byteLength) throw corrupt(where, `mutation ${i}: kind ${bytes[at - 5]}, ${len} bytes`);
    switch (kind) {
      case "tokens.insert":
      case "tokens.update":
      case "connections.upsert":
        if (len % 64 !== 0) throw corrupt(where, `mutation ${i}: ${len} bytes of records`);
        out.push({ kind, records: copy(bytes, at, len) });
        break;
      case "tokens.delete":
        if (len % 4 !== 0) throw corrupt(where, `mutation ${i}: ${len} bytes of ids`);
        out.push({ kind, ids: new Uint32Array(copy(bytes, at, len).buffer) });
        break;
      case "connections.remove": {
        const n = len >= 4 ? dv.getUint32(at, true) : -1;
        if (n < 0 || 4 + 9 * n !== len) throw corrupt(where, `mutation ${i}: ${len} bytes of keys`);
        out.push({
          kind,
          sources: new Uint32Array(copy(bytes, at + 4, 4 * n).buffer),
          targets: new Uint32Array(copy(bytes, at + 4 + 4 * n, 4 * n).buffer),
          types: copy(bytes, at + 4 + 8 * n, n),
        });
        break;
      }
      case "constitution.set":
        out.push({ kind, document: copy(bytes, at, len) });
        break;
      case "field.result":
        out.push({ kind, payload: copy(bytes, at, len) });
        break;
    }
    at += len;
  }
  if (at !== bytes.byteLength) throw corrupt(where, `${bytes.byteLength - at} bytes after the last mutation`);
  return out;
}

/** Splits a batch into parts of at most `maxPart` bytes. */
export function splitParts(batch: Uint8Array, maxPart: number): Uint8Array[] {
  if (batch.byteLength <= maxPart) return [batch];
  const parts: Uint8Array[] = [];
  for (let at = 0; at < batch.byteLength; at += maxPart) parts.push(batch.subarray(at, Math.min(batch.byteLength, at + maxPart)));
  return parts;
}

/** `i/n` (1-based) of a part header; undefined when absent or malformed. */
export function parsePart(value: string | undefined): { index: number; total: number } | undefined {
  if (value === undefined || value === "") return undefined;
  const m = /^(\d{1,9})\/(\d{1,9})$/.exec(value);
  if (m === null) return undefined;
  const index = Number(m[1]);
  const total = Number(m[2]);
  return index >= 1 && index <= total ? { index, total } : undefined;
}

/** Joins parts in arrival order into whole batches; a group that is interrupted is dropped. */
export class PartJoiner {
  private parts: Uint8Array[] = [];
  private expected = 0;
  /** Groups dropped because a part was missing. */
  dropped = 0;

  /** Feeds one data message; returns the whole batch once its last part arrived. */
  push(data: Uint8Array, part: { index: number; total: number } | undefined): Uint8Array | undefined {
    if (part === undefined || part.total === 1) {
      this.abandon();
      return data;
    }
    if (part.index === 1) {
      this.abandon();
      this.expected = part.total;
      this.parts = [data];
    } else if (this.expected === part.total && this.parts.length === part.index - 1) {
      this.parts.push(data);
    } else {
      this.abandon();
      return undefined;
    }
    if (this.parts.length < this.expected) return undefined;
    let size = 0;
    for (const p of this.parts) size += p.byteLength;
    const whole = new Uint8Array(size);
    let at = 0;
    for (const p of this.parts) {
      whole.set(p, at);
      at += p.byteLength;
    }
    this.parts = [];
    this.expected = 0;
    return whole;
  }

  /** Something other than the next part arrived (a fence, another group): drop the open group. */
  abandon(): void {
    if (this.parts.length > 0) this.dropped++;
    this.parts = [];
    this.expected = 0;
  }
}
