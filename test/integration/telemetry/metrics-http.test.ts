import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { FailedPreconditionError, ValidationError } from "../../../src/core/errors.ts";
import { MetricsRegistry, parseListenAddress, startMetricsServer, type MetricsServer, type Readiness } from "../../../src/telemetry/index.ts";
import { EXPECTED_FAMILIES, parseExposition, valueOf } from "../../unit/telemetry/exposition.ts";
import { run } from "./support.ts";

const servers: MetricsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(metrics: MetricsRegistry, ready?: () => Readiness | Promise<Readiness>): Promise<MetricsServer> {
  const s = await startMetricsServer({ metrics, port: 0, ...(ready === undefined ? {} : { ready }) });
  servers.push(s);
  return s;
}

/** A raw request (fetch cannot send arbitrary methods to a keep-alive-free socket as simply). */
function raw(url: string, method: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.once("error", reject);
    req.end();
  });
}

describe("metrics endpoint over HTTP", () => {
  it("serves every family on a fresh registry with the Prometheus content type", async () => {
    const s = await serve(new MetricsRegistry({ version: "0.1.0" }));
    expect(s.url).toBe(`http://127.0.0.1:${s.port}`);
    const res = await fetch(`${s.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const e = parseExposition(await res.text());
    for (const [name, type] of Object.entries(EXPECTED_FAMILIES)) expect(e.types.get(name), name).toBe(type);
  });

  it("after a scripted workload the counters equal the work done", async () => {
    const m = new MetricsRegistry({ shards: 4, grpcMethods: ["/neurograph.v1.TokenService/Create"] });
    const s = await serve(m);
    const create = m.grpcMethod("/neurograph.v1.TokenService/Create");
    const shard = m.actorKindMetrics("shard");
    let tokens = 0;
    for (let batch = 0; batch < 25; batch++) {
      const n = 100 + batch;
      tokens += n;
      shard.messages(1);
      m.guardianValidated("token", n);
      m.walCommit(0.002, n, n * 64);
      create.handled(0, 0.003);
    }
    m.guardianRejected("weight_range", 7);
    create.handled(3, 0.0001);
    m.onCollect(() => m.setTokens(0, tokens));
    const e = parseExposition(await (await fetch(`${s.url}/metrics`)).text());
    expect(valueOf(e, "neurograph_wal_appends_total")).toBe(tokens);
    expect(valueOf(e, "neurograph_wal_bytes_total")).toBe(tokens * 64);
    expect(valueOf(e, "neurograph_wal_commit_duration_seconds_count")).toBe(25);
    expect(valueOf(e, "neurograph_guardian_validations_total", { kind: "token" })).toBe(tokens);
    expect(valueOf(e, "neurograph_guardian_rejections_total", { rule: "weight_range" })).toBe(7);
    expect(valueOf(e, "neurograph_actor_messages_total", { kind: "shard" })).toBe(25);
    expect(valueOf(e, "neurograph_grpc_server_handled_total", { method: "neurograph.v1.TokenService/Create", code: "OK" })).toBe(25);
    expect(valueOf(e, "neurograph_grpc_server_handled_total", { method: "neurograph.v1.TokenService/Create", code: "INVALID_ARGUMENT" })).toBe(1);
    expect(valueOf(e, "neurograph_tokens", { shard: "0" })).toBe(tokens);
  });

  it("passes `promtool check metrics` on real output", async () => {
    const m = new MetricsRegistry({ version: "0.1.0" });
    m.walCommit(0.004, 10, 640);
    m.grpcHandled("/neurograph.v1.TokenService/Get", 5, 0.001);
    m.natsMessages("ingest_tokens", "in", 2, 128);
    m.samplingDecision("parent_sampled", "sampled");
    m.setActorMailboxes([{ kind: "shard", mailboxDepth: 2 }]);
    const s = await serve(m);
    const text = await (await fetch(`${s.url}/metrics`)).text();
    const r = await run("promtool", ["check", "metrics"], text);
    expect(r.stdout + r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("answers HEAD without a body and serves concurrent scrapes", async () => {
    const m = new MetricsRegistry();
    m.walCommit(0.001, 3, 3);
    const s = await serve(m);
    const head = await raw(`${s.url}/metrics`, "HEAD");
    expect(head.status).toBe(200);
    expect(head.body).toBe("");
    expect(Number(head.headers["content-length"])).toBeGreaterThan(1000);
    const bodies = await Promise.all(Array.from({ length: 8 }, () => fetch(`${s.url}/metrics`).then((r) => r.text())));
    for (const b of bodies) expect(valueOf(parseExposition(b), "neurograph_wal_appends_total")).toBe(3);
  });

  it("reports liveness and readiness from the node's check", async () => {
    let state: Readiness = { ready: false, reason: "shard 3 recovering" };
    const s = await serve(new MetricsRegistry(), () => state);
    const health = await fetch(`${s.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", pid: process.pid });
    let ready = await fetch(`${s.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(await ready.json()).toEqual({ status: "not_ready", reason: "shard 3 recovering" });
    state = true;
    ready = await fetch(`${s.url}/readyz?verbose=1`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready" });
  });

  it("treats a failing or async readiness check correctly", async () => {
    const failing = await serve(new MetricsRegistry({ defaultMetrics: false }), () => {
      throw new Error("lease store unreachable");
    });
    const r1 = await fetch(`${failing.url}/readyz`);
    expect(r1.status).toBe(503);
    expect(await r1.json()).toEqual({ status: "not_ready", reason: "readiness check failed: lease store unreachable" });
    const asyncReady = await serve(new MetricsRegistry({ defaultMetrics: false }), () => Promise.resolve(true));
    expect((await fetch(`${asyncReady.url}/readyz`)).status).toBe(200);
    const noCheck = await serve(new MetricsRegistry({ defaultMetrics: false }));
    expect((await fetch(`${noCheck.url}/readyz`)).status).toBe(200);
  });

  it("answers unknown paths with 404 and other methods with 405", async () => {
    const s = await serve(new MetricsRegistry({ defaultMetrics: false }));
    expect((await fetch(`${s.url}/nope`)).status).toBe(404);
    const post = await raw(`${s.url}/metrics`, "POST");
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe("GET, HEAD");
  });

  it("returns 500 when collection fails, and keeps serving", async () => {
    const m = new MetricsRegistry({ defaultMetrics: false });
    let broken = true;
    const original = m.metrics.bind(m);
    m.metrics = () => (broken ? Promise.reject(new Error("collector exploded")) : original());
    const s = await serve(m);
    const bad = await fetch(`${s.url}/metrics`);
    expect(bad.status).toBe(500);
    expect(await bad.text()).toContain("collector exploded");
    broken = false;
    expect((await fetch(`${s.url}/metrics`)).status).toBe(200);
  });

  it("validates the bind address and reports a busy port clearly", async () => {
    expect(parseListenAddress("127.0.0.1:9464")).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(parseListenAddress("[::1]:9000")).toEqual({ host: "::1", port: 9000 });
    expect(parseListenAddress("9100")).toEqual({ host: "127.0.0.1", port: 9100 });
    expect(parseListenAddress("localhost:1")).toEqual({ host: "localhost", port: 1 });
    for (const bad of [":9464", "127.0.0.1", "127.0.0.1:70000", "example.com:80", "1.2.3.4:x", "::1:80"]) {
      expect(() => parseListenAddress(bad), bad).toThrow(ValidationError);
    }
    await expect(startMetricsServer({ metrics: new MetricsRegistry({ defaultMetrics: false }), host: "not-an-ip" })).rejects.toThrow(/IP address/);
    const s = await serve(new MetricsRegistry({ defaultMetrics: false }));
    await expect(startMetricsServer({ metrics: new MetricsRegistry({ defaultMetrics: false }), port: s.port })).rejects.toThrow(FailedPreconditionError);
    await expect(startMetricsServer({ metrics: new MetricsRegistry({ defaultMetrics: false }), port: s.port })).rejects.toThrow(/in use/);
  });

  it("closes gracefully, even with an idle keep-alive connection open", async () => {
    const s = await startMetricsServer({ metrics: new MetricsRegistry({ defaultMetrics: false }), port: 0, closeGraceMs: 500 });
    const res = await fetch(`${s.url}/healthz`, { keepalive: true });
    expect(res.status).toBe(200);
    await res.text();
    await s.close();
    await s.close();
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
  });
});
