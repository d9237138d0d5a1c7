import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DEFAULT_CELL_SIZES, SpatialIndex } from "../../../src/core/spatial/index.ts";
import { roundCoordinate as toRaw } from "../../../src/core/token/coords.ts";
import { SCALES } from "../../../src/core/token/layout.ts";
import type { SpatialResult } from "../../../src/core/spatial/index.ts";
import { ValidationError } from "../../../src/core/errors.ts";
import { TestStore } from "./test-store.ts";
import { bruteInfluence, bruteNearest, bruteWithin } from "./brute.ts";
import type { Hit } from "./brute.ts";

const RAW_MIN = -32768;
const RAW_MAX = 32767;

/** Raw coordinates that cluster (ties, duplicates, shared cells) or spread over the whole range. */
const rawArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0, 1, -1, 100, -100, 4000) },
  { weight: 4, arbitrary: fc.integer({ min: -40, max: 40 }) },
  { weight: 2, arbitrary: fc.integer({ min: RAW_MIN, max: RAW_MAX }) },
  { weight: 1, arbitrary: fc.constantFrom(RAW_MIN, RAW_MAX) },
);
const xyzArb = fc.tuple(rawArb, rawArb, rawArb);
const coordsArb = fc.array(rawArb, { minLength: 24, maxLength: 24 });
const fieldArb = fc.record({ radius: fc.constantFrom(0, 1, 10, 100, 255), strength: fc.integer({ min: 0, max: 255 }) });
/** Cell edges in raw units: tiny cells (long shell walks), mid, and one cell for everything. */
const cellRawArb = fc.constantFrom(1, 3, 16, 100, 450, 5000, 65536);
/** Radii in raw units, fractional ones included (they are not snapped). */
const radiusRawArb = fc.oneof(fc.constantFrom(0, 1, 2, 30, 100, 1000, 70000), fc.double({ min: 0, max: 5000, noNaN: true }));

type Op =
  | { kind: "insert"; coords: number[]; field: { radius: number; strength: number } }
  | { kind: "move"; pick: number; xyz: [number, number, number] }
  | { kind: "field"; pick: number; field: { radius: number; strength: number } }
  | { kind: "delete"; pick: number }
  | { kind: "query"; pick: number; point: [number, number, number]; onToken: boolean; radiusRaw: number; k: number; limit: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("insert" as const), coords: coordsArb, field: fieldArb }),
  fc.record({ kind: fc.constant("move" as const), pick: fc.nat(), xyz: xyzArb }),
  fc.record({ kind: fc.constant("field" as const), pick: fc.nat(), field: fieldArb }),
  fc.record({ kind: fc.constant("delete" as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant("query" as const),
    pick: fc.nat(),
    point: xyzArb,
    onToken: fc.boolean(),
    radiusRaw: radiusRawArb,
    k: fc.integer({ min: 1, max: 12 }),
    limit: fc.integer({ min: 1, max: 6 }),
  }),
);

function expectHits(r: SpatialResult, hits: Hit[], scale: number): void {
  expect(r.idList()).toEqual(hits.map((h) => h.id));
  expect(Array.from(r.squared.subarray(0, r.count))).toEqual(hits.map((h) => h.d2));
  expect(Array.from(r.distances.subarray(0, r.count))).toEqual(hits.map((h) => Math.sqrt(h.d2) / scale));
}

function checkQueries(store: TestStore, index: SpatialIndex, space: number, q: Extract<Op, { kind: "query" }>): void {
  const scale = SCALES[space]!;
  const liveIds = Array.from(store.columns.ids.subarray(0, store.size));
  const center = liveIds.length > 0 ? liveIds[q.pick % liveIds.length]! : 0;
  const raw: [number, number, number] = q.onToken && center !== 0 ? store.position(center, space) : q.point;
  // Decoded query point (with a sub-unit offset that the index must round away exactly as toRaw does).
  const [x, y, z] = raw.map((v) => (v + (v < RAW_MAX ? 0.25 : -0.25)) / scale) as [number, number, number];
  const p: [number, number, number] = [toRaw(x, space), toRaw(y, space), toRaw(z, space)];
  expect(p).toEqual(raw);
  const radius = q.radiusRaw / scale;

  expectHits(index.range(space, x, y, z, radius), bruteWithin(store, space, p, radius), scale);
  expectHits(index.nearest(space, x, y, z, q.k), bruteNearest(store, space, p, q.k), scale);
  expect(index.countWithin(space, x, y, z, radius)).toBe(bruteWithin(store, space, p, radius).length);
  const volume = (4 / 3) * Math.PI * radius ** 3;
  if (volume > 0) {
    expect(index.density(space, x, y, z, radius)).toBe(bruteWithin(store, space, p, radius).length / volume);
  } else {
    expect(() => index.density(space, x, y, z, radius)).toThrow(ValidationError);
  }
  expect(index.fieldInfluence(space, x, y, z)).toBe(bruteInfluence(store, space, p));
  if (center !== 0) {
    const at = store.position(center, space);
    expectHits(index.neighbors(center, space, radius), bruteWithin(store, space, at, radius, center), scale);
    expectHits(index.neighbors(center, space, radius, q.limit), bruteWithin(store, space, at, radius, center).slice(0, q.limit), scale);
    expectHits(index.nearestTo(center, space, q.k), bruteNearest(store, space, at, q.k, center), scale);
  }
}

