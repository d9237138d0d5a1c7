import { describe, expect, it } from "vitest";
import { InternalError } from "../../../src/core/errors.ts";
import { ActorSystem, ManualClock, Node, actorSystemComponent, type Component, type NodeState, type StopContext } from "../../../src/runtime/index.ts";
import { Gate, RecorderActor, flush } from "./helpers.ts";

function component(name: string, events: string[], opts: { failStart?: boolean; drainGate?: Gate } = {}): Component & { contexts: StopContext[] } {
  const contexts: StopContext[] = [];
  return {
    name,
    contexts,
    start() {
      events.push(`start ${name}`);
      if (opts.failStart === true) throw new Error(`${name} cannot start`);
    },
    async drain(ctx) {
      events.push(`drain ${name}`);
      contexts.push(ctx);
      await opts.drainGate?.wait();
    },
    stop(ctx) {
      events.push(`stop ${name}`);
      contexts.push(ctx);
    },
  };
}

describe("Node", () => {
  it("starts components in order, drains then stops them in reverse, through the documented states", async () => {
    const events: string[] = [];
    const states: NodeState[] = [];
    const node = new Node({ clock: new ManualClock(), log: () => undefined });
    node.onStateChange((s) => states.push(s));
    node.add(component("store", events)).add(component("actors", events)).add(component("grpc", events));
    await node.start();
    expect(node.state).toBe("running");
    const first = node.stop();
    expect(node.stop()).toBe(first);
    const result = await first;
    expect(result).toEqual({ clean: true, forced: false, errors: [] });
    expect(events).toEqual([
      "start store",
      "start actors",
      "start grpc",
      "drain grpc",
      "drain actors",
      "drain store",
      "stop grpc",
      "stop actors",
      "stop store",
    ]);
    expect(states).toEqual(["starting", "running", "draining", "stopping", "stopped"]);
  });

  it("stops what already started, in reverse, when a component fails to start", async () => {
    const events: string[] = [];
    const node = new Node({ clock: new ManualClock(), log: () => undefined });
    node.add(component("a", events)).add(component("b", events)).add(component("c", events, { failStart: true })).add(component("d", events));
    await expect(node.start()).rejects.toThrow(InternalError);
    expect(node.state).toBe("failed");
    expect(events).toEqual(["start a", "start b", "start c", "drain b", "drain a", "stop b", "stop a"]);
  });

  it("forces the remaining steps when draining exceeds the shutdown timeout", async () => {
    const clock = new ManualClock();
    const events: string[] = [];
    const node = new Node({ clock, shutdownTimeoutMs: 5_000, log: () => undefined });
    const slow = component("slow", events, { drainGate: new Gate() });
    const other = component("other", events);
    node.add(other).add(slow);
    await node.start();
    const stopping = node.stop();
    await flush();
    clock.advance(5_000);
    const result = await stopping;
    expect(result.forced).toBe(true);
    expect(result.clean).toBe(false);
    expect(events).toEqual(["start other", "start slow", "drain slow", "stop slow", "stop other"]);
    expect(slow.contexts.map((c) => c.force)).toEqual([false, true]);
    expect(other.contexts.map((c) => c.force)).toEqual([true]);
  });

  it("a forced stop during a graceful one stops waiting for drains", async () => {
    const events: string[] = [];
    const node = new Node({ clock: new ManualClock(), shutdownTimeoutMs: 60_000, log: () => undefined });
    node.add(component("stuck", events, { drainGate: new Gate() }));
    await node.start();
    const graceful = node.stop();
    await flush();
    const forced = await node.stop({ force: true });
    expect(await graceful).toBe(forced);
    expect(forced.forced).toBe(true);
    expect(events).toEqual(["start stuck", "drain stuck", "stop stuck"]);
  });

  it("drains the actor system's mailboxes before stopping its actors", async () => {
    const system = new ActorSystem({ onFatal: () => undefined });
    const log: number[] = [];
    const gate = new Gate();
    const ref = system.spawn("rec/n", () => new RecorderActor(log, gate));
    void ref.ask({ type: "rec.block", n: 0 });
    for (let n = 1; n <= 50; n++) ref.tell({ type: "rec.note", n });
    const node = new Node({ log: () => undefined, shutdownTimeoutMs: 60_000 });
    node.add(actorSystemComponent(system));
    await node.start();
    const stopping = node.stop();
    await flush();
    expect(node.state).toBe("draining");
    gate.open();
    expect((await stopping).clean).toBe(true);
    expect(log).toHaveLength(51);
    expect(system.actorCount).toBe(0);
  });
});
