/**
 * NeuroGraph errors → gRPC statuses with rich details (google.rpc.Status in the
 * `grpc-status-details-bin` trailer, the standard error model of gRPC APIs).
 *
 * `errorToStatus` maps every typed error of `src/core/errors.ts` to its status code and details:
 * BadRequest (+ our Violations) for invalid input, PreconditionFailure, QuotaFailure, RetryInfo,
 * and an ErrorInfo that names the exact NeuroGraph code. Unexpected errors become INTERNAL with a
 * generic message and an error id; stacks never leave the process.
 *
 * The decoding half (`statusToError`, `decodeStatusDetails`) belongs to the client library
 * (`src/client/errors.ts`), which must work without the server code; it is re-exported here.
 */
import { randomBytes } from "node:crypto";
import { Metadata, status as GrpcCode, type StatusObject } from "@grpc/grpc-js";
import {
  AlreadyExistsError,
  ErrorCode,
  FailedPreconditionError,
  InternalError,
  NeuroGraphError,
  NotFoundError,
  QuotaExceededError,
  ValidationError,
  type FieldViolation,
} from "../core/errors.ts";
import { Status } from "../gen/google/rpc/status.ts";
import type { Any } from "../gen/google/protobuf/any.ts";
import { BadRequest, ErrorInfo, PreconditionFailure, QuotaFailure, RetryInfo } from "../gen/google/rpc/error_details.ts";
import { Violations } from "../gen/neurograph/v1/common.ts";
import { ERROR_DOMAIN, STATUS_DETAILS_KEY, violationPath } from "../client/errors.ts";

export {
  decodeStatusDetails,
  ERROR_DOMAIN,
  parseViolationPath,
  STATUS_DETAILS_KEY,
  statusToError,
  violationPath,
  type StatusDetails,
} from "../client/errors.ts";

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

interface Encodable<T> {
  encode(message: T): { finish(): Uint8Array };
}

function pack<T>(fns: Encodable<T>, name: string, message: T): Any {
  return { typeUrl: TYPE_PREFIX + name, value: Buffer.from(fns.encode(message).finish()) };
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function violationsOf(err: NeuroGraphError): readonly FieldViolation[] {
  if (err instanceof ValidationError || err instanceof FailedPreconditionError || err instanceof NotFoundError || err instanceof AlreadyExistsError) return err.violations;
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
    } else if (err.code === ErrorCode.FailedPrecondition) {
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

