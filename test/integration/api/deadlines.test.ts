import { afterEach, describe, expect, it, vi } from "vitest";
import { status } from "@grpc/grpc-js";
import { CancelledError, DeadlineExceededError } from "../../../src/core/errors.ts";
import { call, failure, startHarness, type Harness } from "./harness.ts";

describe("deadlines and cancellation", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("passes the client's deadline to the backend as an absolute time", async () => {
    h = await startHarness();
    const deadline = Date.now() + 30_000;
    await call(h.admin.getStats.bind(h.admin), {}, undefined, { deadline });
    const seen = h.backend.contexts[0]!.deadline;
    // The deadline travels as a relative timeout, so it shifts by the time to connect and send.
    expect(Math.abs(seen - deadline)).toBeLessThan(5000);
    expect(h.backend.contexts[0]!.signal.aborted).toBe(false);
  });

  it("gives unary calls without a deadline the server's default, or none when it is 0", async () => {
    h = await startHarness({ defaultDeadlineMs: 45_000 });
    const before = Date.now();
    await call(h.admin.getStats.bind(h.admin), {});
    const seen = h.backend.contexts[0]!.deadline;
    expect(seen).toBeGreaterThanOrEqual(before + 45_000);
    expect(seen).toBeLessThan(before + 50_000);
    await h.close();
    h = await startHarness({ defaultDeadlineMs: 0 });
    await call(h.admin.getStats.bind(h.admin), {});
    expect(h.backend.contexts[0]!.deadline).toBe(Infinity);
  });

  it("aborts the backend's work with DeadlineExceededError when the client's deadline passes", async () => {
    h = await startHarness();
    h.backend.hang = true;
    const err = await failure(call(h.tokens.getTokens.bind(h.tokens), { ids: [1], format: 0, allowMissing: false }, undefined, { deadline: Date.now() + 300 }));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    await vi.waitFor(() => expect(h!.backend.abortReasons).toHaveLength(1));
    expect(h.backend.abortReasons[0]).toBeInstanceOf(DeadlineExceededError);
  });

  it("answers DEADLINE_EXCEEDED itself when the server's default deadline passes", async () => {
    h = await startHarness({ defaultDeadlineMs: 300 });
    h.backend.hang = true;
    const err = await failure(call(h.admin.getStats.bind(h.admin), {}));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(err.details).toContain("deadline of /neurograph.v1.AdminService/GetStats passed");
    expect(h.backend.abortReasons[0]).toBeInstanceOf(DeadlineExceededError);
  });

  it("aborts the backend's work with CancelledError when the client cancels", async () => {
    h = await startHarness();
    h.backend.hang = true;
    const done = new Promise<number>((resolve) => {
      const c = h!.tokens.getTokens({ ids: [1], format: 0, allowMissing: false }, (err) => resolve(err?.code ?? -1));
      void vi.waitFor(() => expect(h!.backend.calls).toHaveLength(1)).then(() => c.cancel());
    });
    expect(await done).toBe(status.CANCELLED);
    await vi.waitFor(() => expect(h!.backend.abortReasons).toHaveLength(1));
    expect(h.backend.abortReasons[0]).toBeInstanceOf(CancelledError);
  });
});
