import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  LogScan,
  RecordType,
  SnapshotAssembler,
  checkRecord,
  decodeSnapshotChunk,
  decodeSnapshotManifest,
  encodeMutationRecord,
  encodeRecord,
  encodeSnapshotChunk,
  encodeSnapshotManifest,
  planSnapshotChunks,
  type SnapshotContent,
} from "../../../src/core/wal/index.ts";
import { WalSnapshotChunk, WalSnapshotManifest } from "../../../src/gen/neurograph/v1/wal.ts";

const arbContent: fc.Arbitrary<SnapshotContent> = fc.record({
  tokens: fc.nat({ max: 40 }).chain((n) => fc.uint8Array({ minLength: n * 64, maxLength: n * 64 })),
  connections: fc.nat({ max: 40 }).chain((n) => fc.uint8Array({ minLength: n * 64, maxLength: n * 64 })),
  constitution: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: undefined }),
});

function writeSnapshot(content: SnapshotContent, lsn: number, shard: number, chunkBytes: number) {
  const plan = planSnapshotChunks(content, chunkBytes);
  const chunks = plan.map((c) => encodeSnapshotChunk(lsn, shard, c));
  const manifest = encodeSnapshotManifest({
    shard,
    lsn,
    createdAtMs: 1_700_000_000_000,
    tokenBytes: content.tokens.length,
    connectionBytes: content.connections.length,
    constitutionBytes: content.constitution?.length ?? 0,
    hasConstitution: content.constitution !== undefined,
    chunkCrcs: chunks.map((c) => c.crc),
  });
  return { chunks: chunks.map((c) => c.record), manifest };
}

function readSnapshot(records: { chunks: Uint8Array[]; manifest: Uint8Array }): SnapshotContent {
  const m = checkRecord(records.manifest);
  if (!m.ok) throw new Error(m.detail);
  const asm = new SnapshotAssembler(decodeSnapshotManifest(m.payload));
  for (const rec of records.chunks) {
    const c = checkRecord(rec);
    if (!c.ok) throw new Error(c.detail);
    asm.add(c.crc, decodeSnapshotChunk(c.payload));
  }
  return asm.finish();
}

describe("snapshots", () => {
  it("round-trip through chunks and a manifest for any chunk size", () => {
    fc.assert(
      fc.property(arbContent, fc.integer({ min: 1, max: 2000 }), (content, chunkBytes) => {
        const back = readSnapshot(writeSnapshot(content, 42, 3, chunkBytes));
        expect(Array.from(back.tokens)).toEqual(Array.from(content.tokens));
        expect(Array.from(back.connections)).toEqual(Array.from(content.connections));
        expect(back.constitution === undefined ? undefined : Array.from(back.constitution)).toEqual(
          content.constitution === undefined ? undefined : Array.from(content.constitution),
        );
      }),
    );
  });

  it("cut token and connection sections at whole 64-byte records", () => {
    const plan = planSnapshotChunks({ tokens: new Uint8Array(64 * 10), connections: new Uint8Array(64 * 3) }, 200);
    expect(plan.map((c) => [c.section, c.offset, c.data.length])).toEqual([
      [1, 0, 192], [1, 192, 192], [1, 384, 192], [1, 576, 64], [2, 0, 192],
    ]);
    expect(plan.map((c) => c.index)).toEqual([0, 1, 2, 3, 4]);
  });

  it("chunk and manifest payloads are the generated protobuf messages", () => {
    const { chunks, manifest } = writeSnapshot({ tokens: new Uint8Array(128).fill(7), connections: new Uint8Array(0), constitution: Uint8Array.of(1) }, 9, 1, 64);
    const m = checkRecord(manifest);
    if (!m.ok) throw new Error("bad manifest");
    expect(m.header.type).toBe(RecordType.SnapshotManifest);
    const decoded = WalSnapshotManifest.decode(m.payload);
    expect(decoded).toMatchObject({ shard: 1, lsn: 9, tokenBytes: 128, connectionBytes: 0, constitutionBytes: 1, hasConstitution: true });
    expect(decoded.chunkCrcs).toHaveLength(3);
    const c = checkRecord(chunks[1]!);
    if (!c.ok) throw new Error("bad chunk");
    expect(WalSnapshotChunk.decode(c.payload)).toMatchObject({ section: 1, index: 1, offset: 64 });
  });

  it("put each chunk's data at an 8-aligned record offset, and read chunks written without the padding alike", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), fc.constantFrom(1, 2, 3), fc.nat({ max: 70_000 }), fc.nat({ max: 1 << 30 }), (data, section, index, offset) => {
        const chunk = { section: section, index, offset, data };
        const { record } = encodeSnapshotChunk(7, 2, chunk);
        const c = checkRecord(record);
        if (!c.ok) throw new Error(c.detail);
        const decoded = decodeSnapshotChunk(c.payload);
        expect({ ...decoded, data: Array.from(decoded.data) }).toEqual({ section, index, offset, data: Array.from(data) });
        expect(decoded.data.byteOffset % 8).toBe(record.byteOffset % 8);
        expect(WalSnapshotChunk.decode(c.payload)).toMatchObject({ section, index, offset });
        // A chunk of an earlier writer: the generated encoding, no padding field.
        const old = checkRecord(encodeRecord(7, RecordType.SnapshotChunk, 2, WalSnapshotChunk.encode({ section, index, offset, data: Buffer.from(data) }).finish()));
        if (!old.ok) throw new Error(old.detail);
        const back = decodeSnapshotChunk(old.payload);
        expect({ ...back, data: Array.from(back.data) }).toEqual({ section, index, offset, data: Array.from(data) });
      }),
    );
  });

  it("refuse a missing, extra, reordered or foreign chunk", () => {
    const content = { tokens: new Uint8Array(64 * 4).fill(1), connections: new Uint8Array(64).fill(2) };
    const snap = writeSnapshot(content, 10, 0, 128);
    expect(() => readSnapshot({ ...snap, chunks: snap.chunks.slice(1) })).toThrow(/chunk 0 is missing/);
    expect(() => readSnapshot({ ...snap, chunks: snap.chunks.slice(0, -1) })).toThrow(/2 of the manifest's 3 chunks/);
    expect(() => readSnapshot({ ...snap, chunks: [...snap.chunks, snap.chunks[0]!] })).toThrow(/beyond the manifest/);
    const other = writeSnapshot({ ...content, tokens: new Uint8Array(64 * 4).fill(9) }, 10, 0, 128);
    expect(() => readSnapshot({ ...snap, chunks: [other.chunks[0]!, ...snap.chunks.slice(1)] })).toThrow(/CRC differs/);
  });
});

