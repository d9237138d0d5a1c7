import { setImmediate as nextTurn } from "node:timers/promises";
import { ROOT_CONTEXT, TraceFlags, propagation, trace, type Context } from "@opentelemetry/api";
import type { ReadableSpan, Span } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { SampledContextManager, needsAsyncPropagation } from "../../../src/telemetry/index.ts";

const TRACE = "0af7651916cd43dd8448eb211c80319c";

function ctxWith(flags: number, spanId = "b7ad6b7169203331"): Context {
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE, spanId, traceFlags: flags, isRemote: false });
}

/** What the tracker reads of a span: its span context. */
function fakeSpan(flags: number): Span & ReadableSpan {
  const sc = { traceId: TRACE, spanId: "b7ad6b7169203331", traceFlags: flags };
  return { spanContext: () => sc } as unknown as Span & ReadableSpan;
}

describe("SampledContextManager", () => {
  let manager = new SampledContextManager().enable();
  afterEach(() => {
    manager.disable();
    manager = new SampledContextManager().enable();
  });

  it("tells which contexts must follow continuations", () => {
    expect(needsAsyncPropagation(ROOT_CONTEXT)).toBe(false);
    expect(needsAsyncPropagation(ctxWith(TraceFlags.NONE))).toBe(false);
    expect(needsAsyncPropagation(ctxWith(TraceFlags.SAMPLED))).toBe(true);
    expect(needsAsyncPropagation(propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage({ tenant: { value: "acme" } })))).toBe(true);
  });

  it("keeps a sampled context across awaits", async () => {
    const sampled = ctxWith(TraceFlags.SAMPLED);
    const seen = await manager.with(sampled, async () => {
      const before = manager.active();
      await nextTurn();
      return [before, manager.active()];
    });
    expect(seen).toEqual([sampled, sampled]);
    expect(manager.active()).toBe(ROOT_CONTEXT);
    expect(manager.asyncStorageEnabled).toBe(true);
  });

  it("keeps baggage across awaits", async () => {
    const bag = propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage({ tenant: { value: "acme" } }));
    const after = await manager.with(bag, async () => {
      await nextTurn();
      return manager.active();
    });
    expect(after).toBe(bag);
  });

  it("makes an unsampled context active for the synchronous part only, without AsyncLocalStorage", async () => {
    const unsampled = ctxWith(TraceFlags.NONE);
    const seen = await manager.with(unsampled, async () => {
      const before = manager.active();
      await nextTurn();
      return [before, manager.active()];
    });
    expect(seen).toEqual([unsampled, ROOT_CONTEXT]);
    expect(manager.asyncStorageEnabled).toBe(false);
  });

  it("masks an inherited sampled context from the continuations of an unsampled scope", async () => {
    const sampled = ctxWith(TraceFlags.SAMPLED);
    const unsampled = ctxWith(TraceFlags.NONE, "00f067aa0ba902b7");
    const seen = await manager.with(sampled, async () => {
      await nextTurn();
      return manager.with(ROOT_CONTEXT, async () => {
        const inner = manager.with(unsampled, () => manager.active());
        await nextTurn();
        return [inner, manager.active()];
      });
    });
    expect(seen).toEqual([unsampled, ROOT_CONTEXT]);
  });

  it("nests: a sampled scope inside an unsampled synchronous one wins, and the outer comes back", () => {
    const sampled = ctxWith(TraceFlags.SAMPLED);
    const unsampled = ctxWith(TraceFlags.NONE, "00f067aa0ba902b7");
    const seen = manager.with(unsampled, () => {
      const inner = manager.with(sampled, () => manager.active());
      return [inner, manager.active()];
    });
    expect(seen).toEqual([sampled, unsampled]);
  });

  it("switches AsyncLocalStorage off once the last sampled span has ended", async () => {
    const a = fakeSpan(TraceFlags.SAMPLED);
    const b = fakeSpan(TraceFlags.SAMPLED);
    manager.tracker.onStart(a, ROOT_CONTEXT);
    manager.tracker.onStart(b, ROOT_CONTEXT);
    manager.tracker.onStart(fakeSpan(TraceFlags.NONE), ROOT_CONTEXT);
    await manager.with(ctxWith(TraceFlags.SAMPLED), () => nextTurn());
    expect(manager.openSampledSpans).toBe(2);
    manager.tracker.onEnd(a);
    await nextTurn();
    expect(manager.asyncStorageEnabled).toBe(true);
    manager.tracker.onEnd(fakeSpan(TraceFlags.NONE));
    manager.tracker.onEnd(b);
    expect(manager.asyncStorageEnabled).toBe(true);
    await nextTurn();
    expect(manager.openSampledSpans).toBe(0);
    expect(manager.asyncStorageEnabled).toBe(false);
    expect(manager.active()).toBe(ROOT_CONTEXT);
    // A later sampled scope turns it on again.
    const sampled = ctxWith(TraceFlags.SAMPLED);
    const after = await manager.with(sampled, async () => {
      await nextTurn();
      return manager.active();
    });
    expect(after).toBe(sampled);
  });

  it("binds functions to a context and leaves other values alone", async () => {
    const sampled = ctxWith(TraceFlags.SAMPLED);
    const bound = manager.bind(sampled, () => manager.active());
    expect(bound()).toBe(sampled);
    const value = { x: 1 };
    expect(manager.bind(sampled, value)).toBe(value);
    manager.disable();
    expect(manager.with(sampled, () => manager.active())).toBe(ROOT_CONTEXT);
    await nextTurn();
  });
});
