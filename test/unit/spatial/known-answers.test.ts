import { describe, expect, it } from "vitest";
import { MAX_K, SpatialIndex, SpatialResult } from "../../../src/core/spatial/index.ts";
import { NotFoundError, ValidationError } from "../../../src/core/errors.ts";
import { TestStore } from "./test-store.ts";

const L1 = 0;
const L3 = 2;
const L5 = 4;

/** A token with raw xyz in one space (others 0). */
function coordsIn(space: number, x: number, y = 0, z = 0): number[] {
  const c = new Array<number>(24).fill(0);
  c[space * 3] = x;
  c[space * 3 + 1] = y;
  c[space * 3 + 2] = z;
  return c;
}

function setup(tokens: [number, number, number?, number?][], space = L1, options = {}): { store: TestStore; index: SpatialIndex } {
  const store = new TestStore();
  for (const [id, x, y, z] of tokens) store.insert({ id, coords: coordsIn(space, x, y, z) });
  const index = new SpatialIndex(store, options);
  store.index = index;
  return { store, index };
}

const ids = (r: SpatialResult): number[] => r.idList();
const dists = (r: SpatialResult): number[] => Array.from(r.distances.subarray(0, r.count));

describe("range and neighbour queries", () => {
  it("original golden range query, with ties ordered by id", () => {
    // ids 10..15 at x = 3, -3, 1, 9.99, 10, -10.01 (L1 raw = x·100), r = 10.001
    const { index } = setup([
      [10, 300],
      [11, -300],
      [12, 100],
      [13, 999],
      [14, 1000],
      [15, -1001],
    ]);
    const r = index.range(L1, 0, 0, 0, 10.001);
    expect(ids(r)).toEqual([12, 10, 11, 13, 14]);
    expect(dists(r)).toEqual([1, 3, 3, 9.99, 10]);
  });

  it("radius is inclusive and r = 0 finds exact matches", () => {
    const { index } = setup([
      [1, 29],
      [2, 30],
      [3, 0],
      [4, 0],
    ]);
    expect(ids(index.range(L1, 0, 0, 0, 0.29))).toEqual([3, 4, 1]);
    expect(ids(index.range(L1, 0, 0, 0, 0))).toEqual([3, 4]);
    expect(ids(index.range(L1, 0.3, 0, 0, 0))).toEqual([2]);
  });

  it("ten tokens on a line: (5,0,0) r 2 gives five", () => {
    const { index } = setup(Array.from({ length: 10 }, (_, i) => [i + 1, i * 100] as [number, number]));
    const r = index.range(L1, 5, 0, 0, 2);
    expect(ids(r)).toEqual([6, 5, 7, 4, 8]);
    expect(dists(r)).toEqual([0, 1, 1, 2, 2]);
  });

  it("neighbours exclude the centre and honour the limit", () => {
    const { index } = setup([
      [1, 0],
      [2, 300],
      [3, 400],
      [4, 10000],
    ]);
    expect(ids(index.neighbors(1, L1, 5))).toEqual([2, 3]);
    expect(ids(index.neighbors(1, L1, 5, 1))).toEqual([2]);
    expect(ids(index.neighbors(4, L1, 5))).toEqual([]);
    expect(ids(index.nearestTo(4, L1, 2))).toEqual([3, 2]);
  });

  it("k nearest around a point, 3-D distance, ties by id", () => {
    const { index } = setup(
      [
        [5, 1000, 0, 0],
        [4, 0, 1000, 0],
        [3, 0, 0, 1000],
        [2, 600, 800, 0],
        [1, 3000, 3000, 3000],
      ],
      L3,
    );
    const r = index.nearest(L3, 0, 0, 0, 4);
    expect(ids(r)).toEqual([2, 3, 4, 5]);
    expect(dists(r)).toEqual([1, 1, 1, 1]);
    expect(ids(index.nearest(L3, 3, 3, 3, 1))).toEqual([1]);
    expect(ids(index.nearest(L3, 0, 0, 0, 100))).toEqual([2, 3, 4, 5, 1]);
  });

  it("k nearest keeps searching when an unseen cell may hold a tie with a smaller id", () => {
    // Cells of 16 raw units: the query cell is raw [0, 15] on each axis.
    const cellSizes = [0.16, 1, 1, 1, 1, 1, 1, 1];
    const low = setup(
      [
        [5, 1],
        [3, -1],
      ],
      L1,
      { cellSizes },
    );
    expect(low.index.nearest(L1, 0, 0, 0, 1).idList()).toEqual([3]);
    const high = setup(
      [
        [5, 14],
        [3, 16],
      ],
      L1,
      { cellSizes },
    );
    expect(high.index.nearest(L1, 0.15, 0, 0, 1).idList()).toEqual([3]);
    expect(high.index.neighbors(5, L1, 0.02, 1).idList()).toEqual([3]);
  });

  it("uses the caller's result buffer when given one", () => {
    const { index } = setup([
      [1, 0],
      [2, 100],
    ]);
    const mine = new SpatialResult(2);
    const r = index.range(L1, 0, 0, 0, 5, mine);
    expect(r).toBe(mine);
    expect(index.result.count).toBe(0);
    expect(ids(mine)).toEqual([1, 2]);
  });

  it("indexes every token in every space: no 'undefined' sentinel at raw x = 127", () => {
    const { index } = setup([[1, 127]]);
    expect(ids(index.range(L1, 1.27, 0, 0, 0))).toEqual([1]);
    // Its L5 position is the origin, so it is there too: a position is never "unused".
    expect(ids(index.range(L5, 0, 0, 0, 0))).toEqual([1]);
  });
});

