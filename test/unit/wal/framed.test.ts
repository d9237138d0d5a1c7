import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RECORD_TRAILER_SIZE, allocateFramedParts, checkRecord, decodeMutationPayload, encodeMutationRecord, framePrefixSize, sealFramed } from "../../../src/core/wal/index.ts";

const partSizes = fc.array(fc.integer({ min: 0, max: 300 }).map((n) => n * 64), { minLength: 1, maxLength: 8 });

describe("framed records", () => {
  it("lays out aligned, disjoint parts with room for each frame", () => {
    fc.assert(
      fc.property(partSizes, (sizes) => {
        const parts = allocateFramedParts(sizes);
        let prevEnd = 0;
        parts.forEach((p, j) => {
          expect(p.byteLength).toBe(sizes[j]);
          expect(p.byteOffset % 4).toBe(0);
          expect(p.byteOffset - framePrefixSize(sizes[j]!)).toBeGreaterThanOrEqual(prevEnd);
          prevEnd = p.byteOffset + p.byteLength + RECORD_TRAILER_SIZE;
          expect(prevEnd).toBeLessThanOrEqual(p.buffer.byteLength);
        });
      }),
    );
  });

  it("seals the same bytes as encoding a copy, leaves the records and the other parts alone", () => {
    fc.assert(
      fc.property(partSizes, fc.nat(), fc.integer({ min: 1, max: 2 ** 40 }), fc.integer({ min: 0, max: 0xffff }), (sizes, seed, lsn, shard) => {
        const parts = allocateFramedParts(sizes);
        parts.forEach((p, j) => {
          for (let i = 0; i < p.length; i++) p[i] = (seed + i * 31 + j * 7) & 0xff;
        });
        const before = parts.map((p) => p.slice());
        const records = parts.map((p, j) => {
          const copy = encodeMutationRecord(lsn + j, shard, { kind: "tokens.insert", records: before[j]! });
          const framed = encodeMutationRecord(lsn + j, shard, { kind: "tokens.insert", records: p, framed: true });
          expect(Buffer.from(framed).equals(copy)).toBe(true);
          if (p.length > 0) expect(framed.buffer).toBe(p.buffer); // sealed in place, no copy
          return framed;
        });
        parts.forEach((p, j) => expect(Buffer.from(p).equals(before[j]!)).toBe(true));
        records.forEach((r, j) => {
          const check = checkRecord(r, { lsn: lsn + j, shard });
          expect(check.ok).toBe(true);
          if (check.ok) {
            const m = decodeMutationPayload(check.header.type, check.payload);
            expect(m.kind).toBe("tokens.insert");
            if (m.kind === "tokens.insert") expect(Buffer.from(m.records).equals(before[j]!)).toBe(true);
          }
        });
      }),
    );
  });

  it("falls back to a copy when the records have no room for the frame", () => {
    const bare = new Uint8Array(128).fill(5);
    expect(sealFramed(1, 1, 0, bare)).toBeUndefined();
    const record = encodeMutationRecord(1, 0, { kind: "tokens.insert", records: bare, framed: true });
    expect(record.buffer).not.toBe(bare.buffer);
    expect(Buffer.from(record).equals(encodeMutationRecord(1, 0, { kind: "tokens.insert", records: bare }))).toBe(true);
    const tight = new Uint8Array(new ArrayBuffer(framePrefixSize(128) + 128), framePrefixSize(128), 128); // no room behind
    expect(sealFramed(1, 1, 0, tight)).toBeUndefined();
  });
});
