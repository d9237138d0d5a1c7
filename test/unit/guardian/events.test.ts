import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CancelledError, ValidationError } from "../../../src/core/errors.ts";
import { EventHub, countRules, type GuardianEvent, type GuardianEventBody } from "../../../src/actors/guardian/index.ts";

const cap = (n: number): GuardianEventBody => ({ kind: "mutation_cap", cap: n, intervalMs: 1000, windowStartMs: 0, rejected: 1 });
const capOf = (e: GuardianEvent): number => (e.kind === "mutation_cap" ? e.cap : -1);

describe("EventHub", () => {
  it("delivers every event to every subscriber in order, with increasing seq and the hub's time", () => {
    let now = 5;
    const hub = new EventHub({}, () => now);
    const a = hub.subscribe();
    const b = hub.subscribe();
    for (let i = 0; i < 5; i++) {
      now += 10;
      hub.publish(cap(i));
    }
    const ea = a.poll();
    const eb = b.poll();
    expect(ea.map(capOf)).toEqual([0, 1, 2, 3, 4]);
    expect(eb.map(capOf)).toEqual([0, 1, 2, 3, 4]);
    expect(ea.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(ea.map((e) => e.timeMs)).toEqual([15, 25, 35, 45, 55]);
    expect(a.poll()).toEqual([]);
  });

  it("a slow subscriber keeps the newest events, then reads one dropped marker with the count; a fast one loses nothing", () => {
    const hub = new EventHub();
    const slow = hub.subscribe({ capacity: 4 });
    const fast = hub.subscribe({ capacity: 1000 });
    const seenFast: number[] = [];
    for (let i = 0; i < 100; i++) {
      hub.publish(cap(i));
      seenFast.push(...fast.poll().map(capOf));
    }
    expect(seenFast).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(slow.pending).toBe(5);
    const got = slow.poll();
    expect(got[0]).toMatchObject({ kind: "dropped", count: 96, seq: 96 });
    expect(got.slice(1).map(capOf)).toEqual([96, 97, 98, 99]);
    expect(slow.dropped).toBe(96);
    expect(hub.stats()).toEqual({ published: 100, subscribers: 2, dropped: 96 });
  });

  it("publishing never blocks: a flood into a never-read subscriber keeps its memory bounded", () => {
    const hub = new EventHub();
    const sub = hub.subscribe({ capacity: 8 });
    for (let i = 0; i < 100_000; i++) hub.publish(cap(i));
    expect(sub.pending).toBe(9);
    expect(sub.dropped).toBe(100_000 - 8);
  });

  it("property: a subscriber reads the last `capacity` events in order, preceded by one marker counting the rest", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 60 }), (capacity, n) => {
        const hub = new EventHub();
        const sub = hub.subscribe({ capacity });
        for (let i = 0; i < n; i++) hub.publish(cap(i));
        const got = sub.poll();
        const kept = Math.min(n, capacity);
        const lost = n - kept;
        const events = lost > 0 ? got.slice(1) : got;
        if (lost > 0) expect(got[0]).toMatchObject({ kind: "dropped", count: lost });
        expect(events.map(capOf)).toEqual(Array.from({ length: kept }, (_, i) => lost + i));
      }),
    );
  });

  it("filters by kind but always delivers dropped markers", () => {
    const hub = new EventHub();
    const sub = hub.subscribe({ capacity: 2, kinds: ["quota"] });
    hub.publish(cap(1));
    for (let i = 0; i < 3; i++) hub.publish({ kind: "quota", quota: "tokens", level: "soft", usage: i, limit: 10 });
    const got = sub.poll();
    expect(got.map((e) => e.kind)).toEqual(["dropped", "quota", "quota"]);
  });

  it("next() waits for the next event, rejects on abort and on close", async () => {
    const hub = new EventHub();
    const sub = hub.subscribe();
    const waiting = sub.next();
    hub.publish(cap(7));
    expect(capOf(await waiting)).toBe(7);

    const ac = new AbortController();
    const aborted = sub.next(ac.signal);
    ac.abort(new CancelledError("client went away"));
    await expect(aborted).rejects.toThrow("client went away");

    const closed = sub.next();
    sub.close();
    await expect(closed).rejects.toBeInstanceOf(CancelledError);
    expect(hub.stats().subscribers).toBe(0);
    hub.publish(cap(8));
    expect(sub.poll()).toEqual([]);
  });

  it("async iteration ends when the signal aborts and then unsubscribes", async () => {
    const hub = new EventHub();
    const sub = hub.subscribe();
    const ac = new AbortController();
    const seen: number[] = [];
    const done = (async () => {
      for await (const e of sub.events(ac.signal)) {
        seen.push(capOf(e));
        if (seen.length === 3) ac.abort();
      }
    })();
    for (let i = 0; i < 5; i++) {
      hub.publish(cap(i));
      await Promise.resolve();
    }
    await done;
    expect(seen).toEqual([0, 1, 2]);
    expect(sub.isClosed).toBe(true);
    expect(hub.stats().subscribers).toBe(0);
  });

  it("rejects bad capacities with a ValidationError", () => {
    const hub = new EventHub();
    expect(() => hub.subscribe({ capacity: 0 })).toThrow(ValidationError);
    expect(() => hub.subscribe({ capacity: 1.5 })).toThrow(ValidationError);
  });

  it("countRules aggregates violations by rule, most frequent first", () => {
    const v = (rule: string): { field: string; rule: string; description: string } => ({ field: "f", rule, description: "" });
    expect(countRules([v("b"), v("a"), v("b"), v("c"), v("a"), v("b")])).toEqual([
      { rule: "b", count: 3 },
      { rule: "a", count: 2 },
      { rule: "c", count: 1 },
    ]);
  });
});