describe("spatial index equals a brute-force scan", () => {
  it("in every space, across inserts, moves, field changes, deletes and rebuilds", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 7 }),
        cellRawArb,
        fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
        fc.array(fc.record({ coords: coordsArb, field: fieldArb }), { maxLength: 60 }),
        fc.array(opArb, { maxLength: 40 }),
        (space, cellRaw, overflowLimit, initial, ops) => {
          const store = new TestStore(2);
          let nextId = 1;
          for (const t of initial) store.insert({ id: nextId++ * 7, coords: t.coords, ...t.field });
          const cellSizes = Array.from(DEFAULT_CELL_SIZES);
          cellSizes[space] = cellRaw / SCALES[space]!;
          const index = new SpatialIndex(store, { cellSizes, overflowLimit });
          store.index = index;
          index.build(space);
          for (const op of ops) {
            const live = Array.from(store.columns.ids.subarray(0, store.size));
            const pick = (n: number): number | undefined => (live.length === 0 ? undefined : live[n % live.length]);
            switch (op.kind) {
              case "insert":
                store.insert({ id: nextId++ * 7, coords: op.coords, ...op.field });
                break;
              case "move": {
                const id = pick(op.pick);
                if (id !== undefined) store.move(id, space, ...op.xyz);
                break;
              }
              case "field": {
                const id = pick(op.pick);
                if (id !== undefined) store.setField(id, op.field.radius, op.field.strength);
                break;
              }
              case "delete": {
                const id = pick(op.pick);
                if (id !== undefined) store.delete(id);
                break;
              }
              case "query":
                checkQueries(store, index, space, op);
                break;
            }
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it("on dense duplicate clusters with small and large k", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 7 }),
        fc.array(fc.tuple(fc.integer({ min: -3, max: 3 }), fc.integer({ min: -3, max: 3 }), fc.integer({ min: -3, max: 3 })), {
          minLength: 1,
          maxLength: 150,
        }),
        fc.integer({ min: 1, max: 200 }),
        cellRawArb,
        (space, points, k, cellRaw) => {
          const store = new TestStore();
          points.forEach(([x, y, z], i) => {
            const c = new Array<number>(24).fill(0);
            c[space * 3] = x;
            c[space * 3 + 1] = y;
            c[space * 3 + 2] = z;
            store.insert({ id: 1000 - i, coords: c, radius: 1, strength: 10 });
          });
          const cellSizes = Array.from(DEFAULT_CELL_SIZES);
          cellSizes[space] = cellRaw / SCALES[space]!;
          const index = new SpatialIndex(store, { cellSizes });
          const scale = SCALES[space]!;
          expectHits(index.nearest(space, 0, 0, 0, k), bruteNearest(store, space, [0, 0, 0], k), scale);
          expectHits(index.range(space, 0, 0, 0, 2 / scale), bruteWithin(store, space, [0, 0, 0], 2 / scale), scale);
          expectHits(index.nearestTo(1000, space, k), bruteNearest(store, space, store.position(1000, space), k, 1000), scale);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("k nearest through shell walks on many tokens, with lattice ties at cell boundaries", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 7 }),
        fc.constantFrom(1, 2, 3, 7, 16, 40),
        fc.integer({ min: 5, max: 60 }),
        fc.integer({ min: 1, max: 40 }),
        fc.array(xyzArb, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (space, cellRaw, spread, k, queries, seed) => {
          const store = new TestStore();
          let s = seed;
          const rand = (n: number): number => {
            s = (Math.imul(s, 1103515245) + 12345) >>> 0;
            return (s >>> 8) % n;
          };
          for (let i = 0; i < 1500; i++) {
            const c = new Array<number>(24).fill(0);
            c[space * 3] = rand(2 * spread + 1) - spread;
            c[space * 3 + 1] = rand(2 * spread + 1) - spread;
            c[space * 3 + 2] = rand(2 * spread + 1) - spread;
            store.insert({ id: ((i * 40503) % 65536) + 1, coords: c }); // unique, not in slot order
          }
          const cellSizes = Array.from(DEFAULT_CELL_SIZES);
          cellSizes[space] = cellRaw / SCALES[space]!;
          const index = new SpatialIndex(store, { cellSizes });
          const scale = SCALES[space]!;
          for (const raw of queries) {
            const p = raw.map((v) => Math.max(-spread - 3, Math.min(spread + 3, v))) as [number, number, number];
            const [x, y, z] = p.map((v) => v / scale) as [number, number, number];
            expectHits(index.nearest(space, x, y, z, k), bruteNearest(store, space, p, k), scale);
            expectHits(index.range(space, x, y, z, (k / 4) / scale), bruteWithin(store, space, p, (k / 4) / scale), scale);
          }
          const center = store.columns.ids[0]!;
          const at = store.position(center, space);
          expectHits(index.neighbors(center, space, 6 / scale, k), bruteWithin(store, space, at, 6 / scale, center).slice(0, k), scale);
        },
      ),
      { numRuns: 60 },
    );
  });
});
