/**
 * Two actor systems connected through a real nats-server: remote tell/ask through codecs, typed
 * errors, deadlines, no responders, headers, local delivery staying local, bounds and drain.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  DeadlineExceededError,
  ErrorCode,
  InternalError,
  NeuroGraphError,
  OverloadedError,
  UnavailableError,
  ValidationError,
} from "../../../src/core/errors.ts";
import { MetricsRegistry } from "../../../src/telemetry/index.ts";
import { startNatsServer, type NatsServer } from "../../support/nats-server.ts";
import { Gate, KvActor, type KvMsg } from "./fixtures/kv.ts";
import { closeAll, eventually, rawClient, record, settle, startNode } from "./support.ts";

let server: NatsServer;
beforeAll(async () => {
  server = await startNatsServer({ jetstream: false, maxPayload: 256 * 1024 });
});
afterAll(async () => {
  await server.dispose();
});
afterEach(closeAll);

async function pair(options: Parameters<typeof startNode>[2] = {}) {
  const a = await startNode(server.url, "node-a", options);
  const b = await startNode(server.url, "node-b", options);
  return { a, b };
}

describe("NATS transport between two actor systems", () => {
  it("delivers remote tells and typed asks through the codecs", async () => {
    const { a, b } = await pair();
    b.system.spawn("kv/1", () => new KvActor());
    await b.transport.flush();
    const remote = a.system.ref<KvMsg>("kv/1");
    remote.tell({ type: "kv.put", key: "x", value: 42 });
    remote.tell({ type: "kv.put", key: "y", value: 7 });
    const x: number | null = await remote.ask({ type: "kv.get", key: "x" });
    expect(x).toBe(42);
    expect(await remote.ask({ type: "kv.get", key: "nope" })).toBeNull();
    expect(await remote.ask({ type: "kv.size" })).toBe(2);
    expect(a.transport.stats().sent).toBeGreaterThanOrEqual(5);
    expect(b.transport.stats().received).toBeGreaterThanOrEqual(5);
    expect(a.undelivered).toEqual([]);
  });

  it("rebuilds remote errors as the same typed errors", async () => {
    const { a, b } = await pair();
    b.system.spawn("kv/1", () => new KvActor());
    await b.transport.flush();
    const remote = a.system.ref<KvMsg>("kv/1");

    const v = await settle(remote.ask({ type: "kv.fail", how: "validation" }));
    expect(!v.ok && v.error).toBeInstanceOf(ValidationError);
    const violations = (v as { error: ValidationError }).error.violations;
    expect(violations).toEqual([{ field: "key", index: 2, value: "k", rule: "key_rule", description: "bad key" }]);

    const q = await settle(remote.ask({ type: "kv.fail", how: "quota" }));
    expect(!q.ok && q.error).toBeInstanceOf(NeuroGraphError);
    expect((q as { error: NeuroGraphError }).error.code).toBe(ErrorCode.QuotaExceeded);

    const bug = await settle(remote.ask({ type: "kv.fail", how: "bug" }));
    expect(!bug.ok && bug.error).toBeInstanceOf(InternalError);
    expect((bug as { error: Error }).error.message).toContain("bug in kv");
  });

  it("expires a remote ask at its deadline with DeadlineExceededError", async () => {
    const { a, b } = await pair();
    const gate = new Gate();
    b.system.spawn("kv/1", () => new KvActor(gate));
    await b.transport.flush();
    const r = await settle(a.system.ref<KvMsg>("kv/1").ask({ type: "kv.block" }, { timeoutMs: 200 }));
    expect(!r.ok && r.error).toBeInstanceOf(DeadlineExceededError);
    expect((r as { error: Error }).error.message).toContain("kv/1");
    gate.open();
    // The actor is still there and answers later asks.
    expect(await a.system.ref<KvMsg>("kv/1").ask({ type: "kv.size" })).toBe(0);
  });

  it("answers an address nobody hosts with a retryable UnavailableError (no responders)", async () => {
    const { a } = await pair();
    const r = await settle(a.system.ref<KvMsg>("kv/404").ask({ type: "kv.size" }));
    expect(!r.ok && r.error).toBeInstanceOf(UnavailableError);
    expect((r as { error: UnavailableError }).error.retryable).toBe(true);
    expect((r as { error: Error }).error.message).toContain("kv/404");

    a.system.ref<KvMsg>("kv/404").tell({ type: "kv.put", key: "k", value: 1 });
    await eventually("the undelivered tell is reported", () => a.undelivered.length === 1);
    expect(a.undelivered[0]?.error).toBeInstanceOf(UnavailableError);
    expect(a.undelivered[0]?.address).toBe("kv/404");
  });

  it("carries trace headers, the deadline and the sender to the receiving actor", async () => {
    const { a, b } = await pair();
    b.system.spawn("kv/1", () => new KvActor());
    await b.transport.flush();
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const deadline = Date.now() + 60_000;
    const seen = await a.system.ref<KvMsg>("kv/1").ask(
      { type: "kv.hdr" },
      { headers: { traceparent, tracestate: "ng=1,th:8", "x-sampling-priority": "high" }, deadline, sender: "api/7" },
    );
    expect(seen.headers).toEqual({ traceparent, tracestate: "ng=1,th:8", "x-sampling-priority": "high" });
    expect(seen.deadline).toBe(deadline);
    expect(seen.sender).toBe("api/7");
  });

  it("keeps messages to local actors in process: nothing is published for them", async () => {
    const { a, b } = await pair();
    a.system.spawn("kv/local", () => new KvActor());
    b.system.spawn("kv/remote", () => new KvActor());
    await a.transport.flush();
    await b.transport.flush();
    const watcher = await rawClient(server.url);
    const seen = record(watcher, "ng.test.>");
    await watcher.flush();

    const local = a.system.ref<KvMsg>("kv/local");
    for (let i = 0; i < 20; i++) local.tell({ type: "kv.put", key: `k${i}`, value: i });
    expect(await local.ask({ type: "kv.size" })).toBe(20);
    const sentBefore = a.transport.stats().sent;
    // One remote ask afterwards: the watcher sees it, and (NATS keeps order per connection) would
    // have seen anything published for the local actor before it.
    expect(await a.system.ref<KvMsg>("kv/remote").ask({ type: "kv.size" })).toBe(0);
    await eventually("the watcher sees the remote ask", () => seen.some((m) => m.subject === "ng.test.actor.kv.remote"));
    await watcher.flush();
    expect(seen.map((m) => m.subject)).toEqual(["ng.test.actor.kv.remote"]);
    expect(sentBefore).toBe(0);
    expect(a.transport.stats().sent).toBe(1);
  });

  it("rejects a message larger than NATS carries before sending it", async () => {
    const { a, b } = await pair();
    b.system.spawn("kv/1", () => new KvActor());
    await b.transport.flush();
    const remote = a.system.ref<KvMsg>("kv/1");
    const big = "x".repeat(300 * 1024);
    expect(() => remote.tell({ type: "kv.put", key: big, value: 1 })).toThrow(ValidationError);
    const r = await settle(remote.ask({ type: "kv.get", key: big }));
    expect(!r.ok && r.error).toBeInstanceOf(ValidationError);
    expect((r as { error: Error }).error.message).toContain("split");
    // A reply too large for NATS comes back as an error instead of never.
    const blob = await settle(remote.ask({ type: "kv.blob", bytes: 300 * 1024 }));
    expect(!blob.ok && blob.error).toBeInstanceOf(ValidationError);
    expect(await remote.ask({ type: "kv.size" })).toBe(0);
  });

  it("bounds requests in flight with OverloadedError", async () => {
    const { a, b } = await pair({ transport: { maxInFlight: 2 } });
    const gate = new Gate();
    b.system.spawn("kv/1", () => new KvActor(gate));
    await b.transport.flush();
    const remote = a.system.ref<KvMsg>("kv/1");
    const first = settle(remote.ask({ type: "kv.block" }));
    const second = settle(remote.ask({ type: "kv.block" }));
    const third = await settle(remote.ask({ type: "kv.block" }));
    expect(!third.ok && third.error).toBeInstanceOf(OverloadedError);
    expect(() => remote.tell({ type: "kv.put", key: "k", value: 1 })).toThrow(OverloadedError);
    gate.open();
    expect(await first).toEqual({ ok: true, value: 1 });
    expect(await second).toEqual({ ok: true, value: 1 });
    expect(a.transport.stats().inFlight).toBe(0);
    expect(await remote.ask({ type: "kv.size" })).toBe(0);
  });

  it("drains on close: requests in flight are answered, new ones get UnavailableError", async () => {
    const { a, b } = await pair();
    const gate = new Gate();
    b.system.spawn("kv/1", () => new KvActor(gate));
    await b.transport.flush();
    const remote = a.system.ref<KvMsg>("kv/1");
    const pending = settle(remote.ask({ type: "kv.block" }));
    await eventually("the ask reaches node b", () => b.transport.stats().inboundInFlight === 1);
    const closing = a.transport.close();
    const refused = await settle(remote.ask({ type: "kv.size" }));
    expect(!refused.ok && refused.error).toBeInstanceOf(UnavailableError);
    gate.open();
    expect(await pending).toEqual({ ok: true, value: 1 });
    await closing;
    expect(a.transport.connection.isClosed()).toBe(true);
  });

  it("delivers each message to one node when two serve the same address (queue group)", async () => {
    const { a, b } = await pair();
    const c = await startNode(server.url, "node-c");
    b.system.spawn("kv/shared", () => new KvActor());
    c.system.spawn("kv/shared", () => new KvActor());
    await b.transport.flush();
    await c.transport.flush();
    const remote = a.system.ref<KvMsg>("kv/shared");
    for (let i = 0; i < 60; i++) remote.tell({ type: "kv.put", key: `k${i}`, value: i });
    await eventually("every tell is acknowledged", () => a.transport.stats().inFlight === 0 && a.transport.stats().received >= 60);
    expect(a.undelivered).toEqual([]);
    const onB = await b.system.ref<KvMsg>("kv/shared").ask({ type: "kv.size" });
    const onC = await c.system.ref<KvMsg>("kv/shared").ask({ type: "kv.size" });
    expect(onB + onC).toBe(60);
  });

  it("expires a request at its deadline inside the transport and frees its slot", async () => {
    const { a } = await pair();
    // A subscriber that never answers: only the transport's own deadline can end the request.
    const silent = await rawClient(server.url);
    silent.subscribe("ng.test.actor.kv.silent", { callback: () => undefined });
    await silent.flush();
    const r = await settle(
      a.transport.request({
        to: "kv/silent",
        from: undefined,
        replyTo: undefined,
        correlationId: "t:1",
        typeName: "kv.size",
        payload: new TextEncoder().encode(JSON.stringify({ type: "kv.size" })),
        encoded: true,
        headers: {},
        deadline: Date.now() + 150,
      }),
    );
    expect(!r.ok && r.error).toBeInstanceOf(DeadlineExceededError);
    expect(a.transport.stats().inFlight).toBe(0);
  });

  it("fire-and-forget tells are delivered without acknowledgements, and counted in the metrics", async () => {
    const metrics = new MetricsRegistry();
    const a = await startNode(server.url, "node-a", { transport: { tellMode: "fire", metrics } });
    const b = await startNode(server.url, "node-b");
    b.system.spawn("kv/1", () => new KvActor());
    await b.transport.flush();
    const remote = a.system.ref<KvMsg>("kv/1");
    for (let i = 0; i < 10; i++) remote.tell({ type: "kv.put", key: `k${i}`, value: i });
    expect(await remote.ask({ type: "kv.size" })).toBe(10);
    expect(a.transport.stats()).toMatchObject({ sent: 11, received: 1 });
    const text = await metrics.metrics();
    expect(text).toMatch(/neurograph_nats_messages_total\{[^}]*subject_kind="actor"[^}]*direction="out"[^}]*\} 11/);
    expect(text).toMatch(/neurograph_nats_messages_total\{[^}]*subject_kind="actor"[^}]*direction="in"[^}]*\} 1/);
  });

  it("withdraws an actor's subscription when it stops", async () => {
    const { a, b } = await pair();
    const ref = b.system.spawn("kv/1", () => new KvActor());
    await b.transport.flush();
    expect(await a.system.ref<KvMsg>("kv/1").ask({ type: "kv.size" })).toBe(0);
    await b.system.stop(ref);
    await b.transport.flush();
    const r = await settle(a.system.ref<KvMsg>("kv/1").ask({ type: "kv.size" }));
    expect(!r.ok && r.error).toBeInstanceOf(UnavailableError);
    expect(b.transport.stats().subscriptions).toBe(0);
  });
});
