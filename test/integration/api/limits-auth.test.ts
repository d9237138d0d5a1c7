import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Metadata, status } from "@grpc/grpc-js";
import { ErrorCode, ValidationError } from "../../../src/core/errors.ts";
import { statusToError } from "../../../src/api/errors.ts";
import { RecordFormat } from "../../../src/gen/neurograph/v1/common.ts";
import { bearer, call, failure, startHarness, type Harness } from "./harness.ts";
import { packTokens } from "./fixtures.ts";

describe("message size limits", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ maxReceiveMessageBytes: 64 * 1024, maxSendMessageBytes: 4096 });
  });
  afterAll(async () => h.close());

  it("rejects an oversized request with RESOURCE_EXHAUSTED naming both sizes, and keeps serving", async () => {
    const records = packTokens(Array.from({ length: 2000 }, () => ({ id: 0 })));
    const err = await failure(call(h.tokens.createTokens.bind(h.tokens), { tokens: { payload: { $case: "packed", value: records } }, partial: false }));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/larger than max \(\d+ vs\.? 65536\)/);
    const typed = statusToError(err);
    expect(typed).toBeInstanceOf(ValidationError);
    expect(typed.message).toContain("limit of 65536 bytes");
    expect(typed.message).toContain("send smaller batches");
    expect((typed as ValidationError).violations[0]?.rule).toBe("max_message_size");
    expect(h.backend.calls).toEqual([]);
    expect(h.backend.tokens.size).toBe(0);
    const stats = await call(h.admin.getStats.bind(h.admin), {});
    expect(stats.tokens).toBe(0);
  });

  it("fails a response above the send limit with RESOURCE_EXHAUSTED", async () => {
    const ids = Array.from({ length: 100 }, (_, i) => i + 1);
    await call(h.tokens.createTokens.bind(h.tokens), { tokens: { payload: { $case: "packed", value: packTokens(ids.map((id) => ({ id }))) } }, partial: false });
    const err = await failure(call(h.tokens.getTokens.bind(h.tokens), { ids, format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: false }));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(statusToError(err).message).toContain("limit of 4096 bytes");
  });
});

describe("admin bearer token", () => {
  const TOKEN = "s3cret-admin-token-0123456789";
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ adminToken: TOKEN });
  });
  afterAll(async () => h.close());

  it("answers UNAUTHENTICATED without a token", async () => {
    const err = await failure(call(h.admin.getStats.bind(h.admin), {}));
    expect(err.code).toBe(status.UNAUTHENTICATED);
    expect(err.details).toContain("authorization: Bearer");
    expect(statusToError(err).code).toBe(ErrorCode.Unauthenticated);
    const basic = new Metadata();
    basic.set("authorization", `Basic ${TOKEN}`);
    expect((await failure(call(h.admin.listShards.bind(h.admin), {}, basic))).code).toBe(status.UNAUTHENTICATED);
    expect(h.backend.calls).toEqual([]);
  });

  it("answers PERMISSION_DENIED for a wrong token", async () => {
    for (const wrong of ["nope", `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const err = await failure(call(h.admin.getStats.bind(h.admin), {}, bearer(wrong)));
      expect(err.code).toBe(status.PERMISSION_DENIED);
      expect(statusToError(err).code).toBe(ErrorCode.PermissionDenied);
    }
    expect(h.backend.calls).toEqual([]);
  });

  it("serves admin calls with the right token and leaves other services open", async () => {
    const stats = await call(h.admin.getStats.bind(h.admin), {}, bearer(TOKEN));
    expect(stats.nodeId).toBe("memory-node");
    const lower = new Metadata();
    lower.set("authorization", `bearer ${TOKEN}`);
    expect((await call(h.admin.listShards.bind(h.admin), {}, lower)).shards).toHaveLength(4);
    const got = await call(h.tokens.getTokens.bind(h.tokens), { ids: [1], format: 0, allowMissing: true });
    expect(got.missing).toEqual([1]);
  });
});
