import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../src/core/errors.ts";
import {
  DEFAULT_SHARD_COUNT,
  groupByShard,
  nonEmptyShards,
  shardAddress,
  shardAddresses,
  shardOf,
  shardOfAddress,
  shardSlice,
  actorAddress,
} from "../../../src/runtime/index.ts";

describe("placement", () => {
  it("maps ids to id mod S, default 16", () => {
    expect(DEFAULT_SHARD_COUNT).toBe(16);
    expect(shardOf(0)).toBe(0);
    expect(shardOf(17)).toBe(1);
    expect(shardOf(0xffffffff)).toBe(15);
    expect(shardOf(10, 3)).toBe(1);
  });

  it("names shard actors shard/<n> and reads the number back", () => {
    expect(shardAddress(7)).toEqual({ kind: "shard", key: "7" });
    expect(shardOfAddress(shardAddress(12))).toBe(12);
    expect(shardOfAddress(actorAddress("wal", 3))).toBeUndefined();
    expect(shardAddresses(4).map((a) => a.key)).toEqual(["0", "1", "2", "3"]);
    expect(() => shardAddresses(0)).toThrow(ValidationError);
  });

  it("groups ids by shard stably, equal to a brute-force grouping", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 500 }), fc.integer({ min: 1, max: 40 }), (list, s) => {
        const ids = Uint32Array.from(list);
        const g = groupByShard(ids, s);
        expect(g.offsets[s]).toBe(ids.length);
        for (let shard = 0; shard < s; shard++) {
          const expectedIdx = list.map((id, i) => [id, i] as const).filter(([id]) => id % s === shard);
          const slice = shardSlice(g, shard);
          expect([...slice.ids]).toEqual(expectedIdx.map(([id]) => id));
          expect([...slice.indices]).toEqual(expectedIdx.map(([, i]) => i));
        }
        expect(nonEmptyShards(g)).toEqual([...new Set(list.map((id) => id % s))].sort((a, b) => a - b));
      }),
    );
  });
});
