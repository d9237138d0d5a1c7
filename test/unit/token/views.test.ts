/**
 * recordViews over Node Buffers. Sockets, gRPC and LMDB hand over Buffers at arbitrary offsets
 * into a shared pool, and `Buffer.prototype.slice` is a view, not a copy: a misaligned Buffer
 * must still give aligned word views over a real copy, and writes through them must not reach
 * the caller's memory.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ShardStore } from "../../../src/core/store/index.ts";
import { TOKEN_RECORD_SIZE, TokenOffset, decodeTokens, encodeToken, encodeTokens, tokenFields } from "../../../src/core/token/index.ts";
import { recordViews } from "../../../src/core/token/views.ts";
import { sameBytes } from "../../helpers/bytes.ts";

/** A Buffer holding `bytes` at byte offset `offset` of a larger ArrayBuffer. */
function bufferAt(bytes: Uint8Array, offset: number): Buffer {
  const backing = new ArrayBuffer(bytes.byteLength + offset + 3);
  const b = Buffer.from(backing, offset, bytes.byteLength);
  b.set(bytes);
  return b;
}

describe("recordViews", () => {
  it("copies a misaligned Buffer into aligned memory of its own", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 3 }), fc.nat(), (n, offset, seed) => {
        const bytes = new Uint8Array(n * 64).map((_, i) => (Math.imul(i + 1, 2654435761) ^ seed) >>> 24);
        const buf = bufferAt(bytes, offset);
        const v = recordViews(buf);
        expect(v.copied).toBe(true);
        expect(v.u8.buffer).not.toBe(buf.buffer);
        expect(v.u8.byteOffset % 4).toBe(0);
        expect(sameBytes(v.u8, bytes)).toBe(true);
        const dv = new DataView(bytes.buffer);
        for (let r = 0; r < n; r++) {
          expect(v.u32[r * 16 + 12]).toBe(dv.getUint32(r * 64 + 48, true));
          expect(v.u16[r * 32 + 26]).toBe(dv.getUint16(r * 64 + 52, true));
        }
        v.u32.fill(0xdeadbeef);
        expect(sameBytes(buf, bytes)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it("views an aligned Buffer in place", () => {
    const buf = bufferAt(new Uint8Array(128).fill(7), 4);
    const v = recordViews(buf);
    expect(v.copied).toBe(false);
    expect(v.u8).toBe(buf);
    v.u32[0] = 0x01020304;
    expect(buf[0]).toBe(4);
  });

  it("lets the codec and the store read misaligned Buffers", () => {
    const records = new Uint8Array(3 * TOKEN_RECORD_SIZE);
    for (let i = 0; i < 3; i++) encodeToken(tokenFields(10 + i, 1_700_000_000, { weight: 0.5 + i }), records, i);
    for (const offset of [1, 2, 3]) {
      expect(sameBytes(encodeTokens(decodeTokens(bufferAt(records, offset))), records)).toBe(true);
      const store = new ShardStore();
      expect(store.insertRecords(bufferAt(records, offset)).applied).toBe(3);
      expect(sameBytes(store.exportTokens(), records)).toBe(true);
    }
  });

  it("writes ids allocated for a misaligned Buffer back into the caller's bytes", () => {
    const records = new Uint8Array(2 * TOKEN_RECORD_SIZE);
    encodeToken(tokenFields(1, 1_700_000_000), records, 0);
    encodeToken(tokenFields(1, 1_700_000_000), records, 1);
    new DataView(records.buffer).setUint32(TOKEN_RECORD_SIZE + TokenOffset.id, 0, true);
    const buf = bufferAt(records, 3);
    const store = new ShardStore();
    const r = store.insertRecords(buf);
    expect(r.applied).toBe(2);
    expect(buf.readUInt32LE(TOKEN_RECORD_SIZE + TokenOffset.id)).toBe(r.ids[1]);
    expect(store.has(r.ids[1]!)).toBe(true);
  });
});
