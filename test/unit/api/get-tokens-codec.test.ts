import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { serializeGetTokensResponse } from "../../../src/api/get-tokens-codec.ts";
import { decodeTokens } from "../../../src/api/records.ts";
import { GetTokensResponse } from "../../../src/gen/neurograph/v1/token_service.ts";

describe("serializeGetTokensResponse", () => {
  it("writes the bytes of the generated encoder", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 * 40 }), fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 40 }), (records, missing) => {
        const res: GetTokensResponse = { records: Buffer.from(records), tokens: [], missing };
        const expected = Buffer.from(GetTokensResponse.encode(res).finish());
        expect(serializeGetTokensResponse(res).equals(expected)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("falls back to the generated encoder when structured tokens are present", () => {
    const records = Buffer.alloc(64);
    records.writeUInt32LE(42, 48);
    records.writeFloatLE(0.5, 54);
    const res: GetTokensResponse = { records, tokens: decodeTokens(records), missing: [1, 300, 2 ** 32 - 1] };
    expect(res.tokens).toHaveLength(1);
    expect(serializeGetTokensResponse(res).equals(Buffer.from(GetTokensResponse.encode(res).finish()))).toBe(true);
  });
});
