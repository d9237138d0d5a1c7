import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ConsistentProbabilitySampler,
  MIN_PROBABILITY,
  Threshold,
  probabilityToTValue,
  traceIdRandomHi,
  traceIdRandomLo,
} from "../../../src/sampling/index.ts";
import { ROOT_CONTEXT, SpanKind } from "@opentelemetry/api";

const hex = (n: number) => fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: n, maxLength: n });
const traceIdArb = hex(32).filter((s) => !/^0+$/.test(s));

describe("threshold encoding (spec table: 1-in-N with precision 3, 4, 5)", () => {
  // From "TraceState: Probability Sampling", Converting floating-point probability to threshold value.
  const table: [number, string, string, string][] = [
    [1, "0", "0", "0"],
    [0.5, "8", "8", "8"],
    [1 / 3, "aab", "aaab", "aaaab"],
    [0.25, "c", "c", "c"],
    [0.2, "ccd", "cccd", "ccccd"],
    [0.125, "e", "e", "e"],
    [0.1, "e66", "e666", "e6666"],
    [0.0625, "f", "f", "f"],
    [0.01, "fd71", "fd70a", "fd70a4"],
    [0.001, "ffbe7", "ffbe77", "ffbe76d"],
    [0.0001, "fff972", "fff9724", "fff97247"],
    [0.00001, "ffff584", "ffff583a", "ffff583a5"],
    [0.000001, "ffffef4", "ffffef39", "ffffef391"],
  ];
  it.each(table)("p=%d → %s / %s / %s", (p, p3, p4, p5) => {
    expect(probabilityToTValue(p, 3)).toBe(p3);
    expect(probabilityToTValue(p, 4)).toBe(p4);
    expect(probabilityToTValue(p, 5)).toBe(p5);
    expect(Threshold.fromProbability(p).tvalue).toBe(p4);
  });

  it("gives the spec's actual probabilities for precision 4", () => {
    expect(Threshold.fromProbability(1 / 3).probability).toBe(0.3333282470703125);
    expect(Threshold.fromProbability(0.1).probability).toBe(0.100006103515625);
    expect(Threshold.fromProbability(0.01).probability).toBe(0.010000228881835938);
    expect(Threshold.fromProbability(0.25).adjustedCount).toBe(4);
  });

  it("decodes 1 % with 5 digits to the spec's 56-bit rejection threshold", () => {
    expect(Threshold.fromProbability(0.01, 5).toBigInt()).toBe(0xfd70a400000000n);
    expect(Threshold.fromProbability(0.01, 5).toBigInt()).toBe(71337018784743424n);
  });

  it("decodes th values: c is 25 %, 0 is 100 %, bad values are rejected", () => {
    expect(Threshold.fromTValue("c")?.probability).toBe(0.25);
    expect(Threshold.fromTValue("0")).toBe(Threshold.ALWAYS);
    expect(Threshold.fromTValue("00000")).toBe(Threshold.ALWAYS);
    expect(Threshold.fromTValue("C")?.tvalue).toBe("c");
    expect(Threshold.fromTValue("c000")?.tvalue).toBe("c");
    expect(Threshold.fromTValue("ffffffffffffff")?.toBigInt()).toBe(2n ** 56n - 1n);
    for (const bad of ["", "fffffffffffffff", "xyz", "c;", "-1"]) expect(Threshold.fromTValue(bad)).toBeUndefined();
  });

  it("rate 0 is NEVER (no th); tiny probabilities stop at the reference algorithm's 12 digits", () => {
    expect(Threshold.fromProbability(0)).toBe(Threshold.NEVER);
    expect(Threshold.NEVER.sampledHex("ffffffffffffff", 0)).toBe(false);
    expect(Threshold.NEVER.toString()).toBe("never");
    // The spec's float algorithm keeps at most 12 digits: 2^-56 encodes as 2^-48 (th:ffffffffffff).
    expect(probabilityToTValue(MIN_PROBABILITY)).toBe("ffffffffffff");
    expect(probabilityToTValue(1e-30)).toBe("ffffffffffff");
    expect(() => probabilityToTValue(0)).toThrow(RangeError);
    expect(() => probabilityToTValue(Number.NaN)).toThrow(RangeError);
  });
});

