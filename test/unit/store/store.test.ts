import { describe, expect, it } from "vitest";
import { FailedPreconditionError, NotFoundError, ValidationError } from "../../../src/core/errors.ts";
import { DEFAULT_CONNECTION_LIMITS, DEFAULT_TOKEN_LIMITS } from "../../../src/core/limits.ts";
import { CONNECTION_FLAGS, Mutability, connectionFields, encodeConnection } from "../../../src/core/connection/index.ts";
import type { ConnectionFields } from "../../../src/core/connection/index.ts";
import { Direction } from "../../../src/core/graph/expansion.ts";
import { ShardStore } from "../../../src/core/store/index.ts";
import { decodeToken, encodeToken, tokenFields } from "../../../src/core/token/index.ts";
import { sameBytes } from "../../helpers/bytes.ts";
import { reachableTypedArrayBytes, storeImage } from "../../helpers/store-model.ts";

const NOW = 1_700_000_000;

function tokens(ids: readonly number[], over: Parameters<typeof tokenFields>[2] = {}): Uint8Array {
  const out = new Uint8Array(ids.length * 64);
  ids.forEach((id, i) => encodeToken(tokenFields(id, NOW, { weight: 0.5, ...over }), out, i));
  return out;
}

function edges(list: readonly [number, number, number, Partial<ConnectionFields>?][]): Uint8Array {
  const out = new Uint8Array(list.length * 64);
  list.forEach(([s, t, y, over], i) => encodeConnection(connectionFields(s, t, y, NOW, over ?? {}), out, i));
  return out;
}

function rejected(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error("expected a ValidationError");
}

describe("ShardStore options", () => {
  it("rejects impossible shard settings", () => {
    expect(rejected(() => new ShardStore({ shard: 3, shardCount: 3 })).violations[0]!.field).toBe("shard");
    expect(rejected(() => new ShardStore({ shardCount: 0 })).violations[0]!.field).toBe("shardCount");
    expect(rejected(() => new ShardStore({ initialCapacity: -1 })).violations[0]!.rule).toBe("capacity_range");
  });

  it("honours the capacity hint and allocates adjacency only with the first connection", () => {
    const s = new ShardStore({ initialCapacity: 5000 });
    expect(s.capacity).toBe(5000);
    s.insertRecords(tokens([1, 2]));
    const before = s.byteSize();
    expect(before).toBe(reachableTypedArrayBytes(s));
    s.connectRecords(edges([[1, 2, 0x50]]));
    expect(s.byteSize()).toBe(reachableTypedArrayBytes(s));
    expect(s.byteSize()).toBeGreaterThan(before + 5000 * 16);
  });
});

describe("capacity", () => {
  it("grows by doubling and can be reserved or trimmed without changing contents", () => {
    const s = new ShardStore();
    s.insertRecords(tokens(Array.from({ length: 1500 }, (_, i) => i + 1)));
    expect(s.capacity).toBe(2048);
    s.connectRecords(edges([[1, 1500, 0x50], [1500, 2, 0x50]]));
    const image = storeImage(s);
    s.trimToSize();
    expect(s.capacity).toBe(1500);
    expect(s.byteSize()).toBeLessThan(image.bytes);
    expect(s.byteSize()).toBe(reachableTypedArrayBytes(s));
    expect(sameBytes(s.exportTokens(), image.tokens)).toBe(true);
    expect([s.outDegree(1500), s.inDegree(1500), s.has(777)]).toEqual([1, 1, true]);
    s.reserve(4000);
    expect(s.capacity).toBe(4000);
    s.insertRecords(tokens([0]));
    expect(s.capacity).toBe(4000);
    expect(() => s.reserve(-1)).toThrow(ValidationError);
  });
});