describe("density and field influence", () => {
  it("density = count / (4/3·π·r³)", () => {
    const { index } = setup([[1, 0]]);
    expect(index.density(L1, 0, 0, 0, 1)).toBeCloseTo(0.238732, 6);
    expect(index.countWithin(L1, 0, 0, 0, 1)).toBe(1);
    expect(index.density(L1, 50, 0, 0, 1)).toBe(0);
  });

  it("influence falls off linearly inside each token's own radius; radius 0 adds nothing", () => {
    const store = new TestStore();
    // L1: field radius raw 100 = 1.0 decoded = 100 raw coordinate units.
    store.insert({ id: 1, coords: coordsIn(L1, 0), radius: 100, strength: 255 });
    store.insert({ id: 2, coords: coordsIn(L1, 0), radius: 0, strength: 255 });
    store.insert({ id: 3, coords: coordsIn(L1, 500), radius: 200, strength: 51 });
    const index = new SpatialIndex(store);
    store.index = index;
    expect(index.fieldInfluence(L1, 0, 0, 0)).toBe(1);
    expect(index.fieldInfluence(L1, 0.5, 0, 0)).toBe(0.5);
    expect(index.fieldInfluence(L1, 1, 0, 0)).toBe(0);
    expect(index.fieldInfluence(L1, 4, 0, 0)).toBeCloseTo(0.2 * 0.5, 12);
    expect(Number.isNaN(index.fieldInfluence(L1, 0, 0, 0))).toBe(false);
    // In L5 (scale 10000) radius 1.0 is 10000 raw units.
    store.move(1, L5, 5000, 0, 0);
    // Token 3 sits at the L5 origin with radius 2.0 and strength 0.2: 0.2 + 0.5.
    expect(index.fieldInfluence(L5, 0, 0, 0)).toBeCloseTo(0.7, 12);
  });
});