function log(n: number, shard = 0, from = 1): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => encodeMutationRecord(from + i, shard, { kind: "tokens.delete", ids: Uint32Array.of(from + i) }));
}

function scan(entries: [number, Uint8Array][], base = 0, shard = 0) {
  const s = new LogScan(shard, base);
  const replayed: number[] = [];
  for (const [k, v] of entries) {
    const item = s.feed(k, v);
    if (item !== undefined) replayed.push(item.lsn);
  }
  return { result: s.result(), replayed };
}

const keyed = (recs: Uint8Array[], from = 1): [number, Uint8Array][] => recs.map((r, i) => [from + i, r]);

function flip(rec: Uint8Array, at = 20): Uint8Array {
  const c = rec.slice();
  c[at]! ^= 0x04;
  return c;
}

describe("log scan (recovery rules)", () => {
  it("replays a clean log in order after the base LSN", () => {
    const { result, replayed } = scan(keyed(log(5, 0, 4), 4), 3);
    expect(result).toEqual({ kind: "clean", lastLsn: 8, replayed: 5 });
    expect(replayed).toEqual([4, 5, 6, 7, 8]);
  });

  it("treats bad records at the end as a torn tail", () => {
    const recs = log(6);
    recs[4] = flip(recs[4]!);
    recs[5] = recs[5]!.subarray(0, 20);
    const { result, replayed } = scan(keyed(recs));
    expect(replayed).toEqual([1, 2, 3, 4]);
    expect(result).toMatchObject({ kind: "torn-tail", lastLsn: 4, problem: { kind: "torn", lsn: 5 }, tailEntries: 2 });
  });

  it("treats a bad record followed by an intact one as corruption", () => {
    const recs = log(6);
    recs[2] = flip(recs[2]!);
    const { result, replayed } = scan(keyed(recs));
    expect(replayed).toEqual([1, 2]);
    expect(result).toMatchObject({ kind: "damaged", lastLsn: 2, problem: { kind: "corrupt", lsn: 3 }, entriesFromDamage: 4, intactAfter: 3 });
  });

  it("reports a missing LSN as a gap naming the missing range", () => {
    const recs = keyed(log(6)).filter(([k]) => k !== 3 && k !== 4);
    const { result, replayed } = scan(recs);
    expect(replayed).toEqual([1, 2]);
    expect(result).toMatchObject({ kind: "damaged", problem: { kind: "gap", lsn: 3, detail: "LSNs 3..4 are missing (the next stored record is LSN 5)" } });
  });

  it("refuses intact records that do not belong (other shard, other LSN, snapshot types, bad payload)", () => {
    const other = keyed(log(3));
    other[1] = [2, encodeMutationRecord(2, 7, { kind: "tokens.delete", ids: Uint32Array.of(1) })];
    expect(scan(other).result).toMatchObject({ kind: "damaged", problem: { kind: "invalid", lsn: 2 } });
    const moved = keyed(log(3));
    moved[2] = [3, encodeMutationRecord(9, 0, { kind: "tokens.delete", ids: Uint32Array.of(1) })];
    expect(scan(moved).result).toMatchObject({ kind: "damaged", problem: { kind: "invalid", lsn: 3 } });
    const snap = keyed(log(2));
    snap.push([3, encodeRecord(3, RecordType.SnapshotManifest, 0, new Uint8Array(0))]);
    const snapResult = scan(snap).result;
    expect(snapResult).toMatchObject({ kind: "damaged", problem: { kind: "invalid", lsn: 3 } });
    expect(snapResult.kind === "damaged" ? snapResult.problem.detail : "").toMatch(/snapshot.manifest/);
    const junk = keyed(log(2));
    junk.push([3, encodeRecord(3, RecordType.TokensInsert, 0, Uint8Array.of(0x0a, 0x02, 1, 2))]);
    const junkResult = scan(junk).result;
    expect(junkResult).toMatchObject({ kind: "damaged", problem: { kind: "invalid", lsn: 3 } });
    expect(junkResult.kind === "damaged" ? junkResult.problem.detail : "").toMatch(/undecodable/);
  });

  it("classifies any single flipped bit: the last record is a torn tail, any other is corruption", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.nat(), fc.nat(), (n, which, bitSeed) => {
        const recs = log(n);
        const i = which % n;
        const bit = bitSeed % (recs[i]!.length * 8);
        const c = recs[i]!.slice();
        c[bit >>> 3]! ^= 1 << (bit & 7);
        recs[i] = c;
        const { result, replayed } = scan(keyed(recs));
        expect(replayed).toEqual(Array.from({ length: i }, (_, k) => k + 1));
        expect(result.kind).toBe(i === n - 1 ? "torn-tail" : "damaged");
        expect(result.kind === "clean" ? undefined : result.problem.lsn).toBe(i + 1);
      }),
    );
  });
});
