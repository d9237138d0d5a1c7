import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RAW_OFFSET } from "../../../src/core/field/geometry.ts";
import { BIG_TOKEN_LIMIT, GridHeader, allocateCellGrid, allocateGridScratch, buildCellGrid, gridCellCount, splitCells } from "../../../src/core/field/grid.ts";
import { SeededRandom } from "../../../src/core/field/prng.ts";
import { splitCellsForPairs } from "../../../src/core/field/repulsion-pairs.ts";

/** n tokens in space L2 (index 1) within ±extent raw, radius up to maxRadius. */
function attrsOf(seed: number, n: number, extent: number, maxRadius: number): { positions: Int16Array; radii: Uint8Array; strengths: Uint8Array } {
  const rnd = new SeededRandom(seed);
  const positions = new Int16Array(n * 24);
  for (let i = 0; i < n; i++) for (let a = 0; a < 3; a++) positions[i * 24 + 3 + a] = rnd.nextInt(2 * extent + 1) - extent;
  // Strengths 0..255, but never all 0: a grid without any strength is empty by design (tested apart).
  const strengths = Uint8Array.from({ length: n }, () => rnd.nextInt(256));
  if (strengths.every((v) => v === 0)) strengths[0] = 1;
  return { positions, radii: Uint8Array.from({ length: n }, () => 1 + rnd.nextInt(maxRadius)), strengths };
}

describe("cell grid", () => {
  it("sorts entries by (cell, slot) with either sort (dense and sparse bounding boxes)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 1, max: 300 }), fc.constantFrom(32000, 800, 60), (seed, n, extent) => {
        // L2: radius byte r → 100·r raw, cells ≥ 201 raw: a ±32000 box is sparse (radix sort),
        // ±800 dense (counting sort), ±60 puts everything into a few large cells.
        const attrs = attrsOf(seed, n, extent, 2);
        const grid = allocateCellGrid(n);
        buildCellGrid(grid, allocateGridScratch(1), attrs, n, 1);
        const h = grid.header;
        const cellRaw = h[GridHeader.cellRaw]!;
        const cell = (v: number, o: number): number => (((v + RAW_OFFSET) / cellRaw) | 0) - o;
        const key = (i: number): number => {
          const b = i * 24 + 3;
          const [x0, y0, z0, nx, ny] = [h[GridHeader.x0]!, h[GridHeader.y0]!, h[GridHeader.z0]!, h[GridHeader.nx]!, h[GridHeader.ny]!];
          return (cell(attrs.positions[b + 2]!, z0) * ny + cell(attrs.positions[b + 1]!, y0)) * nx + cell(attrs.positions[b]!, x0);
        };
        const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => key(a) - key(b) || a - b);
        expect(Array.from(grid.entrySlot.subarray(0, n))).toEqual(order);
        const distinct = [...new Set(order.map(key))];
        expect(Array.from(grid.cellKeys.subarray(0, gridCellCount(grid)))).toEqual(distinct);
        // Up to BIG_TOKEN_LIMIT tokens with a larger radius than the cells are sized for go to the
        // big list (radius negated, strength 0 in their entries); all others fit in one cell.
        const isBig = (slot: number): boolean => attrs.radii[slot]! * 100 >= cellRaw;
        const bigSlots = order.filter(isBig).sort((a, b) => a - b);
        expect(bigSlots.length).toBeLessThanOrEqual(BIG_TOKEN_LIMIT);
        expect(h[GridHeader.bigCount]).toBe(bigSlots.length);
        expect(Array.from(grid.bigSlot.subarray(0, bigSlots.length))).toEqual(bigSlots);
        for (let e = 0; e < n; e++) {
          const slot = order[e]!;
          const raw = attrs.radii[slot]! * 100;
          expect(Array.from(grid.entryData.subarray(e * 4, e * 4 + 4))).toEqual([...attrs.positions.subarray(slot * 24 + 3, slot * 24 + 6), isBig(slot) ? -raw : raw]);
          expect(grid.entryStrength[e]).toBe(isBig(slot) ? 0 : attrs.strengths[slot]);
        }
        if (bigSlots.length === 0) expect(cellRaw).toBeGreaterThan(100 * Math.max(...attrs.radii));
        const bounds = splitCells(grid, 3);
        expect(bounds[0]).toBe(0);
        expect(bounds[3]).toBe(gridCellCount(grid));
        expect(bounds[1]! <= bounds[2]!).toBe(true);
      }),
      { numRuns: 200, examples: [[784077361, 33, 32000]] },
    );
  });

  it("sets a few tokens with a much larger radius aside in the big list", () => {
    const n = 200;
    const attrs = attrsOf(3, n, 20000, 2);
    for (const slot of [5, 50, 150]) attrs.radii[slot] = 200;
    const grid = allocateCellGrid(n);
    buildCellGrid(grid, allocateGridScratch(n), attrs, n, 1);
    const h = grid.header;
    expect(h[GridHeader.bigCount]).toBe(3);
    expect(Array.from(grid.bigSlot.subarray(0, 3))).toEqual([5, 50, 150]);
    expect(h[GridHeader.cellRaw]).toBe(Math.max(...Array.from(attrs.radii).filter((r) => r < 200)) * 100 + 1);
    const e = Array.from(grid.entrySlot).indexOf(50);
    expect(grid.entryData[e * 4 + 3]).toBe(-20000);
    expect(grid.entryStrength[e]).toBe(0);
  });

  it("is empty when no token has a radius or a strength", () => {
    const attrs = attrsOf(1, 10, 100, 2);
    const grid = allocateCellGrid(10);
    buildCellGrid(grid, allocateGridScratch(10), { ...attrs, strengths: new Uint8Array(10) }, 10, 1);
    expect(grid.header[GridHeader.entryCount]).toBe(0);
  });
});

describe("splitCellsForPairs", () => {
  it("gives ranges whose forward writes stay clear of the range after next, or fewer ranges", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 1, max: 3000 }), fc.constantFrom(32000, 3000, 300), fc.integer({ min: 1, max: 8 }), (seed, n, extent, parts) => {
        const attrs = attrsOf(seed, n, extent, 2);
        const grid = allocateCellGrid(n);
        buildCellGrid(grid, allocateGridScratch(n), attrs, n, 1);
        const h = grid.header;
        const reach = h[GridHeader.nx]! * h[GridHeader.ny]! + h[GridHeader.nx]! + 1;
        const b = splitCellsForPairs(grid, parts);
        const ranges = b.length - 1;
        expect(ranges).toBeGreaterThanOrEqual(1);
        expect(ranges).toBeLessThanOrEqual(parts);
        expect(b[0]).toBe(0);
        expect(b[ranges]).toBe(gridCellCount(grid));
        for (let k = 0; k + 2 < ranges; k++) {
          if (b[k + 1]! <= b[k]! || b[k + 2]! >= gridCellCount(grid)) continue;
          expect(grid.cellKeys[b[k + 1]! - 1]! + reach).toBeLessThan(grid.cellKeys[b[k + 2]!]!);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("keeps several ranges on a large, deep grid", () => {
    const n = 20000;
    const attrs = attrsOf(7, n, 30000, 1);
    const grid = allocateCellGrid(n);
    buildCellGrid(grid, allocateGridScratch(n), attrs, n, 1);
    expect(splitCellsForPairs(grid, 4).length - 1).toBe(4);
  });
});
