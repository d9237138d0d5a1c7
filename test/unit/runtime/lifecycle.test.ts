import { afterEach, describe, expect, it } from "vitest";
import { AlreadyExistsError, DeadlineExceededError, UnavailableError } from "../../../src/core/errors.ts";
import { Actor, ActorSystem, ManualClock, REPLY_DEFERRED, type ActorContext, type Ask, type Outcome, type ReplyDeferred } from "../../../src/runtime/index.ts";
import { Gate, RecorderActor, flush, settle } from "./helpers.ts";

const systems: ActorSystem[] = [];
function newSystem(clock = new ManualClock()): ActorSystem {
  const s = new ActorSystem({ clock, onFatal: () => undefined });
  systems.push(s);
  return s;
}
afterEach(async () => {
  for (const s of systems.splice(0)) await s.shutdown({ force: true });
});

describe("stopping", () => {
  it("finishes the current turn, rejects queued asks with UnavailableError, refuses new messages, runs postStop once", async () => {
    const system = newSystem();
    const log: number[] = [];
    const gate = new Gate();
    let postStops = 0;
    class Stoppable extends RecorderActor {
      override postStop(): void {
        postStops++;
      }
    }
    const ref = system.spawn("rec/s", () => new Stoppable(log, gate));
    const inFlight = ref.ask({ type: "rec.block", n: 1 });
    await flush();
    const queued = settle(ref.ask({ type: "rec.echo", n: 2 }));
    const stopped = system.stop(ref);
    expect(() => ref.tell({ type: "rec.note", n: 3 })).toThrow(UnavailableError);
    const refused = await settle(ref.ask({ type: "rec.echo", n: 4 }));
    expect(!refused.ok && refused.error).toBeInstanceOf(UnavailableError);
    gate.open();
    expect(await inFlight).toBe(1);
    await stopped;
    const q = await queued;
    expect(!q.ok && q.error).toBeInstanceOf(UnavailableError);
    expect(!q.ok && (q.error as Error).message).toContain("rec/s");
    expect(log).toEqual([1]);
    expect(postStops).toBe(1);
    await system.stop(ref);
    expect(postStops).toBe(1);
  });

  it("force-stop fails the in-flight ask with UnavailableError (may have completed), never CancelledError", async () => {
    const system = newSystem();
    const ref = system.spawn("rec/f", () => new RecorderActor([], new Gate()));
    const inFlight = settle(ref.ask({ type: "rec.block", n: 1 }));
    await flush();
    await system.stop(ref, { force: true });
    const r = await inFlight;
    expect(!r.ok && r.error).toBeInstanceOf(UnavailableError);
    expect(!r.ok && (r.error as Error).message).toMatch(/may or may not have completed/);
  });

  it("drain-stop processes what is queued, refuses new messages, then stops", async () => {
    const system = newSystem();
    const log: number[] = [];
    const gate = new Gate();
    const ref = system.spawn("rec/d", () => new RecorderActor(log, gate));
    void ref.ask({ type: "rec.block", n: 1 });
    await flush();
    for (let n = 2; n <= 5; n++) ref.tell({ type: "rec.note", n });
    const stopped = system.stop(ref, { drain: true });
    expect(() => ref.tell({ type: "rec.note", n: 6 })).toThrow(UnavailableError);
    gate.open();
    await stopped;
    expect(log).toEqual([1, 2, 3, 4, 5]);
  });

  it("stops children (newest first) before the parent's postStop, and the parent can stop one child", async () => {
    const system = newSystem();
    const events: string[] = [];
    class Leaf extends Actor<{ type: "noop" }> {
      constructor(private readonly name: string) {
        super();
      }
      receive(): void {}
      override postStop(): void {
        events.push(`stop ${this.name}`);
      }
    }
    type TreeMsg = Ask<{ type: "count" }, number> | { type: "drop-a" };
    class Tree extends Actor<TreeMsg> {
      override preStart(ctx: ActorContext<TreeMsg>): void {
        ctx.spawn("leaf/a", () => new Leaf("a"));
        ctx.spawn("leaf/b", () => new Leaf("b"));
        ctx.spawn("leaf/c", () => new Leaf("c"));
      }
      async receive(m: TreeMsg, ctx: ActorContext<TreeMsg>): Promise<number | void> {
        if (m.type === "count") return ctx.children().length;
        const a = ctx.children().find((c) => c.path === "leaf/a");
        if (a !== undefined) await ctx.stop(a);
      }
      override postStop(): void {
        events.push("stop tree");
      }
    }
    const tree = system.spawn("tree/1", () => new Tree());
    expect(await tree.ask({ type: "count" })).toBe(3);
    tree.tell({ type: "drop-a" });
    expect(await tree.ask({ type: "count" })).toBe(2);
    await system.stop(tree);
    expect(events).toEqual(["stop a", "stop c", "stop b", "stop tree"]);
    expect(system.actorCount).toBe(0);
  });

  it("refuses a second actor at the same address and spawning during shutdown", async () => {
    const system = newSystem();
    system.spawn("rec/x", () => new RecorderActor([], new Gate()));
    expect(() => system.spawn("rec/x", () => new RecorderActor([], new Gate()))).toThrow(AlreadyExistsError);
    await system.shutdown();
    expect(() => system.spawn("rec/y", () => new RecorderActor([], new Gate()))).toThrow(UnavailableError);
  });

  it("shutdown drains every mailbox before stopping actors", async () => {
    const system = newSystem();
    const log: number[] = [];
    const gate = new Gate();
    const ref = system.spawn("rec/sd", () => new RecorderActor(log, gate));
    void ref.ask({ type: "rec.block", n: 0 });
    for (let n = 1; n <= 20; n++) ref.tell({ type: "rec.note", n });
    const done = system.shutdown({ timeoutMs: 60_000 });
    await flush();
    gate.open();
    expect(await done).toEqual({ drained: true, undrained: 0 });
    expect(log).toHaveLength(21);
  });

  it("shutdown gives up draining after its timeout and fails what is left with UnavailableError", async () => {
    const clock = new ManualClock();
    const system = newSystem(clock);
    const ref = system.spawn("rec/stuck", () => new RecorderActor([], new Gate()));
    const stuck = settle(ref.ask({ type: "rec.block", n: 0 }, { timeoutMs: Infinity }));
    const queued = settle(ref.ask({ type: "rec.echo", n: 1 }, { timeoutMs: Infinity }));
    await flush();
    const done = system.shutdown({ timeoutMs: 1_000 });
    clock.advance(1_000);
    expect(await done).toEqual({ drained: false, undrained: 1 });
    const s = await stuck;
    const q = await queued;
    expect(!s.ok && s.error).toBeInstanceOf(UnavailableError);
    expect(!q.ok && q.error).toBeInstanceOf(UnavailableError);
  });
});

