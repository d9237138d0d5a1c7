/**
 * NeuroGraph errors ⇄ gRPC statuses with rich details (google.rpc.Status in the
 * `grpc-status-details-bin` trailer, the standard error model of gRPC APIs).
 *
 * Server side: `errorToStatus` maps every typed error of `src/core/errors.ts` to its status code
 * and details: BadRequest (+ our Violations) for invalid input, PreconditionFailure, QuotaFailure,
 * RetryInfo, and an ErrorInfo that names the exact NeuroGraph code. Unexpected errors become
 * INTERNAL with a generic message and an error id; stacks never leave the process.
 *
 * Client side: `statusToError` turns a status back into the typed error, with its violations.
 * This file imports only core, generated code and grpc-js types, so the client library can use it.
 */
import { randomBytes } from "node:crypto";
import { Metadata, status as GrpcCode, type StatusObject } from "@grpc/grpc-js";
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
import type { Any } from "../gen/google/protobuf/any.ts";
import { BadRequest, ErrorInfo, PreconditionFailure, QuotaFailure, RetryInfo } from "../gen/google/rpc/error_details.ts";
import { Violations } from "../gen/neurograph/v1/common.ts";

export const STATUS_DETAILS_KEY = "grpc-status-details-bin";
/** ErrorInfo.domain of NeuroGraph errors. */
export const ERROR_DOMAIN = "neurograph";
const TYPE_PREFIX = "type.googleapis.com/";
/** Room for violations in the status trailer: some clients cap headers at 8 KiB (base64 +33 %). */
const DETAILS_BUDGET_BYTES = 3072;
const MAX_MESSAGE_CHARS = 1024;

export const GRPC_CODE_OF: Readonly<Record<ErrorCode, GrpcCode>> = {
  [ErrorCode.InvalidArgument]: GrpcCode.INVALID_ARGUMENT,
  [ErrorCode.NotFound]: GrpcCode.NOT_FOUND,
  [ErrorCode.AlreadyExists]: GrpcCode.ALREADY_EXISTS,
  [ErrorCode.FailedPrecondition]: GrpcCode.FAILED_PRECONDITION,
  [ErrorCode.Overloaded]: GrpcCode.RESOURCE_EXHAUSTED,
  [ErrorCode.QuotaExceeded]: GrpcCode.RESOURCE_EXHAUSTED,
  [ErrorCode.Unavailable]: GrpcCode.UNAVAILABLE,
  [ErrorCode.DeadlineExceeded]: GrpcCode.DEADLINE_EXCEEDED,
  [ErrorCode.Cancelled]: GrpcCode.CANCELLED,
  [ErrorCode.Unauthenticated]: GrpcCode.UNAUTHENTICATED,
  [ErrorCode.PermissionDenied]: GrpcCode.PERMISSION_DENIED,
  [ErrorCode.DataLoss]: GrpcCode.DATA_LOSS,
  [ErrorCode.Internal]: GrpcCode.INTERNAL,
};

export interface StatusOptions {
  /** Request field holding the batch, for paths like `tokens[3].weight` (default `items`). */
  readonly batchField?: string;
  /** RetryInfo delay for Overloaded (default 200 ms) and Unavailable (default 1 s). */
  readonly overloadedRetryMs?: number;
  readonly unavailableRetryMs?: number;
  /** Receives unexpected errors with the id the client sees, for the server log. */
  readonly onInternalError?: (error: unknown, errorId: string) => void;
}

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

interface Encodable<T> {
  encode(message: T): { finish(): Uint8Array };
}
interface Decodable<T> {
  decode(input: Uint8Array): T;
}

