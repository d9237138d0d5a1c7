import fc from "fast-check";
import type { ShardMutation } from "../../../src/core/wal/index.ts";

const records = (max: number): fc.Arbitrary<Uint8Array> =>
  fc.nat({ max }).chain((n) => fc.uint8Array({ minLength: n * 64, maxLength: n * 64 }));

const u32s = (max: number): fc.Arbitrary<Uint32Array> =>
  fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: max }).map((a) => Uint32Array.from(a));

/** Any resolved mutation, sized small enough for property tests. */
export function arbMutation(maxItems = 8): fc.Arbitrary<ShardMutation> {
  return fc.oneof(
    records(maxItems).map((r): ShardMutation => ({ kind: "tokens.insert", records: r })),
    records(maxItems).map((r): ShardMutation => ({ kind: "tokens.update", records: r })),
    u32s(maxItems).map((ids): ShardMutation => ({ kind: "tokens.delete", ids })),
    records(maxItems).map((r): ShardMutation => ({ kind: "connections.upsert", records: r })),
    fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 255 })), { maxLength: maxItems }).map(
      (t): ShardMutation => ({
        kind: "connections.remove",
        sources: Uint32Array.from(t.map((x) => x[0])),
        targets: Uint32Array.from(t.map((x) => x[1])),
        types: Uint8Array.from(t.map((x) => x[2])),
      }),
    ),
    fc.uint8Array({ maxLength: 200 }).map((d): ShardMutation => ({ kind: "constitution.set", document: d })),
    fc.uint8Array({ maxLength: 200 }).map((d): ShardMutation => ({ kind: "field.result", payload: d })),
  );
}

/** Plain arrays of every field, so `toEqual` compares contents whatever the array views are. */
export function plain(m: ShardMutation): Record<string, unknown> {
  const out: Record<string, unknown> = { kind: m.kind };
  for (const [k, v] of Object.entries(m)) if (k !== "kind") out[k] = Array.from(v as ArrayLike<number>);
  return out;
}
