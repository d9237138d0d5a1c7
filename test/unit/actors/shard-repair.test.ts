/**
 * Edge reconciliation on shard stores (model-based): from a consistent graph over three shards,
 * tear arbitrary sides (drop a mirror, drop an owned connection, rewrite an owned connection's
 * values, delete a token on its own shard only), run the shard side of the reconciliation the way
 * the coordinator does, and check the laws: every mirror is exactly an owned connection, every
 * owned connection into a live token has its mirror, owned connections are kept unless their
 * target is gone, and the planned mutations apply cleanly through `applyMutation` (what replay runs).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyMutation } from "../../../src/actors/apply-mutation.ts";
import { ownedRecordsTo, planMirrorRepair } from "../../../src/actors/shard-repair.ts";
import { executeOp } from "../../../src/actors/shard-writes.ts";
import { DEFAULT_CONNECTION_LIMITS, DEFAULT_TOKEN_LIMITS } from "../../../src/core/limits.ts";
import { ShardStore } from "../../../src/core/store/index.ts";
import { packConnections, packTokens } from "../../integration/api/fixtures.ts";

const S = 3;
const IDS = Array.from({ length: 12 }, (_, i) => i + 1);
const LIMITS = { tokens: DEFAULT_TOKEN_LIMITS, connections: DEFAULT_CONNECTION_LIMITS, nowSeconds: 1_800_000_000 };

interface Edge {
  readonly source: number;
  readonly target: number;
  readonly type: number;
  readonly confidence: number;
}

type Tear =
  | { readonly kind: "dropMirror" | "dropOwner"; readonly edge: number }
  | { readonly kind: "rewriteOwner"; readonly edge: number; readonly confidence: number }
  | { readonly kind: "deleteToken"; readonly id: number };

const edgesArb = fc.uniqueArray(
  fc.record({
    source: fc.constantFrom(...IDS),
    target: fc.constantFrom(...IDS),
    type: fc.constantFrom(0x50, 0x10),
    confidence: fc.integer({ min: 1, max: 99 }).map((c) => c / 100),
  }),
  { selector: (e) => `${e.source}>${e.target}:${e.type}`, maxLength: 30 },
).map((edges) => edges.filter((e) => e.source !== e.target));

const tearArb: fc.Arbitrary<Tear> = fc.oneof(
  fc.record({ kind: fc.constantFrom("dropMirror" as const, "dropOwner" as const), edge: fc.nat(40) }),
  fc.record({ kind: fc.constant("rewriteOwner" as const), edge: fc.nat(40), confidence: fc.integer({ min: 1, max: 99 }).map((c) => c / 100) }),
  fc.record({ kind: fc.constant("deleteToken" as const), id: fc.constantFrom(...IDS) }),
);

const packs = (edges: readonly Edge[]): Uint8Array => new Uint8Array(packConnections(edges));

function build(edges: readonly Edge[]): ShardStore[] {
  return Array.from({ length: S }, (_, shard) => {
    const store = new ShardStore({ shard, shardCount: S, connectionLimits: DEFAULT_CONNECTION_LIMITS });
    store.insertRecords(new Uint8Array(packTokens(IDS.filter((id) => id % S === shard).map((id) => ({ id })))), { allocateIds: false });
    const mine = edges.filter((e) => e.source % S === shard || e.target % S === shard);
    if (mine.length > 0) store.connectRecords(packs(mine), { limits: null });
    return store;
  });
}

function clone(store: ShardStore): ShardStore {
  return ShardStore.fromSnapshot(store.exportTokens(), store.exportConnections(), { shard: store.shard, shardCount: S, connectionLimits: DEFAULT_CONNECTION_LIMITS });
}

function tear(stores: ShardStore[], edges: readonly Edge[], t: Tear): void {
  if (t.kind === "deleteToken") {
    const store = stores[t.id % S]!;
    if (store.has(t.id)) store.deleteIds([t.id]);
    return;
  }
  const e = edges[t.edge % Math.max(1, edges.length)];
  if (e === undefined || e.source % S === e.target % S) return;
  const side = stores[t.kind === "dropMirror" ? e.target % S : e.source % S]!;
  if (side.connectionIndex(e.source, e.target, e.type) < 0) return;
  if (t.kind === "rewriteOwner") side.connectRecords(packs([{ ...e, confidence: t.confidence }]), { limits: null });
  else side.disconnectKeys(Uint32Array.of(e.source), Uint32Array.of(e.target), Uint8Array.of(e.type));
}

/** Live entries of one kind as `key → record bytes` (hex). */
function sideOf(store: ShardStore, mirrors: boolean): Map<string, string> {
  const out = new Map<string, string>();
  const rec = store.exportConnections();
  for (let o = 0; o < rec.byteLength; o += 64) {
    const dv = new DataView(rec.buffer, rec.byteOffset + o, 64);
    const s = dv.getUint32(0, true);
    const t = dv.getUint32(4, true);
    const y = dv.getUint8(8);
    const e = store.connectionIndex(s, t, y);
    if (store.isMirror(e) === mirrors) out.set(`${s}>${t}:${y}`, Buffer.from(rec.subarray(o, o + 64)).toString("hex"));
  }
  return out;
}

