/**
 * Model-based test: random sequences of insert/update/delete/get/connect/disconnect on a
 * ShardStore must match a plain reference model (Maps), including allocated ids, violations,
 * mirrors, adjacency, expansion, byte size, and "a rejected batch changes nothing".
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ValidationError } from "../../../src/core/errors.ts";
import { DEFAULT_CONNECTION_LIMITS } from "../../../src/core/limits.ts";
import { Mutability, connectionFields, encodeConnection } from "../../../src/core/connection/index.ts";
import { Direction } from "../../../src/core/graph/expansion.ts";
import { ShardStore } from "../../../src/core/store/index.ts";
import { sameBytes } from "../../helpers/bytes.ts";
import { adjacencyKeys, edgeKey, reachableTypedArrayBytes, storeImage } from "../../helpers/store-model.ts";

interface TokenItem {
  readonly id: number;
  readonly bytes: Uint8Array;
}
interface EdgeItem {
  readonly s: number;
  readonly t: number;
  readonly y: number;
  readonly conf: number;
  readonly mut: number;
  readonly bad: boolean;
}
type Op =
  | { readonly k: "insert"; readonly items: readonly TokenItem[]; readonly strict: boolean }
  | { readonly k: "update"; readonly items: readonly TokenItem[]; readonly strict: boolean }
  | { readonly k: "delete"; readonly ids: readonly number[]; readonly strict: boolean }
  | { readonly k: "get"; readonly ids: readonly number[] }
  | { readonly k: "connect"; readonly items: readonly EdgeItem[]; readonly strict: boolean }
  | { readonly k: "disconnect"; readonly keys: readonly (readonly [number, number, number])[]; readonly strict: boolean }
  | { readonly k: "reserve"; readonly capacity: number };

interface Cfg {
  readonly shardCount: number;
  readonly shard: number;
  readonly maxOut: number;
  readonly maxIn: number;
  readonly cap: number;
}

/** Ids biased towards a few local ids (so batches hit existing tokens), some foreign, some random. */
function idArb(cfg: Cfg): fc.Arbitrary<number> {
  const S = cfg.shardCount;
  const local = fc.integer({ min: cfg.shard === 0 ? 1 : 0, max: 6 }).map((j) => cfg.shard + S * j);
  const foreign = fc.integer({ min: 1, max: 6 }).map((j) => (S === 1 ? j : ((cfg.shard + 1) % S) + S * j));
  return fc.oneof({ weight: 5, arbitrary: local }, { weight: 1, arbitrary: foreign }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }) });
}

function opArb(cfg: Cfg): fc.Arbitrary<Op> {
  const id = idArb(cfg);
  const strict = fc.integer({ min: 0, max: 3 }).map((x) => x === 0);
  const bytes = fc.uint8Array({ minLength: 64, maxLength: 64 });
  const tokenItem = (zeroOk: boolean): fc.Arbitrary<TokenItem> =>
    fc.record({ id: zeroOk ? fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: id }) : id, bytes });
  const type = fc.constantFrom(0x00, 0x10, 0x50);
  const edgeItem: fc.Arbitrary<EdgeItem> = fc.record({
    s: id,
    t: id,
    y: type,
    conf: fc.constantFrom(0, 0.25, 0.5, 1),
    mut: fc.constantFrom(Mutability.Immutable, Mutability.Learnable, Mutability.Hypothesis),
    bad: fc.integer({ min: 0, max: 9 }).map((x) => x === 0),
  });
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ k: fc.constant("insert" as const), items: fc.array(tokenItem(true), { maxLength: 6 }), strict }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant("update" as const), items: fc.array(tokenItem(false), { maxLength: 4 }), strict }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant("delete" as const), ids: fc.array(fc.oneof(id, fc.constant(0)), { maxLength: 3 }), strict }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant("get" as const), ids: fc.array(fc.oneof(id, fc.integer({ min: 0, max: 45 })), { maxLength: 6 }) }) },
    { weight: 6, arbitrary: fc.record({ k: fc.constant("connect" as const), items: fc.array(edgeItem, { maxLength: 6 }), strict }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant("disconnect" as const), keys: fc.array(fc.tuple(id, id, type), { maxLength: 3 }), strict }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant("reserve" as const), capacity: fc.integer({ min: 0, max: 40 }) }) },
  );
}

const scenarioArb = fc
  .record({ shardCount: fc.integer({ min: 1, max: 3 }), shardPick: fc.nat(), maxOut: fc.integer({ min: 0, max: 4 }), maxIn: fc.integer({ min: 0, max: 4 }), cap: fc.constantFrom(0, 3, 64) })
  .map((c): Cfg => ({ shardCount: c.shardCount, shard: c.shardPick % c.shardCount, maxOut: c.maxOut, maxIn: c.maxIn, cap: c.cap }))
  .chain((cfg) => fc.tuple(fc.constant(cfg), fc.array(opArb(cfg), { minLength: 20, maxLength: 60 })));

