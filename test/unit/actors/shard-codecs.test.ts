/**
 * The shard protocol's protobuf codecs (for shards on other nodes): messages and replies
 * round-trip column for column, and malformed bodies are ValidationErrors.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../src/core/errors.ts";
import { shardCodecs } from "../../../src/actors/shard-codecs.ts";
import type { ShardMessage } from "../../../src/actors/shard-protocol.ts";
import { CodecRegistry } from "../../../src/runtime/index.ts";

const registry = new CodecRegistry().register(...shardCodecs());

/** Typed arrays as plain arrays, recursively, so results compare by value. */
function plain(v: unknown): unknown {
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

function roundTrip(m: ShardMessage): unknown {
  return registry.decode(m.type, registry.encode(m.type, m));
}

const recs = fc.integer({ min: 0, max: 3 }).chain((n) => fc.uint8Array({ minLength: 64 * n, maxLength: 64 * n }));
const keys = fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: -1, max: 255 })), { maxLength: 5 });

describe("shard protocol codecs", () => {
  it("round-trip writes of every operation kind", () => {
    const op = fc.oneof(
      recs.map((records) => ({ kind: "insert" as const, records, checked: true as const })),
      recs.map((records) => ({ kind: "insert" as const, records })),
      recs.map((records) => ({ kind: "update" as const, records })),
      recs.map((records) => ({ kind: "connect" as const, records })),
      fc.uint32Array({ maxLength: 5 }).map((ids) => ({ kind: "delete" as const, ids })),
      keys.map((k) => ({ kind: "disconnect" as const, keys: { sources: Uint32Array.from(k.map((x) => x[0])), targets: Uint32Array.from(k.map((x) => x[1])), types: Int16Array.from(k.map((x) => x[2])) } })),
      keys.map((k) => ({ kind: "unlink" as const, keys: { sources: Uint32Array.from(k.map((x) => x[0])), targets: Uint32Array.from(k.map((x) => x[1])), types: Uint8Array.from(k.map((x) => x[2] & 255)) } })),
    );
    fc.assert(
      fc.property(op, fc.boolean(), (o, partial) => {
        const m = { type: "shard.write", op: o, partial } as ShardMessage;
        expect(plain(roundTrip(m))).toEqual(plain(m));
      }),
    );
  });

  it("round-trip prepare, commit, get, expand and spatial asks", () => {
    const msgs: ShardMessage[] = [
      { type: "shard.prepare", txn: 42, op: { kind: "delete", ids: Uint32Array.of(1, 2) }, partial: false, expiresAt: 1_700_000_000_123 },
      { type: "shard.commit", txn: 42, keep: Uint8Array.of(1, 0), release: true },
      { type: "shard.commit", txn: 43, keep: null, release: false },
      { type: "shard.get", ids: Uint32Array.of(5, 9) },
      { type: "shard.expand", nodes: Uint32Array.of(1), direction: 2, types: new Uint8Array(32).fill(3), skipFlags: 4 },
      { type: "shard.expand", nodes: Uint32Array.of(1), direction: 0, types: null, skipFlags: 0 },
      { type: "shard.spatial", query: { mode: "nearest", space: 3, point: [1.5, -2, 0.25], radius: 0, limit: 7, exclude: 9, withRecords: true } },
    ] as ShardMessage[];
    for (const m of msgs) expect(plain(roundTrip(m))).toEqual(plain(m));
  });

  it("round-trip the edge reconciliation asks and replies (cluster-mode takeover)", () => {
    const msgs: ShardMessage[] = [
      { type: "shard.edge-audit", targetShard: 3 },
      { type: "shard.mirror-repair", owned: new Uint8Array(128).fill(7) },
      { type: "shard.mirror-repair", owned: new Uint8Array(64).fill(1), fromShard: 0 },
      { type: "shard.unlink-dangling", keys: { sources: Uint32Array.of(1, 2), targets: Uint32Array.of(3, 4), types: Uint8Array.of(5, 6) } },
    ] as ShardMessage[];
    for (const m of msgs) expect(plain(roundTrip(m))).toEqual(plain(m));
    const repair = { mirrorsAdded: 1, mirrorsUpdated: 2, mirrorsRemoved: 3, dangling: { sources: Uint32Array.of(9), targets: Uint32Array.of(8), types: Uint8Array.of(7) } };
    expect(plain(registry.decodeReply("shard.mirror-repair", registry.encodeReply("shard.mirror-repair", repair)))).toEqual(plain(repair));
    const audit = new Uint8Array(192).fill(3);
    expect(plain(registry.decodeReply("shard.edge-audit", registry.encodeReply("shard.edge-audit", audit)))).toEqual(plain(audit));
    expect(() => registry.decode("shard.mirror-repair", Uint8Array.of(10, 3, 1, 2, 3))).toThrow(ValidationError);
  });

  it("round-trip write replies with ids and unlink keys", () => {
    const reply = {
      applied: 2,
      accepted: Uint8Array.of(1, 1, 0),
      violations: [{ index: 2, field: "weight", value: "NaN", rule: "finite", description: "weight must be finite" }],
      ids: Uint32Array.of(10, 11, 0),
      connectionsRemoved: 1,
      unlinkAtSource: { sources: Uint32Array.of(1), targets: Uint32Array.of(2), types: Uint8Array.of(3) },
    };
    const back = registry.decodeReply("shard.write", registry.encodeReply("shard.write", reply));
    expect(plain(back)).toEqual(plain(reply));
  });

  it("round-trip every learning operation and its replies (cluster-mode learning)", () => {
    const learningKeys = keys.map((k) => ({ sources: Uint32Array.from(k.map((x) => x[0])), targets: Uint32Array.from(k.map((x) => x[1])), types: Int16Array.from(k.map((x) => x[2])) }));
    const op = fc.oneof(
      fc.tuple(learningKeys, fc.boolean()).map(([k, strict]) => ({ kind: "activate" as const, keys: k, strict })),
      fc.tuple(learningKeys, fc.boolean(), fc.boolean()).map(([k, strict, granted]) => ({
        kind: "feedback" as const,
        keys: k,
        success: Uint8Array.from(k.sources, (_, i) => i % 2),
        strict,
        granted,
      })),
      fc.tuple(learningKeys, fc.boolean()).map(([k, feedback]) => ({ kind: "check" as const, keys: k, feedback })),
      fc.constant({ kind: "sweep" as const }),
      fc
        .record({ weakHypothesisConfidence: fc.double({ min: 0, max: 1, noNaN: true }), inactiveTokenAgeSeconds: fc.nat(), nowSeconds: fc.nat(), maxConnections: fc.nat(), maxTokens: fc.nat() })
        .map((policy) => ({ kind: "cleanup-plan" as const, policy })),
      fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 5 }).map((p) => ({ kind: "pairs" as const, sources: Uint32Array.from(p.map((x) => x[0])), targets: Uint32Array.from(p.map((x) => x[1])) })),
    );
    fc.assert(
      fc.property(op, (o) => {
        const m = { type: "shard.learn", op: o } as ShardMessage;
        expect(plain(roundTrip(m))).toEqual(plain(m));
      }),
    );
    const replies = [
      { applied: 0, accepted: new Uint8Array(0), violations: [], edges: 0, promoted: 2, deleted: 1, decayed: 7, unlinkAtTarget: { sources: Uint32Array.of(4), targets: Uint32Array.of(5), types: Uint8Array.of(6) } },
      {
        applied: 1,
        accepted: Uint8Array.of(1, 0),
        violations: [{ index: 1, field: "type", value: "3", rule: "immutable", description: "cannot learn on this type" }],
        edges: 1,
        promoted: 0,
        deleted: 0,
        decayed: 0,
        tokens: Uint32Array.of(8, 9),
        refreshAtTarget: new Uint8Array(32).fill(7),
      },
      { applied: 0, accepted: new Uint8Array(0), violations: [], edges: 0, promoted: 0, deleted: 0, decayed: 0, plan: { connections: { count: 1, sources: Uint32Array.of(1), targets: Uint32Array.of(2), types: Uint8Array.of(10) }, tokens: Uint32Array.of(3, 4) } },
      { applied: 0, accepted: new Uint8Array(0), violations: [], edges: 0, promoted: 0, deleted: 0, decayed: 0, invalid: Uint8Array.of(0, 1, 1) },
    ];
    for (const r of replies) expect(plain(registry.decodeReply("shard.learn", registry.encodeReply("shard.learn", r)))).toEqual(plain(r));
    const bad = (m: ShardMessage): unknown => registry.decode(m.type, registry.encode(m.type, m));
    const two = { sources: Uint32Array.of(1, 2), targets: Uint32Array.of(3, 4), types: Int16Array.of(-1, 2) };
    expect(() => bad({ type: "shard.learn", op: { kind: "feedback", keys: two, success: Uint8Array.of(1), strict: true, granted: false } })).toThrow(ValidationError);
    expect(() => bad({ type: "shard.learn", op: { kind: "pairs", sources: Uint32Array.of(1, 2), targets: Uint32Array.of(3) } })).toThrow(ValidationError);
  });

  it("reject malformed bodies as INVALID_ARGUMENT", () => {
    const bad = (m: ShardMessage): unknown => registry.decode(m.type, registry.encode(m.type, m));
    expect(() => bad({ type: "shard.get", ids: Uint8Array.of(1, 2, 3) as unknown as Uint32Array })).toThrow(ValidationError);
    expect(() => bad({ type: "shard.write", op: { kind: "insert", records: new Uint8Array(65) }, partial: false })).toThrow(ValidationError);
    expect(() => bad({ type: "shard.expand", nodes: Uint32Array.of(1), direction: 7, types: null, skipFlags: 0 } as unknown as ShardMessage)).toThrow(ValidationError);
    expect(() => registry.decode("shard.write", Uint8Array.of(0xff, 0xff, 0xff))).toThrow(ValidationError);
  });
});
