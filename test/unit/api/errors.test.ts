import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Metadata, status } from "@grpc/grpc-js";
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
} from "../../../src/core/errors.ts";
import { ERROR_DOMAIN, errorToStatus, parseViolationPath, STATUS_DETAILS_KEY, statusToError, violationPath } from "../../../src/api/errors.ts";
import { Status } from "../../../src/gen/google/rpc/status.ts";
import { BadRequest, ErrorInfo } from "../../../src/gen/google/rpc/error_details.ts";

const roundTrip = (err: unknown, batchField?: string): NeuroGraphError => statusToError(errorToStatus(err, batchField === undefined ? {} : { batchField }));

describe("errorToStatus", () => {
  const table: [NeuroGraphError, status][] = [
    [ValidationError.of("x", [{ field: "f", rule: "r", description: "d" }]), status.INVALID_ARGUMENT],
    [new NotFoundError("nf"), status.NOT_FOUND],
    [new AlreadyExistsError("ae"), status.ALREADY_EXISTS],
    [new FailedPreconditionError("fp"), status.FAILED_PRECONDITION],
    [new OverloadedError("ov"), status.RESOURCE_EXHAUSTED],
    [new QuotaExceededError("max_tokens", 5, 4), status.RESOURCE_EXHAUSTED],
    [new UnavailableError("un"), status.UNAVAILABLE],
    [new DeadlineExceededError("de"), status.DEADLINE_EXCEEDED],
    [new CancelledError("ca"), status.CANCELLED],
    [new NeuroGraphError(ErrorCode.Unauthenticated, "ua"), status.UNAUTHENTICATED],
    [new NeuroGraphError(ErrorCode.PermissionDenied, "pd"), status.PERMISSION_DENIED],
    [new DataLossError("dl"), status.DATA_LOSS],
    [new InternalError("in"), status.INTERNAL],
  ];
  it.each(table)("maps %s to status %i and back to the same code", (err, code) => {
    const s = errorToStatus(err);
    expect(s.code).toBe(code);
    const back = statusToError(s);
    expect(back.code).toBe(err.code);
    expect(back.constructor).toBe(err.constructor);
    expect(back.retryable).toBe(err.retryable);
    if (err.code !== ErrorCode.Internal) expect(back.message).toBe(err.message);
  });

  it("never sends the message or stack of unexpected errors", () => {
    const s = errorToStatus(new TypeError("cannot read properties of undefined (reading 'slot')"));
    expect(s.code).toBe(status.INTERNAL);
    expect(s.details).toMatch(/^internal error \(id [0-9a-f]{12}\); the server log has the details$/);
    expect(s.metadata.get(STATUS_DETAILS_KEY)[0]!.toString()).not.toContain("slot");
  });

  it("round-trips violations exactly (property)", () => {
    const violation: fc.Arbitrary<FieldViolation> = fc.record(
      {
        index: fc.nat({ max: 100_000 }),
        field: fc.stringMatching(/^[a-z_]{1,12}(\.[a-z0-9_]{1,8}){0,2}$/),
        value: fc.string({ minLength: 1, maxLength: 20 }),
        rule: fc.stringMatching(/^[a-z_]{1,20}$/),
        description: fc.string({ maxLength: 60 }),
      },
      { requiredKeys: ["field", "rule", "description"] },
    );
    fc.assert(
      fc.property(fc.array(violation, { minLength: 1, maxLength: 8 }), fc.boolean(), (violations, precondition) => {
        const err = precondition ? new FailedPreconditionError("forbidden", violations) : ValidationError.of("batch", violations);
        const back = roundTrip(err, "tokens") as ValidationError | FailedPreconditionError;
        expect(back.violations).toEqual(violations);
      }),
    );
  });

  it("falls back to BadRequest field paths when the status has no NeuroGraph details", () => {
    const bad = BadRequest.encode({ fieldViolations: [{ field: "tokens[3].coords.l1.x", description: "too far", reason: "coord_range", localizedMessage: undefined }, { field: "space", description: "required", reason: "required", localizedMessage: undefined }] }).finish();
    const md = new Metadata();
    md.set(STATUS_DETAILS_KEY, Buffer.from(Status.encode({ code: 3, message: "bad", details: [{ typeUrl: "type.googleapis.com/google.rpc.BadRequest", value: Buffer.from(bad) }] }).finish()));
    const err = statusToError({ code: status.INVALID_ARGUMENT, details: "bad", metadata: md }) as ValidationError;
    expect(err.violations).toEqual([
      { index: 3, field: "coords.l1.x", rule: "coord_range", description: "too far" },
      { field: "space", rule: "required", description: "required" },
    ]);
  });

  it("ignores ErrorInfo from other domains and damaged details", () => {
    const info = ErrorInfo.encode({ reason: "DATA_LOSS", domain: "example.com", metadata: {} }).finish();
    const md = new Metadata();
    md.set(STATUS_DETAILS_KEY, Buffer.from(Status.encode({ code: 5, message: "x", details: [{ typeUrl: "type.googleapis.com/google.rpc.ErrorInfo", value: Buffer.from(info) }] }).finish()));
    expect(statusToError({ code: status.NOT_FOUND, details: "x", metadata: md })).toBeInstanceOf(NotFoundError);
    const junk = new Metadata();
    junk.set(STATUS_DETAILS_KEY, Buffer.from([0xff, 0xff, 0xff]));
    expect(statusToError({ code: status.UNAVAILABLE, details: "y", metadata: junk })).toBeInstanceOf(UnavailableError);
    expect(ERROR_DOMAIN).toBe("neurograph");
  });

  it("maps statuses without details by code, and grpc-js size errors to a clear validation error", () => {
    expect(statusToError({ code: status.RESOURCE_EXHAUSTED, details: "busy" })).toBeInstanceOf(OverloadedError);
    expect(statusToError({ code: status.UNIMPLEMENTED, details: "no such method" })).toBeInstanceOf(InternalError);
    const size = statusToError({ code: status.RESOURCE_EXHAUSTED, details: "Received message larger than max (17825800 vs 16777216)" });
    expect(size).toBeInstanceOf(ValidationError);
    expect(size.message).toContain("(17825800 bytes) exceeds the receiver's limit of 16777216 bytes");
  });
});

describe("violation paths", () => {
  it("name the batch item and field", () => {
    expect(violationPath({ index: 3, field: "weight" }, "tokens")).toBe("tokens[3].weight");
    expect(violationPath({ index: 0, field: "" }, "ids")).toBe("ids[0]");
    expect(violationPath({ field: "space" }, "tokens")).toBe("space");
  });

  it("parse back to index and field (property)", () => {
    fc.assert(
      fc.property(fc.option(fc.nat(), { nil: undefined }), fc.stringMatching(/^([a-z_]{1,10}(\.[a-z0-9_]{1,6}){0,2})?$/), (index, field) => {
        fc.pre(index !== undefined || field !== "");
        const v = index === undefined ? { field } : { index, field };
        expect(parseViolationPath(violationPath(v, "tokens"))).toEqual(v);
      }),
    );
  });
});
