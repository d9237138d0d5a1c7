/**
 * Hooks through which metrics, tracing and the black box watch the actor system without the
 * runtime importing any of them. Every hook is optional; the runtime checks once which hooks
 * exist, so an absent hook costs nothing per message (no timing, no event objects).
 */
import type { NeuroGraphError } from "../core/errors.ts";
import type { ActorAddress } from "./address.ts";
import type { Headers } from "./message.ts";

/** What the supervisor does about a failure. */
export type Directive = "resume" | "restart" | "stop" | "escalate";

export type StopReason = "requested" | "failed" | "parent-stopped" | "parent-restarted" | "shutdown";

export interface ReceiveEvent {
  readonly address: ActorAddress;
  readonly typeName: string;
  /** Headers the message arrived with. */
  readonly headers: Headers;
  /** Epoch ms when the turn started. */
  readonly startedAt: number;
}

export interface ActorSystemObserver {
  actorStarted?(address: ActorAddress): void;
  /** After every accepted enqueue: the depth including the new message. */
  mailboxDepth?(address: ActorAddress, depth: number, capacity: number): void;
  /**
   * Before a message is processed. Returning headers replaces `ctx.headers` for this turn, so a
   * tracer can start a span here and hand its `traceparent` to the asks the actor makes.
   */
  beforeReceive?(event: ReceiveEvent): Headers | undefined;
  /**
   * After a message was processed (the returned promise settled); `error` when it failed. `event`
   * is the same object `beforeReceive` got, so a tracer can key its span on it.
   */
  messageProcessed?(event: ReceiveEvent, durationMs: number, error: NeuroGraphError | undefined): void;
  /**
   * Runs the actor's `receive` for `event` (call `receive` exactly once and return its result),
   * e.g. inside the span `beforeReceive` started, so the turn's logs and the asks it makes without
   * explicit headers belong to that span. Async continuations of the turn inherit the context.
   */
  runReceive?<T>(event: ReceiveEvent, receive: () => T): T;
  /**
   * Headers for a `tell`/`ask` whose caller gave none (callers outside an actor turn, or code in a
   * turn that sends through a plain ref), e.g. the active trace context. Undefined = none.
   */
  outboundHeaders?(): Headers | undefined;
  /** A message or `preStart` failed and the supervisor decided `directive`. */
  actorFailed?(address: ActorAddress, error: NeuroGraphError, directive: Directive): void;
  /** A restart was scheduled: `attempt` within the current window, after `delayMs`. */
  actorRestarted?(address: ActorAddress, error: NeuroGraphError, attempt: number, delayMs: number): void;
  actorStopped?(address: ActorAddress, reason: StopReason): void;
  /** A failure left the actor (restart limit reached or `escalate`) towards its parent or the system. */
  failureEscalated?(address: ActorAddress, error: NeuroGraphError): void;
  /** A `tell` or `ask` was refused because the mailbox was full. */
  overloadRejected?(address: ActorAddress, typeName: string, capacity: number): void;
  /** An ask's deadline passed before its reply arrived. */
  askTimedOut?(address: ActorAddress, typeName: string): void;
  /** A queued ask was skipped because its deadline had passed before its turn came. */
  expiredSkipped?(address: ActorAddress, typeName: string): void;
  /** A message that could not be delivered and has no caller to tell (remote tell, timer tick). */
  undelivered?(address: ActorAddress, typeName: string, error: NeuroGraphError): void;
}

export const noopObserver: ActorSystemObserver = Object.freeze({});

type HookName = keyof ActorSystemObserver;

/** Fans every hook out to several observers (metrics + tracing + black box). */
export function combineObservers(...observers: ActorSystemObserver[]): ActorSystemObserver {
  const list = observers.filter((o) => o !== noopObserver);
  if (list.length === 0) return noopObserver;
  if (list.length === 1) return list[0] as ActorSystemObserver;
  const out: ActorSystemObserver = {};
  const names: HookName[] = [
    "actorStarted",
    "mailboxDepth",
    "messageProcessed",
    "actorFailed",
    "actorRestarted",
    "actorStopped",
    "failureEscalated",
    "overloadRejected",
    "askTimedOut",
    "expiredSkipped",
    "undelivered",
  ];
  for (const name of names) {
    const hooks = list.map((o) => o[name]?.bind(o)).filter((h) => h !== undefined) as ((...args: unknown[]) => void)[];
    if (hooks.length === 0) continue;
    (out as Record<string, unknown>)[name] = (...args: unknown[]): void => {
      for (const h of hooks) h(...args);
    };
  }
  const befores = list.map((o) => o.beforeReceive?.bind(o)).filter((h) => h !== undefined);
  if (befores.length > 0) {
    out.beforeReceive = (event) => {
      let headers: Headers | undefined;
      for (const h of befores) {
        const next = h(headers === undefined ? event : { ...event, headers });
        if (next !== undefined) headers = next;
      }
      return headers;
    };
  }
  const runs = list.map((o) => o.runReceive?.bind(o)).filter((h) => h !== undefined);
  if (runs.length === 1) out.runReceive = runs[0];
  else if (runs.length > 1) {
    out.runReceive = <T>(event: ReceiveEvent, receive: () => T): T =>
      runs.reduceRight<() => T>((inner, run) => () => run(event, inner), receive)();
  }
  const outs = list.map((o) => o.outboundHeaders?.bind(o)).filter((h) => h !== undefined);
  if (outs.length === 1) out.outboundHeaders = outs[0];
  else if (outs.length > 1) {
    out.outboundHeaders = () => {
      let merged: Record<string, string> | undefined;
      for (const h of outs) {
        const next = h();
        if (next !== undefined) merged = { ...merged, ...next };
      }
      return merged;
    };
  }
  return out;
}
