/**
 * SampledContextManager: the OpenTelemetry context manager of a node. It keeps a context across
 * `await`s (AsyncLocalStorage) only when that context is worth it, and switches AsyncLocalStorage
 * off while no sampled span is open.
 *
 * Why: on Node 20, an enabled AsyncLocalStorage installs promise hooks that run for every promise
 * of the process, and each `context.with` is an `AsyncLocalStorage.run`. With 1 % head sampling,
 * 99 % of requests pay that for contexts nobody reads after an `await`: an unsampled span makes no
 * children (actor turns and WAL commits only trace sampled work) and its trace is never exported.
 *
 * Rules:
 * - `with(ctx)` for a context with a sampled span or with baggage: `AsyncLocalStorage.run` (enabled
 *   on demand), so the trace follows every continuation, exactly as the stock manager does;
 * - `with(ctx)` for any other context (unsampled or recording-only span, root context): the context
 *   is active for the synchronous part of `fn` only (a plain field, no hooks), unless an
 *   AsyncLocalStorage context is in force, which is then masked with `run` so that continuations
 *   of `fn` cannot inherit someone else's sampled trace;
 * - AsyncLocalStorage is disabled again (after the current tick) when the last open sampled span
 *   ends: the `tracker` span processor counts them. A sampled span that is never ended keeps it on,
 *   which is the stock manager's behaviour.
 *
 * What it gives up: after an `await`, code in an unsampled request sees the root context (its log
 * lines carry no trace ids, spans started there begin new traces). Sampled requests keep full
 * propagation.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { ROOT_CONTEXT, TraceFlags, propagation, trace, type Context, type ContextManager } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace-base";

/** Whether `ctx` must follow async continuations: a sampled span, or baggage. */
export function needsAsyncPropagation(ctx: Context): boolean {
  const span = trace.getSpan(ctx);
  if (span !== undefined && (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0) return true;
  return propagation.getBaggage(ctx) !== undefined;
}

export class SampledContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  /** Whether `storage` is enabled (its promise hooks installed). */
  private storageOn = false;
  /** The context of the synchronous scope of a `with` that did not use `storage`. */
  private syncContext: Context | undefined;
  /** Sampled spans started and not yet ended. */
  private openSampled = 0;
  private idleCheck: NodeJS.Immediate | undefined;
  private enabled = false;

  /** Install as the first span processor: counts open sampled spans. */
  readonly tracker: SpanProcessor = {
    onStart: (span: Span) => {
      if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0) this.openSampled++;
    },
    onEnd: (span: ReadableSpan) => {
      if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
      if (this.openSampled > 0) this.openSampled--;
      if (this.openSampled === 0 && this.storageOn) this.scheduleIdleCheck();
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };

  active(): Context {
    const sync = this.syncContext;
    if (sync !== undefined) return sync;
    return this.storageOn ? (this.storage.getStore() ?? ROOT_CONTEXT) : ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const previous = this.syncContext;
    if (!this.enabled) return thisArg === undefined ? fn(...args) : fn.call(thisArg, ...args);
    if (needsAsyncPropagation(ctx) || this.inheritsPropagated()) {
      this.storageOn = true;
      this.syncContext = undefined;
      try {
        return this.storage.run(ctx, thisArg === undefined ? fn : (fn.bind(thisArg) as F), ...args);
      } finally {
        this.syncContext = previous;
      }
    }
    this.syncContext = ctx;
    try {
      return thisArg === undefined ? fn(...args) : fn.call(thisArg, ...args);
    } finally {
      this.syncContext = previous;
    }
  }

  /** Binds functions only (NeuroGraph uses no auto-instrumentation that binds event emitters). */
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== "function") return target;
    const fn = target as unknown as (...args: unknown[]) => unknown;
    const bound = (...args: unknown[]): unknown => this.with(ctx, fn, undefined, ...args);
    return bound as unknown as T;
  }

  enable(): this {
    this.enabled = true;
    return this;
  }

  disable(): this {
    this.enabled = false;
    this.syncContext = undefined;
    this.openSampled = 0;
    if (this.idleCheck !== undefined) clearImmediate(this.idleCheck);
    this.idleCheck = undefined;
    this.storageOff();
    return this;
  }

  /** Whether AsyncLocalStorage is currently enabled (for tests and diagnostics). */
  get asyncStorageEnabled(): boolean {
    return this.storageOn;
  }

  /** Sampled spans open now (for tests and diagnostics). */
  get openSampledSpans(): number {
    return this.openSampled;
  }

  /** Whether continuations started now would inherit a context that `with` must mask. */
  private inheritsPropagated(): boolean {
    if (!this.storageOn) return false;
    const store = this.storage.getStore();
    return store !== undefined && store !== ROOT_CONTEXT && needsAsyncPropagation(store);
  }

  private scheduleIdleCheck(): void {
    if (this.idleCheck !== undefined) return;
    // After the current tick: the synchronous rest of the scope that ended the span keeps its context.
    this.idleCheck = setImmediate(() => {
      this.idleCheck = undefined;
      if (this.openSampled === 0) this.storageOff();
    });
    this.idleCheck.unref();
  }

  private storageOff(): void {
    if (!this.storageOn) return;
    this.storageOn = false;
    this.storage.disable();
  }
}
