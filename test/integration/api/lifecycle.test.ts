import { afterEach, describe, expect, it, vi } from "vitest";
import { status } from "@grpc/grpc-js";
import { FailedPreconditionError, UnavailableError, ValidationError } from "../../../src/core/errors.ts";
import { ApiServer } from "../../../src/api/server.ts";
import type { CallInfo, CallInterceptor } from "../../../src/api/handlers.ts";
import { MemoryBackend } from "./memory-backend.ts";
import { call, failure, startHarness, type Harness } from "./harness.ts";

describe("server lifecycle", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("lets in-flight calls finish during a graceful stop, then refuses new ones", async () => {
    h = await startHarness();
    let release!: () => void;
    h.backend.gate = new Promise<void>((resolve) => (release = resolve));
    const inFlight = call(h.admin.getStats.bind(h.admin), {});
    await vi.waitFor(() => expect(h!.backend.calls).toEqual(["stats"]));
    const stopping = h.server.stop(10_000);
    release();
    expect((await inFlight).nodeId).toBe("memory-node");
    expect(await stopping).toEqual({ forced: false });
    const after = await failure(call(h.admin.getStats.bind(h.admin), {}, undefined, { deadline: Date.now() + 3000 }));
    expect([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]).toContain(after.code);
  });

  it("answers calls still running when the grace period ends with UNAVAILABLE, never CANCELLED", async () => {
    h = await startHarness();
    h.backend.hang = true;
    const stuck = failure(call(h.admin.getStats.bind(h.admin), {}));
    await vi.waitFor(() => expect(h!.backend.calls).toEqual(["stats"]));
    expect(h.server.openCalls).toBe(1);
    expect(await h.server.stop(200)).toEqual({ forced: true });
    const err = await stuck;
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toMatch(/drain limit of 200 ms passed\); retry on another node/);
    await vi.waitFor(() => expect(h!.backend.abortReasons[0]).toBeInstanceOf(UnavailableError));
    expect(h.server.openCalls).toBe(0);
  });

  it("names the address when it cannot listen", async () => {
    h = await startHarness();
    const clash = new ApiServer({ backend: new MemoryBackend() }, { address: h.address });
    const err = await clash.start().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect((err as Error).message).toContain(`cannot listen for gRPC on ${h.address}`);
  });

  it("validates its options before starting", () => {
    expect(() => new ApiServer({ backend: new MemoryBackend() }, { address: "localhost", maxReceiveMessageBytes: -1, adminToken: "short" })).toThrow(ValidationError);
  });

  it("runs interceptors around every call with the method, kind and outcome", async () => {
    const seen: string[] = [];
    const recorder: CallInterceptor = {
      async intercept<T>(info: CallInfo, next: () => Promise<T>): Promise<T> {
        try {
          const res = await next();
          seen.push(`${info.service}/${info.method} ${info.kind} ok`);
          return res;
        } catch (err) {
          seen.push(`${info.service}/${info.method} ${info.kind} ${(err as Error).name}`);
          throw err;
        }
      },
    };
    h = await startHarness({}, { interceptors: [recorder] });
    await call(h.admin.getStats.bind(h.admin), {});
    await failure(call(h.tokens.getTokens.bind(h.tokens), { ids: [0], format: 0, allowMissing: false }));
    expect(seen).toEqual([
      "neurograph.v1.AdminService/GetStats unary ok",
      "neurograph.v1.TokenService/GetTokens unary ValidationError",
    ]);
  });
});
