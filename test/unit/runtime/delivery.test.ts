import { afterEach, describe, expect, it } from "vitest";
import { DeadlineExceededError, FailedPreconditionError, NeuroGraphError, OverloadedError, ValidationError } from "../../../src/core/errors.ts";
import {
  Actor,
  ActorSystem,
  ManualClock,
  ask,
  combineObservers,
  noopObserver,
  type ActorContext,
  type ActorSystemObserver,
  type Ask,
  type Headers,
} from "../../../src/runtime/index.ts";
import { Gate, RecorderActor, flush, settle } from "./helpers.ts";

const systems: ActorSystem[] = [];
function newSystem(options: ConstructorParameters<typeof ActorSystem>[0] = {}): ActorSystem {
  const s = new ActorSystem({ onFatal: () => undefined, ...options });
  systems.push(s);
  return s;
}
afterEach(async () => {
  for (const s of systems.splice(0)) await s.shutdown({ force: true });
});

type CounterMsg = { type: "add"; by: number } | Ask<{ type: "get" }, number> | Ask<{ type: "label" }, string>;

class CounterActor extends Actor<CounterMsg> {
  private n = 0;
  receive(m: CounterMsg): number | string | void {
    switch (m.type) {
      case "add":
        this.n += m.by;
        return;
      case "get":
        return this.n;
      case "label":
        return `n=${this.n}`;
    }
  }
}

