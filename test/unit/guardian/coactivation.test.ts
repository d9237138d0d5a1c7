import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../src/core/errors.ts";
import { CoactivationTable } from "../../../src/actors/guardian/index.ts";

const T0 = 1_000_000;
const pairs = (c: { sources: Uint32Array; targets: Uint32Array }): [number, number][] => [...c.sources].map((s, i) => [s, c.targets[i]!]);

describe("CoactivationTable", () => {
  it("proposes a pair (smaller id first) once it was activated together min-count times, then starts counting again", () => {
    const t = new CoactivationTable();
    const got: [number, number][][] = [];
    for (let i = 0; i < 10; i++) got.push(pairs(t.observe(Uint32Array.of(9, 4), T0 + i * 5000, 1000, 5)));
    expect(got.map((g) => g.length)).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    expect(got[4]).toEqual([[4, 9]]);
    expect(t.countOf(4, 9, T0 + 50_000)).toBe(0);
  });

  it("counts tokens of separate calls within the window, not beyond it", () => {
    const t = new CoactivationTable();
    t.observe(Uint32Array.of(1), T0, 1000, 5);
    t.observe(Uint32Array.of(2), T0 + 999, 1000, 5);
    expect(t.countOf(1, 2, T0 + 999)).toBe(1);
    t.observe(Uint32Array.of(3), T0 + 2500, 1000, 5);
    expect(t.countOf(1, 3, T0 + 2500)).toBe(0);
    expect(t.countOf(2, 3, T0 + 2500)).toBe(0);
  });

  it("ignores id 0 and repeats within a call", () => {
    const t = new CoactivationTable();
    t.observe(Uint32Array.of(5, 0, 5, 6, 6), T0, 1000, 5);
    expect(t.countOf(5, 6, T0)).toBe(1);
    expect(t.countOf(5, 5, T0)).toBe(0);
  });

  it("stays within its fixed memory under a flood of one-off pairs and still proposes a frequent pair", () => {
    const t = new CoactivationTable({ pairCapacity: 1024, recentCapacity: 64 });
    const bytes = t.byteSize;
    let proposed = 0;
    let now = T0;
    for (let i = 0; i < 20_000; i++) {
      now += 10;
      t.observe(Uint32Array.of(1000 + 2 * i, 1001 + 2 * i), now, 1, 3);
      if (i % 500 === 0) proposed += pairs(t.observe(Uint32Array.of(7, 8), now, 1, 3)).filter(([a, b]) => a === 7 && b === 8).length;
    }
    expect(t.byteSize).toBe(bytes);
    expect(t.evicted).toBeGreaterThan(0);
    expect(proposed).toBeGreaterThanOrEqual(10);
  });

  it("forgets pairs not seen for the TTL", () => {
    const t = new CoactivationTable({ pairTtlMs: 10_000 });
    t.observe(Uint32Array.of(1, 2), T0, 1000, 5);
    expect(t.countOf(1, 2, T0 + 10_000)).toBe(1);
    expect(t.countOf(1, 2, T0 + 10_001)).toBe(0);
  });

  it("rejects bad options", () => {
    expect(() => new CoactivationTable({ recentCapacity: 0 })).toThrow(ValidationError);
    expect(() => new CoactivationTable({ maxTokensPerCall: 1.5 })).toThrow(ValidationError);
  });
});
