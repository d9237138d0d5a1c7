/**
 * Retries of failed calls: which failures are retryable, exponential backoff with full jitter,
 * and a retry budget that stops retry storms (gRPC's retry throttling: every retryable failure
 * takes a token, every success gives back a fraction, retries stop while the bucket is at most
 * half full). Only idempotent calls are retried; the caller decides which those are.
 */
import { CancelledError, ErrorCode, ValidationError, type NeuroGraphError } from "../core/errors.ts";

export interface RetryPolicy {
  /** Attempts in all, the first included (1 = never retry). */
  readonly maxAttempts: number;
  /** Backoff cap before the first retry; it grows by `multiplier` per retry up to `maxBackoffMs`. */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly multiplier: number;
  /**
   * Honour the delay the server asks for (google.rpc.RetryInfo), capped at `maxBackoffMs`: the
   * wait is at least that long.
   */
  readonly honorServerDelay: boolean;
  /** Source of randomness for the jitter, [0, 1). */
  readonly random: () => number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  // About 10 s of backoff in all (full jitter, on average): enough to ride out a shard moving to
  // another node after its owner died (lease 5 s) or a rolling restart.
  maxAttempts: 10,
  initialBackoffMs: 100,
  maxBackoffMs: 5_000,
  multiplier: 2,
  honorServerDelay: true,
  random: Math.random,
});

export interface RetryBudgetOptions {
  /** Size of the token bucket (gRPC's maxTokens). */
  readonly maxTokens: number;
  /** Tokens a successful call gives back (gRPC's tokenRatio). */
  readonly tokenRatio: number;
}

/** Retries stop after about 25 retryable failures not made up by successes (each gives back a tenth): a node that stays down. */
export const DEFAULT_RETRY_BUDGET: RetryBudgetOptions = Object.freeze({ maxTokens: 50, tokenRatio: 0.1 });

/** Checks a (partial) policy and fills in the defaults; throws a ValidationError when invalid. */
export function resolveRetryPolicy(partial: Partial<RetryPolicy> = {}, base: RetryPolicy = DEFAULT_RETRY_POLICY): RetryPolicy {
  const p: RetryPolicy = { ...base, ...partial };
  const bad: { field: string; value: number; description: string }[] = [];
  if (!Number.isInteger(p.maxAttempts) || p.maxAttempts < 1 || p.maxAttempts > 100) {
    bad.push({ field: "maxAttempts", value: p.maxAttempts, description: "maxAttempts must be an integer in 1..100" });
  }
  if (!(p.initialBackoffMs >= 0) || !Number.isFinite(p.initialBackoffMs)) {
    bad.push({ field: "initialBackoffMs", value: p.initialBackoffMs, description: "initialBackoffMs must be a finite number ≥ 0" });
  }
  if (!(p.maxBackoffMs >= p.initialBackoffMs) || !Number.isFinite(p.maxBackoffMs)) {
    bad.push({ field: "maxBackoffMs", value: p.maxBackoffMs, description: "maxBackoffMs must be finite and ≥ initialBackoffMs" });
  }
  if (!(p.multiplier >= 1) || !Number.isFinite(p.multiplier)) {
    bad.push({ field: "multiplier", value: p.multiplier, description: "multiplier must be a finite number ≥ 1" });
  }
  if (bad.length > 0) {
    throw ValidationError.of(
      "retry policy",
      bad.map((b) => ({ field: `retry.${b.field}`, value: String(b.value), rule: "retry_policy", description: b.description })),
    );
  }
  return p;
}

/**
 * Failures worth another attempt: UNAVAILABLE (a shard moving, a node restarting, the
 * connection dropped) and RESOURCE_EXHAUSTED from overload. Never a quota, never invalid input,
 * never a message over the size limit (those are INVALID_ARGUMENT here), and never an error the
 * server marked as not retryable.
 */
export function isRetryable(error: NeuroGraphError): boolean {
  if (error.code !== ErrorCode.Unavailable && error.code !== ErrorCode.Overloaded) return false;
  return error.retryable;
}

/**
 * Wait before retry number `retry` (1 = the first retry): full jitter over the exponential cap
 * (uniform in [0, cap]), and at least the server's delay when it gave one.
 */
export function backoffDelayMs(policy: RetryPolicy, retry: number, serverDelayMs?: number): number {
  const cap = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.multiplier ** Math.max(0, retry - 1));
  const jittered = Math.floor(policy.random() * (cap + 1));
  if (!policy.honorServerDelay || serverDelayMs === undefined) return jittered;
  return Math.max(jittered, Math.min(serverDelayMs, policy.maxBackoffMs));
}

/** The token bucket shared by every call of one client. */
export class RetryBudget {
  readonly #maxTokens: number;
  readonly #ratio: number;
  #tokens: number;

  constructor(options: RetryBudgetOptions = DEFAULT_RETRY_BUDGET) {
    if (!(options.maxTokens > 0) || !(options.tokenRatio > 0) || !Number.isFinite(options.maxTokens) || !Number.isFinite(options.tokenRatio)) {
      throw ValidationError.of("retry budget", [
        { field: "retryBudget", value: `${options.maxTokens}/${options.tokenRatio}`, rule: "retry_budget", description: "maxTokens and tokenRatio must be positive finite numbers" },
      ]);
    }
    this.#maxTokens = options.maxTokens;
    this.#ratio = options.tokenRatio;
    this.#tokens = options.maxTokens;
  }

  get tokens(): number {
    return this.#tokens;
  }

  onSuccess(): void {
    this.#tokens = Math.min(this.#maxTokens, this.#tokens + this.#ratio);
  }

  onRetryableFailure(): void {
    this.#tokens = Math.max(0, this.#tokens - 1);
  }

  /** A retry may start: the bucket is more than half full. */
  allowsRetry(): boolean {
    return this.#tokens > this.#maxTokens / 2;
  }
}

/** Resolves after `ms`, or rejects with a CancelledError when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(new CancelledError("the call was cancelled by the caller", { cause: signal.reason }));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CancelledError("the call was cancelled by the caller", { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