/** The coordinator's pass (router-repair.ts) over in-memory stores; checks each logged mutation replays. */
function reconcile(stores: ShardStore[]): number {
  let repaired = 0;
  for (let y = 0; y < S; y++) {
    const parts = stores.filter((_, x) => x !== y).map((x) => ownedRecordsTo(x, y, S));
    const owned = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    parts.reduce((at, p) => (owned.set(p, at), at + p.byteLength), 0);
    const before = clone(stores[y]!);
    const r = planMirrorRepair(stores[y]!, owned);
    // Planning changes nothing; the plan applies cleanly (applyMutation is what replay runs).
    expect([...sideOf(stores[y]!, true), ...sideOf(stores[y]!, false)].sort()).toEqual([...sideOf(before, true), ...sideOf(before, false)].sort());
    for (const m of r.mutations) applyMutation(stores[y]!, m);
    repaired += r.reply.mirrorsAdded + r.reply.mirrorsUpdated + r.reply.mirrorsRemoved + r.reply.dangling.sources.length;
    for (let x = 0; x < S; x++) {
      const pick = Array.from(r.reply.dangling.sources.keys()).filter((i) => r.reply.dangling.sources[i]! % S === x);
      if (pick.length === 0) continue;
      const keys = {
        sources: Uint32Array.from(pick, (i) => r.reply.dangling.sources[i]!),
        targets: Uint32Array.from(pick, (i) => r.reply.dangling.targets[i]!),
        types: Uint8Array.from(pick, (i) => r.reply.dangling.types[i]!),
      };
      const out = executeOp(stores[x]!, { kind: "unlink", keys }, { strict: false, keep: null }, LIMITS);
      expect(out.reply.connectionsRemoved).toBe(pick.length);
    }
  }
  return repaired;
}

/** Unlinks dangling keys at their owners. */
function unlinkDangling(stores: ShardStore[], dangling: { sources: Uint32Array; targets: Uint32Array; types: Uint8Array }): void {
  for (let x = 0; x < S; x++) {
    const pick = Array.from(dangling.sources.keys()).filter((i) => dangling.sources[i]! % S === x);
    if (pick.length === 0) continue;
    const keys = { sources: Uint32Array.from(pick, (i) => dangling.sources[i]!), targets: Uint32Array.from(pick, (i) => dangling.targets[i]!), types: Uint8Array.from(pick, (i) => dangling.types[i]!) };
    executeOp(stores[x]!, { kind: "unlink", keys }, { strict: false, keep: null }, LIMITS);
  }
}

/** What `reconcileShardEdges` does for shard `x` taken over in cluster mode. */
function reconcileTaken(stores: ShardStore[], x: number): void {
  const into = stores.filter((_, s) => s !== x).map((store) => ownedRecordsTo(store, x, S));
  const owned = new Uint8Array(into.reduce((n, p) => n + p.byteLength, 0));
  into.reduce((at, p) => (owned.set(p, at), at + p.byteLength), 0);
  const mine = planMirrorRepair(stores[x]!, owned);
  for (const m of mine.mutations) applyMutation(stores[x]!, m);
  unlinkDangling(stores, mine.reply.dangling);
  for (let t = 0; t < S; t++) {
    if (t === x) continue;
    const r = planMirrorRepair(stores[t]!, ownedRecordsTo(stores[x]!, t, S), { fromShard: x, shardCount: S });
    for (const m of r.mutations) applyMutation(stores[t]!, m);
    unlinkDangling(stores, r.reply.dangling);
  }
}

describe("edge reconciliation (shard side)", () => {
  it("cluster mode: the pass of one shard taken over touches only edges with an end on it; one pass per shard reconciles everything", () => {
    const key = (k: string): [number, number] => {
      const [a, b] = k.split(">");
      return [Number(a), Number(b!.split(":")[0])];
    };
    fc.assert(
      fc.property(edgesArb, fc.array(tearArb, { maxLength: 8 }), fc.nat({ max: S - 1 }), (edges, tears, x) => {
        const stores = build(edges);
        for (const t of tears) tear(stores, edges, t);
        const untouched = (list: ShardStore[]) =>
          list.map((store) => [...sideOf(store, true), ...sideOf(store, false)].filter(([k]) => key(k).every((id) => id % S !== x)).sort());
        const before = untouched(stores);
        reconcileTaken(stores, x);
        expect(untouched(stores)).toEqual(before);
        for (let s = 0; s < S; s++) if (s !== x) reconcileTaken(stores, s);
        expect(reconcile(stores)).toBe(0);
      }),
      { numRuns: 300, seed: 20261122 },
    );
  });

  it("makes both sides of every cross-shard connection agree, owner first", () => {
    fc.assert(
      fc.property(edgesArb, fc.array(tearArb, { maxLength: 8 }), (edges, tears) => {
        const stores = build(edges);
        for (const t of tears) tear(stores, edges, t);
        const ownedBefore = stores.map((s) => sideOf(s, false));
        const repaired = reconcile(stores);
        if (tears.length === 0) expect(repaired).toBe(0);

        const owners = new Map<string, string>();
        stores.forEach((store, x) => {
          const owned = sideOf(store, false);
          // Owned connections survive unless their target token is gone.
          for (const [k, v] of ownedBefore[x]!) {
            const target = Number(k.split(">")[1]!.split(":")[0]);
            expect(owned.get(k)).toBe(stores[target % S]!.has(target) ? v : undefined);
          }
          for (const [k, v] of owned) if (Number(k.split(">")[1]!.split(":")[0]) % S !== x) owners.set(k, v);
        });
        const mirrors = new Map<string, string>();
        for (const store of stores) for (const [k, v] of sideOf(store, true)) mirrors.set(k, v);
        expect(mirrors).toEqual(owners);
        // A second pass finds nothing to do.
        expect(reconcile(stores)).toBe(0);
      }),
      { numRuns: 300, seed: 20261122 },
    );
  });
});