describe("token writes", () => {
  it("allocates ids above the largest stored id, in the shard's residue class, and writes them back", () => {
    const s = new ShardStore({ shard: 2, shardCount: 5 });
    const recs = tokens([7, 0, 0]);
    const r = s.insertRecords(recs);
    expect(Array.from(r.ids)).toEqual([7, 12, 17]);
    expect(decodeToken(recs, 1).id).toBe(12);
    expect(decodeToken(recs, 2).id).toBe(17);
    s.deleteIds([17]);
    // Never reused, and domain ids (bits 28-31) do not move the allocator.
    const domainId = 2 ** 28 + 1; // ≡ 2 (mod 5)
    expect(domainId % 5).toBe(2);
    expect(Array.from(s.insertRecords(tokens([domainId, 0])).ids)).toEqual([domainId, 22]);
    // An explicit id later in the same batch is not taken by the allocator.
    expect(Array.from(s.insertRecords(tokens([0, 42])).ids)).toEqual([47, 42]);
  });

  it("reports id_space_exhausted once no domain-0 id is left", () => {
    const s = new ShardStore({ shard: 1, shardCount: 4 });
    const last = 2 ** 28 - 3; // ≡ 1 (mod 4)
    s.insertRecords(tokens([last]));
    const err = rejected(() => s.insertRecords(tokens([0])));
    expect(err.violations[0]).toMatchObject({ index: 0, field: "id", rule: "id_space_exhausted" });
  });

  it("names each structural violation with its rule", () => {
    const s = new ShardStore({ shard: 0, shardCount: 2 });
    s.insertRecords(tokens([2]));
    const r = s.insertRecords(tokens([2, 3, 4, 4]), { strict: false });
    expect(r.violations.map((v) => [v.index, v.rule])).toEqual([
      [0, "ALREADY_EXISTS"],
      [1, "not_owned"],
      [3, "duplicate_in_batch"],
    ]);
    expect(Array.from(r.accepted)).toEqual([0, 0, 1, 0]);
    expect(rejected(() => s.insertRecords(tokens([0]), { allocateIds: false })).violations[0]!.rule).toBe("id_nonzero");
    const u = s.updateRecords(tokens([6, 3, 0, 2, 2]), { strict: false });
    expect(u.violations.map((v) => [v.index, v.rule])).toEqual([
      [0, "NOT_FOUND"],
      [1, "not_owned"],
      [2, "id_nonzero"],
      [4, "duplicate_in_batch"],
    ]);
    expect(u.applied).toBe(1);
    const d = s.deleteIds([8, 4, 4], { strict: false });
    expect(d.violations.map((v) => [v.index, v.rule])).toEqual([
      [0, "NOT_FOUND"],
      [2, "duplicate_in_batch"],
    ]);
    expect(s.has(4)).toBe(false);
  });

  it("validates values when asked and skips masked items", () => {
    const s = new ShardStore();
    const recs = tokens([1, 2, 3, 4]);
    new DataView(recs.buffer).setFloat32(64 + 54, 7, true); // item 1: weight 7
    const validate = { limits: DEFAULT_TOKEN_LIMITS, nowSeconds: NOW };
    const image = storeImage(s);
    const err = rejected(() => s.insertRecords(recs, { validate }));
    expect(err.violations.map((v) => [v.index, v.rule])).toEqual([[1, "weight_range"]]);
    expect(sameBytes(storeImage(s).internal, image.internal)).toBe(true);
    const r = s.insertRecords(recs, { validate, strict: false, skip: Uint8Array.of(0, 0, 1, 0) });
    expect(Array.from(r.accepted)).toEqual([1, 0, 0, 1]);
    expect([s.has(1), s.has(2), s.has(3), s.has(4)]).toEqual([true, false, false, true]);
  });

  it("reads and writes records at any byte offset", () => {
    const s = new ShardStore();
    const buf = new Uint8Array(3 + 128);
    buf.set(tokens([0, 5]), 3);
    const view = buf.subarray(3);
    expect(Array.from(s.insertRecords(view).ids)).toEqual([6, 5]);
    expect(decodeToken(view, 0).id).toBe(6);
    expect(sameBytes(s.get(6)!, view.subarray(0, 64))).toBe(true);
    const out = new Uint8Array(4 + 3 * 64).subarray(4);
    const g = s.getRecords([5, 99, 6], out);
    expect(g.records).toBe(out);
    expect([g.count, ...g.found]).toEqual([2, 1, 0, 1]);
    expect(sameBytes(out.subarray(64, 128), new Uint8Array(64))).toBe(true);
    expect(() => s.getRecords([5], new Uint8Array(70).subarray(1, 65))).toThrow(ValidationError);
  });

  it("keeps adjacency when a token is updated or moved by swap-remove", () => {
    const s = new ShardStore();
    s.insertRecords(tokens([1, 2, 3]));
    s.connectRecords(edges([[3, 2, 0x50], [1, 3, 0x50]]));
    s.updateRecords(tokens([3], { weight: 0.9 }));
    expect(decodeToken(s.get(3)!).weight).toBe(Math.fround(0.9));
    s.deleteIds([1]); // 3 moves into slot 0
    expect(s.slotOf(3)).toBe(0);
    expect([s.outDegree(3), s.inDegree(3), s.inDegree(2)]).toEqual([1, 0, 1]);
  });
});

