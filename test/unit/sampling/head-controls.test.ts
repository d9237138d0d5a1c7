import { Metadata } from "@grpc/grpc-js";
import { ROOT_CONTEXT } from "@opentelemetry/api";
import { SamplingDecision } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import {
  ConsistentProbabilitySampler,
  HeadControlSampler,
  SamplingStats,
  getHeadControls,
  parseHeadControls,
  withHeadControls,
  type HeadControlsConfig,
} from "../../../src/sampling/index.ts";
import { decide, idWith, otOf } from "./helpers.ts";

// Thresholds: 1 % = fd70a, 10 % = e666, 0.1 % = ffbe77.
const BETWEEN_10_AND_1 = idWith("f0000000000000"); // sampled at 10 %, not at 1 %
const BETWEEN_1_AND_01 = idWith("fe000000000000"); // sampled at 1 %, not at 0.1 %
const LOW = idWith("10000000000000"); // sampled only near 100 %

function stackOf(config: Partial<HeadControlsConfig> = {}, rate = 0.01) {
  const stats = new SamplingStats();
  const root = new ConsistentProbabilitySampler({ rate }, { stats });
  return { sampler: new HeadControlSampler(root, config, { stats }), stats };
}

const sampled = (d: SamplingDecision) => d === SamplingDecision.RECORD_AND_SAMPLED;

describe("parsing head-control headers", () => {
  it("reads force, priority and rate from gRPC Metadata, Maps and plain objects", () => {
    const md = new Metadata();
    md.set("x-force-trace", "TRUE");
    md.set("x-sampling-priority", "High");
    md.set("x-sampling-rate", " 0.5 ");
    const a = parseHeadControls(md, true)!;
    expect([a.force, a.priority, a.rate, a.invalid]).toEqual([true, "high", 0.5, []]);
    const b = parseHeadControls(new Map([["x-force-trace", "1"]]), false)!;
    expect([b.force, b.authenticated, b.present]).toEqual([true, false, true]);
    const c = parseHeadControls({ "x-sampling-rate": ["1e-2", "0.9"], "x-sampling-priority": "low" }, false)!;
    expect([c.rate, c.priority]).toEqual([0.01, "low"]);
  });

  it("accepts false/0 as no force and rejects malformed or out-of-range values", () => {
    expect(parseHeadControls({ "x-force-trace": "0" }, true)?.invalid).toEqual([]);
    expect(parseHeadControls({ "x-force-trace": "false" }, true)?.force).toBe(false);
    for (const bad of ["NaN", "1.5", "-0.1", "abc", "inf", "Infinity", "", "0x1", "1,5"]) {
      const c = parseHeadControls({ "x-sampling-rate": bad }, true)!;
      expect(c.rate, bad).toBeUndefined();
      expect(c.invalid, bad).toEqual(["x-sampling-rate"]);
    }
    const c = parseHeadControls({ "x-force-trace": "yes", "x-sampling-priority": "urgent" }, true)!;
    expect([c.force, c.priority, c.invalid]).toEqual([false, "normal", ["x-force-trace", "x-sampling-priority"]]);
    const binary = new Metadata();
    binary.set("x-force-trace-bin", Buffer.from([1]));
    expect(parseHeadControls(binary, false)).toBeUndefined();
    expect(parseHeadControls({ "x-force-trace": Buffer.from("1") }, true)?.invalid).toEqual(["x-force-trace"]);
  });

  it("leaves the context untouched for anonymous requests without headers", () => {
    expect(withHeadControls(ROOT_CONTEXT, {}, false)).toBe(ROOT_CONTEXT);
    const authed = withHeadControls(ROOT_CONTEXT, {}, true);
    expect(getHeadControls(authed)?.authenticated).toBe(true);
    expect(getHeadControls(authed)?.present).toBe(false);
  });
});

