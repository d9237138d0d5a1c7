/**
 * Typed errors shared by every layer. Each error carries a stable `code` (what a program branches
 * on) and a message that tells a person what to do. The API layer maps codes to gRPC status codes
 * (see `src/api/errors.ts`); nothing else converts errors to strings.
 *
 * Classes set their prototype explicitly so `instanceof` holds across realms and transpilers,
 * and `name` is the class name so logs and stack traces say what failed.
 */

export const ErrorCode = {
  /** Input failed validation; `violations` says which items and fields. */
  InvalidArgument: "INVALID_ARGUMENT",
  /** A referenced token, connection, field or actor does not exist. */
  NotFound: "NOT_FOUND",
  /** The item exists already and the operation does not replace. */
  AlreadyExists: "ALREADY_EXISTS",
  /** The constitution (or the current state) forbids the operation. */
  FailedPrecondition: "FAILED_PRECONDITION",
  /** A bounded queue or mailbox is full; retry later with back-off. */
  Overloaded: "OVERLOADED",
  /** A quota of the constitution is reached. */
  QuotaExceeded: "QUOTA_EXCEEDED",
  /** The target is temporarily unavailable (shard moving, node stopping); retryable. */
  Unavailable: "UNAVAILABLE",
  /** A deadline passed before the operation completed. */
  DeadlineExceeded: "DEADLINE_EXCEEDED",
  /** The operation was cancelled by its caller or by shutdown. */
  Cancelled: "CANCELLED",
  Unauthenticated: "UNAUTHENTICATED",
  PermissionDenied: "PERMISSION_DENIED",
  /** Stored data is damaged (bad checksum, missing record). */
  DataLoss: "DATA_LOSS",
  /** A bug or an unexpected failure inside NeuroGraph. */
  Internal: "INTERNAL",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One rejected item or field: enough for a client to fix exactly that input. */
export interface FieldViolation {
  /** Index of the item in its batch, when the input was a batch. */
  readonly index?: number;
  /** Dotted path of the offending field, e.g. `coords.l1.x` or `weight`. */
  readonly field: string;
  /** The rejected value, rendered for humans (never the whole payload). */
  readonly value?: string;
  /** The rule that was broken, a stable identifier, e.g. `weight_range`. */
  readonly rule: string;
  /** What is wrong and what is allowed. */
  readonly description: string;
}

export interface NeuroGraphErrorOptions {
  readonly cause?: unknown;
  /** Retrying the same request later may succeed. */
  readonly retryable?: boolean;
}

export class NeuroGraphError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: NeuroGraphErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** Invalid input. Lists every violation found, so one round trip fixes a whole batch. */
export class ValidationError extends NeuroGraphError {
  readonly violations: readonly FieldViolation[];

  constructor(message: string, violations: readonly FieldViolation[], options?: NeuroGraphErrorOptions) {
    super(ErrorCode.InvalidArgument, message, options);
    this.violations = violations;
  }

  /** Builds the error from violations, with a message naming the first few. */
  static of(what: string, violations: readonly FieldViolation[]): ValidationError {
    const shown = violations
      .slice(0, 3)
      .map((v) => `${v.index === undefined ? "" : `item ${v.index}: `}${v.field}: ${v.description}`)
      .join("; ");
    const more = violations.length > 3 ? ` (and ${violations.length - 3} more)` : "";
    return new ValidationError(`invalid ${what}: ${shown}${more}`, violations);
  }
}

/** Options of errors about items of a batch: which items (index, field, value, rule). */
export interface ItemErrorOptions extends NeuroGraphErrorOptions {
  readonly violations?: readonly FieldViolation[];
}

export class NotFoundError extends NeuroGraphError {
  /** The missing items of a batch (empty when the error is not about batch items). */
  readonly violations: readonly FieldViolation[];
  constructor(message: string, options?: ItemErrorOptions) {
    super(ErrorCode.NotFound, message, options);
    this.violations = options?.violations ?? [];
  }
}

export class AlreadyExistsError extends NeuroGraphError {
  /** The existing items of a batch (empty when the error is not about batch items). */
  readonly violations: readonly FieldViolation[];
  constructor(message: string, options?: ItemErrorOptions) {
    super(ErrorCode.AlreadyExists, message, options);
    this.violations = options?.violations ?? [];
  }
}

export class FailedPreconditionError extends NeuroGraphError {
  readonly violations: readonly FieldViolation[];
  constructor(message: string, violations: readonly FieldViolation[] = [], options?: NeuroGraphErrorOptions) {
    super(ErrorCode.FailedPrecondition, message, options);
    this.violations = violations;
  }
}

/** A bounded mailbox or queue is full. Never a silent drop: the sender gets this. */
export class OverloadedError extends NeuroGraphError {
  constructor(message: string, options?: NeuroGraphErrorOptions) {
    super(ErrorCode.Overloaded, message, { retryable: true, ...options });
  }
}

export interface QuotaErrorOptions extends NeuroGraphErrorOptions {
  /** What the user can do (default: delete data or raise the limit in the constitution). */
  readonly hint?: string;
}

export class QuotaExceededError extends NeuroGraphError {
  readonly quota: string;
  readonly usage: number;
  readonly limit: number;
  constructor(quota: string, usage: number, limit: number, options?: QuotaErrorOptions) {
    super(
      ErrorCode.QuotaExceeded,
      `quota ${quota} exhausted: usage ${usage} of limit ${limit}; ${options?.hint ?? "delete data or raise the limit in the constitution"}`,
      options,
    );
    this.quota = quota;
    this.usage = usage;
    this.limit = limit;
  }
}

export class UnavailableError extends NeuroGraphError {
  constructor(message: string, options?: NeuroGraphErrorOptions) {
    super(ErrorCode.Unavailable, message, { retryable: true, ...options });
  }
}

export class DeadlineExceededError extends NeuroGraphError {
  constructor(message: string, options?: NeuroGraphErrorOptions) {
    super(ErrorCode.DeadlineExceeded, message, options);
  }
}

export class CancelledError extends NeuroGraphError {
  constructor(message: string, options?: NeuroGraphErrorOptions) {
    super(ErrorCode.Cancelled, message, options);
  }
}

export class DataLossError extends NeuroGraphError {
  constructor(message: string, options?: NeuroGraphErrorOptions) {
    super(ErrorCode.DataLoss, message, options);
  }
}

export class InternalError extends NeuroGraphError {
  constructor(message: string, options?: NeuroGraphErrorOptions) {
    super(ErrorCode.Internal, message, options);
  }
}

/** Wraps anything thrown into a NeuroGraphError, keeping typed errors as they are. */
export function toNeuroGraphError(err: unknown): NeuroGraphError {
  if (err instanceof NeuroGraphError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError(`internal error: ${message}`, { cause: err });
}
