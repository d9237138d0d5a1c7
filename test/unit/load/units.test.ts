import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { formatBytes, formatCount, formatDurationMs, formatLatency, formatPercent, parseCount, parseDurationMs, parseFraction, parseLatencyUs, parseRate } from "../../../src/load/units.ts";

const value = <T>(r: { ok: true; value: T } | { ok: false; expected: string }): T | string => (r.ok ? r.value : `bad: ${r.expected}`);

describe("load units", () => {
  it("parses durations with units", () => {
    expect(value(parseDurationMs("30s"))).toBe(30_000);
    expect(value(parseDurationMs("1.5m"))).toBe(90_000);
    expect(value(parseDurationMs("500ms"))).toBe(500);
    expect(value(parseDurationMs("2h"))).toBe(7_200_000);
    expect(parseDurationMs("30").ok).toBe(false);
    expect(parseDurationMs("0s").ok).toBe(false);
    expect(value(parseDurationMs("0", { allowZero: true }))).toBe(0);
    expect(value(parseDurationMs("0s", { allowZero: true }))).toBe(0);
    expect(parseDurationMs("2h", { maxMs: 3_600_000 }).ok).toBe(false);
  });

  it("parses latencies into microseconds", () => {
    expect(value(parseLatencyUs("5ms"))).toBe(5000);
    expect(value(parseLatencyUs("250us"))).toBe(250);
    expect(value(parseLatencyUs("250µs"))).toBe(250);
    expect(value(parseLatencyUs("1.5s"))).toBe(1_500_000);
    expect(parseLatencyUs("5").ok).toBe(false);
    expect(parseLatencyUs("0ms").ok).toBe(false);
  });

  it("parses rates, fractions and counts", () => {
    expect(value(parseRate("4500"))).toBe(4500);
    expect(value(parseRate("4.5k"))).toBe(4500);
    expect(value(parseRate("2M/s"))).toBe(2_000_000);
    expect(parseRate("0").ok).toBe(false);
    expect(parseRate("fast").ok).toBe(false);
    expect(value(parseFraction("0.01"))).toBe(0.01);
    expect(value(parseFraction("1%"))).toBe(0.01);
    expect(parseFraction("2").ok).toBe(false);
    expect(value(parseCount("9.5M", 0, 1e9))).toBe(9_500_000);
    expect(value(parseCount("10_000", 0, 1e9))).toBe(10_000);
    expect(value(parseCount("50k", 0, 1e9))).toBe(50_000);
    expect(parseCount("1.5", 0, 10).ok).toBe(false);
    expect(parseCount("11", 0, 10).ok).toBe(false);
  });

  it("round-trips whole counts", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1e12 }), (n) => value(parseCount(String(n), 0, 1e12)) === n));
  });

  it("formats figures for people", () => {
    expect(formatLatency(812)).toBe("812us");
    expect(formatLatency(3420)).toBe("3.42ms");
    expect(formatLatency(34_200)).toBe("34.2ms");
    expect(formatLatency(1_205_000)).toBe("1.205s");
    expect(formatCount(850)).toBe("850");
    expect(formatCount(12_345)).toBe("12.3k");
    expect(formatCount(4_560_000)).toBe("4.56M");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.50 KiB");
    expect(formatDurationMs(850)).toBe("850ms");
    expect(formatDurationMs(45_000)).toBe("45s");
    expect(formatDurationMs(125_000)).toBe("2m05s");
    expect(formatPercent(0.0012)).toBe("0.12%");
  });
});
