import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../src/core/errors.ts";
import { parseMix, resolveLoadPlan, shareOf, type LoadFlags } from "../../../src/load/plan.ts";

const grpc = { address: "127.0.0.1:50051" };

function violations(scenario: string, flags: LoadFlags): string[] {
  try {
    resolveLoadPlan(scenario, flags, grpc, null);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).violations.map((v) => v.field);
  }
  return [];
}

describe("resolveLoadPlan", () => {
  it("an open-loop ingest run with defaults", () => {
    const plan = resolveLoadPlan("ingest", { rate: "2k", duration: "5s" }, grpc, null);
    expect(plan.mode).toBe("open");
    expect(plan.rate).toBe(2000);
    expect(plan.durationMs).toBe(5000);
    expect(plan.count).toBeNull();
    expect(plan.batch).toBe(1000);
    expect(plan.workers).toBe(1);
    expect(plan.mix).toEqual([{ op: "ingest", weight: 1 }]);
    expect(plan.ids).toBeNull();
  });

  it("a closed-loop mix with preload and SLOs", () => {
    const plan = resolveLoadPlan("mix", { concurrency: "8", count: "10k", mix: "get=80,create=15,traverse=5", preload: "1000", maxP99: "5ms", minRate: "100", maxErrorRate: "0.1%" }, grpc, null);
    expect(plan.mode).toBe("closed");
    expect(plan.concurrency).toBe(8);
    expect(plan.count).toBe(10_000);
    expect(plan.durationMs).toBeNull();
    expect(plan.ids).toEqual({ min: 1, max: 1000 });
    expect(plan.preload.degree).toBe(4);
    expect(plan.slo).toEqual({ maxP99Us: 5000, minRate: 100, maxErrorRate: 0.001 });
  });

  it("reports every bad flag at once and names it", () => {
    const fields = violations("get", { rate: "fast", concurrency: "3", duration: "10", count: "5", maxP99: "5" });
    expect(fields).toEqual(expect.arrayContaining(["--rate", "--concurrency", "--count", "--max-p99", "--preload"]));
  });

  it("rejects unknown scenarios, missing modes and unreachable SLOs", () => {
    expect(violations("bogus", { rate: "10" })).toContain("--scenario");
    expect(violations("create", {})).toContain("--rate");
    expect(violations("create", { rate: "100", minRate: "200" })).toContain("--min-rate");
    expect(violations("get", { concurrency: "1", minTokenRate: "10", ids: "1-10" })).toContain("--min-token-rate");
    expect(violations("nats", { rate: "10" })).toContain("--nats");
    expect(violations("create", { concurrency: "2", workers: "4" })).toContain("--workers");
    expect(violations("mix", { rate: "10" })).toContain("--mix");
    expect(violations("create", { rate: "10", mix: "get=1" })).toContain("--mix");
  });

  it("parses mixes", () => {
    expect(parseMix("get=80, create:20")).toEqual({ ok: true, value: [{ op: "get", weight: 80 }, { op: "create", weight: 20 }] });
    expect(parseMix("get=1,get=2").ok).toBe(false);
    expect(parseMix("fly=1").ok).toBe(false);
    expect(parseMix("get=0").ok).toBe(false);
  });

  it("shares add up", () => {
    for (const [total, workers] of [[10, 3], [1, 4], [100, 7]] as const) {
      let sum = 0;
      for (let w = 0; w < workers; w++) sum += shareOf(total, workers, w);
      expect(sum).toBe(total);
    }
  });
});
