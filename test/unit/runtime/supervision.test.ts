import { afterEach, describe, expect, it } from "vitest";
import { InternalError, UnavailableError, type NeuroGraphError } from "../../../src/core/errors.ts";
import {
  Actor,
  ActorSystem,
  ManualClock,
  backoffDelay,
  type ActorAddress,
  type ActorContext,
  type ActorRef,
  type Ask,
} from "../../../src/runtime/index.ts";
import { Gate, RecorderActor, flush, settle, type RecorderMsg } from "./helpers.ts";

const systems: ActorSystem[] = [];
afterEach(async () => {
  for (const s of systems.splice(0)) await s.shutdown({ force: true });
});

interface Fatal {
  error: NeuroGraphError;
  address: ActorAddress;
}

function setup(supervision = {}) {
  const clock = new ManualClock();
  const fatal: Fatal[] = [];
  const restarts: { attempt: number; delayMs: number }[] = [];
  const system = new ActorSystem({
    clock,
    supervision,
    onFatal: (error, address) => fatal.push({ error, address }),
    observer: { actorRestarted: (_a, _e, attempt, delayMs) => restarts.push({ attempt, delayMs }) },
  });
  systems.push(system);
  return { clock, fatal, restarts, system };
}

describe("supervision", () => {
  it("restarts a throwing actor with a fresh instance; queued messages survive and run in order; the caller gets the error", async () => {
    const { clock, system, restarts } = setup();
    const log: number[] = [];
    const gate = new Gate();
    let starts = 0;
    const ref = system.spawn("rec/r", () => new RecorderActor(log, gate, () => starts++));
    const first = ref.ask({ type: "rec.block", n: 1 });
    await flush();
    const failing = settle(ref.ask({ type: "rec.fail", n: 2 }));
    ref.tell({ type: "rec.note", n: 3 });
    const fourth = ref.ask({ type: "rec.echo", n: 4 });
    gate.open();
    expect(await first).toBe(1);
    const failed = await failing;
    expect(failed.ok).toBe(false);
    const err = !failed.ok ? failed.error : undefined;
    expect(err).toBeInstanceOf(InternalError);
    expect((err as Error).message).toContain("boom 2");
    expect((err as Error).cause).toBeInstanceOf(Error);
    await flush();
    expect(starts).toBe(1); // waiting for the back-off
    expect(restarts).toEqual([{ attempt: 1, delayMs: 50 }]);
    clock.advance(50);
    expect(await fourth).toBe(4);
    expect(starts).toBe(2); // a new instance ran preStart again
    expect(await ref.ask({ type: "rec.seen" })).toEqual([1, 3, 4]);
  });

  it("restarts an actor whose async receive rejects", async () => {
    type M = Ask<{ type: "x"; fail: boolean }, string>;
    let instances = 0;
    class AsyncFailer extends Actor<M> {
      readonly id = ++instances;
      async receive(m: M): Promise<string> {
        await Promise.resolve();
        if (m.fail) throw new Error("async boom");
        return `instance ${this.id}`;
      }
    }
    const { clock, system } = setup();
    const ref = system.spawn("af/1", () => new AsyncFailer());
    const bad = await settle(ref.ask({ type: "x", fail: true }));
    expect(!bad.ok && bad.error).toBeInstanceOf(InternalError);
    const next = ref.ask({ type: "x", fail: false });
    await flush();
    clock.advance(50);
    expect(await next).toBe("instance 2");
  });

  it("backs off exponentially up to the maximum", async () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, { initialMs: 100, maxMs: 1000, factor: 3 }))).toEqual([100, 300, 900, 1000, 1000]);
    const { clock, system, restarts } = setup({ backoff: { initialMs: 10, maxMs: 30, factor: 2 } });
    const ref = system.spawn("rec/b", () => new RecorderActor([], new Gate()));
    for (let i = 0; i < 4; i++) {
      await settle(ref.ask({ type: "rec.fail", n: i }));
      await flush();
      clock.advance(30);
      await flush();
    }
    expect(restarts.map((r) => r.delayMs)).toEqual([10, 20, 30, 30]);
    expect(restarts.map((r) => r.attempt)).toEqual([1, 2, 3, 4]);
  });

  it("stops the actor and escalates to the system after N restarts within the window", async () => {
    const { clock, system, fatal } = setup({ maxRestarts: 2, windowMs: 10_000 });
    const ref = system.spawn("rec/limit", () => new RecorderActor([], new Gate()));
    for (let i = 0; i < 2; i++) {
      await settle(ref.ask({ type: "rec.fail", n: i }));
      await flush();
      clock.advance(1_000);
      await flush();
    }
    expect(fatal).toHaveLength(0);
    const last = await settle(ref.ask({ type: "rec.fail", n: 9 }));
    expect(!last.ok && last.error).toBeInstanceOf(InternalError);
    await flush();
    expect(fatal).toHaveLength(1);
    expect(fatal[0]?.address).toEqual({ kind: "rec", key: "limit" });
    expect(fatal[0]?.error.message).toContain("rec/limit");
    expect(fatal[0]?.error.message).toContain("boom 9");
    expect(() => ref.tell({ type: "rec.note", n: 1 })).toThrow(UnavailableError);
    expect(system.lookup("rec/limit")).toBeUndefined();
  });

  it("forgets restarts that fall out of the window", async () => {
    const { clock, system, fatal } = setup({ maxRestarts: 1, windowMs: 1_000 });
    const ref = system.spawn("rec/window", () => new RecorderActor([], new Gate()));
    for (let i = 0; i < 3; i++) {
      await settle(ref.ask({ type: "rec.fail", n: i }));
      await flush();
      clock.advance(2_000); // past the back-off and past the window
      await flush();
    }
    expect(fatal).toHaveLength(0);
    expect(await ref.ask({ type: "rec.echo", n: 7 })).toBe(7);
  });

  it("escalates a child's exhausted restarts to its parent, which restarts with new children", async () => {
    const { clock, system, fatal } = setup();
    let parents = 0;
    let children = 0;
    type ParentMsg = Ask<{ type: "child" }, ActorRef<RecorderMsg>>;
    class ParentActor extends Actor<ParentMsg> {
      private child: ActorRef<RecorderMsg> | undefined;
      override preStart(ctx: ActorContext<ParentMsg>): void {
        parents++;
        this.child = ctx.spawn("rec/child", () => new RecorderActor([], new Gate(), () => children++), {
          supervision: { maxRestarts: 0 },
        });
      }
      receive(): ActorRef<RecorderMsg> {
        return this.child as ActorRef<RecorderMsg>;
      }
    }
    const parent = system.spawn("parent/1", () => new ParentActor());
    const child = await parent.ask({ type: "child" });
    const failed = await settle(child.ask({ type: "rec.fail", n: 1 }));
    expect(failed.ok).toBe(false);
    await flush();
    clock.advance(50); // the parent's own restart back-off
    await flush();
    expect(parents).toBe(2);
    expect(children).toBe(2);
    expect(fatal).toHaveLength(0);
    const newChild = await parent.ask({ type: "child" });
    expect(await newChild.ask({ type: "rec.echo", n: 5 })).toBe(5);
  });

  it("supervises a failing preStart like a failing message", async () => {
    const { clock, system } = setup();
    let attempts = 0;
    class FlakyStart extends Actor<Ask<{ type: "ping" }, string>> {
      override preStart(): void {
        attempts++;
        if (attempts === 1) throw new Error("cannot open log");
      }
      receive(): string {
        return "pong";
      }
    }
    const ref = system.spawn("flaky/1", () => new FlakyStart());
    const reply = ref.ask({ type: "ping" });
    await flush();
    clock.advance(50);
    await system.started(ref);
    expect(await reply).toBe("pong");
    expect(attempts).toBe(2);
  });

  it("follows a custom decider: stop", async () => {
    const { system } = setup({ decide: () => "stop" as const });
    const ref = system.spawn("rec/stop", () => new RecorderActor([], new Gate()));
    await settle(ref.ask({ type: "rec.fail", n: 1 }));
    await flush();
    expect(system.lookup("rec/stop")).toBeUndefined();
  });
});