describe("maintenance", () => {
  it("builds only the spaces that are queried", () => {
    const { index } = setup([[1, 0]]);
    for (let s = 0; s < 8; s++) expect(index.isBuilt(s)).toBe(false);
    index.range(L3, 0, 0, 0, 1);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((s) => index.isBuilt(s))).toEqual([false, false, true, false, false, false, false, false]);
  });

  it("keeps inserts, moves and deletes in an overflow, then rebuilds past the limit", () => {
    const { store, index } = setup(
      [
        [1, 0],
        [2, 100],
      ],
      L1,
      { overflowLimit: 2 },
    );
    expect(ids(index.range(L1, 0, 0, 0, 5))).toEqual([1, 2]);
    store.insert({ id: 3, coords: coordsIn(L1, 50) });
    store.move(1, L1, 1000, 0, 0);
    expect(index.overflowSize(L1)).toBe(2);
    expect(ids(index.range(L1, 0, 0, 0, 5))).toEqual([3, 2]);
    store.delete(2); // swap-remove moves token 3's slot
    expect(index.isBuilt(L1)).toBe(false);
    expect(ids(index.range(L1, 0, 0, 0, 20))).toEqual([3, 1]);
    expect(index.isBuilt(L1)).toBe(true);
    expect(index.overflowSize(L1)).toBe(0);
  });

  it("a deleted and re-inserted id is found at its new position only", () => {
    const { store, index } = setup([
      [1, 0],
      [2, 100],
    ]);
    index.build(L1);
    store.delete(1);
    store.insert({ id: 1, coords: coordsIn(L1, 200) });
    expect(ids(index.range(L1, 0, 0, 0, 5))).toEqual([2, 1]);
    expect(dists(index.range(L1, 0, 0, 0, 5))).toEqual([1, 2]);
  });

  it("invalidate rebuilds from the current columns, setCellSizes changes the cells", () => {
    const { store, index } = setup([[1, 0]]);
    index.build(L1);
    store.index = null; // a bulk change the index is not told about, item by item
    store.move(1, L1, 300, 0, 0);
    index.invalidate();
    expect(dists(index.range(L1, 0, 0, 0, 5))).toEqual([3]);
    index.setCellSizes([0.01, 1, 1, 1, 1, 1, 100, 1]);
    expect(index.cellSizes()[0]).toBe(0.01);
    expect(dists(index.range(L1, 0, 0, 0, 5))).toEqual([3]);
    expect(index.byteSize()).toBeGreaterThan(0);
    index.release();
    expect(index.isBuilt(L1)).toBe(false);
  });
});

describe("validation", () => {
  const { index } = setup([[1, 0]]);
  const bad: [string, () => unknown][] = [
    ["space 8", () => index.range(8, 0, 0, 0, 1)],
    ["space -1", () => index.nearest(-1, 0, 0, 0, 1)],
    ["fractional space", () => index.countWithin(1.5, 0, 0, 0, 1)],
    ["negative radius", () => index.range(L1, 0, 0, 0, -1)],
    ["NaN radius", () => index.neighbors(1, L1, NaN)],
    ["infinite radius", () => index.range(L1, 0, 0, 0, Infinity)],
    ["k 0", () => index.nearest(L1, 0, 0, 0, 0)],
    ["k too large", () => index.nearestTo(1, L1, MAX_K + 1)],
    ["fractional limit", () => index.neighbors(1, L1, 1, 2.5)],
    ["point out of range", () => index.range(L1, 400, 0, 0, 1)],
    ["NaN coordinate", () => index.fieldInfluence(L5, 0, NaN, 0)],
    ["L5 point beyond ±3.2767", () => index.nearest(L5, 0, 0, 3.3, 1)],
    ["density radius 0", () => index.density(L1, 0, 0, 0, 0)],
    ["density radius whose volume underflows", () => index.density(L1, 0, 0, 0, 1e-120)],
    ["id 0", () => index.neighbors(0, L1, 1)],
    ["bad cell sizes", () => new SpatialIndex(new TestStore(), { cellSizes: [1, 2] })],
    ["cell size 0", () => new SpatialIndex(new TestStore(), { cellSizes: [0, 1, 1, 1, 1, 1, 1, 1] })],
    ["negative overflow limit", () => new SpatialIndex(new TestStore(), { overflowLimit: -1 })],
  ];
  for (const [name, call] of bad) {
    it(`rejects ${name}`, () => {
      expect(call).toThrow(ValidationError);
    });
  }

  it("reports every violation of a call", () => {
    try {
      index.range(9, 0, NaN, 0, -1);
      expect.unreachable();
    } catch (err) {
      expect((err as ValidationError).violations.map((v) => v.field)).toEqual(["space", "radius"]);
    }
  });

  it("an unknown centre token is NotFound", () => {
    expect(() => index.neighbors(99, L1, 1)).toThrow(NotFoundError);
    expect(() => index.nearestTo(99, L1, 1)).toThrow(NotFoundError);
  });
});
