/**
 * Wire helpers shared by the shard protocol's codecs (`shard-codecs.ts`, `shard-learn-codec.ts`):
 * typed arrays as raw little-endian bytes, violations, key columns, and the codec shape.
 */
import { ValidationError, type FieldViolation } from "../core/errors.ts";
import type { Violation } from "../gen/neurograph/v1/common.ts";
import type { ShardKeyColumns } from "../gen/neurograph/v1/shard.ts";
import type { MessageCodec } from "../runtime/index.ts";
import type { KeyColumns, ShardMessage } from "./shard-protocol.ts";

export type Msg<K extends ShardMessage["type"]> = Extract<ShardMessage, { type: K }>;

export const EMPTY = Buffer.alloc(0);

export function invalid(field: string, description: string): ValidationError {
  return ValidationError.of("shard message", [{ field, rule: "shard_wire", description }]);
}

/** A Buffer view of a typed array (no copy). */
export function bytesOf(a: ArrayBufferView | undefined): Buffer {
  return a === undefined ? EMPTY : Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * `b` as a typed array of `size`-byte values: a view when aligned (the generated decoder already
 * copied the field out of the message), an aligned copy otherwise.
 */
export function column<T>(b: Uint8Array, size: number, make: (buf: ArrayBufferLike, offset: number, length: number) => T, field: string): T {
  if (b.byteLength % size !== 0) throw invalid(field, `${b.byteLength} bytes is not a whole number of ${size}-byte values`);
  if (b.byteOffset % size === 0) return make(b.buffer, b.byteOffset, b.byteLength / size);
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return make(copy.buffer, 0, b.byteLength / size);
}

export function u8(b: Uint8Array): Uint8Array {
  return b;
}

export const u32 = (b: Uint8Array, field: string): Uint32Array => column(b, 4, (x, o, n) => new Uint32Array(x, o, n), field);
export const i16 = (b: Uint8Array, field: string): Int16Array => column(b, 2, (x, o, n) => new Int16Array(x, o, n), field);
export const f32 = (b: Uint8Array, field: string): Float32Array => column(b, 4, (x, o, n) => new Float32Array(x, o, n), field);
export const f64 = (b: Uint8Array, field: string): Float64Array => column(b, 8, (x, o, n) => new Float64Array(x, o, n), field);

export function records(b: Uint8Array, field: string): Uint8Array {
  if (b.byteLength % 64 !== 0) throw invalid(field, `${b.byteLength} bytes is not a whole number of 64-byte records`);
  return b;
}

export function violationsOut(vs: readonly FieldViolation[]): Violation[] {
  return vs.map((v) => ({ index: v.index, field: v.field, value: v.value ?? "", rule: v.rule, description: v.description }));
}

export function violationsIn(vs: readonly Violation[]): FieldViolation[] {
  return vs.map((v) => ({
    ...(v.index === undefined ? {} : { index: v.index }),
    field: v.field,
    ...(v.value === "" ? {} : { value: v.value }),
    rule: v.rule,
    description: v.description,
  }));
}

export function keysIn<T extends Uint8Array | Int16Array>(m: { sources: Uint8Array; targets: Uint8Array; types: Uint8Array }, types: (b: Uint8Array) => T): KeyColumns<T> {
  const keys = { sources: u32(m.sources, "sources"), targets: u32(m.targets, "targets"), types: types(m.types) };
  if (keys.targets.length !== keys.sources.length || keys.types.length !== keys.sources.length) {
    throw invalid("keys", `key columns differ in length (${keys.sources.length}, ${keys.targets.length}, ${keys.types.length})`);
  }
  return keys;
}

export function keyColumnsOut(k: KeyColumns | undefined): ShardKeyColumns | undefined {
  return k === undefined ? undefined : { sources: bytesOf(k.sources), targets: bytesOf(k.targets), types: bytesOf(k.types) };
}

export function codec<K extends ShardMessage["type"], R>(
  typeName: K,
  encode: (m: Msg<K>) => Uint8Array,
  decode: (b: Uint8Array) => Msg<K>,
  encodeReply: (r: R) => Uint8Array,
  decodeReply: (b: Uint8Array) => R,
): MessageCodec {
  return {
    typeName,
    encode: (m) => encode(m as Msg<K>),
    decode,
    encodeReply: (r) => encodeReply(r as R),
    decodeReply,
  };
}
