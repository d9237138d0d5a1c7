/**
 * The node's field engine behind the gRPC FieldService: asks the `FieldEngineActor` and forwards
 * the caller's deadline. Events come from the engine's `FieldEventHub`.
 */
import type { FieldEngineMessage, FieldEventHub } from "../actors/index.ts";
import type { FieldBackend, RequestContext } from "../api/index.ts";
import type { ActorRef } from "../runtime/index.ts";

function opts(ctx: RequestContext): { deadline?: number } {
  return Number.isFinite(ctx.deadline) ? { deadline: ctx.deadline } : {};
}

export function fieldBackend(engineRef: () => ActorRef<FieldEngineMessage>, events: FieldEventHub): FieldBackend {
  return {
    // Steps take as long as they take: only the caller's own deadline bounds them.
    step: (steps, ctx) => engineRef().ask({ type: "field.step", steps }, { timeoutMs: Infinity, ...opts(ctx) }),
    run: (stepsPerSecond, ctx) => engineRef().ask({ type: "field.run", stepsPerSecond }, opts(ctx)),
    stop: (ctx) => engineRef().ask({ type: "field.stop" }, opts(ctx)),
    status: (ctx) => engineRef().ask({ type: "field.status" }, opts(ctx)),
    listFields: (space, level, ctx) => engineRef().ask({ type: "field.list", space, level }, opts(ctx)),
    getField: (id, ctx) => engineRef().ask({ type: "field.get", id }, opts(ctx)),
    hierarchy: (token, ctx) => engineRef().ask({ type: "field.hierarchy", token }, opts(ctx)),
    watch: (listener) => events.subscribe(listener),
  };
}