describe("tell and ask", () => {
  it("delivers tells in order and answers asks with typed replies", async () => {
    const system = newSystem();
    const counter = system.spawn("counter/1", () => new CounterActor());
    for (let i = 1; i <= 100; i++) counter.tell({ type: "add", by: i });
    const n: number = await counter.ask({ type: "get" });
    const label: string = await ask(counter, { type: "label" });
    expect(n).toBe(5050);
    expect(label).toBe("n=5050");
  });

  it("refuses a full mailbox with OverloadedError naming the actor and capacity, and drops nothing it accepted", async () => {
    const system = newSystem();
    const log: number[] = [];
    const gate = new Gate();
    const ref = system.spawn("rec/full", () => new RecorderActor(log, gate), { mailboxCapacity: 4 });
    await system.started(ref);
    const first = ref.ask({ type: "rec.block", n: 0 });
    await flush(); // message 0 is being processed; the mailbox is empty again
    const accepted: number[] = [0];
    const refused: unknown[] = [];
    for (let n = 1; n <= 10; n++) {
      try {
        ref.tell({ type: "rec.note", n });
        accepted.push(n);
      } catch (err) {
        refused.push(err);
      }
    }
    const askRefused = await settle(ref.ask({ type: "rec.echo", n: 99 }));
    expect(accepted).toEqual([0, 1, 2, 3, 4]);
    expect(refused).toHaveLength(6);
    for (const err of refused) {
      expect(err).toBeInstanceOf(OverloadedError);
      expect((err as Error).message).toContain("rec/full");
      expect((err as Error).message).toContain("capacity 4");
    }
    expect(askRefused.ok).toBe(false);
    expect(!askRefused.ok && askRefused.error).toBeInstanceOf(OverloadedError);
    gate.open();
    await first;
    expect(await ref.ask({ type: "rec.seen" })).toEqual(accepted);
  });

  it("processes 1 000 concurrent asks strictly one at a time, in FIFO order", async () => {
    type SlowMsg = Ask<{ type: "slow"; i: number }, number>;
    const order: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    class SlowActor extends Actor<SlowMsg> {
      async receive(m: SlowMsg): Promise<number> {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        order.push(m.i);
        await new Promise<void>((r) => setImmediate(r));
        await Promise.resolve();
        inFlight--;
        return m.i * 2;
      }
    }
    const system = newSystem();
    const ref = system.spawn("slow/1", () => new SlowActor(), { mailboxCapacity: 2000 });
    const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => ref.ask({ type: "slow", i })));
    expect(maxInFlight).toBe(1);
    expect(order).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(replies).toEqual(Array.from({ length: 1000 }, (_, i) => i * 2));
  });

  it("rejects an ask whose deadline passes with DeadlineExceededError naming the address, and skips it when its turn comes", async () => {
    const clock = new ManualClock();
    const skipped: string[] = [];
    const timedOut: string[] = [];
    const observer: ActorSystemObserver = {
      expiredSkipped: (a, t) => skipped.push(`${a.kind}/${a.key}:${t}`),
      askTimedOut: (a, t) => timedOut.push(`${a.kind}/${a.key}:${t}`),
    };
    const system = newSystem({ clock, observer });
    const log: number[] = [];
    const gate = new Gate();
    const ref = system.spawn("rec/dl", () => new RecorderActor(log, gate));
    const blocker = ref.ask({ type: "rec.block", n: 1 }, { timeoutMs: 1_000 });
    await flush();
    const late = settle(ref.ask({ type: "rec.echo", n: 2 }, { timeoutMs: 100 }));
    clock.advance(100);
    const r = await late;
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toBeInstanceOf(DeadlineExceededError);
    expect(!r.ok && (r.error as Error).message).toContain("rec/dl");
    expect(timedOut).toEqual(["rec/dl:rec.echo"]);
    // The blocker's reply also comes after its own deadline: it is discarded, the ask rejects.
    clock.advance(900);
    const blocked = await settle(blocker);
    expect(!blocked.ok && blocked.error).toBeInstanceOf(DeadlineExceededError);
    gate.open();
    await flush();
    expect(await ref.ask({ type: "rec.seen" })).toEqual([1]); // message 2 was never processed
    expect(skipped).toEqual(["rec/dl:rec.echo"]);
  });

  it("skips an expired ask without a caller-side timer (deadline given as an absolute time)", async () => {
    const clock = new ManualClock();
    const system = newSystem({ clock });
    const log: number[] = [];
    const gate = new Gate();
    const ref = system.spawn("rec/abs", () => new RecorderActor(log, gate));
    void ref.ask({ type: "rec.block", n: 1 }, { timeoutMs: Infinity });
    await flush();
    const expiring = settle(ref.ask({ type: "rec.echo", n: 2 }, { deadline: clock.now() + 50 }));
    ref.tell({ type: "rec.note", n: 3 }, { deadline: clock.now() + 50 });
    clock.advance(60);
    gate.open();
    const r = await expiring;
    expect(!r.ok && r.error).toBeInstanceOf(DeadlineExceededError);
    expect(await ref.ask({ type: "rec.seen" })).toEqual([1]);
  });

  it("answers a failing message with its error as a NeuroGraphError and keeps request errors as they are", async () => {
    type V = Ask<{ type: "v"; ok: boolean }, string>;
    let instances = 0;
    class Validating extends Actor<V> {
      constructor() {
        super();
        instances++;
      }
      receive(m: V): string {
        if (!m.ok) throw ValidationError.of("request", [{ field: "ok", rule: "must_be_true", description: "ok must be true" }]);
        return "fine";
      }
    }
    const system = newSystem();
    const ref = system.spawn("val/1", () => new Validating());
    const bad = await settle(ref.ask({ type: "v", ok: false }));
    expect(!bad.ok && bad.error).toBeInstanceOf(ValidationError);
    expect(await ref.ask({ type: "v", ok: true })).toBe("fine");
    expect(instances).toBe(1); // a request error does not restart the actor
  });

  it("passes headers to ctx.headers, lets the observer replace them, and propagates them and the deadline on ctx.ask", async () => {
    type Inner = Ask<{ type: "inner" }, { headers: Headers; deadline: number }>;
    type Outer = Ask<{ type: "outer" }, { headers: Headers; deadline: number }>;
    class InnerActor extends Actor<Inner> {
      receive(_m: Inner, ctx: ActorContext<Inner>) {
        return { headers: ctx.headers, deadline: ctx.deadline };
      }
    }
    const clock = new ManualClock();
    const processed: string[] = [];
    const observer: ActorSystemObserver = {
      beforeReceive: (e) => (e.typeName === "outer" ? { ...e.headers, span: "outer-span" } : undefined),
      messageProcessed: (e, _ms, err) => processed.push(`${e.typeName}:${err === undefined ? "ok" : err.code}`),
    };
    const system = newSystem({ clock, observer });
    const inner = system.spawn("inner/1", () => new InnerActor());
    class OuterActor extends Actor<Outer> {
      receive(_m: Outer, ctx: ActorContext<Outer>) {
        return ctx.ask(inner, { type: "inner" });
      }
    }
    const outer = system.spawn("outer/1", () => new OuterActor());
    const deadline = clock.now() + 5_000;
    const seen = await outer.ask({ type: "outer" }, { deadline, headers: { traceparent: "00-abc-def-01" } });
    expect(seen.headers).toEqual({ traceparent: "00-abc-def-01", span: "outer-span" });
    expect(seen.deadline).toBe(deadline);
    expect(processed).toEqual(["inner:ok", "outer:ok"]);
  });

  it("reports mailbox depth and overload to the observer", async () => {
    const depths: number[] = [];
    let overloads = 0;
    const system = newSystem({
      observer: { mailboxDepth: (_a, d) => depths.push(d), overloadRejected: () => overloads++ },
    });
    const gate = new Gate();
    const ref = system.spawn("rec/obs", () => new RecorderActor([], gate), { mailboxCapacity: 2 });
    await system.started(ref);
    for (let n = 0; n < 3; n++) {
      try {
        ref.tell({ type: "rec.note", n });
      } catch (err) {
        expect(err).toBeInstanceOf(NeuroGraphError);
      }
    }
    expect(depths).toEqual([1, 2]);
    expect(overloads).toBe(1);
    expect([...system.mailboxes()]).toEqual([{ address: ref.address, depth: 2, capacity: 2 }]);
  });

  it("refuses an ask an actor makes to itself during a turn instead of deadlocking", async () => {
    type M = Ask<{ type: "self" }, string> | Ask<{ type: "other" }, string>;
    class SelfAsker extends Actor<M> {
      async receive(m: M, ctx: ActorContext<M>): Promise<string> {
        if (m.type === "other") return "other";
        try {
          return await ctx.ask(ctx.self, { type: "other" });
        } catch (err) {
          return err instanceof FailedPreconditionError ? "refused" : "unexpected";
        }
      }
    }
    const system = newSystem();
    expect(await system.spawn("self/1", () => new SelfAsker()).ask({ type: "self" })).toBe("refused");
  });

  it("yields to the event loop after `throughput` messages, also for async receives that never wait", async () => {
    type M = { type: "n" };
    let processed = 0;
    class Eager extends Actor<M> {
      // eslint-disable-next-line @typescript-eslint/require-await
      async receive(): Promise<void> {
        processed++;
      }
    }
    const system = newSystem();
    const ref = system.spawn("eager/1", () => new Eager(), { mailboxCapacity: 10_000, throughput: 64 });
    await system.started(ref);
    for (let i = 0; i < 10_000; i++) ref.tell({ type: "n" });
    const seenByIo = await new Promise<number>((resolve) => setImmediate(() => resolve(processed)));
    expect(seenByIo).toBe(64);
    await system.whenIdle();
    expect(processed).toBe(10_000);
  });

  it("combines observers: every hook reaches each, beforeReceive headers chain", async () => {
    const a: string[] = [];
    const b: string[] = [];
    const observer = combineObservers(
      noopObserver,
      { actorStarted: (addr) => a.push(`start ${addr.key}`), beforeReceive: (e) => ({ ...e.headers, a: "1" }) },
      {
        actorStarted: (addr) => b.push(`start ${addr.key}`),
        beforeReceive: (e) => ({ ...e.headers, b: e.headers.a ?? "missing" }),
      },
    );
    type M = Ask<{ type: "h" }, Headers>;
    class H extends Actor<M> {
      receive(_m: M, ctx: ActorContext<M>): Headers {
        return ctx.headers;
      }
    }
    const system = newSystem({ observer });
    const ref = system.spawn("h/1", () => new H());
    expect(await ref.ask({ type: "h" })).toEqual({ a: "1", b: "1" });
    expect(a).toEqual(["start 1"]);
    expect(b).toEqual(["start 1"]);
  });
});
