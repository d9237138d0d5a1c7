/**
 * gRPC statuses → the typed errors of `src/core/errors.ts`, the client half of the error model
 * (the server half, `errorToStatus`, lives in `src/api/errors.ts` and imports the shared names
 * from here). NeuroGraph servers send a google.rpc.Status in the `grpc-status-details-bin`
 * trailer: an ErrorInfo naming the exact NeuroGraph code, BadRequest / PreconditionFailure with
 * our Violations (index, field, value, rule), QuotaFailure and RetryInfo.
 *
 * Imports only core, generated code and grpc-js, so the client works without the server code.
 */
import { status as GrpcCode, type Metadata } from "@grpc/grpc-js";
import {
  AlreadyExistsError,
  CancelledError,
  DataLossError,
  DeadlineExceededError,
  ErrorCode,
  FailedPreconditionError,
  InternalError,
  NeuroGraphError,
  NotFoundError,
  OverloadedError,
  QuotaExceededError,
  UnavailableError,
  ValidationError,
  type FieldViolation,
} from "../core/errors.ts";
import { Status } from "../gen/google/rpc/status.ts";
import { BadRequest, ErrorInfo, PreconditionFailure, QuotaFailure, RetryInfo } from "../gen/google/rpc/error_details.ts";
import { Violations } from "../gen/neurograph/v1/common.ts";

export const STATUS_DETAILS_KEY = "grpc-status-details-bin";
/** ErrorInfo.domain of NeuroGraph errors. */
export const ERROR_DOMAIN = "neurograph";

/** `tokens[3].weight` for item 3's `weight`; the bare field when the violation has no index. */
export function violationPath(v: Pick<FieldViolation, "index" | "field">, batchField = "items"): string {
  if (v.index === undefined) return v.field;
  const item = `${batchField}[${v.index}]`;
  return v.field === "" ? item : `${item}.${v.field}`;
}

/** The inverse of `violationPath`. */
export function parseViolationPath(path: string): { index?: number; field: string } {
  const m = /^[A-Za-z_][A-Za-z0-9_]*\[(\d+)\](?:\.(.*))?$/.exec(path);
  if (m === null) return { field: path };
  return { index: Number(m[1]), field: m[2] ?? "" };
}

interface Decodable<T> {
  decode(input: Uint8Array): T;
}

/** The decoded details of a status; fields are undefined when the status did not carry them. */
export interface StatusDetails {
  readonly errorInfo?: ErrorInfo;
  readonly badRequest?: BadRequest;
  readonly preconditionFailure?: PreconditionFailure;
  readonly quotaFailure?: QuotaFailure;
  readonly retryInfo?: RetryInfo;
  readonly violations?: Violations;
}

function unpack<T>(fns: Decodable<T>, value: Uint8Array): T | undefined {
  try {
    return fns.decode(value);
  } catch {
    return undefined;
  }
}

/** Decodes `grpc-status-details-bin`; unknown or damaged details are skipped. */
export function decodeStatusDetails(metadata: Metadata | undefined): StatusDetails {
  const raw = metadata?.get(STATUS_DETAILS_KEY)[0];
  if (!(raw instanceof Uint8Array)) return {};
  const status = unpack(Status, raw);
  if (status === undefined) return {};
  const out: { -readonly [K in keyof StatusDetails]: StatusDetails[K] } = {};
  for (const any of status.details) {
    const name = any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1);
    if (name === "google.rpc.ErrorInfo") out.errorInfo ??= unpack(ErrorInfo, any.value);
    else if (name === "google.rpc.BadRequest") out.badRequest ??= unpack(BadRequest, any.value);
    else if (name === "google.rpc.PreconditionFailure") out.preconditionFailure ??= unpack(PreconditionFailure, any.value);
    else if (name === "google.rpc.QuotaFailure") out.quotaFailure ??= unpack(QuotaFailure, any.value);
    else if (name === "google.rpc.RetryInfo") out.retryInfo ??= unpack(RetryInfo, any.value);
    else if (name === "neurograph.v1.Violations") out.violations ??= unpack(Violations, any.value);
  }
  return out;
}

function rebuildViolations(d: StatusDetails): FieldViolation[] {
  if (d.violations !== undefined) {
    return d.violations.items.map((v) => ({
      ...(v.index === undefined ? {} : { index: v.index }),
      field: v.field,
      ...(v.value === "" ? {} : { value: v.value }),
      rule: v.rule,
      description: v.description,
    }));
  }
  if (d.badRequest !== undefined) {
    return d.badRequest.fieldViolations.map((v) => ({ ...parseViolationPath(v.field), rule: v.reason, description: v.description }));
  }
  if (d.preconditionFailure !== undefined) {
    return d.preconditionFailure.violations.map((v) => ({ ...parseViolationPath(v.subject), rule: v.type, description: v.description }));
  }
  return [];
}

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));
const MESSAGE_SIZE = /(Received|Sent) message (?:larger than max \((\d+) vs\.? (\d+)\)|that decompresses to a size larger than (\d+))/;

