import { ROOT_CONTEXT } from "@opentelemetry/api";
import { SamplingDecision } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../src/core/errors.ts";
import {
  DEFAULT_DYNAMIC,
  DynamicRateSampler,
  ManualClock,
  OTHER_OPERATION,
  SeededIdGenerator,
  nextRate,
  seededRandom,
  type DynamicRateConfig,
} from "../../../src/sampling/index.ts";
import { decide } from "./helpers.ts";

const config = (c: Partial<DynamicRateConfig> = {}): DynamicRateConfig => ({ ...DEFAULT_DYNAMIC, enabled: true, ...c });

describe("nextRate (the adjustment rule)", () => {
  const c = config({ targetTracesPerSecond: 100, minRate: 0.001, maxRate: 0.8 });

  it("keeps the rate inside the ±30 % dead band", () => {
    expect(nextRate(0.1, 71, 710, c)).toBe(0.1);
    expect(nextRate(0.1, 129, 1290, c)).toBe(0.1);
  });

  it("lowers at once to target / arrivals", () => {
    expect(nextRate(0.5, 5000, 10_000, c)).toBe(0.01);
  });

  it("raises by at most +50 % per interval", () => {
    expect(nextRate(0.01, 10, 1000, c)).toBeCloseTo(0.015, 12);
    expect(nextRate(0.1, 60, 800, c)).toBeCloseTo(0.125, 12); // wanted is within +50 %
  });

  it("respects floor and ceiling, and grows from a zero rate", () => {
    expect(nextRate(0.002, 1000, 1_000_000, c)).toBe(0.001);
    expect(nextRate(0.7, 7, 10, c)).toBe(0.8);
    expect(nextRate(0, 0, 50, { ...c, minRate: 0 })).toBeGreaterThan(0);
  });
});

/** Seeded trace ids, built cheaply: only the last 14 hex digits (the randomness) vary. */
function idSource(seed: number): { generateTraceId(): string } {
  const random = seededRandom(seed);
  const half = () => Math.floor(random() * 0x10000000).toString(16).padStart(7, "0");
  return { generateTraceId: () => `4bf92f3577b34da6a3${half()}${half()}` };
}

/** Simulates `perSecond` root spans of one operation for one interval, then ticks. */
function runInterval(s: DynamicRateSampler, clock: ManualClock, ids: { generateTraceId(): string }, perSecond: number, seconds: number, op = "ingest"): number {
  let sampled = 0;
  const n = Math.round(perSecond * seconds);
  for (let i = 0; i < n; i++) {
    if (decide(s, ROOT_CONTEXT, ids.generateTraceId(), op).decision === SamplingDecision.RECORD_AND_SAMPLED) sampled++;
  }
  clock.advance(seconds * 1000);
  s.tick();
  return sampled / seconds;
}

