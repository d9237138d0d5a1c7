import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { encodeHistogram, mergeEncoded, newHistogram, percentileCurve, recordUs, summarize } from "../../../src/load/histogram.ts";

describe("load histograms", () => {
  it("summarizes an empty histogram as zeros", () => {
    expect(summarize(newHistogram()).count).toBe(0);
    expect(percentileCurve(newHistogram())).toEqual([]);
  });

  it("merging encoded histograms equals recording everything into one", () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 1, max: 10_000_000 }), { maxLength: 200 }), { minLength: 1, maxLength: 5 }), (parts) => {
        const whole = newHistogram();
        const merged = newHistogram();
        for (const part of parts) {
          const h = newHistogram();
          for (const us of part) {
            recordUs(h, us);
            recordUs(whole, us);
          }
          mergeEncoded(merged, encodeHistogram(h));
        }
        expect(summarize(merged)).toEqual(summarize(whole));
      }),
      { numRuns: 30 },
    );
  });

  it("percentiles are within 0.1 % of the exact ones", () => {
    const h = newHistogram();
    for (let us = 1; us <= 100_000; us++) recordUs(h, us);
    const s = summarize(h);
    expect(s.count).toBe(100_000);
    expect(Math.abs(s.p50 - 50_000) / 50_000).toBeLessThan(0.001);
    expect(Math.abs(s.p99 - 99_000) / 99_000).toBeLessThan(0.001);
    expect(Math.abs(s.max - 100_000) / 100_000).toBeLessThan(0.001);
    expect(s.min).toBe(1);
  });

  it("clamps values to 1 µs .. 1 h", () => {
    const h = newHistogram();
    recordUs(h, 0);
    recordUs(h, 1e13);
    const s = summarize(h);
    expect(s.min).toBe(1);
    expect(s.max).toBeGreaterThanOrEqual(3_600_000_000 * 0.999);
  });

  it("the percentile curve rises monotonically and ends at the max", () => {
    const h = newHistogram();
    for (let i = 0; i < 10_000; i++) recordUs(h, 100 + ((i * 7919) % 5000));
    const curve = percentileCurve(h);
    for (let i = 1; i < curve.length; i++) {
      expect(curve[i]!.percentile).toBeGreaterThan(curve[i - 1]!.percentile);
      expect(curve[i]!.us).toBeGreaterThanOrEqual(curve[i - 1]!.us);
    }
    expect(curve.at(-1)).toEqual({ percentile: 100, us: summarize(h).max });
  });
});
