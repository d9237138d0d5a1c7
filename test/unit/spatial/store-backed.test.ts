/**
 * The spatial index over the real ShardStore: inserts, updates and swap-remove deletes go through
 * the store's batch API, the index is told the changed ids, and every answer equals a brute-force
 * scan of the store's columns.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DEFAULT_CELL_SIZES, SpatialIndex } from "../../../src/core/spatial/index.ts";
import type { SpatialResult } from "../../../src/core/spatial/index.ts";
import { ShardStore } from "../../../src/core/store/index.ts";
import { SCALES, TOKEN_RECORD_SIZE, encodeToken, tokenFields } from "../../../src/core/token/index.ts";
import { bruteInfluence, bruteNearest, bruteWithin } from "./brute.ts";
import type { Hit } from "./brute.ts";

const NOW = 1_700_000_000;

interface Spec {
  id: number;
  raw: number[];
  radius: number;
  strength: number;
}

function records(specs: Spec[]): Uint8Array {
  const out = new Uint8Array(specs.length * TOKEN_RECORD_SIZE);
  specs.forEach((t, i) => {
    const coords = t.raw.map((v, k) => v / SCALES[Math.floor(k / 3)]!);
    encodeToken(tokenFields(t.id, NOW, { coords, fieldRadius: t.radius / 100, fieldStrength: t.strength / 255 }), out, i);
  });
  return out;
}

function same(r: SpatialResult, hits: Hit[]): void {
  expect(r.idList()).toEqual(hits.map((h) => h.id));
  expect(Array.from(r.squared.subarray(0, r.count))).toEqual(hits.map((h) => h.d2));
}

const rawArb = fc.oneof(fc.integer({ min: -30, max: 30 }), fc.integer({ min: -32768, max: 32767 }), fc.constantFrom(0, 500, -500));
const specArb = fc.record({
  raw: fc.array(rawArb, { minLength: 24, maxLength: 24 }),
  radius: fc.constantFrom(0, 5, 50, 255),
  strength: fc.integer({ min: 0, max: 255 }),
});

describe("spatial index over the shard store", () => {
  it("equals brute force across store inserts, updates and deletes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 7 }),
        fc.constantFrom(2, 40, 500, 8000),
        fc.array(specArb, { minLength: 1, maxLength: 80 }),
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant("insert" as const), specs: fc.array(specArb, { maxLength: 5 }) }),
            fc.record({ kind: fc.constant("update" as const), picks: fc.array(fc.nat(), { maxLength: 5 }), specs: fc.array(specArb, { minLength: 5, maxLength: 5 }) }),
            fc.record({ kind: fc.constant("delete" as const), picks: fc.array(fc.nat(), { maxLength: 4 }) }),
            fc.record({ kind: fc.constant("query" as const), pick: fc.nat(), radiusRaw: fc.constantFrom(0, 3, 60, 900, 20000), k: fc.integer({ min: 1, max: 15 }) }),
          ),
          { maxLength: 25 },
        ),
        (space, cellRaw, initial, ops) => {
          const store = new ShardStore({ initialCapacity: 2 });
          let nextId = 1;
          store.insertRecords(records(initial.map((s) => ({ id: nextId++, ...s }))));
          const cellSizes = Array.from(DEFAULT_CELL_SIZES);
          cellSizes[space] = cellRaw / SCALES[space]!;
          const index = new SpatialIndex(store, { cellSizes, overflowLimit: 6 });
          index.build(space);
          const live = (): number[] => Array.from(store.columns.ids.subarray(0, store.size));
          for (const op of ops) {
            if (op.kind === "insert") {
              const specs = op.specs.map((s) => ({ id: nextId++, ...s }));
              store.insertRecords(records(specs));
              index.noteChangedMany(specs.map((s) => s.id));
            } else if (op.kind === "update") {
              const ids = live();
              const chosen = [...new Set(op.picks.map((p) => ids[p % ids.length]!))];
              if (ids.length === 0 || chosen.length === 0) continue;
              store.updateRecords(records(chosen.map((id, i) => ({ id, ...op.specs[i]! }))));
              index.noteChangedMany(chosen);
            } else if (op.kind === "delete") {
              const ids = live();
              const chosen = [...new Set(op.picks.map((p) => ids[p % ids.length]!))];
              if (ids.length === 0 || chosen.length === 0) continue;
              store.deleteIds(chosen);
              index.noteChangedMany(chosen);
            } else {
              const ids = live();
              if (ids.length === 0) continue;
              const center = ids[op.pick % ids.length]!;
              const o = store.slotOf(center) * 24 + space * 3;
              const c = store.columns.coords;
              const p: [number, number, number] = [c[o]!, c[o + 1]!, c[o + 2]!];
              const scale = SCALES[space]!;
              const [x, y, z] = p.map((v) => v / scale) as [number, number, number];
              const radius = op.radiusRaw / scale;
              same(index.neighbors(center, space, radius), bruteWithin(store, space, p, radius, center));
              same(index.nearestTo(center, space, op.k), bruteNearest(store, space, p, op.k, center));
              same(index.range(space, x, y, z, radius), bruteWithin(store, space, p, radius));
              same(index.nearest(space, x, y, z, op.k), bruteNearest(store, space, p, op.k));
              expect(index.fieldInfluence(space, x, y, z)).toBe(bruteInfluence(store, space, p));
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