describe("timers", () => {
  type TickMsg = { type: "tick"; name: string } | Ask<{ type: "ticks" }, readonly string[]> | { type: "cancel"; key: string };

  class Ticker extends Actor<TickMsg> {
    readonly ticks: string[] = [];
    constructor(private readonly shared: string[]) {
      super();
    }
    override preStart(ctx: ActorContext<TickMsg>): void {
      ctx.timers.startSingle("once", { type: "tick", name: "once" }, 100);
      ctx.timers.startPeriodic("every", { type: "tick", name: "every" }, 30);
    }
    receive(m: TickMsg, ctx: ActorContext<TickMsg>): readonly string[] | void {
      if (m.type === "tick") this.shared.push(m.name);
      else if (m.type === "cancel") ctx.timers.cancel(m.key);
      else return [...this.shared];
    }
  }

  it("delivers single and periodic ticks through the mailbox and stops on cancel", async () => {
    const clock = new ManualClock();
    const system = newSystem(clock);
    const shared: string[] = [];
    const ref = system.spawn("ticker/1", () => new Ticker(shared));
    await system.started(ref);
    for (let i = 0; i < 4; i++) {
      clock.advance(30);
      await flush();
    }
    expect(shared).toEqual(["every", "every", "every", "once", "every"]);
    ref.tell({ type: "cancel", key: "every" });
    await flush();
    clock.advance(300);
    await flush();
    expect(shared).toEqual(["every", "every", "every", "once", "every"]);
  });

  it("keeps at most one tick of a timer queued while the actor is busy, even in a full mailbox", async () => {
    type M = { type: "tick" } | Ask<{ type: "block" }, number>;
    const gate = new Gate();
    let ticks = 0;
    class Busy extends Actor<M> {
      override preStart(ctx: ActorContext<M>): void {
        ctx.timers.startPeriodic("t", { type: "tick" }, 10);
      }
      receive(m: M): void | Promise<number> {
        if (m.type === "tick") ticks++;
        else return gate.wait().then(() => 1);
      }
    }
    const clock = new ManualClock();
    const system = newSystem(clock);
    const ref = system.spawn("busy/1", () => new Busy(), { mailboxCapacity: 1 });
    await system.started(ref);
    void ref.ask({ type: "block" });
    await flush();
    for (let i = 0; i < 10; i++) clock.advance(10);
    gate.open();
    await flush();
    expect(ticks).toBe(1);
  });

  it("cancels timers on restart (the new instance starts its own)", async () => {
    type M = { type: "tick" } | { type: "fail" } | Ask<{ type: "count" }, number>;
    let ticks = 0;
    let instances = 0;
    class Restarting extends Actor<M> {
      override preStart(ctx: ActorContext<M>): void {
        instances++;
        if (instances === 1) ctx.timers.startPeriodic("t", { type: "tick" }, 10);
      }
      receive(m: M): number | void {
        if (m.type === "tick") ticks++;
        else if (m.type === "fail") throw new Error("fail");
        else return ticks;
      }
    }
    const clock = new ManualClock();
    const system = newSystem(clock);
    const ref = system.spawn("rt/1", () => new Restarting());
    await system.started(ref);
    clock.advance(10);
    await flush();
    ref.tell({ type: "fail" });
    await flush();
    clock.advance(50);
    await flush();
    clock.advance(100);
    await flush();
    expect(instances).toBe(2);
    expect(await ref.ask({ type: "count" })).toBe(1);
  });
});

