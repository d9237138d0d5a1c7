import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  RECORD_HEADER_SIZE,
  RECORD_TRAILER_SIZE,
  RecordType,
  WireFormatError,
  decodeMutationPayload,
  encodeMutationRecord,
  mutationItemCount,
  mutationPayloadSize,
  recordTypeOf,
  type ShardMutation,
} from "../../../src/core/wal/index.ts";
import {
  WalConnectionsRemove,
  WalConnectionsUpsert,
  WalConstitutionSet,
  WalFieldResult,
  WalTokensDelete,
  WalTokensInsert,
  WalTokensUpdate,
} from "../../../src/gen/neurograph/v1/wal.ts";
import { InternalError } from "../../../src/core/errors.ts";
import { arbMutation, plain } from "./arbitraries.ts";

function payloadOf(rec: Uint8Array): Uint8Array {
  return rec.subarray(RECORD_HEADER_SIZE, rec.length - RECORD_TRAILER_SIZE);
}

/** The generated (ts-proto) codec's view of a payload, as plain arrays. */
function generatedDecode(m: ShardMutation, payload: Uint8Array): Record<string, unknown> {
  switch (m.kind) {
    case "tokens.insert":
      return { kind: m.kind, records: Array.from(WalTokensInsert.decode(payload).records) };
    case "tokens.update":
      return { kind: m.kind, records: Array.from(WalTokensUpdate.decode(payload).records) };
    case "connections.upsert":
      return { kind: m.kind, records: Array.from(WalConnectionsUpsert.decode(payload).records) };
    case "tokens.delete":
      return { kind: m.kind, ids: WalTokensDelete.decode(payload).ids };
    case "connections.remove": {
      const d = WalConnectionsRemove.decode(payload);
      return { kind: m.kind, sources: d.sources, targets: d.targets, types: Array.from(d.types) };
    }
    case "constitution.set":
      return { kind: m.kind, document: Array.from(WalConstitutionSet.decode(payload).document) };
    case "field.result":
      return { kind: m.kind, payload: Array.from(WalFieldResult.decode(payload).payload) };
  }
}

/** The generated codec's encoding of the same mutation. */
function generatedEncode(m: ShardMutation): Uint8Array {
  switch (m.kind) {
    case "tokens.insert":
      return WalTokensInsert.encode({ records: Buffer.from(m.records) }).finish();
    case "tokens.update":
      return WalTokensUpdate.encode({ records: Buffer.from(m.records) }).finish();
    case "connections.upsert":
      return WalConnectionsUpsert.encode({ records: Buffer.from(m.records) }).finish();
    case "tokens.delete":
      return WalTokensDelete.encode({ ids: Array.from(m.ids) }).finish();
    case "connections.remove":
      return WalConnectionsRemove.encode({ sources: Array.from(m.sources), targets: Array.from(m.targets), types: Buffer.from(m.types) }).finish();
    case "constitution.set":
      return WalConstitutionSet.encode({ document: Buffer.from(m.document) }).finish();
    case "field.result":
      return WalFieldResult.encode({ payload: Buffer.from(m.payload) }).finish();
  }
}

describe("WAL mutation payloads (wal.proto)", () => {
  it("are byte-identical to the generated protobuf encoding", () => {
    fc.assert(
      fc.property(arbMutation(), (m) => {
        expect(Array.from(payloadOf(encodeMutationRecord(1, 0, m)))).toEqual(Array.from(generatedEncode(m)));
      }),
    );
  });

  it("decode to what the generated codec decodes", () => {
    fc.assert(
      fc.property(arbMutation(), (m) => {
        expect(generatedDecode(m, payloadOf(encodeMutationRecord(1, 0, m)))).toEqual(plain(m));
      }),
    );
  });

  it("decode payloads written by the generated codec, including unpacked ids and unknown fields", () => {
    fc.assert(
      fc.property(arbMutation(), (m) => {
        const payload = generatedEncode(m);
        expect(plain(decodeMutationPayload(recordTypeOf(m.kind), payload))).toEqual(plain(m));
      }),
    );
    // ids 7 and 9 unpacked (tag 0x0d, fixed32), then an unknown varint field 15.
    const unpacked = Uint8Array.of(0x0d, 7, 0, 0, 0, 0x0d, 9, 0, 0, 0, 0x78, 0x05);
    const m = decodeMutationPayload(RecordType.TokensDelete, unpacked);
    expect(plain(m)).toEqual({ kind: "tokens.delete", ids: [7, 9] });
  });

  it("size what they encode", () => {
    fc.assert(
      fc.property(arbMutation(), (m) => {
        expect(payloadOf(encodeMutationRecord(1, 0, m)).length).toBe(mutationPayloadSize(m));
      }),
    );
  });

  it("count items per kind", () => {
    expect(mutationItemCount({ kind: "tokens.insert", records: new Uint8Array(192) })).toBe(3);
    expect(mutationItemCount({ kind: "tokens.delete", ids: new Uint32Array(5) })).toBe(5);
    expect(mutationItemCount({ kind: "constitution.set", document: new Uint8Array(9) })).toBe(1);
  });

  it("refuse to encode mutations whose shapes are wrong (a bug in the caller)", () => {
    expect(() => encodeMutationRecord(1, 0, { kind: "tokens.insert", records: new Uint8Array(65) })).toThrow(InternalError);
    expect(() =>
      encodeMutationRecord(1, 0, { kind: "connections.remove", sources: new Uint32Array(2), targets: new Uint32Array(1), types: new Uint8Array(2) }),
    ).toThrow(/must be equal in number/);
  });

  it("reject payloads that do not match their type", () => {
    expect(() => decodeMutationPayload(RecordType.TokensInsert, Uint8Array.of(0x0a, 0x03, 1, 2, 3))).toThrow(WireFormatError);
    expect(() => decodeMutationPayload(RecordType.TokensInsert, Uint8Array.of(0x0a, 0x05, 1))).toThrow(/runs past the end/);
    expect(() => decodeMutationPayload(RecordType.TokensDelete, Uint8Array.of(0x0a, 0x03, 1, 2, 3))).toThrow(/multiple of 4/);
    const uneven = WalConnectionsRemove.encode({ sources: [1, 2], targets: [3], types: Buffer.of(1, 2) }).finish();
    expect(() => decodeMutationPayload(RecordType.ConnectionsRemove, uneven)).toThrow(/2 sources, 1 targets/);
    expect(() => decodeMutationPayload(RecordType.SnapshotChunk, new Uint8Array(0))).toThrow(/not a mutation/);
  });
});
