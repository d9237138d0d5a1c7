import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allIdsZero, dealFreshTokenRecords, RoundRobin } from "../../../src/actors/router-batches.ts";

/** `n` packed token records whose ids are `ids[i]`, placed at byte offset `shift` of a larger buffer. */
function recordsAt(ids: readonly number[], shift: number): Uint8Array {
  const buf = new Uint8Array(shift + ids.length * 64);
  const out = buf.subarray(shift);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  ids.forEach((id, i) => {
    view.setUint32(i * 64 + 48, id, true);
    out[i * 64] = i & 0xff; // a distinct first byte per record
  });
  return out;
}

describe("allIdsZero", () => {
  it("equals a brute-force check of every id, aligned or not", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 0xffffffff })), { maxLength: 40 }), fc.integer({ min: 0, max: 7 }), (ids, shift) => {
        expect(allIdsZero(recordsAt(ids, shift))).toBe(ids.every((id) => id === 0));
      }),
    );
  });
});

describe("dealFreshTokenRecords", () => {
  it("deals a copy of every record, in order, to consecutive shards, and advances the cursor", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 3 }), (n, shards, skip, shift) => {
        const rr = new RoundRobin(shards);
        for (let i = 0; i < skip; i++) rr.take();
        const records = recordsAt(new Array<number>(n).fill(0), shift);
        const before = records.slice();
        const parts = dealFreshTokenRecords(records, shards, rr);
        expect(parts.length).toBe(Math.min(n, shards));
        let item = 0;
        parts.forEach((p, j) => {
          expect(p.shard).toBe((skip + j) % shards);
          expect(p.payload.byteOffset % 4).toBe(0);
          expect(Array.from(p.items)).toEqual(Array.from({ length: p.items.length }, (_, k) => item + k));
          expect(Buffer.from(p.payload).equals(before.subarray(item * 64, (item + p.items.length) * 64))).toBe(true);
          item += p.items.length;
          p.payload.fill(0xee); // the shards may write into their parts; the request must not change
        });
        expect(item).toBe(n);
        expect(records).toEqual(before);
        expect(rr.take()).toBe((skip + Math.min(n, shards)) % shards);
      }),
    );
  });
});