const TS = 1_700_000_000;
const DOMAIN_LIMIT = 2 ** 28;

function tokenRecords(items: readonly { id: number; bytes: Uint8Array }[]): Uint8Array {
  const out = new Uint8Array(items.length * 64);
  items.forEach((it, i) => {
    out.set(it.bytes, i * 64);
    new DataView(out.buffer).setUint32(i * 64 + 48, it.id, true);
  });
  return out;
}

function edgeRecord(it: EdgeItem): Uint8Array {
  const r = encodeConnection(connectionFields(it.s, it.t, it.y, TS, { confidence: it.conf, mutability: it.mut as Mutability }));
  if (it.bad) r[8] = 0xb5;
  return r;
}

function expectRejected(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error("expected the batch to be rejected");
}

describe("ShardStore against a reference model", () => {
  it("matches the model over random operation sequences", () => {
    const coverage = { remoteIn: 0, remoteOut: 0, mirrors: 0, edges: 0, rejected: 0 };
    fc.assert(
      fc.property(scenarioArb, ([cfg, ops]) => {
        const S = cfg.shardCount;
        const store = new ShardStore({
          shard: cfg.shard,
          shardCount: S,
          initialCapacity: cfg.cap,
          connectionLimits: { ...DEFAULT_CONNECTION_LIMITS, maxOutDegree: cfg.maxOut, maxInDegree: cfg.maxIn },
        });
        const owns = (id: number): boolean => id % S === cfg.shard;
        const tokens = new Map<number, Uint8Array>();
        const edges = new Map<string, { s: number; t: number; y: number; rec: Uint8Array }>();
        let maxLocal = 0;

        const check = (): void => {
          expect(store.size).toBe(tokens.size);
          const exported = store.exportTokens();
          expect(exported.byteLength).toBe(tokens.size * 64);
          for (let i = 0; i < store.size; i++) {
            const rec = exported.subarray(i * 64, i * 64 + 64);
            const id = new DataView(rec.buffer, rec.byteOffset).getUint32(48, true);
            expect(sameBytes(rec, tokens.get(id) ?? new Uint8Array(0))).toBe(true);
          }
          expect(store.connectionCount).toBe(edges.size);
          const ex = store.exportConnections();
          for (let i = 0; i < edges.size; i++) {
            const rec = ex.subarray(i * 64, i * 64 + 64);
            const dv = new DataView(rec.buffer, rec.byteOffset);
            const m = edges.get(edgeKey(dv.getUint32(0, true), dv.getUint32(4, true), dv.getUint8(8)));
            expect(m !== undefined && sameBytes(rec, m.rec)).toBe(true);
          }
          const ids = [...tokens.keys()];
          for (const id of ids) {
            const want = { out: [] as string[], in: [] as string[] };
            for (const [k, e] of edges) {
              if (e.s === id) want.out.push(k);
              if (e.t === id) want.in.push(k);
            }
            want.out.sort();
            want.in.sort();
            expect(adjacencyKeys(store, id)).toEqual(want);
            expect([store.outDegree(id), store.inDegree(id)]).toEqual([want.out.length, want.in.length]);
          }
          for (const [k, e] of edges) {
            const idx = store.connectionIndex(e.s, e.t, e.y);
            expect(idx).toBeGreaterThanOrEqual(0);
            expect(store.isMirror(idx)).toBe(!owns(e.s));
            expect(k).toBe(edgeKey(e.s, e.t, e.y));
          }
          const nodes = Uint32Array.from([...ids, 999]);
          const x = store.expand({ nodes, direction: Direction.Both });
          nodes.forEach((id, i) => {
            expect(x.exists[i]).toBe(tokens.has(id) ? 1 : 0);
            const got: string[] = [];
            for (let j = x.offsets[i]!; j < x.offsets[i + 1]!; j++) got.push(`${x.neighbors[j]}:${x.outgoing[j]}:${x.types[j]}:${x.weights[j]}`);
            const want: string[] = [];
            for (const e of edges.values()) {
              const conf = new DataView(e.rec.buffer).getFloat32(28, true);
              if (e.s === id) want.push(`${e.t}:1:${e.y}:${conf}`);
              if (e.t === id) want.push(`${e.s}:0:${e.y}:${conf}`);
            }
            expect(got.sort()).toEqual(want.sort());
          });
          expect(store.byteSize()).toBe(reachableTypedArrayBytes(store));
        };

        for (const op of ops) {
          const before = storeImage(store);
          const unchanged = (): void => {
            coverage.rejected++;
            const after = storeImage(store);
            expect(after.bytes).toBe(before.bytes);
            expect(after.size).toBe(before.size);
            expect(sameBytes(after.tokens, before.tokens)).toBe(true);
            expect(sameBytes(after.connections, before.connections)).toBe(true);
            // Internals too: id table, adjacency, arena, free list, key table.
            expect(sameBytes(after.internal, before.internal)).toBe(true);
          };
          if (op.k === "insert") {
            const records = tokenRecords(op.items);
            const original = records.slice();
            let batchMax = maxLocal;
            for (const it of op.items) if (it.id < DOMAIN_LIMIT && it.id > batchMax) batchMax = it.id;
            let next = batchMax + 1;
            while (next % S !== cfg.shard) next++;
            const seen = new Set<number>();
            const expectIds = op.items.map((it) => {
              let id = it.id;
              if (id === 0) {
                id = next;
                next += S;
              } else if (!owns(id) || tokens.has(id) || seen.has(id)) return 0;
              seen.add(id);
              return id;
            });
            const rejected = expectIds.flatMap((id, i) => (id === 0 ? [i] : []));
            if (op.strict && rejected.length > 0) {
              const err = expectRejected(() => store.insertRecords(records));
              expect([...new Set(err.violations.map((v) => v.index))]).toEqual(rejected);
              unchanged();
              expect(sameBytes(records, original)).toBe(true);
            } else {
              const r = store.insertRecords(records, { strict: op.strict });
              expect(Array.from(r.ids)).toEqual(expectIds);
              expect(r.violations.map((v) => v.index)).toEqual(rejected);
              expectIds.forEach((id, i) => {
                if (id === 0) return;
                const rec = records.slice(i * 64, i * 64 + 64);
                expect(new DataView(rec.buffer).getUint32(48, true)).toBe(id);
                tokens.set(id, rec);
                if (id < DOMAIN_LIMIT) maxLocal = Math.max(maxLocal, id);
              });
            }
          } else if (op.k === "update") {
            const records = tokenRecords(op.items);
            const seen = new Set<number>();
            const ok = op.items.map((it) => {
              if (!tokens.has(it.id) || seen.has(it.id)) return false;
              seen.add(it.id);
              return true;
            });
            const rejected = ok.flatMap((g, i) => (g ? [] : [i]));
            if (op.strict && rejected.length > 0) {
              expect(expectRejected(() => store.updateRecords(records)).violations.map((v) => v.index)).toEqual(rejected);
              unchanged();
            } else {
              const r = store.updateRecords(records, { strict: op.strict });
              expect(r.violations.map((v) => v.index)).toEqual(rejected);
              ok.forEach((g, i) => g && tokens.set(op.items[i]!.id, records.slice(i * 64, i * 64 + 64)));
            }
          } else if (op.k === "delete") {
            const seen = new Set<number>();
            const ok = op.ids.map((id) => {
              if (!tokens.has(id) || seen.has(id)) return false;
              seen.add(id);
              return true;
            });
            const rejected = ok.flatMap((g, i) => (g ? [] : [i]));
            if (op.strict && rejected.length > 0) {
              expect(expectRejected(() => store.deleteIds(op.ids)).violations.map((v) => v.index)).toEqual(rejected);
              unchanged();
            } else {
              const r = store.deleteIds(Uint32Array.from(op.ids), { strict: op.strict });
              expect(r.violations.map((v) => v.index)).toEqual(rejected);
              const remoteIn: string[] = [];
              const remoteOut: string[] = [];
              let dropped = 0;
              op.ids.forEach((id, i) => {
                if (!ok[i]) return;
                tokens.delete(id);
                for (const [k, e] of edges) {
                  if (e.s !== id && e.t !== id) continue;
                  if (e.t === id && !owns(e.s)) remoteIn.push(k);
                  if (e.s === id && !owns(e.t)) remoteOut.push(k);
                  edges.delete(k);
                  dropped++;
                }
              });
              const keys = (x: typeof r.remoteIn): string[] => Array.from(x.sources, (s, i) => edgeKey(s, x.targets[i]!, x.types[i]!)).sort();
              expect(r.droppedConnections).toBe(dropped);
              expect(keys(r.remoteIn)).toEqual(remoteIn.sort());
              if (remoteIn.length > 0) coverage.remoteIn++;
              if (remoteOut.length > 0) coverage.remoteOut++;
              expect(keys(r.remoteOut)).toEqual(remoteOut.sort());
            }
          } else if (op.k === "get") {
            const r = store.getRecords(op.ids);
            op.ids.forEach((id, i) => {
              const m = tokens.get(id);
              expect(r.found[i]).toBe(m === undefined ? 0 : 1);
              expect(sameBytes(r.records.subarray(i * 64, i * 64 + 64), m ?? new Uint8Array(64))).toBe(true);
              expect(store.get(id) === undefined).toBe(m === undefined);
            });
          } else if (op.k === "connect") {
            const records = new Uint8Array(op.items.length * 64);
            op.items.forEach((it, i) => records.set(edgeRecord(it), i * 64));
            const seen = new Set<string>();
            const addedOut = new Map<number, number>();
            const addedIn = new Map<number, number>();
            const outDeg = (id: number): number => [...edges.values()].filter((e) => e.s === id).length + (addedOut.get(id) ?? 0);
            const inDeg = (id: number): number => [...edges.values()].filter((e) => e.t === id).length + (addedIn.get(id) ?? 0);
            let created = 0;
            const ok = op.items.map((it) => {
              const k = edgeKey(it.s, it.t, it.bad ? 0xb5 : it.y);
              const sl = owns(it.s);
              const tl = owns(it.t);
              let bad = it.bad || it.s === it.t || (!sl && !tl) || (sl && !tokens.has(it.s)) || (tl && !tokens.has(it.t)) || seen.has(k);
              seen.add(k);
              if (bad || edges.has(k)) return !bad;
              if (sl && cfg.maxOut > 0 && outDeg(it.s) + 1 > cfg.maxOut) bad = true;
              if (tl && cfg.maxIn > 0 && inDeg(it.t) + 1 > cfg.maxIn) bad = true;
              if (bad) return false;
              if (sl) addedOut.set(it.s, (addedOut.get(it.s) ?? 0) + 1);
              if (tl) addedIn.set(it.t, (addedIn.get(it.t) ?? 0) + 1);
              created++;
              return true;
            });
            const rejected = ok.flatMap((g, i) => (g ? [] : [i]));
            if (op.strict && rejected.length > 0) {
              expect([...new Set(expectRejected(() => store.connectRecords(records)).violations.map((v) => v.index))].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(rejected);
              unchanged();
            } else {
              const r = store.connectRecords(records, { strict: op.strict });
              expect([...new Set(r.violations.map((v) => v.index))].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(rejected);
              expect(r.created).toBe(created);
              expect(r.created + r.updated).toBe(op.items.length - rejected.length);
              op.items.forEach((it, i) => ok[i] && edges.set(edgeKey(it.s, it.t, it.y), { s: it.s, t: it.t, y: it.y, rec: records.slice(i * 64, i * 64 + 64) }));
            }
          } else if (op.k === "reserve") {
            store.reserve(op.capacity);
            expect(store.capacity).toBe(Math.max(op.capacity, tokens.size));
          } else {
            const seen = new Set<string>();
            const ok = op.keys.map(([s, t, y]) => {
              const k = edgeKey(s, t, y);
              if (!edges.has(k) || seen.has(k)) return false;
              seen.add(k);
              return true;
            });
            const rejected = ok.flatMap((g, i) => (g ? [] : [i]));
            const args = [Uint32Array.from(op.keys, (k) => k[0]), Uint32Array.from(op.keys, (k) => k[1]), Uint8Array.from(op.keys, (k) => k[2])] as const;
            if (op.strict && rejected.length > 0) {
              expect(expectRejected(() => store.disconnectKeys(...args)).violations.map((v) => v.index)).toEqual(rejected);
              unchanged();
            } else {
              const r = store.disconnectKeys(...args, { strict: op.strict });
              expect(r.violations.map((v) => v.index)).toEqual(rejected);
              op.keys.forEach(([s, t, y], i) => ok[i] && edges.delete(edgeKey(s, t, y)));
            }
          }
          check();
        }
        // A snapshot reloads to the same contents.
        coverage.mirrors += [...edges.values()].filter((e) => !owns(e.s)).length;
        coverage.edges += edges.size;
        // A snapshot reloads to the same contents.
        const copy = ShardStore.fromSnapshot(store.exportTokens(), store.exportConnections(), { shard: cfg.shard, shardCount: S });
        expect(sameBytes(copy.exportTokens(), store.exportTokens())).toBe(true);
        expect(sameBytes(copy.exportConnections(), store.exportConnections())).toBe(true);
        for (const id of tokens.keys()) expect(adjacencyKeys(copy, id)).toEqual(adjacencyKeys(store, id));
      }),
      { numRuns: 100 },
    );
    // The generators must reach the interesting cases (mirrors, remote keys on delete).
    expect(Math.min(coverage.remoteIn, coverage.remoteOut, coverage.mirrors, coverage.edges, coverage.rejected)).toBeGreaterThan(0);
  });
});
