import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { status, type ServiceError } from "@grpc/grpc-js";
import { HealthCheckResponse_ServingStatus as S, type HealthCheckResponse } from "../../../src/gen/grpc/health/v1/health.ts";
import { SERVICE_NAMES } from "../../../src/api/server.ts";
import { call, failure, startHarness, type Harness } from "./harness.ts";

interface Watched {
  readonly statuses: S[];
  readonly ended: Promise<ServiceError | null>;
  cancel(): void;
}

describe("grpc.health.v1.Health", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h.close());

  function watch(service: string): Watched {
    const statuses: S[] = [];
    const stream = h.health.watch({ service });
    stream.on("data", (r: HealthCheckResponse) => statuses.push(r.status));
    const ended = new Promise<ServiceError | null>((resolve) => {
      stream.on("error", (e: ServiceError) => resolve(e));
      stream.on("end", () => resolve(null));
    });
    return { statuses, ended, cancel: () => stream.cancel() };
  }

  it("answers Check for the node and each service, NOT_FOUND for unknown ones", async () => {
    for (const service of ["", SERVICE_NAMES.token, SERVICE_NAMES.graph, SERVICE_NAMES.admin]) {
      expect(await call(h.health.check.bind(h.health), { service })).toEqual({ status: S.SERVING });
    }
    const err = await failure(call(h.health.check.bind(h.health), { service: "nope.Service" }));
    expect(err.code).toBe(status.NOT_FOUND);
    h.server.health.setStatus(SERVICE_NAMES.graph, S.NOT_SERVING);
    expect(await call(h.health.check.bind(h.health), { service: SERVICE_NAMES.graph })).toEqual({ status: S.NOT_SERVING });
  });

  it("lists every status", async () => {
    const res = await call(h.health.list.bind(h.health), {});
    expect(Object.keys(res.statuses).sort()).toEqual(["", SERVICE_NAMES.admin, SERVICE_NAMES.graph, SERVICE_NAMES.token]);
  });

  it("streams the current status and every change to a watcher", async () => {
    const w = watch(SERVICE_NAMES.token);
    await vi.waitFor(() => expect(w.statuses).toEqual([S.SERVING]));
    h.server.health.setStatus(SERVICE_NAMES.token, S.NOT_SERVING);
    await vi.waitFor(() => expect(w.statuses).toEqual([S.SERVING, S.NOT_SERVING]));
    h.server.health.setStatus(SERVICE_NAMES.token, S.NOT_SERVING);
    h.server.health.setStatus(SERVICE_NAMES.token, S.SERVING);
    await vi.waitFor(() => expect(w.statuses).toEqual([S.SERVING, S.NOT_SERVING, S.SERVING]));
    w.cancel();
    expect((await w.ended)?.code).toBe(status.CANCELLED);
  });

  it("streams SERVICE_UNKNOWN for an unknown service until it appears", async () => {
    const w = watch("later.Service");
    await vi.waitFor(() => expect(w.statuses).toEqual([S.SERVICE_UNKNOWN]));
    h.server.health.setStatus("later.Service", S.SERVING);
    await vi.waitFor(() => expect(w.statuses).toEqual([S.SERVICE_UNKNOWN, S.SERVING]));
    w.cancel();
    await w.ended;
  });

  it("reports NOT_SERVING and ends watches with UNAVAILABLE when the server stops", async () => {
    const w = watch("");
    await vi.waitFor(() => expect(w.statuses).toEqual([S.SERVING]));
    const stopped = await h.server.stop(5000);
    expect(stopped.forced).toBe(false);
    expect(w.statuses).toEqual([S.SERVING, S.NOT_SERVING]);
    expect((await w.ended)?.code).toBe(status.UNAVAILABLE);
  });
});
