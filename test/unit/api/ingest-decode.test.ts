/**
 * The IngestTokens request decoder the server registers: the same message as the generated
 * decoder for any encoding (fields in any order, repeated, unknown fields), with the records a
 * view of the received bytes rather than a copy.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { decodeIngestTokensRequest } from "../../../src/api/ingest.ts";
import { tokenServiceDefinition } from "../../../src/api/token-service.ts";
import { IngestTokensRequest } from "../../../src/gen/neurograph/v1/token_service.ts";

type Field = { kind: "records"; bytes: Uint8Array } | { kind: "partial"; value: boolean } | { kind: "returnIds"; value: boolean } | { kind: "unknown"; no: number; value: number };

const field: fc.Arbitrary<Field> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ kind: "records" as const, bytes })),
  fc.boolean().map((value) => ({ kind: "partial" as const, value })),
  fc.boolean().map((value) => ({ kind: "returnIds" as const, value })),
  fc.record({ no: fc.integer({ min: 4, max: 1000 }), value: fc.nat() }).map((u) => ({ kind: "unknown" as const, ...u })),
);

function encode(fields: readonly Field[]): Buffer {
  const w = new BinaryWriter();
  for (const f of fields) {
    if (f.kind === "records") w.uint32(10).bytes(f.bytes);
    else if (f.kind === "partial") w.uint32(16).bool(f.value);
    else if (f.kind === "returnIds") w.uint32(24).bool(f.value);
    else w.uint32(f.no << 3).uint32(f.value);
  }
  return Buffer.from(w.finish());
}

describe("decodeIngestTokensRequest", () => {
  it("decodes what the generated decoder decodes", () => {
    fc.assert(
      fc.property(fc.array(field, { maxLength: 8 }), (fields) => {
        const bytes = encode(fields);
        const ours = decodeIngestTokensRequest(bytes);
        const generated = IngestTokensRequest.decode(bytes);
        expect(ours.partial).toBe(generated.partial);
        expect(ours.returnIds).toBe(generated.returnIds);
        expect(Buffer.compare(ours.records, generated.records)).toBe(0);
      }),
    );
  });

  it("returns the records as a view of the message, not a copy", () => {
    const records = Buffer.alloc(64 * 3, 7);
    const bytes = encode([{ kind: "partial", value: true }, { kind: "records", bytes: records }]);
    const msg = decodeIngestTokensRequest(bytes);
    expect(msg.records.buffer).toBe(bytes.buffer);
    expect(msg.records.byteLength).toBe(records.byteLength);
    expect(msg.partial).toBe(true);
  });

  it("is what the server's TokenService definition uses for IngestTokens", () => {
    expect(tokenServiceDefinition.ingestTokens.requestDeserialize).toBe(decodeIngestTokensRequest);
    expect(tokenServiceDefinition.createTokens.requestDeserialize).toBeTypeOf("function");
  });
});
