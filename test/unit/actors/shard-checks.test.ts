/**
 * The prepare checks must agree with the store: when a check passes, the store's strict write of
 * the same batch — or of any subset of the items the check accepted — succeeds. For token writes
 * the check is exact (it fails exactly when the store's strict write fails).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkConnect, checkDelete, checkInsert, checkUpdate, type CheckLimits } from "../../../src/actors/shard-checks.ts";
import { DEFAULT_CONNECTION_LIMITS, DEFAULT_TOKEN_LIMITS, type ConnectionLimits } from "../../../src/core/limits.ts";
import { ShardStore } from "../../../src/core/store/index.ts";
import { packConnections, packTokens } from "../../integration/api/fixtures.ts";

const S = 2; // shard 0 owns even ids
const CONNECTION_LIMITS: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, maxOutDegree: 2, maxInDegree: 2 };
const LIMITS: CheckLimits = { tokens: DEFAULT_TOKEN_LIMITS, connections: CONNECTION_LIMITS, nowSeconds: 1_800_000_000 };
const validate = { limits: LIMITS.tokens, nowSeconds: LIMITS.nowSeconds };

interface World {
  readonly tokens: number[];
  readonly edges: { source: number; target: number; type: number }[];
}

const idArb = fc.oneof(fc.constantFrom(2, 4, 6, 8, 10, 12, 14), fc.constantFrom(1, 3, 5), fc.constant(0));
/** Few tokens, so degree limits are reached often. */
const smallIdArb = fc.constantFrom(0, 1, 2, 3, 4, 6);
const worldArb: fc.Arbitrary<World> = fc
  .uniqueArray(fc.constantFrom(2, 4, 6, 8, 10, 12), { maxLength: 6 })
  .chain((tokens) =>
    fc.record({
      tokens: fc.constant(tokens),
      edges: fc.array(
        fc.record({
          source: fc.oneof(fc.constantFrom(...(tokens.length > 0 ? tokens : [2])), fc.constantFrom(1, 3, 5)),
          target: fc.constantFrom(...(tokens.length > 0 ? tokens : [2])),
          type: fc.constantFrom(0x50, 0x10),
        }),
        { maxLength: 10 },
      ),
    }),
  );

function build(w: World): ShardStore {
  const store = new ShardStore({ shard: 0, shardCount: S, connectionLimits: CONNECTION_LIMITS });
  store.insertRecords(new Uint8Array(packTokens(w.tokens.map((id) => ({ id })))));
  const edges = w.edges.filter((e) => w.tokens.includes(e.target) && (e.source % 2 === 1 || w.tokens.includes(e.source)));
  store.connectRecords(new Uint8Array(packConnections(edges)), { strict: false });
  return store;
}

function clone(store: ShardStore): ShardStore {
  return ShardStore.fromSnapshot(store.exportTokens(), store.exportConnections(), { shard: 0, shardCount: S, connectionLimits: CONNECTION_LIMITS });
}

function succeeds(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

/** A random subset of the items the check accepted, as a skip mask for the store. */
const subsetArb = (n: number) => fc.array(fc.boolean(), { minLength: n, maxLength: n });
function skipOf(invalid: Uint8Array, keep: readonly boolean[]): Uint8Array {
  return Uint8Array.from(invalid, (bad, i) => (bad !== 0 || keep[i] !== true ? 1 : 0));
}

describe("prepare checks agree with the store", () => {
  it("insert: exact, and any accepted subset applies", () => {
    const batchArb = fc.array(fc.record({ id: idArb, weight: fc.constantFrom(0.5, 0.5, 2) }), { maxLength: 8 });
    fc.assert(
      fc.property(worldArb, batchArb, subsetArb(8), (w, batch, keep) => {
        const store = build(w);
        const records = new Uint8Array(packTokens(batch));
        const check = checkInsert(store, records, LIMITS);
        const ok = succeeds(() => clone(store).insertRecords(records.slice(), { validate }));
        expect(ok).toBe(check.violations.length === 0);
        expect(succeeds(() => clone(store).insertRecords(records.slice(), { validate, skip: skipOf(check.invalid, keep) }))).toBe(true);
      }),
    );
  });

  it("update: exact, and any accepted subset applies", () => {
    const batchArb = fc.array(fc.record({ id: idArb, weight: fc.constantFrom(0.25, 0.25, -1) }), { maxLength: 8 });
    fc.assert(
      fc.property(worldArb, batchArb, subsetArb(8), (w, batch, keep) => {
        const store = build(w);
        const records = new Uint8Array(packTokens(batch));
        const check = checkUpdate(store, records, LIMITS);
        expect(succeeds(() => clone(store).updateRecords(records, { validate }))).toBe(check.violations.length === 0);
        expect(succeeds(() => clone(store).updateRecords(records, { validate, skip: skipOf(check.invalid, keep) }))).toBe(true);
      }),
    );
  });

  it("delete: exact, and any accepted subset applies", () => {
    fc.assert(
      fc.property(worldArb, fc.array(idArb, { maxLength: 8 }), subsetArb(8), (w, ids, keep) => {
        const store = build(w);
        const check = checkDelete(store, Uint32Array.from(ids));
        expect(succeeds(() => clone(store).deleteIds(ids))).toBe(check.violations.length === 0);
        expect(succeeds(() => clone(store).deleteIds(ids, { skip: skipOf(check.invalid, keep) }))).toBe(true);
      }),
    );
  });

  it("connect: never accepts what the store rejects (degree limits, missing ends, repeats, values)", () => {
    const edgeArb = fc.record({
      source: smallIdArb,
      target: smallIdArb,
      type: fc.constantFrom(0x50, 0x50, 0x50, 0x10, 0xf0),
      confidence: fc.constantFrom(0.5, 0.5, 0.5, 0.5, 3),
    });
    // Repeated items on purpose: a batch that names a connection twice must be rejected.
    const batchArb = fc.array(edgeArb, { maxLength: 6 }).chain((b) => fc.subarray(b, { maxLength: Math.min(3, b.length) }).map((extra) => [...b, ...extra]));
    fc.assert(
      fc.property(worldArb, batchArb, subsetArb(10), (w, batch, keep) => {
        const store = build(w);
        const records = new Uint8Array(packConnections(batch));
        const check = checkConnect(store, records, LIMITS);
        const ok = succeeds(() => clone(store).connectRecords(records, { limits: CONNECTION_LIMITS }));
        if (check.violations.length === 0) expect(ok).toBe(true);
        if (!ok) expect(check.violations.length).toBeGreaterThan(0);
        expect(succeeds(() => clone(store).connectRecords(records, { limits: CONNECTION_LIMITS, skip: skipOf(check.invalid, keep) }))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it("connect: an owned connection that exists is ALREADY_EXISTS; a mirror that exists is not", () => {
    const store = build({ tokens: [2, 4], edges: [{ source: 2, target: 4, type: 0x50 }, { source: 3, target: 4, type: 0x50 }] });
    const check = checkConnect(store, new Uint8Array(packConnections([{ source: 2, target: 4 }, { source: 3, target: 4 }])), LIMITS);
    expect(check.violations.map((v) => [v.index, v.rule])).toEqual([[0, "ALREADY_EXISTS"]]);
  });
});