/** A status received by a client → the typed NeuroGraph error. */
export function statusToError(error: { code?: number; details?: string; message?: string; metadata?: Metadata }): NeuroGraphError {
  const grpcCode = error.code as GrpcCode | undefined;
  const message = error.details ?? error.message ?? "";
  if (grpcCode === undefined || grpcCode === GrpcCode.OK) {
    return new InternalError(`unexpected failure: ${message}`, { cause: error });
  }
  const d = decodeStatusDetails(error.metadata);
  const info = d.errorInfo?.domain === ERROR_DOMAIN ? d.errorInfo : undefined;
  const reason = info !== undefined && KNOWN_CODES.has(info.reason) ? (info.reason as ErrorCode) : undefined;
  const retryable = info?.metadata["retryable"];
  const opts = { cause: error, ...(retryable === undefined ? {} : { retryable: retryable === "true" }) };

  switch (reason ?? codeFromGrpc(grpcCode, message)) {
    case ErrorCode.InvalidArgument: {
      const size = MESSAGE_SIZE.exec(message);
      if (size !== null && reason === undefined) return messageSizeError(message, size);
      return new ValidationError(message, rebuildViolations(d), opts);
    }
    case ErrorCode.NotFound:
      return new NotFoundError(message, { ...opts, violations: rebuildViolations(d) });
    case ErrorCode.AlreadyExists:
      return new AlreadyExistsError(message, { ...opts, violations: rebuildViolations(d) });
    case ErrorCode.FailedPrecondition:
      return new FailedPreconditionError(message, rebuildViolations(d), opts);
    case ErrorCode.QuotaExceeded: {
      const m = info?.metadata ?? {};
      return new QuotaExceededError(m["quota"] ?? "unknown", Number(m["usage"] ?? NaN), Number(m["limit"] ?? NaN), opts);
    }
    case ErrorCode.Overloaded:
      return new OverloadedError(message, opts);
    case ErrorCode.Unavailable:
      return new UnavailableError(message, opts);
    case ErrorCode.DeadlineExceeded:
      return new DeadlineExceededError(message, opts);
    case ErrorCode.Cancelled:
      return new CancelledError(message, opts);
    case ErrorCode.Unauthenticated:
      return new NeuroGraphError(ErrorCode.Unauthenticated, message, opts);
    case ErrorCode.PermissionDenied:
      return new NeuroGraphError(ErrorCode.PermissionDenied, message, opts);
    case ErrorCode.DataLoss:
      return new DataLossError(message, opts);
    default:
      return new InternalError(message === "" ? `gRPC status ${grpcCode}` : message, opts);
  }
}

function codeFromGrpc(code: GrpcCode, message: string): ErrorCode {
  switch (code) {
    case GrpcCode.INVALID_ARGUMENT:
    case GrpcCode.OUT_OF_RANGE:
      return ErrorCode.InvalidArgument;
    case GrpcCode.NOT_FOUND:
      return ErrorCode.NotFound;
    case GrpcCode.ALREADY_EXISTS:
      return ErrorCode.AlreadyExists;
    case GrpcCode.FAILED_PRECONDITION:
      return ErrorCode.FailedPrecondition;
    case GrpcCode.RESOURCE_EXHAUSTED:
      // grpc-js reports oversized messages itself, without details.
      return MESSAGE_SIZE.test(message) ? ErrorCode.InvalidArgument : ErrorCode.Overloaded;
    case GrpcCode.UNAVAILABLE:
    case GrpcCode.ABORTED:
      return ErrorCode.Unavailable;
    case GrpcCode.DEADLINE_EXCEEDED:
      return ErrorCode.DeadlineExceeded;
    case GrpcCode.CANCELLED:
      return ErrorCode.Cancelled;
    case GrpcCode.UNAUTHENTICATED:
      return ErrorCode.Unauthenticated;
    case GrpcCode.PERMISSION_DENIED:
      return ErrorCode.PermissionDenied;
    case GrpcCode.DATA_LOSS:
      return ErrorCode.DataLoss;
    default:
      return ErrorCode.Internal;
  }
}

function messageSizeError(message: string, m: RegExpExecArray): ValidationError {
  const direction = m[1] === "Sent" ? "sent" : "received";
  const limit = m[3] ?? m[4] ?? "?";
  const size = m[2] === undefined ? "" : ` (${m[2]} bytes)`;
  const description =
    `a gRPC message${size} ${direction === "received" ? "exceeds the receiver's" : "exceeds the sender's"} limit of ${limit} bytes; ` +
    "send smaller batches (or ask for fewer results), or raise the limit " +
    "(server: maxReceiveMessageBytes; client: grpc.max_receive_message_length)";
  return new ValidationError(description, [{ field: "", value: m[2] ?? "", rule: "max_message_size", description }], { cause: message });
}

/**
 * The retry delay the server asked for (google.rpc.RetryInfo) in an error made by
 * `statusToError`, in ms; undefined when it gave none.
 */
export function serverRetryDelayMs(error: NeuroGraphError): number | undefined {
  const cause: unknown = error.cause;
  if (typeof cause !== "object" || cause === null || !("metadata" in cause)) return undefined;
  const metadata = (cause as { metadata?: unknown }).metadata;
  if (typeof metadata !== "object" || metadata === null || !("get" in metadata)) return undefined;
  const delay = decodeStatusDetails(metadata as Metadata).retryInfo?.retryDelay;
  if (delay === undefined) return undefined;
  return delay.seconds * 1000 + Math.round(delay.nanos / 1e6);
}
