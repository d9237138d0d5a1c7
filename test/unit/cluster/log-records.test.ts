/**
 * The replicated shard log's framing: batches of mutations round-trip, split batches join back,
 * interrupted groups are dropped, damage is DataLoss; the snapshot object's layout round-trips.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DataLossError } from "../../../src/core/errors.ts";
import { PartJoiner, decodeBatch, encodeBatch, parsePart, splitParts } from "../../../src/actors/cluster/log-records.ts";
import { decodeSnapshot, encodeSnapshot } from "../../../src/actors/cluster/snapshot-store.ts";
import type { ShardMutation } from "../../../src/actors/shard-log.ts";

const records = fc.integer({ min: 0, max: 4 }).chain((n) => fc.uint8Array({ minLength: 64 * n, maxLength: 64 * n }));
const u32s = fc.uint32Array({ maxLength: 8 });

const mutation: fc.Arbitrary<ShardMutation> = fc.oneof(
  records.map((r) => ({ kind: "tokens.insert" as const, records: r })),
  records.map((r) => ({ kind: "tokens.update" as const, records: r })),
  records.map((r) => ({ kind: "connections.upsert" as const, records: r })),
  u32s.map((ids) => ({ kind: "tokens.delete" as const, ids })),
  fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }).map((keys) => ({
    kind: "connections.remove" as const,
    sources: Uint32Array.from(keys.map((k) => k[0])),
    targets: Uint32Array.from(keys.map((k) => k[1])),
    types: Uint8Array.from(keys.map((k) => k[2])),
  })),
  fc.uint8Array({ maxLength: 40 }).map((document) => ({ kind: "constitution.set" as const, document })),
  fc.uint8Array({ maxLength: 40 }).map((payload) => ({ kind: "field.result" as const, payload })),
);

/** Comparable form (typed arrays as plain arrays). */
function plain(ms: readonly ShardMutation[]): unknown[] {
  return ms.map((m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, ArrayBuffer.isView(v) ? Array.from(v as Uint8Array) : v])));
}

describe("replicated log batches", () => {
  it("decode to the mutations encoded", () => {
    fc.assert(
      fc.property(fc.array(mutation, { maxLength: 8 }), (ms) => {
        expect(plain(decodeBatch(encodeBatch(ms), "test"))).toEqual(plain(ms));
      }),
    );
  });

  it("split into parts of at most the given size and join back, in any part size", () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 300 }), (ms, max) => {
        const batch = encodeBatch(ms);
        const parts = splitParts(batch, max);
        expect(parts.every((p) => p.byteLength <= max)).toBe(true);
        const joiner = new PartJoiner();
        let whole: Uint8Array | undefined;
        parts.forEach((p, i) => {
          const got = joiner.push(p, parts.length === 1 ? undefined : { index: i + 1, total: parts.length });
          if (i < parts.length - 1) expect(got).toBeUndefined();
          else whole = got;
        });
        expect(plain(decodeBatch(whole!, "test"))).toEqual(plain(ms));
      }),
    );
  });

  it("drop a group whose parts were interrupted, and keep the next one", () => {
    const joiner = new PartJoiner();
    const a = encodeBatch([{ kind: "tokens.delete", ids: Uint32Array.of(1, 2, 3) }]);
    const b = encodeBatch([{ kind: "tokens.delete", ids: Uint32Array.of(4) }]);
    const pa = splitParts(a, 8);
    expect(joiner.push(pa[0]!, { index: 1, total: pa.length })).toBeUndefined();
    // the owner failed mid-append; the next owner's data arrives
    const whole = joiner.push(b, undefined);
    expect(joiner.dropped).toBe(1);
    expect(plain(decodeBatch(whole!, "t"))).toEqual(plain([{ kind: "tokens.delete", ids: Uint32Array.of(4) }]));
    // a part out of order is dropped too
    expect(joiner.push(pa[1]!, { index: 2, total: pa.length })).toBeUndefined();
  });

  it("parse part headers strictly", () => {
    expect(parsePart("2/3")).toEqual({ index: 2, total: 3 });
    for (const bad of [undefined, "", "0/3", "4/3", "a/b", "1/", "1/2/3"]) expect(parsePart(bad)).toBeUndefined();
  });

  it("report damage as DataLoss naming where", () => {
    const batch = encodeBatch([{ kind: "tokens.insert", records: new Uint8Array(64) }]);
    expect(() => decodeBatch(batch.subarray(0, batch.length - 1), "ng.c.log.3 at 17")).toThrow(DataLossError);
    expect(() => decodeBatch(batch.subarray(0, batch.length - 1), "ng.c.log.3 at 17")).toThrow(/ng\.c\.log\.3 at 17/);
    const badKind = batch.slice();
    badKind[4] = 99;
    expect(() => decodeBatch(badKind, "x")).toThrow(DataLossError);
    expect(() => decodeBatch(new Uint8Array([...batch, 0]), "x")).toThrow(/after the last mutation/);
  });
});

describe("cluster snapshots", () => {
  it("round-trip and refuse another shard's or a damaged object", () => {
    fc.assert(
      fc.property(records, records, fc.option(fc.uint8Array({ minLength: 1, maxLength: 30 }), { nil: undefined }), fc.nat(), fc.nat(), (tokens, connections, constitution, seq, skip) => {
        const s = { shard: 5, seq, skip, tokens, connections, ...(constitution === undefined ? {} : { constitution }) };
        const bytes = encodeSnapshot(s);
        const back = decodeSnapshot(bytes, 5);
        expect({ ...back, tokens: Array.from(back.tokens), connections: Array.from(back.connections), constitution: back.constitution && Array.from(back.constitution) }).toEqual({
          ...s,
          tokens: Array.from(tokens),
          connections: Array.from(connections),
          constitution: constitution && Array.from(constitution),
        });
        expect(() => decodeSnapshot(bytes, 6)).toThrow(DataLossError);
        expect(() => decodeSnapshot(bytes.subarray(0, bytes.length - 1 - (constitution?.length ?? 0)), 5)).toThrow(DataLossError);
      }),
    );
  });
});