function pack<T>(fns: Encodable<T>, name: string, message: T): Any {
  return { typeUrl: TYPE_PREFIX + name, value: Buffer.from(fns.encode(message).finish()) };
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function violationsOf(err: NeuroGraphError): readonly FieldViolation[] {
  if (err instanceof ValidationError || err instanceof FailedPreconditionError) return err.violations;
  return [];
}

/** The violations that fit the trailer budget, clipped. */
function boundedViolations(all: readonly FieldViolation[]): FieldViolation[] {
  const out: FieldViolation[] = [];
  let used = 0;
  for (const v of all) {
    const clipped: FieldViolation = {
      ...(v.index === undefined ? {} : { index: v.index }),
      field: clip(v.field, 128),
      ...(v.value === undefined ? {} : { value: clip(v.value, 64) }),
      rule: clip(v.rule, 64),
      description: clip(v.description, 256),
    };
    // Each violation appears twice (standard detail + ours).
    const size = 2 * (clipped.field.length + clipped.description.length + 24) + clipped.rule.length + (clipped.value?.length ?? 0);
    if (out.length > 0 && used + size > DETAILS_BUDGET_BYTES) break;
    used += size;
    out.push(clipped);
  }
  return out;
}

function retryDelay(ms: number): RetryInfo {
  return { retryDelay: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 } };
}

/** Maps anything thrown to the gRPC status the client receives. */
export function errorToStatus(error: unknown, options: StatusOptions = {}): StatusObject {
  let err = error instanceof NeuroGraphError ? error : undefined;
  const meta: Record<string, string> = {};
  if (err === undefined || err.code === ErrorCode.Internal) {
    const errorId = randomBytes(6).toString("hex");
    options.onInternalError?.(error, errorId);
    err = new InternalError(`internal error (id ${errorId}); the server log has the details`);
    meta["error_id"] = errorId;
  }
  const code = GRPC_CODE_OF[err.code];
  const details: Any[] = [];
  meta["retryable"] = String(err.retryable);

  const all = violationsOf(err);
  if (all.length > 0) {
    const shown = boundedViolations(all);
    meta["violations_total"] = String(all.length);
    if (err.code === ErrorCode.InvalidArgument) {
      details.push(
        pack(BadRequest, "google.rpc.BadRequest", {
          fieldViolations: shown.map((v) => ({
            field: violationPath(v, options.batchField),
            description: v.description,
            reason: v.rule,
            localizedMessage: undefined,
          })),
        }),
      );
    } else {
      details.push(
        pack(PreconditionFailure, "google.rpc.PreconditionFailure", {
          violations: shown.map((v) => ({ type: v.rule, subject: violationPath(v, options.batchField), description: v.description })),
        }),
      );
    }
    details.push(
      pack(Violations, "neurograph.v1.Violations", {
        items: shown.map((v) => ({ index: v.index, field: v.field, value: v.value ?? "", rule: v.rule, description: v.description })),
        total: all.length,
      }),
    );
  }
  if (err instanceof QuotaExceededError) {
    meta["quota"] = err.quota;
    meta["usage"] = String(err.usage);
    meta["limit"] = String(err.limit);
    details.push(pack(QuotaFailure, "google.rpc.QuotaFailure", { violations: [{ subject: `quota:${err.quota}`, description: err.message }] }));
  } else if (err.code === ErrorCode.Overloaded) {
    details.push(pack(RetryInfo, "google.rpc.RetryInfo", retryDelay(options.overloadedRetryMs ?? 200)));
  } else if (err.code === ErrorCode.Unavailable) {
    details.push(pack(RetryInfo, "google.rpc.RetryInfo", retryDelay(options.unavailableRetryMs ?? 1000)));
  }
  details.unshift(pack(ErrorInfo, "google.rpc.ErrorInfo", { reason: err.code, domain: ERROR_DOMAIN, metadata: meta }));

  const message = clip(err.message, MAX_MESSAGE_CHARS);
  const metadata = new Metadata();
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(Status.encode({ code, message, details }).finish()));
  return { code, details: message, metadata };
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
      return new NotFoundError(message, opts);
    case ErrorCode.AlreadyExists:
      return new AlreadyExistsError(message, opts);
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