describe("DynamicRateSampler", () => {
  it("converges to the target within a bounded number of intervals under a stepped load, never raising more than +50 %", () => {
    const clock = new ManualClock();
    const ids = idSource(11);
    const target = 50;
    const s = new DynamicRateSampler(config({ targetTracesPerSecond: target, intervalMs: 1000, minRate: 0.0001, maxRate: 1 }), {
      clock,
      timer: false,
      initialRate: 0.01,
    });
    const steps = [2000, 200, 20_000, 800];
    const settle = 10; // intervals allowed to converge after each step
    let previous = s.rateOf("ingest");
    for (const load of steps) {
      let settledSum = 0;
      for (let interval = 0; interval < 16; interval++) {
        const measured = runInterval(s, clock, ids, load, 1);
        const rate = s.rateOf("ingest");
        expect(rate / previous, `raise at load ${load}`).toBeLessThanOrEqual(1.5 + 1e-9);
        expect(rate).toBeGreaterThanOrEqual(0.0001);
        expect(rate).toBeLessThanOrEqual(1);
        if (interval >= settle) {
          // Converged: the rate yields the target within the dead band, whatever the noise.
          expect(Math.abs(rate * load - target) / target, `expected traces/s at load ${load}`).toBeLessThanOrEqual(0.3);
          settledSum += measured;
        }
        previous = rate;
      }
      // And the traces actually sampled average out at the target (binomial noise ≈ 14 % per interval).
      expect(Math.abs(settledSum / 6 - target) / target, `measured traces/s at load ${load}`).toBeLessThanOrEqual(0.15);
    }
  });

  it("normalises by the real interval length (a late tick does not double the rate)", () => {
    const clock = new ManualClock();
    const ids = idSource(3);
    const s = new DynamicRateSampler(config({ targetTracesPerSecond: 10, minRate: 0.001, maxRate: 1 }), { clock, timer: false, initialRate: 0.01 });
    runInterval(s, clock, ids, 1000, 5); // 5 000 roots over 5 s at 1 %: ≈ 10/s, inside the band
    expect(s.rateOf("ingest")).toBe(0.01);
    expect(s.operations()[0]?.arrivalsPerSecond).toBe(1000);
  });

  it("adapts each operation separately and keys operations by a configured attribute", () => {
    const clock = new ManualClock();
    const ids = new SeededIdGenerator(seededRandom(5));
    const s = new DynamicRateSampler(config({ targetTracesPerSecond: 20, operationAttribute: "rpc.method" }), { clock, timer: false, initialRate: 0.05 });
    for (let i = 0; i < 12; i++) {
      for (let k = 0; k < 2000; k++) decide(s, ROOT_CONTEXT, ids.generateTraceId(), "grpc", { "rpc.method": "Ingest" });
      for (let k = 0; k < 100; k++) decide(s, ROOT_CONTEXT, ids.generateTraceId(), "grpc", { "rpc.method": "Query" });
      clock.advance(1000);
      s.tick();
    }
    expect(s.rateOf("Ingest")).toBeCloseTo(0.01, 2);
    expect(s.rateOf("Query")).toBeGreaterThan(0.15);
    expect(s.operations().map((o) => o.operation).sort()).toEqual([OTHER_OPERATION, "Ingest", "Query"]);
  });

  it("caps tracked operations (the rest share one bucket) and forgets idle ones", () => {
    const clock = new ManualClock();
    const s = new DynamicRateSampler(config({ maxOperations: 3, idleIntervals: 2 }), { clock, timer: false });
    const ids = new SeededIdGenerator(seededRandom(9));
    for (let i = 0; i < 50; i++) decide(s, ROOT_CONTEXT, ids.generateTraceId(), `op-${i}`);
    expect(s.operations()).toHaveLength(4); // 3 + "(other)"
    decide(s, ROOT_CONTEXT, ids.generateTraceId(), "x".repeat(10_000));
    expect(s.operations()).toHaveLength(4);
    for (let i = 0; i < 3; i++) {
      clock.advance(1000); // one interval closes with traffic, then two idle ones
      s.tick();
    }
    expect(s.operations().map((o) => o.operation)).toEqual([OTHER_OPERATION]);
    decide(s, ROOT_CONTEXT, ids.generateTraceId(), "fresh");
    expect(s.operations().map((o) => o.operation)).toContain("fresh");
  });

  it("counts decisions as dynamic (or priority when scaled), and validates configuration", () => {
    const clock = new ManualClock();
    const s = new DynamicRateSampler(config(), { clock, timer: false });
    decide(s, ROOT_CONTEXT, new SeededIdGenerator(seededRandom(1)).generateTraceId());
    expect(s.stats.get("dynamic", "sampled") + s.stats.get("dynamic", "dropped")).toBe(1);
    expect(() => s.configure({ minRate: 0.5, maxRate: 0.1 })).toThrow(ValidationError);
    expect(() => s.configure({ intervalMs: 0 })).toThrow(ValidationError);
    expect(() => s.configure({}, { initialRate: Number.NaN })).toThrow(ValidationError);
    expect(() => new DynamicRateSampler({}, { initialRate: 2, timer: false })).toThrow(ValidationError);
    expect(s.config.maxRate).toBe(DEFAULT_DYNAMIC.maxRate);
    s.configure({ maxRate: 0.0005, minRate: 0.0001 });
    expect(s.rateOf("op")).toBe(0.0005); // existing operations are clamped into the new bounds
    s.close();
  });
});
