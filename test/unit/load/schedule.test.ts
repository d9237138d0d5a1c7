import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ArrivalSchedule } from "../../../src/load/schedule.ts";

describe("ArrivalSchedule", () => {
  it("spaces operations evenly at the rate without ramp-up", () => {
    const s = new ArrivalSchedule(1000, 0, 2000, null);
    expect(s.totalOps).toBe(2000);
    expect(s.rampOps).toBe(0);
    expect(s.offsetMs(0)).toBe(0);
    expect(s.offsetMs(1)).toBeCloseTo(1);
    expect(s.offsetMs(1999)).toBeCloseTo(1999);
  });

  it("ramps up linearly, then runs at the rate", () => {
    const s = new ArrivalSchedule(1000, 1000, 1000, null);
    // Half the full-rate count during the ramp-up.
    expect(s.rampOps).toBe(500);
    expect(s.totalOps).toBe(1500);
    expect(s.offsetMs(500)).toBeCloseTo(1000);
    expect(s.offsetMs(1500)).toBeCloseTo(2000);
    // A quarter of the ramp-up count arrives in its first half (rate grows linearly).
    expect(s.offsetMs(125)).toBeCloseTo(500);
    expect(s.measureStartMs).toBe(1000);
  });

  it("a count adds to the ramp-up operations", () => {
    const s = new ArrivalSchedule(200, 500, null, 1000);
    expect(s.totalOps).toBe(s.rampOps + 1000);
  });

  it("offsets never decrease and the workers' shares add up to the total", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 16 }), (rate, ramp, duration, workers) => {
        const s = new ArrivalSchedule(rate, ramp, duration, null);
        let prev = -1;
        let decreasing = 0;
        for (let k = 0; k < Math.min(s.totalOps, 2000); k++) {
          const t = s.offsetMs(k);
          if (t < prev) decreasing++;
          prev = t;
        }
        expect(decreasing).toBe(0);
        let sum = 0;
        for (let w = 0; w < workers; w++) sum += s.opsOfWorker(w, workers);
        expect(sum).toBe(s.totalOps);
      }),
      { numRuns: 100 },
    );
  });
});
