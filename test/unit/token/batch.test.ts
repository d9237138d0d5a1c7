import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ValidationError } from "../../../src/core/errors.ts";
import { sameBytes } from "../../helpers/bytes.ts";
import { TOKEN_RECORD_SIZE, TokenOffset, decodeTokens, encodeTokens } from "../../../src/core/token/index.ts";

/** Records whose weights include odd float bit patterns: NaN payloads, −0, denormals, infinities. */
const oddWeights = [0x7fc00001, 0xffffffff, 0x7f800001, 0x80000000, 0x00000001, 0x7f800000, 0xff800000, 0x3f000000];

const recordsArb = fc
  .tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 0xffffffff }))
  .chain(([n, seed]) =>
    fc.uint8Array({ minLength: n * TOKEN_RECORD_SIZE, maxLength: n * TOKEN_RECORD_SIZE }).map((bytes) => {
      const dv = new DataView(bytes.buffer);
      for (let i = 0; i < n; i++) {
        if ((seed >>> (i % 32)) & 1) dv.setUint32(i * 64 + TokenOffset.weight, oddWeights[i % oddWeights.length]!, true);
      }
      return bytes;
    }),
  );

describe("token batch codec", () => {
  it("round-trips every byte pattern exactly (records → columns → records)", () => {
    fc.assert(
      fc.property(recordsArb, (bytes) => {
        const cols = decodeTokens(bytes);
        expect(cols.size).toBe(bytes.byteLength / 64);
        expect(sameBytes(encodeTokens(cols), bytes)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("decodes every field to the right column", () => {
    fc.assert(
      fc.property(recordsArb, (bytes) => {
        const cols = decodeTokens(bytes);
        const dv = new DataView(bytes.buffer, bytes.byteOffset);
        for (let i = 0; i < cols.size; i++) {
          const b = i * 64;
          for (let k = 0; k < 24; k++) expect(cols.coords[i * 24 + k]).toBe(dv.getInt16(b + k * 2, true));
          expect(cols.ids[i]).toBe(dv.getUint32(b + TokenOffset.id, true));
          expect(cols.flags[i]).toBe(dv.getUint16(b + TokenOffset.flags, true));
          const w = new Uint32Array(cols.weights.buffer, cols.weights.byteOffset, cols.size);
          expect(w[i]).toBe(dv.getUint32(b + TokenOffset.weight, true));
          expect(cols.radii[i]).toBe(dv.getUint8(b + TokenOffset.fieldRadius));
          expect(cols.strengths[i]).toBe(dv.getUint8(b + TokenOffset.fieldStrength));
          expect(cols.timestamps[i]).toBe(dv.getUint32(b + TokenOffset.timestamp, true));
        }
      }),
      { numRuns: 50 },
    );
  });

  it("accepts records at any byte offset", () => {
    fc.assert(
      fc.property(recordsArb, fc.integer({ min: 1, max: 7 }), (bytes, off) => {
        const buf = new Uint8Array(bytes.byteLength + off);
        buf.set(bytes, off);
        const view = buf.subarray(off);
        expect(sameBytes(encodeTokens(decodeTokens(view)), bytes)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it("encodes a window of columns", () => {
    const bytes = new Uint8Array(5 * 64).map((_, i) => (i * 7) & 0xff);
    const cols = decodeTokens(bytes);
    expect(encodeTokens(cols, 1, 3)).toEqual(bytes.subarray(64, 256));
  });

  it("rejects a byte length that is not a multiple of 64", () => {
    try {
      decodeTokens(new Uint8Array(100));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).violations[0]).toMatchObject({ field: "records", rule: "record_size", value: "100" });
    }
  });

  it("keeps coordinate words that read as NaN doubles bit for bit, in every compiler tier", () => {
    // Coordinates move as 64-bit words: each of these pairs of u32 (low, high) is a NaN when read
    // as a double (signalling, quiet, with payloads, both signs); none may be canonicalised.
    const nanWords = [
      [0x00000001, 0x7ff00000], [0x00000000, 0x7ff80000], [0xdeadbeef, 0x7ff7ffff], [0x00000000, 0xfff00001],
      [0xffffffff, 0xffffffff], [0x12345678, 0x7ff40000], [0x00000001, 0xfff80000], [0x80000000, 0x7fffffff],
    ] as const;
    const n = 64;
    const bytes = new Uint8Array(n * TOKEN_RECORD_SIZE);
    const u32 = new Uint32Array(bytes.buffer);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 6; k++) {
        const [lo, hi] = nanWords[(i + k) % nanWords.length]!;
        u32[i * 16 + k * 2] = lo;
        u32[i * 16 + k * 2 + 1] = hi;
      }
      u32[i * 16 + 12] = i + 1;
    }
    // Enough repetitions for the copy loop to be optimised.
    for (let r = 0; r < 3000; r++) {
      const cols = decodeTokens(bytes);
      if (r % 500 === 0 || r === 2999) expect(sameBytes(encodeTokens(cols), bytes)).toBe(true);
    }
  });
});
