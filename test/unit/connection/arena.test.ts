import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ConnectionArena, EdgeState, NO_EDGE, connectionFields, encodeConnection } from "../../../src/core/connection/index.ts";
import { recordViews } from "../../../src/core/token/views.ts";

describe("ConnectionArena", () => {
  it("finds, releases and reuses entries like a map keyed by (source, target, type)", () => {
    const opArb = fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 3 }));
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const a = new ConnectionArena();
        const model = new Map<string, number>();
        let maxEntries = 0;
        for (const [add, s, t, y] of ops) {
          const k = `${s}:${t}:${y}`;
          const e = a.find(s, t, y);
          expect(e !== NO_EDGE).toBe(model.has(k));
          if (add && e === NO_EDGE) {
            const ne = a.add(recordViews(encodeConnection(connectionFields(s, t, y, 0))), 0, EdgeState.Owned);
            model.set(k, ne);
          } else if (!add && e !== NO_EDGE) {
            expect(e).toBe(model.get(k));
            a.release(e);
            model.delete(k);
          }
          maxEntries = Math.max(maxEntries, model.size);
          expect(a.count).toBe(model.size);
        }
        for (const [k, e] of model) {
          const [s, t, y] = k.split(":").map(Number) as [number, number, number];
          expect(a.find(s, t, y)).toBe(e);
          expect(a.state[e]).toBe(EdgeState.Owned);
        }
        // Freed entries are reused: the high-water mark never exceeds the peak live count.
        expect(a.columns.size).toBe(maxEntries);
      }),
    );
  });
});
