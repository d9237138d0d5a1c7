/**
 * Failing fast when a shard changes hands, on a real JetStream server: `ShardLeases.watchOwners`
 * reports releases and new owners but not refreshes, and `NatsTransport.failInFlight` ends the
 * requests still waiting on the old owner with UNAVAILABLE (a request NATS was delivering as the
 * owner unsubscribed gets no reply at all), leaving later requests alone.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeadlineExceededError, UnavailableError } from "../../../src/core/errors.ts";
import { ShardLeases } from "../../../src/runtime/cluster/leases.ts";
import type { Envelope } from "../../../src/runtime/transport.ts";
import { startNatsServer, type NatsServer } from "../../support/nats-server.ts";
import { closeAll, eventually, rawClient, settle, startNode } from "../nats/support.ts";

let server: NatsServer;

beforeAll(async () => {
  server = await startNatsServer({ jetstream: true });
}, 60_000);

afterAll(async () => {
  await closeAll();
  await server?.dispose();
});

function ask(to: string, deadlineMs: number): Envelope {
  return {
    to,
    from: undefined,
    replyTo: undefined,
    correlationId: `t:${Math.random()}`,
    typeName: "kv.size",
    payload: new TextEncoder().encode(JSON.stringify({ type: "kv.size" })),
    encoded: true,
    headers: {},
    deadline: Date.now() + deadlineMs,
  };
}

describe("a shard that changes hands", () => {
  it("is reported by watchOwners on release and on a new owner, never on a refresh", async () => {
    const nc = await rawClient(server.url);
    const leases = await ShardLeases.open(nc, "mv", { leaseMs: 5_000, replicas: 1 });
    const first = await leases.acquire(3, "node-a");
    expect(first).toBeDefined();
    const changes: number[] = [];
    const stop = await leases.watchOwners((shard) => changes.push(shard));
    try {
      const refreshed = await leases.refresh(await leases.refresh(first!));
      await new Promise((r) => setTimeout(r, 300));
      expect(changes).toEqual([]); // the lease held at the start and its refreshes are no change
      await leases.release(refreshed);
      await eventually("the release is reported", () => changes.length === 1);
      const second = await leases.acquire(3, "node-b");
      expect(second!.epoch).toBeGreaterThan(first!.epoch);
      await eventually("the new owner is reported", () => changes.length === 2);
      await leases.refresh(second!);
      await new Promise((r) => setTimeout(r, 300));
      expect(changes).toEqual([3, 3]);
    } finally {
      stop();
    }
  }, 60_000);

  it("fails the requests still waiting on the old owner with UNAVAILABLE, and only those", async () => {
    const a = await startNode(server.url, "node-a");
    // An owner that took the requests and will never answer (as one lost in flight).
    const silent = await rawClient(server.url);
    silent.subscribe("ng.test.actor.kv.lost", { callback: () => undefined });
    silent.subscribe("ng.test.actor.kv.other", { callback: () => undefined });
    await silent.flush();
    const before = [settle(a.transport.request(ask("kv/lost", 30_000))), settle(a.transport.request(ask("kv/lost", 30_000)))];
    const elsewhere = settle(a.transport.request(ask("kv/other", 300)));
    await new Promise((r) => setTimeout(r, 50));
    const cut = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    const after = settle(a.transport.request(ask("kv/lost", 400)));
    expect(a.transport.failInFlight("kv/lost", cut)).toBe(2);
    for (const r of await Promise.all(before)) {
      expect(!r.ok && r.error).toBeInstanceOf(UnavailableError);
      expect(!r.ok && (r.error as Error).message).toMatch(/owner of kv\/lost changed .* no reply came \(it may or may not have been applied\); retry/);
    }
    // A request sent after the change, and one to another actor, keep their own deadlines.
    const late = await after;
    expect(!late.ok && late.error).toBeInstanceOf(DeadlineExceededError);
    const other = await elsewhere;
    expect(!other.ok && other.error).toBeInstanceOf(DeadlineExceededError);
    expect(a.transport.stats().inFlight).toBe(0);
  }, 30_000);
});