describe("connections", () => {
  it("enforces degree limits on created connections only, counting the batch", () => {
    const s = new ShardStore({ connectionLimits: { ...DEFAULT_CONNECTION_LIMITS, maxOutDegree: 2, maxInDegree: 1 } });
    s.insertRecords(tokens([1, 2, 3, 4]));
    const r = s.connectRecords(edges([[1, 2, 0x50], [1, 3, 0x50], [1, 4, 0x50], [2, 4, 0x50], [3, 4, 0x50]]), { strict: false });
    expect(r.violations.map((v) => [v.index, v.rule])).toEqual([
      [2, "max_out_degree"],
      [4, "max_in_degree"],
    ]);
    const u = s.connectRecords(edges([[1, 2, 0x50, { confidence: 0.9 }]]));
    expect([u.created, u.updated]).toEqual([0, 1]);
    expect(s.connectRecords(edges([[1, 4, 0x50]]), { limits: null }).created).toBe(1);
  });

  it("checks endpoints: local ones must exist, one of them must be local", () => {
    const s = new ShardStore({ shard: 0, shardCount: 2 });
    s.insertRecords(tokens([2, 4]));
    const r = s.connectRecords(edges([[2, 6, 0x50], [6, 2, 0x50], [3, 5, 0x50], [3, 2, 0x50], [2, 3, 0x50], [2, 4, 0x50]]), { strict: false });
    expect(r.violations.map((v) => [v.index, v.field, v.rule])).toEqual([
      [0, "target", "NOT_FOUND"],
      [1, "source", "NOT_FOUND"],
      [2, "source", "not_owned"],
    ]);
    expect([r.created, s.connectionCount]).toEqual([3, 3]);
  });

  it("keeps mirrors in the target's in-list and reports remote keys on delete", () => {
    const s = new ShardStore({ shard: 0, shardCount: 2 });
    s.insertRecords(tokens([2, 4]));
    s.connectRecords(
      edges([
        [2, 4, 0x10],
        [4, 3, 0x20],
        [5, 2, 0x50, { flags: CONNECTION_FLAGS.ACTIVE | CONNECTION_FLAGS.BIDIRECTIONAL, confidence: 0.25 }],
        [2, 4, 0x00, { flags: CONNECTION_FLAGS.ACTIVE | CONNECTION_FLAGS.BIDIRECTIONAL }],
      ]),
    );
    expect(rejected(() => s.connectRecords(edges([[2, 2, 0x50]]))).violations[0]!.rule).toBe("self_loop");
    const e = s.connectionIndex(5, 2, 0x50);
    expect(s.isMirror(e)).toBe(true);
    expect(s.isMirror(s.connectionIndex(4, 3, 0x20))).toBe(false);
    const nb = (dir: Direction, id: number): string[] => {
      const x = s.expand({ nodes: Uint32Array.of(id), direction: dir });
      return Array.from(x.neighbors, (n, j) => `${n}${x.outgoing[j] ? ">" : "<"}${x.types[j]}:${x.weights[j]}`).sort();
    };
    expect(nb(Direction.Out, 2)).toEqual(["4>0:1", "4>16:0.5", "5<80:0.25"]);
    expect(nb(Direction.In, 2)).toEqual(["4>0:1", "5<80:0.25"]);
    expect(nb(Direction.Both, 2)).toEqual(["4>0:1", "4>16:0.5", "5<80:0.25"]);
    expect(nb(Direction.In, 4)).toEqual(["2<0:1", "2<16:0.5"]);
    expect(nb(Direction.Out, 4)).toEqual(["2<0:1", "3>32:0.5"]);
    const x = s.expand({ nodes: Uint32Array.of(7, 4), direction: Direction.Out });
    expect([...x.exists, ...x.offsets]).toEqual([0, 1, 0, 0, 2]);
    const d = s.deleteIds([2, 4]);
    expect(d.droppedConnections).toBe(4);
    expect([d.remoteIn.count, d.remoteIn.sources[0], d.remoteIn.targets[0], d.remoteIn.types[0]]).toEqual([1, 5, 2, 0x50]);
    expect([d.remoteOut.count, d.remoteOut.sources[0], d.remoteOut.targets[0], d.remoteOut.types[0]]).toEqual([1, 4, 3, 0x20]);
    expect(s.connectionCount).toBe(0);
  });

  it("disconnects by key and reuses freed entries", () => {
    const s = new ShardStore();
    s.insertRecords(tokens([1, 2]));
    s.connectRecords(edges([[1, 2, 0x50], [2, 1, 0x50]]));
    expect(s.disconnect(1, 2, 0x50)).toBe(true);
    expect(s.disconnect(1, 2, 0x50)).toBe(false);
    const image = storeImage(s);
    const err = rejected(() => s.disconnectKeys(Uint32Array.of(2, 1), Uint32Array.of(1, 2), Uint8Array.of(0x50, 0x50)));
    expect(err.violations.map((v) => [v.index, v.rule])).toEqual([[1, "NOT_FOUND"]]);
    expect(sameBytes(storeImage(s).internal, image.internal)).toBe(true);
    s.connectRecords(edges([[1, 2, 0x10]]));
    expect(s.connectionIndex(1, 2, 0x10)).toBe(0);
    const g = s.getConnectionRecords([1, 9], [2, 9], [0x10, 0]);
    expect([g.count, ...g.found]).toEqual([1, 1, 0]);
  });
});