describe("HeadControlSampler", () => {
  it("forces an authenticated request's trace with th:0", () => {
    const { sampler, stats } = stackOf();
    const ctx = withHeadControls(ROOT_CONTEXT, { "x-force-trace": "1" }, true);
    const r = decide(sampler, ctx, LOW);
    expect(r.decision).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(otOf(r)).toBe("th:0");
    expect(stats.get("forced", "sampled")).toBe(1);
  });

  it("ignores headers from anonymous callers under the default policy, counting them once", () => {
    const { sampler, stats } = stackOf();
    const ctx = withHeadControls(ROOT_CONTEXT, { "x-force-trace": "1", "x-sampling-rate": "1", "x-sampling-priority": "high" }, false);
    for (let i = 0; i < 3; i++) expect(decide(sampler, ctx, LOW).decision).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(sampler, ctx, BETWEEN_10_AND_1).decision).toBe(SamplingDecision.NOT_RECORD);
    expect(stats.get("header_not_allowed", "ignored")).toBe(1);
    expect(stats.get("forced", "sampled")).toBe(0);
    expect(stats.get("probability", "dropped")).toBe(4);
  });

  it("policy always honours anonymous callers, never honours nobody", () => {
    const ctx = withHeadControls(ROOT_CONTEXT, { "x-force-trace": "true" }, false);
    expect(sampled(decide(stackOf({ policy: "always" }).sampler, ctx, LOW).decision)).toBe(true);
    const authed = withHeadControls(ROOT_CONTEXT, { "x-force-trace": "true" }, true);
    expect(sampled(decide(stackOf({ policy: "never" }).sampler, authed, LOW).decision)).toBe(false);
  });

  it("priority high multiplies the rate by 10, low by 0.1", () => {
    const { sampler, stats } = stackOf();
    const high = withHeadControls(ROOT_CONTEXT, { "x-sampling-priority": "high" }, true);
    const low = withHeadControls(ROOT_CONTEXT, { "x-sampling-priority": "low" }, true);
    const normal = withHeadControls(ROOT_CONTEXT, { "x-sampling-priority": "normal" }, true);
    expect(sampled(decide(sampler, ROOT_CONTEXT, BETWEEN_10_AND_1).decision)).toBe(false);
    expect(sampled(decide(sampler, normal, BETWEEN_10_AND_1).decision)).toBe(false);
    const h = decide(sampler, high, BETWEEN_10_AND_1);
    expect(sampled(h.decision)).toBe(true);
    expect(otOf(h)).toBe("th:e666");
    expect(sampled(decide(sampler, ROOT_CONTEXT, BETWEEN_1_AND_01).decision)).toBe(true);
    expect(sampled(decide(sampler, low, BETWEEN_1_AND_01).decision)).toBe(false);
    expect(stats.get("priority", "sampled")).toBe(1);
    expect(stats.get("priority", "dropped")).toBe(1);
  });

  it("custom multipliers come from configuration", () => {
    const { sampler } = stackOf({ highMultiplier: 100 }, 0.001);
    const high = withHeadControls(ROOT_CONTEXT, { "x-sampling-priority": "high" }, true);
    expect(otOf(decide(sampler, high, BETWEEN_10_AND_1))).toBe("th:e666");
  });

  it("x-sampling-rate replaces the rate, and priority still scales it", () => {
    const { sampler, stats } = stackOf();
    const all = withHeadControls(ROOT_CONTEXT, { "x-sampling-rate": "1" }, true);
    expect(otOf(decide(sampler, all, LOW))).toBe("th:0");
    const none = withHeadControls(ROOT_CONTEXT, { "x-sampling-rate": "0" }, true);
    expect(decide(sampler, none, idWith("ffffffffffffff")).decision).toBe(SamplingDecision.NOT_RECORD);
    const scaled = withHeadControls(ROOT_CONTEXT, { "x-sampling-rate": "0.01", "x-sampling-priority": "high" }, true);
    expect(otOf(decide(sampler, scaled, BETWEEN_10_AND_1))).toBe("th:e666");
    expect(stats.get("rate_header", "sampled")).toBe(2);
    expect(stats.get("rate_header", "dropped")).toBe(1);
  });

  it("an invalid rate is ignored (base rate applies) and counted as header_invalid", () => {
    const { sampler, stats } = stackOf();
    const ctx = withHeadControls(ROOT_CONTEXT, { "x-sampling-rate": "NaN" }, true);
    expect(sampled(decide(sampler, ctx, LOW).decision)).toBe(false);
    expect(sampled(decide(sampler, ctx, BETWEEN_1_AND_01).decision)).toBe(true);
    expect(stats.get("header_invalid", "ignored")).toBe(1);
  });

  it("force wins over rate 0 and low priority", () => {
    const { sampler } = stackOf();
    const ctx = withHeadControls(ROOT_CONTEXT, { "x-force-trace": "1", "x-sampling-rate": "0", "x-sampling-priority": "low" }, true);
    expect(otOf(decide(sampler, ctx, LOW))).toBe("th:0");
  });
});