describe("randomness and the R >= T decision", () => {
  const traceId = "abababababababababd29d6a7215ced0";

  it("takes R from the trace id's least-significant 56 bits", () => {
    expect(traceIdRandomHi(traceId)).toBe(0xd29d6a7);
    expect(traceIdRandomLo(traceId)).toBe(0x215ced0);
    expect(traceIdRandomHi("short")).toBe(-1);
    expect(traceIdRandomHi("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")).toBe(-1);
  });

  it("samples the spec example: th c, randomness d29d6a7215ced0 (trace id or rv)", () => {
    const c = Threshold.fromTValue("c")!;
    expect(c.sampledTraceId(traceId)).toBe(true);
    expect(c.sampledHex("d29d6a7215ced0", 0)).toBe(true);
    expect(c.sampled(0xd29d6a7, 0x215ced0)).toBe(true);
    expect(Threshold.fromTValue("d3")!.sampledTraceId(traceId)).toBe(false);
    expect(Threshold.fromTValue("d29d6a7215ced0")!.sampledTraceId(traceId)).toBe(true);
    expect(Threshold.fromTValue("d29d6a7215ced1")!.sampledTraceId(traceId)).toBe(false);
  });

  it("matches a BigInt reference for any R and T (digit comparison, halves, upper case)", () => {
    fc.assert(
      fc.property(hex(14), hex(14), (r, t) => {
        const th = Threshold.fromTValue(t)!;
        const expected = BigInt(`0x${r}`) >= BigInt(`0x${t}`);
        expect(th.sampledHex(r, 0)).toBe(expected);
        expect(th.sampledHex(r.toUpperCase(), 0)).toBe(expected);
        expect(th.sampledTraceId(`0123456789abcdef01${r}`)).toBe(expected);
        expect(th.sampled(parseInt(r.slice(0, 7), 16), parseInt(r.slice(7), 16))).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it("round-trips th values and is monotonic: a higher probability samples a superset", () => {
    fc.assert(
      fc.property(fc.double({ min: MIN_PROBABILITY, max: 1, noNaN: true }), fc.double({ min: MIN_PROBABILITY, max: 1, noNaN: true }), traceIdArb, (p1, p2, id) => {
        const [lo, hi] = p1 <= p2 ? [p1, p2] : [p2, p1];
        const a = Threshold.fromProbability(lo);
        const b = Threshold.fromProbability(hi);
        expect(Threshold.fromTValue(a.tvalue)?.tvalue).toBe(a.tvalue);
        if (a.sampledTraceId(id)) expect(b.sampledTraceId(id)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it("two independent samplers with the same rate agree on every trace id", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.array(traceIdArb, { minLength: 1, maxLength: 50 }), (rate, ids) => {
        const one = new ConsistentProbabilitySampler({ rate });
        const two = new ConsistentProbabilitySampler({ rate });
        for (const id of ids) {
          const a = one.shouldSample(ROOT_CONTEXT, id, "a", SpanKind.SERVER, {});
          const b = two.shouldSample(ROOT_CONTEXT, id, "b", SpanKind.CLIENT, { x: 1 });
          expect(a.decision).toBe(b.decision);
          expect(a.traceState?.serialize()).toBe(b.traceState?.serialize());
        }
      }),
      { numRuns: 300 },
    );
  });

  it("samples close to the configured share of random trace ids", () => {
    const th = Threshold.fromProbability(0.25);
    let sampled = 0;
    fc.assert(
      fc.property(traceIdArb, (id) => {
        if (th.sampledTraceId(id)) sampled++;
      }),
      { numRuns: 20000, seed: 7 },
    );
    // 20 000 draws at p = 0.25: mean 5 000, sd ≈ 61; ±500 is more than 8 sd.
    expect(Math.abs(sampled - 5000)).toBeLessThan(500);
  });
});
