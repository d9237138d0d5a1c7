/**
 * The coordinator's pure parts: splitting batches by shard and merging per-shard spatial answers.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RoundRobin, splitConnectionRecords, splitTokenRecords } from "../../../src/actors/router-batches.ts";
import { mergeNearest } from "../../../src/actors/router-spatial.ts";
import type { SpatialReply } from "../../../src/actors/shard-protocol.ts";
import { packConnections, packTokens } from "../../integration/api/fixtures.ts";

const idsOf = (records: Uint8Array): number[] => {
  const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
  return Array.from({ length: records.byteLength / 64 }, (_, i) => dv.getUint32(i * 64 + 48, true));
};

describe("splitting batches by shard", () => {
  it("puts every token record on its shard exactly once, copied byte for byte", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 60 }), (S, ids) => {
        const input = new Uint8Array(packTokens(ids.map((id, i) => ({ id, weight: (i % 10) / 10 }))));
        const parts = splitTokenRecords(input, S, new RoundRobin(S));
        const seen = new Array<number>(ids.length).fill(0);
        for (const p of parts) {
          p.items.forEach((item, k) => {
            seen[item]!++;
            expect(p.payload.subarray(k * 64, k * 64 + 64)).toEqual(input.subarray(item * 64, item * 64 + 64));
            if (ids[item] !== 0) expect(ids[item]! % S).toBe(p.shard);
          });
          expect(p.payload.buffer).not.toBe(input.buffer); // shards may keep and modify their part
        }
        expect(seen.every((c) => c === 1)).toBe(true);
      }),
    );
  });

  it("deals a batch of allocated ids over consecutive shards in near-equal contiguous slices", () => {
    const rr = new RoundRobin(4);
    const first = splitTokenRecords(new Uint8Array(packTokens(Array.from({ length: 10 }, () => ({ id: 0 })))), 4, rr);
    expect(first.map((p) => [p.shard, p.items.length])).toEqual([[0, 3], [1, 3], [2, 2], [3, 2]]);
    const second = splitTokenRecords(new Uint8Array(packTokens([{ id: 0 }, { id: 0 }])), 4, rr);
    expect(second.map((p) => p.shard)).toEqual([0, 1]);
    const third = splitTokenRecords(new Uint8Array(packTokens([{ id: 0 }])), 4, rr);
    expect(third.map((p) => p.shard)).toEqual([2]);
    expect(idsOf(first[0]!.payload)).toEqual([0, 0, 0]);
  });

  it("sends each connection to its source's shard and a mirror to its target's shard", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.array(fc.record({ source: fc.integer({ min: 1, max: 50 }), target: fc.integer({ min: 1, max: 50 }) }), { maxLength: 40 }),
        (S, edges) => {
          const parts = splitConnectionRecords(new Uint8Array(packConnections(edges)), S);
          const owned = new Array<number>(edges.length).fill(0);
          const mirrored = new Array<number>(edges.length).fill(0);
          for (const p of parts) {
            p.items.forEach((item, k) => {
              const e = edges[item]!;
              const phase = p.phases?.[k] ?? 0;
              if (phase === 0) {
                owned[item]!++;
                expect(e.source % S).toBe(p.shard);
              } else {
                mirrored[item]!++;
                expect(e.target % S).toBe(p.shard);
              }
              expect(new DataView(p.payload.buffer, p.payload.byteOffset + k * 64).getUint32(0, true)).toBe(e.source);
            });
          }
          edges.forEach((e, i) => {
            expect(owned[i]).toBe(1);
            expect(mirrored[i]).toBe(e.source % S === e.target % S ? 0 : 1);
          });
        },
      ),
    );
  });
});

describe("merging spatial answers", () => {
  const replyArb = fc
    .array(fc.record({ id: fc.integer({ min: 1, max: 10_000 }), d: fc.integer({ min: 0, max: 20 }) }), { maxLength: 15 })
    .map((items): SpatialReply => {
      const sorted = [...new Map(items.map((x) => [x.id, x])).values()].sort((a, b) => a.d - b.d || a.id - b.id);
      return { ids: Uint32Array.from(sorted, (x) => x.id), distances: Float64Array.from(sorted, (x) => x.d / 4), more: false };
    });

  it("equals sorting every candidate by (distance, id) and keeping the first `limit`", () => {
    fc.assert(
      fc.property(fc.array(replyArb, { maxLength: 6 }), fc.integer({ min: 1, max: 40 }), (replies, limit) => {
        const all = replies.flatMap((r) => Array.from(r.ids, (id, i) => ({ id, d: r.distances[i]! })));
        all.sort((a, b) => a.d - b.d || a.id - b.id);
        const merged = mergeNearest(replies, limit, false);
        expect(Array.from(merged.ids)).toEqual(all.slice(0, limit).map((x) => x.id));
        expect(Array.from(merged.distances)).toEqual(all.slice(0, limit).map((x) => x.d));
        expect(merged.truncated).toBe(all.length > limit);
      }),
    );
  });
});
