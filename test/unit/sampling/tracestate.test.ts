import { createTraceState } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { Threshold, eraseThreshold, otInfo, parseOtValue, setThreshold } from "../../../src/sampling/index.ts";

const c = Threshold.fromTValue("c")!;

describe("the ot tracestate entry", () => {
  it("parses th, rv and keeps other sub-keys verbatim", () => {
    const info = parseOtValue("th:c;rv:d29d6a7215ced0;xx:yy");
    expect(info.threshold?.tvalue).toBe("c");
    expect(info.hasTh).toBe(true);
    expect(info.rv).toBe("d29d6a7215ced0");
    expect(info.others).toEqual(["xx:yy"]);
  });

  it("ignores malformed rv, marks malformed th for erasure, keeps the first of repeated keys", () => {
    expect(parseOtValue("rv:123").rv).toBeUndefined();
    expect(parseOtValue("rv:d29d6a7215ced0z").rv).toBeUndefined();
    const bad = parseOtValue("th:zz");
    expect(bad.hasTh).toBe(true);
    expect(bad.threshold).toBeUndefined();
    expect(parseOtValue("th:8;th:c").threshold?.tvalue).toBe("8");
    expect(parseOtValue("garbage;:x;k:v").others).toEqual(["k:v"]);
    expect(otInfo(undefined).hasTh).toBe(false);
  });

  it("sets th on a new tracestate and on one with rv, other sub-keys and other vendors", () => {
    expect(setThreshold(undefined, c)?.serialize()).toBe("ot=th:c");
    const ts = createTraceState("vendor=abc,ot=rv:d29d6a7215ced0;xx:yy");
    const out = setThreshold(ts, Threshold.fromTValue("8")!)!;
    expect(out.get("ot")).toBe("th:8;rv:d29d6a7215ced0;xx:yy");
    expect(out.get("vendor")).toBe("abc");
    expect(setThreshold(createTraceState("ot=th:c"), c)?.get("ot")).toBe("th:c");
  });

  it("erases th but keeps rv and the rest; removes ot when nothing is left", () => {
    expect(eraseThreshold(createTraceState("ot=th:c;rv:d29d6a7215ced0"))?.get("ot")).toBe("rv:d29d6a7215ced0");
    const only = eraseThreshold(createTraceState("vendor=1,ot=th:c"))!;
    expect(only.get("ot")).toBeUndefined();
    expect(only.get("vendor")).toBe("1");
    const untouched = createTraceState("ot=rv:d29d6a7215ced0");
    expect(eraseThreshold(untouched)).toBe(untouched);
    expect(eraseThreshold(undefined)).toBeUndefined();
  });

  it("erases th rather than exceed the 256-character ot limit", () => {
    const long = `k:${"x".repeat(250)}`;
    const out = setThreshold(createTraceState(`ot=${long}`), c)!;
    expect(out.get("ot")).toBe(long);
    expect(otInfo(out).hasTh).toBe(false);
  });
});