describe("deferred replies and pipeToSelf", () => {
  it("answers later without blocking the mailbox", async () => {
    type M =
      | Ask<{ type: "slow"; gate: Gate }, string>
      | { type: "done"; outcome: Outcome<string> }
      | Ask<{ type: "fast" }, string>;
    const order: string[] = [];
    class Deferring extends Actor<M> {
      private pending: ((v: string) => void) | undefined;
      receive(m: M, ctx: ActorContext<M>): string | void | ReplyDeferred {
        if (m.type === "slow") {
          const reply = ctx.deferReply();
          this.pending = (v) => reply.resolve(v);
          ctx.pipeToSelf(m.gate.wait().then(() => "slow result"), (outcome) => ({ type: "done", outcome }));
          return REPLY_DEFERRED;
        }
        if (m.type === "done") {
          order.push("done");
          if (m.outcome.ok) this.pending?.(m.outcome.value);
          return;
        }
        order.push("fast");
        return "fast";
      }
    }
    const system = newSystem();
    const ref = system.spawn("defer/1", () => new Deferring());
    const gate = new Gate();
    const slow = ref.ask({ type: "slow", gate });
    expect(await ref.ask({ type: "fast" })).toBe("fast");
    gate.open();
    expect(await slow).toBe("slow result");
    expect(order).toEqual(["fast", "done"]);
  });

  it("rejects a deferred reply that misses its deadline and one left open at stop", async () => {
    type M = Ask<{ type: "never" }, string>;
    class Forgetful extends Actor<M> {
      receive(_m: M, ctx: ActorContext<M>): ReplyDeferred {
        ctx.deferReply();
        return REPLY_DEFERRED;
      }
    }
    const clock = new ManualClock();
    const system = newSystem(clock);
    const ref = system.spawn("forget/1", () => new Forgetful());
    const timed = settle(ref.ask({ type: "never" }, { timeoutMs: 10 }));
    const open = settle(ref.ask({ type: "never" }, { timeoutMs: Infinity }));
    await flush();
    clock.advance(10);
    const t = await timed;
    expect(!t.ok && t.error).toBeInstanceOf(DeadlineExceededError);
    await system.stop(ref);
    const o = await open;
    expect(!o.ok && o.error).toBeInstanceOf(UnavailableError);
  });

  it("fails an ask whose receive returns REPLY_DEFERRED without deferring", async () => {
    type M = Ask<{ type: "oops" }, string>;
    class Confused extends Actor<M> {
      receive(): ReplyDeferred {
        return REPLY_DEFERRED;
      }
    }
    const system = newSystem();
    const r = await settle(system.spawn("confused/1", () => new Confused()).ask({ type: "oops" }));
    expect(!r.ok && (r.error as Error).message).toContain("without calling ctx.deferReply()");
  });
});
