import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { status, type ServiceError } from "@grpc/grpc-js";
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
} from "../../../src/core/errors.ts";
import { decodeStatusDetails, statusToError } from "../../../src/api/errors.ts";
import type { RecordFormat } from "../../../src/gen/neurograph/v1/common.ts";
import { call, failure, startHarness, type Harness } from "./harness.ts";
import { packTokens, structuredToken } from "./fixtures.ts";

describe("error mapping over real gRPC", () => {
  let h: Harness;
  const internal: [unknown, string][] = [];
  beforeAll(async () => {
    h = await startHarness({}, { onInternalError: (e, id) => internal.push([e, id]) });
  });
  afterAll(async () => h.close());
  beforeEach(() => {
    h.backend.tokens.clear();
    h.backend.calls.length = 0;
  });

  /** Makes the backend throw `error` on the next call and returns the status a client sees. */
  async function statusFor(error: Error): Promise<ServiceError> {
    h.backend.failure = error;
    return failure(call(h.tokens.createTokens.bind(h.tokens), { tokens: { payload: { $case: "packed", value: packTokens([{ id: 5 }]) } }, partial: false }));
  }

  it("maps InvalidArgument to INVALID_ARGUMENT with BadRequest field paths and exact violations", async () => {
    const violations = [
      { index: 3, field: "weight", value: "NaN", rule: "weight_finite", description: "weight must be finite" },
      { index: 7, field: "coords.l2.y", value: "4", rule: "coord_range", description: "out of range" },
    ];
    const err = await statusFor(ValidationError.of("token batch", violations));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    const d = decodeStatusDetails(err.metadata);
    expect(d.badRequest?.fieldViolations.map((v) => [v.field, v.reason])).toEqual([
      ["tokens[3].weight", "weight_finite"],
      ["tokens[7].coords.l2.y", "coord_range"],
    ]);
    expect(d.errorInfo).toMatchObject({ reason: "INVALID_ARGUMENT", domain: "neurograph", metadata: { violations_total: "2", retryable: "false" } });
    const typed = statusToError(err);
    expect(typed).toBeInstanceOf(ValidationError);
    expect((typed as ValidationError).violations).toEqual(violations);
    expect(typed.message).toContain("item 3: weight: weight must be finite");
  });

  const cases: [string, () => NeuroGraphError, status, (e: NeuroGraphError) => void][] = [
    ["NotFound", () => new NotFoundError("token 9 does not exist"), status.NOT_FOUND, (e) => expect(e).toBeInstanceOf(NotFoundError)],
    ["AlreadyExists", () => new AlreadyExistsError("token 5 exists"), status.ALREADY_EXISTS, (e) => expect(e).toBeInstanceOf(AlreadyExistsError)],
    ["Overloaded", () => new OverloadedError("mailbox of shard/3 is full"), status.RESOURCE_EXHAUSTED, (e) => {
      expect(e).toBeInstanceOf(OverloadedError);
      expect(e.retryable).toBe(true);
    }],
    ["Unavailable", () => new UnavailableError("shard 3 is moving"), status.UNAVAILABLE, (e) => expect(e).toBeInstanceOf(UnavailableError)],
    ["DeadlineExceeded", () => new DeadlineExceededError("shard 3 did not answer in time"), status.DEADLINE_EXCEEDED, (e) => expect(e).toBeInstanceOf(DeadlineExceededError)],
    ["Cancelled", () => new CancelledError("node stopping"), status.CANCELLED, (e) => expect(e).toBeInstanceOf(CancelledError)],
    ["Unauthenticated", () => new NeuroGraphError(ErrorCode.Unauthenticated, "who are you"), status.UNAUTHENTICATED, (e) => expect(e.code).toBe(ErrorCode.Unauthenticated)],
    ["PermissionDenied", () => new NeuroGraphError(ErrorCode.PermissionDenied, "not yours"), status.PERMISSION_DENIED, (e) => expect(e.code).toBe(ErrorCode.PermissionDenied)],
    ["DataLoss", () => new DataLossError("bad CRC in shard 2 at LSN 77"), status.DATA_LOSS, (e) => expect(e).toBeInstanceOf(DataLossError)],
  ];
  it.each(cases)("maps %s to its status code and back", async (_name, make, code, check) => {
    const original = make();
    const err = await statusFor(original);
    expect(err.code).toBe(code);
    expect(err.details).toBe(original.message);
    const typed = statusToError(err);
    expect(typed.code).toBe(original.code);
    expect(typed.message).toBe(original.message);
    check(typed);
  });

  it("sends RetryInfo with Overloaded and Unavailable", async () => {
    const over = decodeStatusDetails((await statusFor(new OverloadedError("full"))).metadata);
    expect(over.retryInfo?.retryDelay).toEqual({ seconds: 0, nanos: 200_000_000 });
    const unav = decodeStatusDetails((await statusFor(new UnavailableError("moving"))).metadata);
    expect(unav.retryInfo?.retryDelay).toEqual({ seconds: 1, nanos: 0 });
  });

  it("maps QuotaExceeded to RESOURCE_EXHAUSTED with QuotaFailure and the quota's name, usage and limit", async () => {
    const err = await statusFor(new QuotaExceededError("max_tokens", 1000, 1000));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    const d = decodeStatusDetails(err.metadata);
    expect(d.quotaFailure?.violations[0]?.subject).toBe("quota:max_tokens");
    expect(d.errorInfo?.metadata).toMatchObject({ quota: "max_tokens", usage: "1000", limit: "1000" });
    const typed = statusToError(err);
    expect(typed).toBeInstanceOf(QuotaExceededError);
    expect(typed).toMatchObject({ quota: "max_tokens", usage: 1000, limit: 1000 });
  });

  it("maps FailedPrecondition to FAILED_PRECONDITION with PreconditionFailure", async () => {
    const v = { index: 0, field: "type", value: "176", rule: "type_allowed", description: "the constitution forbids type 0xB0" };
    const err = await statusFor(new FailedPreconditionError("the constitution forbids this connection type", [v]));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    const d = decodeStatusDetails(err.metadata);
    expect(d.preconditionFailure?.violations).toEqual([{ type: "type_allowed", subject: "tokens[0].type", description: v.description }]);
    const typed = statusToError(err);
    expect(typed).toBeInstanceOf(FailedPreconditionError);
    expect((typed as FailedPreconditionError).violations).toEqual([v]);
  });

  it("hides internal errors behind a generic message with an error id", async () => {
    for (const thrown of [new Error("secret path /etc/shadow"), new InternalError("shard 4 invariant broken: slot 17")]) {
      const err = await statusFor(thrown);
      expect(err.code).toBe(status.INTERNAL);
      expect(err.details).not.toContain("shadow");
      expect(err.details).not.toContain("slot 17");
      expect(err.details).not.toMatch(/\bat\s/);
      const id = decodeStatusDetails(err.metadata).errorInfo?.metadata["error_id"];
      expect(id).toMatch(/^[0-9a-f]{12}$/);
      expect(err.details).toContain(id);
      expect(internal.at(-1)).toEqual([thrown, id]);
      expect(statusToError(err)).toBeInstanceOf(InternalError);
    }
  });

  it("rejects a ragged packed payload at the edge without calling the backend", async () => {
    const err = await failure(call(h.tokens.createTokens.bind(h.tokens), { tokens: { payload: { $case: "packed", value: Buffer.alloc(130) } }, partial: false }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    const v = (statusToError(err) as ValidationError).violations;
    expect(v).toEqual([expect.objectContaining({ field: "tokens.packed", rule: "record_size" })]);
    expect(h.backend.calls).toEqual([]);
  });

  it("rejects a batch over the item limit and a missing payload", async () => {
    const big = await startHarness({ limits: { maxBatchItems: 10 } });
    try {
      const err = await failure(call(big.tokens.createTokens.bind(big.tokens), { tokens: { payload: { $case: "packed", value: Buffer.alloc(11 * 64) } }, partial: false }));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toContain("at most 10 per request");
      const ids = await failure(call(big.tokens.getTokens.bind(big.tokens), { ids: Array.from({ length: 11 }, (_, i) => i + 1), format: 0, allowMissing: true }));
      expect((statusToError(ids) as ValidationError).violations[0]).toMatchObject({ field: "ids", rule: "max_batch_items" });
      const unset = await failure(call(big.tokens.createTokens.bind(big.tokens), { tokens: undefined, partial: false }));
      expect(unset.details).toContain("tokens is required");
      expect(big.backend.calls).toEqual([]);
    } finally {
      await big.close();
    }
  });

  it("rejects a strict structured batch whole, naming every bad field", async () => {
    const bad = [structuredToken({ id: 1 }), structuredToken({ id: 2, l1: [Number.NaN, 0, 400] }), structuredToken({ id: 3, radius: 3 })];
    const err = await failure(call(h.tokens.createTokens.bind(h.tokens), { tokens: { payload: { $case: "structured", value: { tokens: bad } } }, partial: false }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    const paths = decodeStatusDetails(err.metadata).badRequest?.fieldViolations.map((v) => v.field);
    expect(paths).toEqual(["tokens[1].coords.l1.x", "tokens[1].coords.l1.z", "tokens[2].field_radius"]);
    expect(h.backend.calls).toEqual([]);
    expect(h.backend.tokens.size).toBe(0);
  });

  it("applies the valid items of a partial structured batch and reports the others at request indices", async () => {
    const mixed = [structuredToken({ id: 1 }), structuredToken({ id: 2, l1: [Number.POSITIVE_INFINITY, 0, 0] }), structuredToken({ id: 3, weight: 5 }), structuredToken({ id: 4 })];
    const res = await call(h.tokens.createTokens.bind(h.tokens), { tokens: { payload: { $case: "structured", value: { tokens: mixed } } }, partial: true });
    expect(res.ids).toEqual([1, 0, 0, 4]);
    expect(res.accepted).toBe(2);
    expect(res.rejected.map((r) => [r.index, r.id, r.field, r.rule])).toEqual([
      [1, 2, "coords.l1.x", "coord_finite"],
      [2, 3, "weight", "weight_range"],
    ]);
    expect([...h.backend.tokens.keys()]).toEqual([1, 4]);
  });

  it("keeps the status trailer small when a batch has thousands of violations", async () => {
    const violations = Array.from({ length: 5000 }, (_, i) => ({ index: i, field: "weight", value: "2", rule: "weight_range", description: "weight must be within [0, 1]; got a value above the maximum" }));
    const err = await statusFor(ValidationError.of("token batch", violations));
    const raw = err.metadata.get("grpc-status-details-bin")[0] as Buffer;
    expect(raw.length).toBeLessThan(6000);
    const typed = statusToError(err) as ValidationError;
    expect(typed.violations.length).toBeGreaterThan(5);
    expect(typed.violations.length).toBeLessThan(5000);
    expect(decodeStatusDetails(err.metadata).violations?.total).toBe(5000);
  });

  it("validates query parameters with one violation per bad field", async () => {
    const err = await failure(call(h.tokens.neighbors.bind(h.tokens), { id: 0, space: 0, radius: -1, limit: 10 ** 7, format: 99 as RecordFormat }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    const fields = (statusToError(err) as ValidationError).violations.map((v) => v.field);
    expect(fields).toEqual(["id", "space", "radius", "limit", "format"]);
  });
});
