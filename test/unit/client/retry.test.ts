import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  backoffDelayMs,
  DEFAULT_RETRY_POLICY,
  isRetryable,
  RetryBudget,
  resolveRetryPolicy,
  sleep,
} from "../../../src/client/retry.ts";
import {
  CancelledError,
  ErrorCode,
  InternalError,
  NeuroGraphError,
  NotFoundError,
  OverloadedError,
  QuotaExceededError,
  UnavailableError,
  ValidationError,
} from "../../../src/core/errors.ts";

describe("backoffDelayMs", () => {
  it("stays within [0, min(max, initial × multiplier^(retry-1))] (full jitter)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 20_000 }),
        (retry, r, initial, extra) => {
          const policy = resolveRetryPolicy({ initialBackoffMs: initial, maxBackoffMs: initial + extra, random: () => r, honorServerDelay: false });
          const cap = Math.min(policy.maxBackoffMs, initial * 2 ** (retry - 1));
          const d = backoffDelayMs(policy, retry);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(cap);
        },
      ),
    );
  });

  it("grows exponentially with the top of the jitter range, up to the cap", () => {
    const top = resolveRetryPolicy({ random: () => 0.999_999_9 });
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelayMs(top, n))).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    const bottom = resolveRetryPolicy({ random: () => 0 });
    expect(backoffDelayMs(bottom, 4)).toBe(0);
  });

  it("waits at least the server's delay, capped at maxBackoffMs, unless told not to", () => {
    const p = resolveRetryPolicy({ random: () => 0, maxBackoffMs: 800 });
    expect(backoffDelayMs(p, 1, 300)).toBe(300);
    expect(backoffDelayMs(p, 1, 2000)).toBe(800);
    expect(backoffDelayMs({ ...p, honorServerDelay: false }, 1, 300)).toBe(0);
  });

  it("rejects invalid policies with every problem", () => {
    let err: unknown;
    try {
      resolveRetryPolicy({ maxAttempts: 0, initialBackoffMs: -1, multiplier: 0.5 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).violations.map((v) => v.field)).toEqual(["retry.maxAttempts", "retry.initialBackoffMs", "retry.multiplier"]);
    expect(resolveRetryPolicy()).toEqual(DEFAULT_RETRY_POLICY);
  });
});

describe("isRetryable", () => {
  it("retries UNAVAILABLE and overload only", () => {
    expect(isRetryable(new UnavailableError("moving"))).toBe(true);
    expect(isRetryable(new OverloadedError("full"))).toBe(true);
    expect(isRetryable(new QuotaExceededError("max_tokens", 1, 1))).toBe(false);
    expect(isRetryable(ValidationError.of("x", []))).toBe(false);
    expect(isRetryable(new NotFoundError("nf"))).toBe(false);
    expect(isRetryable(new InternalError("bug"))).toBe(false);
    expect(isRetryable(new NeuroGraphError(ErrorCode.DeadlineExceeded, "late"))).toBe(false);
  });

  it("honours a server that marks an UNAVAILABLE as not retryable", () => {
    expect(isRetryable(new UnavailableError("stopping for good", { retryable: false }))).toBe(false);
  });
});

describe("RetryBudget", () => {
  it("allows retries while more than half full; failures take a token, successes give back the ratio", () => {
    const b = new RetryBudget({ maxTokens: 10, tokenRatio: 0.5 });
    expect(b.allowsRetry()).toBe(true);
    for (let i = 0; i < 4; i++) b.onRetryableFailure();
    expect(b.tokens).toBe(6);
    expect(b.allowsRetry()).toBe(true);
    b.onRetryableFailure();
    expect(b.allowsRetry()).toBe(false);
    b.onSuccess();
    expect(b.tokens).toBe(5.5);
    expect(b.allowsRetry()).toBe(true);
    for (let i = 0; i < 100; i++) b.onSuccess();
    expect(b.tokens).toBe(10);
    for (let i = 0; i < 100; i++) b.onRetryableFailure();
    expect(b.tokens).toBe(0);
  });

  it("rejects a budget without tokens", () => {
    expect(() => new RetryBudget({ maxTokens: 0, tokenRatio: 0.1 })).toThrow(ValidationError);
  });
});

describe("sleep", () => {
  it("rejects with CancelledError when the signal aborts", async () => {
    const c = new AbortController();
    const p = sleep(60_000, c.signal);
    c.abort();
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    await expect(sleep(1, AbortSignal.abort())).rejects.toBeInstanceOf(CancelledError);
    await expect(sleep(1)).resolves.toBeUndefined();
  });
});
