/**
 * Adapters from `async (request, ctx) => response` functions to grpc-js handlers, so every
 * service method gets the same treatment:
 * - errors of any kind become a status via `errorToStatus` (typed details, no stacks);
 * - the call's deadline becomes an absolute `ctx.deadline` for the backend (unary calls without
 *   one get the server's default), and `ctx.signal` aborts on cancellation, on the deadline and,
 *   for server streams, on server shutdown; the handler answers at once when it aborts;
 * - `CallInterceptor`s wrap every call (auth now; metrics and tracing later).
 */
import { once } from "node:events";
import type {
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  Metadata,
  ServerWritableStream,
} from "@grpc/grpc-js";
import { CancelledError, DeadlineExceededError, UnavailableError } from "../core/errors.ts";
import type { RequestContext } from "./backend.ts";
import { UndecodableRequest, undecodable } from "./decode.ts";
import { errorToStatus, type StatusOptions } from "./errors.ts";

export type CallKind = "unary" | "client_stream" | "server_stream";

/** What a service method receives besides its request. */
export interface CallContext extends RequestContext {
  /** Full method path, e.g. `/neurograph.v1.TokenService/CreateTokens`. */
  readonly path: string;
  readonly metadata: Metadata;
  readonly peer: string;
}

/** What an interceptor sees of a call. */
export interface CallInfo {
  readonly path: string;
  /** Full service name, e.g. `neurograph.v1.AdminService`. */
  readonly service: string;
  /** Method name, e.g. `GetStats`. */
  readonly method: string;
  readonly kind: CallKind;
  readonly metadata: Metadata;
  readonly peer: string;
  readonly ctx: CallContext;
}

/**
 * Wraps the handling of a call: call `next()` once and return (or transform) its result; throw
 * to reject the call. The promise settles when the call's work is done (for server streams, when
 * the stream ends); errors thrown by the method pass through, still typed.
 */
export interface CallInterceptor {
  intercept<T>(call: CallInfo, next: () => Promise<T>): Promise<T>;
}

export interface HandlerEnv {
  readonly interceptors: readonly CallInterceptor[];
  /** Deadline of unary calls whose client set none, in ms (0 = none). */
  readonly defaultDeadlineMs: number;
  readonly statusOptions: Omit<StatusOptions, "batchField">;
  /** Aborts when the server begins to stop: server streams end with UNAVAILABLE. */
  readonly shutdown: AbortSignal;
}

