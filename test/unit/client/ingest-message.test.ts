import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ingestMessage } from "../../../src/client/ingest.ts";
import { IngestTokensRequest } from "../../../src/gen/neurograph/v1/token_service.ts";

describe("ingestMessage", () => {
  it("is the protobuf encoding of IngestTokensRequest, records copied once in place (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2100 }), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 2 ** 31 }), (records, partial, returnIds, seed) => {
        const bytes = records * 64;
        const buffer = new Uint8Array(6 + bytes + 4);
        for (let i = 0; i < bytes; i++) buffer[6 + i] = (seed + i * 31) & 0xff;
        const message = ingestMessage(buffer, bytes, partial, returnIds);
        const reference = Buffer.from(IngestTokensRequest.encode({ records: Buffer.from(buffer.subarray(6, 6 + bytes)), partial, returnIds }).finish());
        // An empty bytes field is omitted by the reference encoder; both decode the same.
        const decoded = IngestTokensRequest.decode(message);
        expect(Buffer.from(decoded.records).equals(Buffer.from(buffer.subarray(6, 6 + bytes)))).toBe(true);
        expect([decoded.partial, decoded.returnIds]).toEqual([partial, returnIds]);
        if (bytes > 0) expect(message.equals(reference)).toBe(true);
        expect(message.buffer).toBe(buffer.buffer);
      }),
      { numRuns: 200 },
    );
  });
});
