import { ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { AlwaysOffSampler, BasicTracerProvider, SamplingDecision, type Sampler } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import {
  ConsistentProbabilitySampler,
  HeadControlSampler,
  ParentBasedSampler,
  SamplingStats,
  withHeadControls,
  type ParentConfig,
} from "../../../src/sampling/index.ts";
import { decide, idWith, otOf, parentContext } from "./helpers.ts";

const ID = idWith("80000000000000");

function build(rate: number, config: Partial<ParentConfig> = {}, recordUnsampled = false) {
  const stats = new SamplingStats();
  const root = new HeadControlSampler(new ConsistentProbabilitySampler({ rate }, { stats }), {}, { stats });
  return { sampler: new ParentBasedSampler(root, config, { stats, recordUnsampled }), stats };
}

describe("ParentBasedSampler", () => {
  it("drops the child of an unsampled parent, local or remote, whatever the root rate", () => {
    const { sampler, stats } = build(1);
    for (const remote of [false, true]) {
      const ctx = parentContext({ traceId: ID, sampled: false, remote });
      expect(decide(sampler, ctx, ID).decision).toBe(SamplingDecision.NOT_RECORD);
    }
    expect(stats.get("parent_unsampled", "dropped")).toBe(2);
    expect(stats.get("probability", "sampled")).toBe(0);
  });

  it("a forced trace beats an unsampled parent, but only when the policy honours the caller", () => {
    const { sampler, stats } = build(0);
    const parent = parentContext({ traceId: ID, sampled: false, remote: true, traceState: "ot=rv:80000000000000" });
    const forced = decide(sampler, withHeadControls(parent, { "x-force-trace": "1" }, true), ID);
    expect(forced.decision).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(otOf(forced)).toBe("th:0;rv:80000000000000");
    const anonymous = decide(sampler, withHeadControls(parent, { "x-force-trace": "1" }, false), ID);
    expect(anonymous.decision).toBe(SamplingDecision.NOT_RECORD);
    expect(stats.get("forced", "sampled")).toBe(1);
    expect(stats.get("header_not_allowed", "ignored")).toBe(1);
  });

  it("samples the child of a sampled parent even at rate 0, keeping a consistent th", () => {
    const { sampler, stats } = build(0);
    for (const remote of [false, true]) {
      const ctx = parentContext({ traceId: ID, sampled: true, remote, traceState: "ot=th:8,vendor=x" });
      const r = decide(sampler, ctx, ID);
      expect(r.decision).toBe(SamplingDecision.RECORD_AND_SAMPLED);
      expect(r.traceState).toBeUndefined(); // the parent's tracestate carries over unchanged
      expect(otOf(r, ctx)).toBe("th:8");
    }
    expect(stats.get("parent_sampled", "sampled")).toBe(2);
  });

  it("erases an inconsistent or malformed remote parent th, and adds none when the parent had none", () => {
    const { sampler, stats } = build(0);
    const low = idWith("10000000000000"); // R < T for th:8
    const remote = (traceId: string, traceState?: string) => parentContext({ traceId, sampled: true, remote: true, ...(traceState === undefined ? {} : { traceState }) });
    const inconsistent = decide(sampler, remote(low, "ot=th:8;k:v"), low);
    expect(inconsistent.decision).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(otOf(inconsistent)).toBe("k:v");
    const malformed = decide(sampler, remote(ID, "ot=th:xyz"), ID);
    expect(malformed.traceState?.get("ot")).toBeUndefined();
    const viaRv = decide(sampler, remote(low, "ot=th:8;rv:90000000000000"), low);
    expect(viaRv.traceState).toBeUndefined(); // rv (not the trace id) is the randomness: consistent
    const none = remote(ID);
    expect(otOf(decide(sampler, none, ID), none)).toBeUndefined();
    expect(stats.get("inconsistent_threshold", "ignored")).toBe(2);
    // Local parents were checked when their trace entered the process: no re-check per child.
    const local = parentContext({ traceId: low, sampled: true, traceState: "ot=th:8" });
    expect(decide(sampler, local, low).traceState).toBeUndefined();
    expect(stats.get("inconsistent_threshold", "ignored")).toBe(2);
  });

  it("sends spans without a (valid) parent to the root sampler", () => {
    const { sampler, stats } = build(0.5);
    expect(otOf(decide(sampler, ROOT_CONTEXT, ID))).toBe("th:8");
    const other = parentContext({ traceId: idWith("00000000000000"), sampled: true });
    expect(decide(sampler, other, ID).decision).toBe(SamplingDecision.RECORD_AND_SAMPLED); // different trace id: a root
    const invalid = parentContext({ traceId: "00000000000000000000000000000000", sampled: true });
    expect(decide(sampler, invalid, "00000000000000000000000000000000").decision).toBe(SamplingDecision.NOT_RECORD);
    expect(stats.get("probability", "sampled")).toBe(2);
  });

  it("remote policy ignore: the root decides from the same randomness; authenticated: follows authenticated callers", () => {
    const ignore = build(0, { remote: "ignore" });
    const remote = parentContext({ traceId: ID, sampled: true, remote: true });
    expect(decide(ignore.sampler, remote, ID).decision).toBe(SamplingDecision.NOT_RECORD);
    expect(ignore.stats.get("parent_ignored", "ignored")).toBe(1);
    const local = parentContext({ traceId: ID, sampled: true, remote: false });
    expect(decide(ignore.sampler, local, ID).decision).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    const authed = build(0, { remote: "authenticated" });
    expect(decide(authed.sampler, remote, ID).decision).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(authed.sampler, withHeadControls(remote, {}, true), ID).decision).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });

  it("recordUnsampled records head-dropped roots and children of recording local parents, not remote ones", () => {
    const { sampler } = build(0, {}, true);
    expect(decide(sampler, ROOT_CONTEXT, ID).decision).toBe(SamplingDecision.RECORD);
    const provider = new BasicTracerProvider({ sampler });
    const parentSpan = provider.getTracer("t").startSpan("parent");
    expect(parentSpan.isRecording()).toBe(true);
    const child = trace.setSpan(ROOT_CONTEXT, parentSpan);
    const traceId = parentSpan.spanContext().traceId;
    expect(decide(sampler, child, traceId).decision).toBe(SamplingDecision.RECORD);
    parentSpan.end();
    const remote = parentContext({ traceId: ID, sampled: false, remote: true });
    expect(decide(sampler, remote, ID).decision).toBe(SamplingDecision.NOT_RECORD);
  });

  it("works with any OpenTelemetry sampler as root, and can be reconfigured", () => {
    const off: Sampler = new AlwaysOffSampler();
    const sampler = new ParentBasedSampler(off);
    expect(decide(sampler, ROOT_CONTEXT, ID).decision).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(sampler, parentContext({ traceId: ID, sampled: true }), ID).decision).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    sampler.configure({ remote: "ignore" });
    expect(sampler.config.remote).toBe("ignore");
    expect(() => sampler.configure({ remote: "sometimes" as "ignore" })).toThrow(/parent-based configuration/);
    expect(sampler.toString()).toContain("ParentBased{remote=ignore");
  });
});