export interface MethodOptions {
  /** Request field of the batch, for error paths like `tokens[3].weight`. */
  readonly batchField?: string;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** What every grpc-js server call offers (grpc-js does not export its surface call type). */
interface SurfaceCall {
  readonly metadata: Metadata;
  getPath(): string;
  getDeadline(): Date | number;
  getPeer(): string;
  on(event: "cancelled", listener: () => void): unknown;
  removeListener(event: "cancelled", listener: () => void): unknown;
}

interface OpenCall {
  readonly info: CallInfo;
  readonly ctx: CallContext;
  close(): void;
}

function openCall(env: HandlerEnv, call: SurfaceCall, kind: CallKind): OpenCall {
  const path = call.getPath();
  const slash = path.lastIndexOf("/");
  const rawDeadline = call.getDeadline();
  let deadline = rawDeadline instanceof Date ? rawDeadline.getTime() : rawDeadline;
  if (!Number.isFinite(deadline) && kind === "unary" && env.defaultDeadlineMs > 0) deadline = Date.now() + env.defaultDeadlineMs;
  if (!Number.isFinite(deadline)) deadline = Infinity;

  const controller = new AbortController();
  const expire = (): void => {
    controller.abort(new DeadlineExceededError(`the deadline of ${path} passed before it completed; retry with a longer deadline`));
  };
  const onCancelled = (): void => {
    if (Date.now() >= deadline) expire();
    else controller.abort(new CancelledError(`${path} was cancelled by the client`));
  };
  call.on("cancelled", onCancelled);
  const remaining = deadline - Date.now();
  let timer: NodeJS.Timeout | undefined;
  if (remaining <= 0) expire();
  else if (remaining <= MAX_TIMER_MS) {
    timer = setTimeout(expire, remaining);
    timer.unref();
  }
  let onShutdown: (() => void) | undefined;
  if (kind === "server_stream") {
    onShutdown = () => controller.abort(new UnavailableError("the server is shutting down; reconnect to another node or retry later"));
    if (env.shutdown.aborted) onShutdown();
    else env.shutdown.addEventListener("abort", onShutdown, { once: true });
  }
  const ctx: CallContext = { path, deadline, signal: controller.signal, metadata: call.metadata, peer: call.getPeer() };
  return {
    ctx,
    info: { path, service: path.slice(1, slash), method: path.slice(slash + 1), kind, metadata: call.metadata, peer: ctx.peer, ctx },
    close() {
      if (timer !== undefined) clearTimeout(timer);
      call.removeListener("cancelled", onCancelled);
      if (onShutdown !== undefined) env.shutdown.removeEventListener("abort", onShutdown);
    },
  };
}

function intercepted<T>(interceptors: readonly CallInterceptor[], info: CallInfo, last: () => Promise<T>): Promise<T> {
  const step = async (i: number): Promise<T> => {
    const interceptor = interceptors[i];
    return interceptor === undefined ? last() : interceptor.intercept(info, () => step(i + 1));
  };
  return step(0);
}

/** Settles a call once: the first of result, error or abort wins. */
function settleOnce(open: OpenCall, respond: (error: unknown, ok: boolean) => void): (error: unknown, ok: boolean) => void {
  let done = false;
  const settle = (error: unknown, ok: boolean): void => {
    if (done) return;
    done = true;
    open.close();
    respond(error, ok);
  };
  const signal = open.ctx.signal;
  if (signal.aborted) settle(signal.reason, false);
  else signal.addEventListener("abort", () => settle(signal.reason, false), { once: true });
  return settle;
}

export function unary<Req, Res>(
  env: HandlerEnv,
  fn: (request: Req, ctx: CallContext) => Promise<Res>,
  options: MethodOptions = {},
): handleUnaryCall<Req, Res> {
  const statusOptions = { ...env.statusOptions, batchField: options.batchField };
  return (call, callback) => {
    const open = openCall(env, call, "unary");
    let response: Res | undefined;
    const settle = settleOnce(open, (error, ok) => {
      if (ok) callback(null, response);
      else callback(errorToStatus(error, statusOptions));
    });
    // Already past its deadline or cancelled: answered; do not start the work.
    if (open.ctx.signal.aborted) return;
    const request: unknown = call.request;
    const run = (): Promise<Res> => (request instanceof UndecodableRequest ? Promise.reject(undecodable(request)) : fn(call.request, open.ctx));
    intercepted(env.interceptors, open.info, run).then(
      (res) => {
        response = res;
        settle(undefined, true);
      },
      (error: unknown) => settle(error, false),
    );
  };
}

/** The messages of a client stream; ends early (throwing the abort reason) when the call aborts. */
async function* streamMessages<Req>(stream: AsyncIterable<unknown>, signal: AbortSignal): AsyncGenerator<Req> {
  for await (const message of stream) {
    if (signal.aborted) throw signal.reason;
    if (message instanceof UndecodableRequest) throw undecodable(message);
    yield message as Req;
  }
  if (signal.aborted) throw signal.reason;
}

export function clientStreaming<Req, Res>(
  env: HandlerEnv,
  fn: (requests: AsyncIterable<Req>, ctx: CallContext) => Promise<Res>,
  options: MethodOptions = {},
): handleClientStreamingCall<Req, Res> {
  const statusOptions = { ...env.statusOptions, batchField: options.batchField };
  return (call, callback) => {
    const open = openCall(env, call, "client_stream");
    let response: Res | undefined;
    const settle = settleOnce(open, (error, ok) => {
      if (ok) callback(null, response);
      else callback(errorToStatus(error, statusOptions));
    });
    // Already past its deadline or cancelled: answered; do not start the work.
    if (open.ctx.signal.aborted) return;
    const requests = streamMessages<Req>(call, open.ctx.signal);
    intercepted(env.interceptors, open.info, () => fn(requests, open.ctx)).then(
      (res) => {
        response = res;
        settle(undefined, true);
      },
      (error: unknown) => settle(error, false),
    );
  };
}

async function writeAll<Res>(call: ServerWritableStream<unknown, Res>, messages: AsyncIterable<Res>, signal: AbortSignal): Promise<void> {
  for await (const message of messages) {
    if (signal.aborted) throw signal.reason;
    if (!call.write(message)) await once(call, "drain", { signal });
  }
}

/**
 * `fn` yields the responses; it should watch `ctx.signal` while it waits for the next one (the
 * stream ends on cancellation, deadline or server shutdown).
 */
export function serverStreaming<Req, Res>(
  env: HandlerEnv,
  fn: (request: Req, ctx: CallContext) => AsyncIterable<Res>,
  options: MethodOptions = {},
): handleServerStreamingCall<Req, Res> {
  const statusOptions = { ...env.statusOptions, batchField: options.batchField };
  return (call) => {
    const open = openCall(env, call, "server_stream");
    const settle = settleOnce(open, (error, ok) => {
      if (ok) call.end();
      else call.emit("error", errorToStatus(error, statusOptions));
    });
    // Already past its deadline or cancelled: answered; do not start the work.
    if (open.ctx.signal.aborted) return;
    const request: unknown = call.request;
    const run = (): Promise<void> => (request instanceof UndecodableRequest ? Promise.reject(undecodable(request)) : writeAll(call, fn(call.request, open.ctx), open.ctx.signal));
    intercepted(env.interceptors, open.info, run).then(
      () => settle(undefined, true),
      (error: unknown) => settle(error, false),
    );
  };
}
