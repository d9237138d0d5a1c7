/** The transport survives a nats-server crash and restart: status events, then working messages. */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ErrorCode, NeuroGraphError, UnavailableError } from "../../../src/core/errors.ts";
import { startNatsServer, type NatsServer } from "../../support/nats-server.ts";
import { KvActor, type KvMsg } from "./fixtures/kv.ts";
import { closeAll, eventually, settle, startNode } from "./support.ts";

let server: NatsServer | undefined;
afterEach(closeAll);
afterAll(async () => {
  await server?.dispose();
});

describe("NATS reconnect", () => {
  it("reports disconnect and reconnect, and messages after the reconnect work", async () => {
    server = await startNatsServer({ jetstream: false });
    const a = await startNode(server.url, "node-a");
    const b = await startNode(server.url, "node-b");
    const events: string[] = [];
    a.transport.onStatus((e) => events.push(e.type));
    b.system.spawn("kv/1", () => new KvActor());
    await b.transport.flush();
    const remote = a.system.ref<KvMsg>("kv/1");
    remote.tell({ type: "kv.put", key: "before", value: 1 });
    expect(await remote.ask({ type: "kv.get", key: "before" })).toBe(1);

    await server.kill();
    await eventually("node a notices the disconnect", () => a.transport.connectionState === "disconnected");
    // While the server is down an ask cannot be answered: it fails with a typed, retryable-or-deadline error.
    const during = await settle(remote.ask({ type: "kv.size" }, { timeoutMs: 300 }));
    expect(!during.ok && during.error).toBeInstanceOf(NeuroGraphError);
    expect([ErrorCode.DeadlineExceeded, ErrorCode.Unavailable]).toContain((during as { error: NeuroGraphError }).error.code);

    await server.restart();
    await eventually("both nodes reconnect", () => a.transport.connectionState === "connected" && b.transport.connectionState === "connected");
    await b.transport.flush(); // node b's subscriptions are re-established on the new connection
    await a.transport.flush();
    expect(events).toContain("disconnect");
    expect(events).toContain("reconnect");

    remote.tell({ type: "kv.put", key: "after", value: 2 });
    expect(await remote.ask({ type: "kv.get", key: "after" })).toBe(2);
    // The actor kept its state: it lives on node b, which only lost its connection.
    expect(await remote.ask({ type: "kv.get", key: "before" })).toBe(1);
    expect(a.undelivered).toEqual([]);
  });

  it("fails fast with UnavailableError once reconnecting is given up", async () => {
    server ??= await startNatsServer({ jetstream: false });
    if (!server.running) await server.restart();
    const a = await startNode(server.url, "node-a", { connection: { reconnect: false } });
    const closed = new Promise<void>((resolve) => a.transport.onStatus((e) => e.type === "close" && resolve()));
    await server.kill();
    await closed;
    const r = await settle(a.system.ref<KvMsg>("kv/1").ask({ type: "kv.size" }));
    expect(!r.ok && r.error).toBeInstanceOf(UnavailableError);
    expect(() => a.system.ref<KvMsg>("kv/1").tell({ type: "kv.put", key: "k", value: 1 })).toThrow(UnavailableError);
  });
});