describe("learning through the store", () => {
  function learner(): ShardStore {
    const s = new ShardStore({ shard: 0, shardCount: 2 });
    s.insertRecords(tokens([2, 4]));
    s.connectRecords(
      edges([
        [2, 4, 0x50, { mutability: Mutability.Hypothesis, evidenceCount: 20, successCount: 15 }],
        [4, 2, 0x50, { mutability: Mutability.Hypothesis, evidenceCount: 20, successCount: 3 }],
        [3, 2, 0x50, { mutability: Mutability.Hypothesis, evidenceCount: 20, successCount: 3 }], // mirror
        [2, 4, 0x00],
      ]),
    );
    return s;
  }

  it("updates owned connections and refuses mirrors and unknown keys", () => {
    const s = learner();
    s.activateConnection(2, 4, 0x00, NOW + 1);
    expect(s.connections.activationCount[s.connectionIndex(2, 4, 0x00)]).toBe(1);
    expect(s.recordFeedback(2, 4, 0x00, true, NOW)).toBe(false); // Immutable
    expect(s.recordFeedback(2, 4, 0x50, true, NOW)).toBe(true);
    expect(() => s.recordFeedback(3, 2, 0x50, true, NOW)).toThrow(FailedPreconditionError);
    expect(() => s.activateConnection(2, 4, 0x99, NOW)).toThrow(NotFoundError);
  });

  it("proposes promotion and deletion, and applies only proposals that still hold", () => {
    const s = learner();
    const ps = s.lifecycleProposals();
    expect(ps.map((p) => `${p.kind}:${p.source}>${p.target}`).sort()).toEqual(["delete:4>2", "promote:2>4"]);
    const promote = ps.find((p) => p.kind === "promote")!;
    const del = ps.find((p) => p.kind === "delete")!;
    s.recordFeedback(4, 2, 0x50, true, NOW);
    s.recordFeedback(4, 2, 0x50, true, NOW); // 5/22 > 0.2: the deletion no longer holds
    const image = storeImage(s);
    expect(() => s.applyProposal(del, NOW)).toThrow(FailedPreconditionError);
    expect(sameBytes(storeImage(s).internal, image.internal)).toBe(true);
    s.applyProposal(promote, NOW + 5);
    expect(s.connections.mutability[s.connectionIndex(2, 4, 0x50)]).toBe(Mutability.Learnable);
    for (let i = 0; i < 20; i++) s.recordFeedback(4, 2, 0x50, false, NOW + 10);
    const again = s.lifecycleProposals();
    expect(again.map((p) => p.kind)).toEqual(["delete"]);
    s.applyProposal(again[0]!, NOW + 11);
    expect(s.connectionIndex(4, 2, 0x50)).toBe(-1);
    expect(s.inDegree(2)).toBe(1); // the mirror 3 → 2 stays
  });

  it("decays owned Hypothesis connections by elapsed time", () => {
    const s = learner();
    expect(s.decayConnections(NOW + 1800)).toBe(0);
    expect(s.decayConnections(NOW + 7200)).toBe(2); // 2→4 and 4→2, not the mirror or the Immutable
    expect(s.decayConnections(NOW + 7200)).toBe(0);
    expect(s.connections.confidence[s.connectionIndex(2, 4, 0x50)]).toBe(Math.fround(0.5 * 0.9375 ** 2));
  });
});

describe("snapshots", () => {
  it("reload with the same records, mirrors included, and refuse broken structure", () => {
    const s = new ShardStore({ shard: 1, shardCount: 2 });
    s.insertRecords(tokens([1, 3, 5, 0]));
    s.connectRecords(edges([[1, 3, 0x50], [2, 3, 0x10], [5, 8, 0x20]]));
    s.deleteIds([3]);
    s.connectRecords(edges([[7, 5, 0x50]]));
    const t = s.exportTokens();
    const c = s.exportConnections();
    const copy = ShardStore.fromSnapshot(t, c, { shard: 1, shardCount: 2 });
    expect(sameBytes(copy.exportTokens(), t)).toBe(true);
    expect(sameBytes(copy.exportConnections(), c)).toBe(true);
    expect(copy.isMirror(copy.connectionIndex(2, 7, 0x50))).toBe(false);
    expect(copy.capacity).toBe(copy.size);
    expect(Array.from(copy.insertRecords(tokens([0])).ids)).toEqual([9]);
    expect(() => ShardStore.fromSnapshot(t, c, { shard: 0, shardCount: 2 })).toThrow(ValidationError);
  });
});
