import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DeadlineTimers, type DeadlineItem, type DeadlineList } from "../../../src/runtime/deadlines.ts";
import { ManualClock } from "../../../src/runtime/index.ts";

class Item implements DeadlineItem {
  dlList: DeadlineList | undefined;
  dlPrev: DeadlineItem | undefined;
  dlNext: DeadlineItem | undefined;
  constructor(
    readonly id: number,
    readonly deadline: number,
    private readonly fired: number[],
    private readonly clock: ManualClock,
  ) {}
  expired(): void {
    expect(this.clock.now()).toBeGreaterThanOrEqual(this.deadline);
    this.fired.push(this.id);
  }
}

type Op = { op: "track"; duration: number } | { op: "untrack"; pick: number } | { op: "advance"; ms: number };

describe("DeadlineTimers", () => {
  it("fires exactly the tracked items whose deadline has passed, once, never early (model-based)", () => {
    const op = fc.oneof(
      fc.record({ op: fc.constant<"track">("track"), duration: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ op: fc.constant<"untrack">("untrack"), pick: fc.nat() }),
      fc.record({ op: fc.constant<"advance">("advance"), ms: fc.integer({ min: 0, max: 30 }) }),
    );
    fc.assert(
      fc.property(fc.array(op as fc.Arbitrary<Op>, { maxLength: 200 }), (ops) => {
        const clock = new ManualClock(0);
        const timers = new DeadlineTimers(clock);
        const fired: number[] = [];
        const live = new Map<number, Item>();
        let next = 0;
        for (const o of ops) {
          if (o.op === "track") {
            const item = new Item(next++, clock.now() + o.duration, fired, clock);
            live.set(item.id, item);
            timers.track(item);
          } else if (o.op === "untrack") {
            const ids = [...live.keys()];
            if (ids.length === 0) continue;
            const id = ids[o.pick % ids.length] as number;
            timers.untrack(live.get(id) as Item);
            live.delete(id);
          } else {
            const before = fired.length;
            clock.advance(o.ms);
            for (const id of fired.slice(before)) {
              expect(live.has(id)).toBe(true);
              live.delete(id);
            }
            for (const item of live.values()) expect(item.deadline).toBeGreaterThan(clock.now());
          }
        }
        expect(new Set(fired).size).toBe(fired.length);
        expect(timers.size).toBe(live.size);
      }),
    );
  });
});
