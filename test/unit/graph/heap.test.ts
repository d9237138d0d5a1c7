/**
 * IndexedMinHeap against a brute-force model: random inserts, decrease-keys and pops must pop
 * items in (key, id) order, with equal keys broken by id, and the size must always agree.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { IndexedMinHeap } from "../../../src/core/graph/heap.ts";

type Op = { readonly k: "update"; readonly item: number; readonly key: number } | { readonly k: "pop" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant("update" as const), item: fc.integer({ min: 0, max: 300 }), key: fc.integer({ min: 0, max: 20 }).map((x) => x / 4) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("pop" as const) }) },
);

describe("IndexedMinHeap", () => {
  it("pops in (key, id) order under inserts and decrease-keys", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 600 }), (ops) => {
        const heap = new IndexedMinHeap();
        // item → key; an item's id is 1000 + (item * 7919) % 1000 (ids not in item order).
        const model = new Map<number, number>();
        const idOf = (item: number): number => 1000 + ((item * 7919) % 1000);
        for (const op of ops) {
          if (op.k === "update") {
            const cur = model.get(op.item);
            // The heap's contract: update inserts or lowers a key, never raises it.
            if (cur !== undefined && op.key >= cur) continue;
            model.set(op.item, op.key);
            heap.update(op.item, op.key, idOf(op.item));
          } else {
            if (model.size === 0) continue;
            let best = -1;
            for (const [item, key] of model) {
              const b = model.get(best);
              if (b === undefined || key < b || (key === b && idOf(item) < idOf(best))) best = item;
            }
            expect(heap.peekKey()).toBe(model.get(best));
            expect(heap.peekItem()).toBe(best);
            expect(heap.pop()).toBe(best);
            model.delete(best);
          }
          expect(heap.size).toBe(model.size);
        }
      }),
      { numRuns: 200 },
    );
  });
});
