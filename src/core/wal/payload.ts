/**
 * ShardMutation ⇄ WAL record. Encoding writes the protobuf payload of `wal.proto` straight into
 * the record buffer (bulk bytes copied once); decoding returns views into the record for bulk
 * `bytes` fields and fresh aligned arrays for packed ids.
 */
import { InternalError } from "../errors.ts";
import { type ShardMutation, RecordType, recordTypeOf } from "./mutation.ts";
import { type Allocator, RECORD_HEADER_SIZE, beginRecord, sealRecord, zeroedAllocator } from "./record.ts";
import { Fixed32Collector, WireFormatError, WireReader, WireType, bytesFieldSize, writeBytesField } from "./wire.ts";

/** Size of a packed token or connection record. */
export const PACKED_RECORD_SIZE = 64;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function u32Bytes(a: Uint32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setUint32(i * 4, a[i]!, true);
  return out;
}

/** The length-delimited fields of the mutation's message, in field-number order. */
function fieldsOf(m: ShardMutation): readonly Uint8Array[] {
  switch (m.kind) {
    case "tokens.insert":
    case "tokens.update":
    case "connections.upsert":
      return [m.records];
    case "tokens.delete":
      return [u32Bytes(m.ids)];
    case "connections.remove":
      return [u32Bytes(m.sources), u32Bytes(m.targets), m.types];
    case "constitution.set":
      return [m.document];
    case "field.result":
      return [m.payload];
  }
}

/** Checks the shapes a resolved mutation must have; a failure here is a bug in the caller. */
export function checkMutationShape(m: ShardMutation): void {
  switch (m.kind) {
    case "tokens.insert":
    case "tokens.update":
    case "connections.upsert":
      if (m.records.length % PACKED_RECORD_SIZE !== 0) {
        throw new InternalError(`${m.kind}: ${m.records.length} bytes is not a whole number of ${PACKED_RECORD_SIZE}-byte records`);
      }
      return;
    case "connections.remove":
      if (m.sources.length !== m.targets.length || m.sources.length !== m.types.length) {
        throw new InternalError(
          `connections.remove: ${m.sources.length} sources, ${m.targets.length} targets and ${m.types.length} types must be equal in number`,
        );
      }
      return;
    default:
      return;
  }
}

/** Payload bytes the mutation takes (what back-pressure counts before encoding). */
export function mutationPayloadSize(m: ShardMutation): number {
  let n = 0;
  for (const f of fieldsOf(m)) n += bytesFieldSize(f.length);
  return n;
}

/** Encodes one mutation as a sealed record. */
export function encodeMutationRecord(lsn: number, shard: number, m: ShardMutation, alloc: Allocator = zeroedAllocator): Uint8Array {
  checkMutationShape(m);
  const fields = fieldsOf(m);
  let size = 0;
  for (const f of fields) size += bytesFieldSize(f.length);
  const buf = beginRecord(lsn, recordTypeOf(m.kind), shard, size, alloc);
  let pos = RECORD_HEADER_SIZE;
  for (let i = 0; i < fields.length; i++) pos = writeBytesField(buf, pos, i + 1, fields[i]!);
  sealRecord(buf);
  return buf;
}

const EMPTY: Uint8Array = new Uint8Array(0);

/**
 * Decodes the payload of a mutation record. Throws `WireFormatError` when the payload does not
 * match its type (unknown fields are skipped, as protobuf requires).
 */
export function decodeMutationPayload(type: number, payload: Uint8Array): ShardMutation {
  const r = new WireReader(payload);
  switch (type) {
    case RecordType.TokensInsert:
    case RecordType.TokensUpdate:
    case RecordType.ConnectionsUpsert: {
      const records = singleBytesField(r);
      if (records.length % PACKED_RECORD_SIZE !== 0) {
        throw new WireFormatError(`records field of ${records.length} bytes is not a whole number of 64-byte records`);
      }
      const kind = type === RecordType.TokensInsert ? "tokens.insert" : type === RecordType.TokensUpdate ? "tokens.update" : "connections.upsert";
      return { kind, records };
    }
    case RecordType.TokensDelete: {
      const ids = new Fixed32Collector();
      while (!r.done()) {
        const [field, wt] = r.tag();
        if (field === 1) ids.add(r, wt);
        else r.skip(wt);
      }
      return { kind: "tokens.delete", ids: ids.values() };
    }
    case RecordType.ConnectionsRemove: {
      const sources = new Fixed32Collector();
      const targets = new Fixed32Collector();
      let types: Uint8Array = EMPTY;
      while (!r.done()) {
        const [field, wt] = r.tag();
        if (field === 1) sources.add(r, wt);
        else if (field === 2) targets.add(r, wt);
        else if (field === 3 && wt === WireType.LengthDelimited) types = r.bytes();
        else r.skip(wt);
      }
      const s = sources.values();
      const t = targets.values();
      if (s.length !== t.length || s.length !== types.length) {
        throw new WireFormatError(`connections.remove with ${s.length} sources, ${t.length} targets and ${types.length} types`);
      }
      return { kind: "connections.remove", sources: s, targets: t, types };
    }
    case RecordType.ConstitutionSet:
      return { kind: "constitution.set", document: singleBytesField(r) };
    case RecordType.FieldResult:
      return { kind: "field.result", payload: singleBytesField(r) };
    default:
      throw new WireFormatError(`record type ${type} is not a mutation`);
  }
}

/** Field 1 of type bytes (when it occurs more than once, the last one wins, as protobuf says). */
function singleBytesField(r: WireReader): Uint8Array {
  let value: Uint8Array = EMPTY;
  while (!r.done()) {
    const [field, wt] = r.tag();
    if (field === 1 && wt === WireType.LengthDelimited) value = r.bytes();
    else r.skip(wt);
  }
  return value;
}

/** Items a mutation carries (tokens, connections, ids, documents), for reports and inspect. */
export function mutationItemCount(m: ShardMutation): number {
  switch (m.kind) {
    case "tokens.insert":
    case "tokens.update":
    case "connections.upsert":
      return m.records.length / PACKED_RECORD_SIZE;
    case "tokens.delete":
      return m.ids.length;
    case "connections.remove":
      return m.sources.length;
    case "constitution.set":
    case "field.result":
      return 1;
  }
}
