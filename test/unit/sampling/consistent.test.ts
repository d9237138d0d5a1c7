import { ROOT_CONTEXT } from "@opentelemetry/api";
import { SamplingDecision } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../src/core/errors.ts";
import { ConsistentProbabilitySampler, SamplingStats, SeededIdGenerator, seededRandom } from "../../../src/sampling/index.ts";
import { decide, idWith, otOf, parentContext } from "./helpers.ts";

describe("ConsistentProbabilitySampler", () => {
  it("samples exactly the trace ids whose randomness reaches the threshold, and writes th", () => {
    const sampler = new ConsistentProbabilitySampler({ rate: 0.25 });
    const yes = decide(sampler, ROOT_CONTEXT, idWith("c0000000000000"));
    expect(yes.decision).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(otOf(yes)).toBe("th:c");
    const no = decide(sampler, ROOT_CONTEXT, idWith("bfffffffffffff"));
    expect(no.decision).toBe(SamplingDecision.NOT_RECORD);
    expect(no.traceState).toBeUndefined();
  });

  it("agrees with a BigInt reference on seeded random trace ids", () => {
    const ids = new SeededIdGenerator(seededRandom(1));
    const sampler = new ConsistentProbabilitySampler({ rate: 0.1 });
    const t = sampler.threshold.toBigInt();
    let sampled = 0;
    for (let i = 0; i < 5000; i++) {
      const id = ids.generateTraceId();
      const expected = BigInt(`0x${id.slice(18)}`) >= t;
      expect(decide(sampler, ROOT_CONTEXT, id).decision === SamplingDecision.RECORD_AND_SAMPLED).toBe(expected);
      if (expected) sampled++;
    }
    expect(sampler.stats.get("probability", "sampled")).toBe(sampled);
    expect(sampler.stats.get("probability", "dropped")).toBe(5000 - sampled);
  });

  it("uses the explicit rv of the parent's tracestate instead of the trace id, and keeps it", () => {
    const sampler = new ConsistentProbabilitySampler({ rate: 0.5 });
    const lowId = idWith("00000000000000");
    const ctx = parentContext({ traceId: lowId, sampled: false, remote: true, traceState: "ot=rv:f0000000000000;k:v,vendor=1" });
    const r = decide(sampler, ctx, lowId);
    expect(r.decision).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(r.traceState?.get("ot")).toBe("th:8;rv:f0000000000000;k:v");
    expect(r.traceState?.get("vendor")).toBe("1");
    // And a low rv drops a trace id that alone would be sampled.
    const highId = idWith("ffffffffffffff");
    const ctx2 = parentContext({ traceId: highId, sampled: true, traceState: "ot=th:0;rv:10000000000000" });
    const dropped = decide(sampler, ctx2, highId);
    expect(dropped.decision).toBe(SamplingDecision.NOT_RECORD);
    expect(dropped.traceState?.get("ot")).toBe("rv:10000000000000");
  });

  it("rate 1 samples everything with th:0, rate 0 samples nothing", () => {
    const all = new ConsistentProbabilitySampler({ rate: 1 });
    const none = new ConsistentProbabilitySampler({ rate: 0 });
    for (const r of ["00000000000000", "7fffffffffffff", "ffffffffffffff"]) {
      expect(otOf(decide(all, ROOT_CONTEXT, idWith(r)))).toBe("th:0");
      expect(decide(none, ROOT_CONTEXT, idWith(r)).decision).toBe(SamplingDecision.NOT_RECORD);
    }
  });

  it("never samples a malformed trace id", () => {
    expect(decide(new ConsistentProbabilitySampler({ rate: 1 }), ROOT_CONTEXT, "abc").decision).toBe(SamplingDecision.NOT_RECORD);
  });

  it("configure validates the whole patch and changes nothing on error", () => {
    const stats = new SamplingStats();
    const sampler = new ConsistentProbabilitySampler({ rate: 0.5 }, { stats });
    expect(sampler.stats).toBe(stats);
    const err = (() => {
      try {
        sampler.configure({ rate: 2, precision: 0.5 });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).violations.map((v) => v.field).sort()).toEqual(["precision", "rate"]);
    expect(sampler.config).toEqual({ rate: 0.5, precision: 4 });
    expect(() => sampler.configure({ rate: Number.NaN })).toThrow(ValidationError);
    expect(() => new ConsistentProbabilitySampler({ rate: -1 })).toThrow(ValidationError);
    sampler.configure({ rate: 0.25 });
    expect(sampler.threshold.tvalue).toBe("c");
    expect(sampler.toString()).toBe("ConsistentProbability{rate=0.25, th:c}");
  });
});
