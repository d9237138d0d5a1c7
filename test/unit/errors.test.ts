import { describe, expect, it } from "vitest";
import {
  ErrorCode,
  NeuroGraphError,
  OverloadedError,
  QuotaExceededError,
  ValidationError,
  toNeuroGraphError,
} from "../../src/core/errors.ts";

describe("errors", () => {
  it("keep their class, code and name through instanceof", () => {
    const err = new OverloadedError("mailbox of shard/3 is full (1024 messages)");
    expect(err).toBeInstanceOf(OverloadedError);
    expect(err).toBeInstanceOf(NeuroGraphError);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe(ErrorCode.Overloaded);
    expect(err.name).toBe("OverloadedError");
    expect(err.retryable).toBe(true);
  });

  it("name the first violations in a validation message", () => {
    const err = ValidationError.of("token batch", [
      { index: 3, field: "id", rule: "id_nonzero", description: "id must not be 0" },
      { index: 7, field: "weight", value: "NaN", rule: "weight_finite", description: "weight must be finite" },
    ]);
    expect(err.code).toBe(ErrorCode.InvalidArgument);
    expect(err.message).toBe("invalid token batch: item 3: id: id must not be 0; item 7: weight: weight must be finite");
    expect(err.violations).toHaveLength(2);
  });

  it("report quota name, usage and limit", () => {
    const err = new QuotaExceededError("max_tokens", 100, 100);
    expect(err.message).toContain("max_tokens");
    expect(err.usage).toBe(100);
    expect(err.limit).toBe(100);
  });

  it("wrap foreign throws as internal errors and keep typed ones", () => {
    const typed = new OverloadedError("x");
    expect(toNeuroGraphError(typed)).toBe(typed);
    const wrapped = toNeuroGraphError(new TypeError("boom"));
    expect(wrapped.code).toBe(ErrorCode.Internal);
    expect(wrapped.cause).toBeInstanceOf(TypeError);
  });
});
