import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  RECORD_OVERHEAD,
  RecordType,
  checkRecord,
  decodeMutationPayload,
  encodeMutationRecord,
  encodeRecord,
  readRecordHeader,
} from "../../../src/core/wal/index.ts";
import { crc32c } from "../../../src/core/util/crc32c.ts";
import { arbMutation, plain } from "./arbitraries.ts";

describe("WAL record framing", () => {
  it("lays out the header, payload and CRC32C as documented (golden bytes)", () => {
    const rec = encodeRecord(0x0102030405, RecordType.FieldResult, 0x0a0b, Uint8Array.of(0xaa, 0xbb));
    expect(Array.from(rec.subarray(0, 18))).toEqual([
      0x05, 0x04, 0x03, 0x02, 0x01, 0, 0, 0, // lsn u64 LE
      1, // version
      7, // type field.result
      0x0b, 0x0a, // shard u16 LE
      2, 0, 0, 0, // payload length
      0xaa, 0xbb,
    ]);
    const crc = crc32c(rec.subarray(0, 18));
    expect(new DataView(rec.buffer).getUint32(18, true)).toBe(crc);
    expect(rec.length).toBe(RECORD_OVERHEAD + 2);
  });

  it("encodes a tokens.insert payload as protobuf field 1 (tag 0x0a, varint length)", () => {
    const records = new Uint8Array(128).map((_, i) => i);
    const rec = encodeMutationRecord(9, 3, { kind: "tokens.insert", records });
    expect(Array.from(rec.subarray(16, 19))).toEqual([0x0a, 0x80, 0x01]);
    expect(Array.from(rec.subarray(19, 19 + 128))).toEqual(Array.from(records));
  });

  it("round-trips every mutation kind through a record", () => {
    fc.assert(
      fc.property(arbMutation(), fc.integer({ min: 1, max: 2 ** 53 - 1 }), fc.integer({ min: 0, max: 0xffff }), (m, lsn, shard) => {
        const rec = encodeMutationRecord(lsn, shard, m);
        const check = checkRecord(rec, { lsn, shard });
        expect(check.ok).toBe(true);
        if (!check.ok) return;
        expect(check.header).toEqual({ lsn, version: 1, type: check.header.type, shard, payloadLength: rec.length - RECORD_OVERHEAD });
        expect(plain(decodeMutationPayload(check.header.type, check.payload))).toEqual(plain(m));
      }),
    );
  });

  it("detects every single-bit flip anywhere in a record", () => {
    fc.assert(
      fc.property(arbMutation(2), fc.integer({ min: 1, max: 1_000_000 }), (m, lsn) => {
        const rec = encodeMutationRecord(lsn, 1, m);
        for (let bit = 0; bit < rec.length * 8; bit++) {
          const copy = rec.slice();
          copy[bit >>> 3]! ^= 1 << (bit & 7);
          const check = checkRecord(copy, { lsn, shard: 1 });
          if (check.ok) throw new Error(`flip of bit ${bit} went undetected`);
        }
      }),
      { numRuns: 40 },
    );
  });

  it("tells a torn record (short, bad length, bad CRC) from an intact one that does not belong", () => {
    const rec = encodeMutationRecord(5, 2, { kind: "tokens.delete", ids: Uint32Array.of(1, 2, 3) });
    expect(checkRecord(rec.subarray(0, 10))).toMatchObject({ ok: false, problem: "short" });
    expect(checkRecord(rec.subarray(0, rec.length - 1))).toMatchObject({ ok: false, problem: "length" });
    const flipped = rec.slice();
    flipped[20]! ^= 0x10;
    expect(checkRecord(flipped)).toMatchObject({ ok: false, problem: "crc" });
    expect(checkRecord(rec, { lsn: 6 })).toMatchObject({ ok: false, problem: "lsn" });
    expect(checkRecord(rec, { shard: 3 })).toMatchObject({ ok: false, problem: "shard" });
    const future = encodeRecord(5, 1, 2, new Uint8Array(0));
    future[8] = 2;
    future.set(new Uint8Array(new Uint32Array([crc32c(future.subarray(0, 16))]).buffer), 16);
    expect(checkRecord(future)).toMatchObject({ ok: false, problem: "version" });
    const unknownType = encodeRecord(5, 99, 2, new Uint8Array(0));
    expect(checkRecord(unknownType)).toMatchObject({ ok: false, problem: "type" });
  });

  it("reads LSNs up to 2^53 - 1 exactly and reports larger ones as unreadable", () => {
    const big = encodeRecord(2 ** 53 - 1, 1, 0, new Uint8Array(0));
    expect(readRecordHeader(big)?.lsn).toBe(2 ** 53 - 1);
    big[7] = 0xff;
    expect(readRecordHeader(big)?.lsn).toBeNaN();
  });
});
