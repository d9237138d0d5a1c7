/**
 * Supervision policy: what a parent does when a child's message (or `preStart`) fails, how long
 * it waits before restarting it (exponential back-off), and how many restarts per window it
 * allows before it stops the child and escalates the failure to its own parent.
 */
import { ErrorCode, NeuroGraphError, ValidationError } from "../core/errors.ts";
import type { Directive } from "./observer.ts";

export interface BackoffOptions {
  /** Delay before the first restart in a window. */
  readonly initialMs: number;
  /** Upper bound of the delay. */
  readonly maxMs: number;
  /** Growth per further restart in the same window. */
  readonly factor: number;
}

export interface SupervisionOptions {
  readonly backoff: BackoffOptions;
  /** Restarts allowed within `windowMs`; one more failure stops the actor and escalates. */
  readonly maxRestarts: number;
  readonly windowMs: number;
  /** Chooses the directive for a failure (the raw thrown value). */
  readonly decide: (error: unknown) => Directive;
}

/**
 * Errors that describe the *request* (bad input, unknown id, quota, overload downstream…) are
 * answered to the caller and the actor carries on: restarting a shard because a client sent a bad
 * batch would punish every other client. Anything else (bugs, `InternalError`, `DataLossError`,
 * non-NeuroGraph exceptions) means the actor's state may be broken: restart it.
 */
const REQUEST_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.InvalidArgument,
  ErrorCode.NotFound,
  ErrorCode.AlreadyExists,
  ErrorCode.FailedPrecondition,
  ErrorCode.Overloaded,
  ErrorCode.QuotaExceeded,
  ErrorCode.Unavailable,
  ErrorCode.DeadlineExceeded,
  ErrorCode.Cancelled,
  ErrorCode.Unauthenticated,
  ErrorCode.PermissionDenied,
]);

export function defaultDecider(error: unknown): Directive {
  return error instanceof NeuroGraphError && REQUEST_ERROR_CODES.has(error.code) ? "resume" : "restart";
}

export const DEFAULT_SUPERVISION: SupervisionOptions = Object.freeze({
  backoff: Object.freeze({ initialMs: 50, maxMs: 10_000, factor: 2 }),
  maxRestarts: 10,
  windowMs: 60_000,
  decide: defaultDecider,
});

export function resolveSupervision(
  base: SupervisionOptions,
  override: Partial<SupervisionOptions> | undefined,
): SupervisionOptions {
  if (override === undefined) return base;
  const merged: SupervisionOptions = {
    backoff: { ...base.backoff, ...override.backoff },
    maxRestarts: override.maxRestarts ?? base.maxRestarts,
    windowMs: override.windowMs ?? base.windowMs,
    decide: override.decide ?? base.decide,
  };
  validateSupervision(merged);
  return merged;
}

export function validateSupervision(s: SupervisionOptions): void {
  const bad: { field: string; value: number; description: string }[] = [];
  const { initialMs, maxMs, factor } = s.backoff;
  if (!(initialMs >= 0)) bad.push({ field: "backoff.initialMs", value: initialMs, description: "must be ≥ 0" });
  if (!(maxMs >= initialMs)) bad.push({ field: "backoff.maxMs", value: maxMs, description: "must be ≥ backoff.initialMs" });
  if (!(factor >= 1)) bad.push({ field: "backoff.factor", value: factor, description: "must be ≥ 1" });
  if (!Number.isInteger(s.maxRestarts) || s.maxRestarts < 0) {
    bad.push({ field: "maxRestarts", value: s.maxRestarts, description: "must be an integer ≥ 0" });
  }
  if (!(s.windowMs > 0)) bad.push({ field: "windowMs", value: s.windowMs, description: "must be > 0" });
  if (bad.length > 0) {
    throw ValidationError.of(
      "supervision options",
      bad.map((b) => ({ field: b.field, value: String(b.value), rule: "supervision", description: b.description })),
    );
  }
}

/** Delay before restart number `attempt` (1-based) of the current window. */
export function backoffDelay(attempt: number, backoff: BackoffOptions): number {
  const d = backoff.initialMs * Math.pow(backoff.factor, Math.max(0, attempt - 1));
  return Math.min(backoff.maxMs, d);
}

/** Timestamps of the recent restarts of one actor (at most `maxRestarts` kept). */
export class RestartWindow {
  private readonly times: number[] = [];

  constructor(
    private readonly maxRestarts: number,
    private readonly windowMs: number,
  ) {}

  /** Records a restart at `now`: its attempt number within the window, or 0 when over the limit. */
  record(now: number): number {
    const since = now - this.windowMs;
    while (this.times.length > 0 && (this.times[0] as number) <= since) this.times.shift();
    if (this.times.length >= this.maxRestarts) return 0;
    this.times.push(now);
    return this.times.length;
  }

  get recent(): number {
    return this.times.length;
  }
}
