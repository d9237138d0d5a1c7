/**
 * Adapters from `async (request, ctx) => response` functions to grpc-js handlers, so every
 * service method gets the same treatment:
 * - errors of any kind become a status via `errorToStatus` (typed details, no stacks);
 * - the call's deadline becomes an absolute `ctx.deadline` for the backend (unary calls without
 *   one get the server's default), and `ctx.signal` aborts on cancellation, on the deadline and,
 *   for server streams, on server shutdown; the handler answers at once when it aborts;
 * - `CallInterceptor`s wrap every call (auth now; metrics and tracing later);
 * - `OpenCalls` (optional) tracks the calls in progress, so a draining server refuses new calls
 *   with UNAVAILABLE and, at its drain limit, ends the ones left with UNAVAILABLE instead of
 *   letting the transport cancel them (CANCELLED, which clients must not retry).
 */
import { once } from "node:events";
import type {
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  Metadata,
  ServerWritableStream,
} from "@grpc/grpc-js";
import { CancelledError, DeadlineExceededError, UnavailableError, type NeuroGraphError } from "../core/errors.ts";
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
  /** Calls in progress and the drain state of the server (without it calls are not tracked). */
  readonly calls?: OpenCalls;
}

/** Health checks stay answered while a server drains (they report NOT_SERVING). */
const HEALTH_PREFIX = "/grpc.health.v1.Health/";

/**
 * The calls a server is handling, for a graceful drain: once `refuse`d, every new call (health
 * checks aside) is answered at once with the given error and does no work; `abortAll` answers
 * the calls still open with an error (their work may still finish in the background).
 */
export class OpenCalls {
  readonly #open = new Set<OpenCall>();
  #refusal: NeuroGraphError | undefined = undefined;

  get size(): number {
    return this.#open.size;
  }

  /** The error new calls get, once the server drains. */
  get refusal(): NeuroGraphError | undefined {
    return this.#refusal;
  }

  refuse(error: NeuroGraphError): void {
    this.#refusal ??= error;
  }

  /** Ends every open call with `error`. */
  abortAll(error: NeuroGraphError): void {
    for (const call of [...this.#open]) call.abort(error);
  }

  /** @internal */
  add(call: OpenCall): void {
    this.#open.add(call);
  }

  /** @internal */
  delete(call: OpenCall): void {
    this.#open.delete(call);
  }
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

/**
 * One call being handled: its `CallContext` and `CallInfo` in one object (a unary call costs
 * this VM tens of microseconds in grpc-js alone, so the adapter allocates as little as it can).
 * The AbortSignal is made only when someone reads `signal`; aborting (deadline, cancellation,
 * shutdown) settles the call through `onAbort` directly instead of an abort listener.
 */
class OpenCall implements CallContext, CallInfo {
  readonly path: string;
  readonly deadline: number;
  readonly kind: CallKind;
  readonly metadata: Metadata;
  /** Told once, on the first abort before `close()`. */
  onAbort: { aborted(reason: unknown): void } | undefined = undefined;
  readonly #call: SurfaceCall;
  readonly #env: HandlerEnv;
  #controller: AbortController | undefined = undefined;
  #aborted = false;
  #reason: unknown = undefined;
  #closed = false;
  #timer: NodeJS.Timeout | undefined = undefined;
  #peer: string | undefined = undefined;
  readonly #onCancelled: () => void;
  readonly #onShutdown: (() => void) | undefined;

  constructor(env: HandlerEnv, call: SurfaceCall, kind: CallKind) {
    this.#call = call;
    this.#env = env;
    this.kind = kind;
    this.metadata = call.metadata;
    const path = call.getPath();
    this.path = path;
    const rawDeadline = call.getDeadline();
    let deadline = rawDeadline instanceof Date ? rawDeadline.getTime() : rawDeadline;
    const now = Date.now();
    if (!Number.isFinite(deadline) && kind === "unary" && env.defaultDeadlineMs > 0) deadline = now + env.defaultDeadlineMs;
    if (!Number.isFinite(deadline)) deadline = Infinity;
    this.deadline = deadline;
    this.#onCancelled = () => {
      if (Date.now() >= this.deadline) this.expire();
      else this.abort(new CancelledError(`${this.path} was cancelled by the client`));
    };
    call.on("cancelled", this.#onCancelled);
    const remaining = deadline - now;
    if (remaining <= 0) this.expire();
    else if (remaining <= MAX_TIMER_MS) {
      this.#timer = setTimeout(expireCall, remaining, this);
      this.#timer.unref();
    }
    if (kind === "server_stream") {
      this.#onShutdown = () => this.abort(new UnavailableError("the server is shutting down; reconnect to another node or retry later"));
      if (env.shutdown.aborted) this.#onShutdown();
      else env.shutdown.addEventListener("abort", this.#onShutdown, { once: true });
    }
    const calls = env.calls;
    if (calls === undefined || this.#aborted) return;
    // Draining: answered at once (runOnce sees it aborted and starts no work).
    if (calls.refusal !== undefined && !path.startsWith(HEALTH_PREFIX)) this.abort(calls.refusal);
    else calls.add(this);
  }

  get service(): string {
    return this.path.slice(1, this.path.lastIndexOf("/"));
  }

  get method(): string {
    return this.path.slice(this.path.lastIndexOf("/") + 1);
  }

  get peer(): string {
    this.#peer ??= this.#call.getPeer();
    return this.#peer;
  }

  get ctx(): CallContext {
    return this;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  expire(): void {
    this.abort(new DeadlineExceededError(`the deadline of ${this.path} passed before it completed; retry with a longer deadline`));
  }

  abort(reason: unknown): void {
    if (this.#aborted || this.#closed) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.onAbort?.aborted(reason);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#call.removeListener("cancelled", this.#onCancelled);
    if (this.#onShutdown !== undefined) this.#env.shutdown.removeEventListener("abort", this.#onShutdown);
    this.#env.calls?.delete(this);
  }
}

function expireCall(call: OpenCall): void {
  call.expire();
}

/** `fn` behind the interceptors, built once per method (no per-call chain of closures but one per interceptor). */
function chain<Req, Res>(interceptors: readonly CallInterceptor[], fn: (request: Req, ctx: CallContext) => Promise<Res>): (request: Req, call: OpenCall) => Promise<Res> {
  let run = (request: Req, call: OpenCall): Promise<Res> => {
    try {
      return fn(request, call);
    } catch (err) {
      // A synchronous throw reaches errorToStatus as it was thrown (typed errors keep their class).
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      return Promise.reject(err);
    }
  };
  for (let i = interceptors.length - 1; i >= 0; i--) {
    const interceptor = interceptors[i]!;
    const next = run;
    run = (request, call) => {
      try {
        return interceptor.intercept(call, () => next(request, call));
      } catch (err) {
        // A synchronous throw reaches errorToStatus as it was thrown (typed errors keep their class).
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      return Promise.reject(err);
      }
    };
  }
  return run;
}

type Respond<Res> = (error: unknown, result: Res | undefined, ok: boolean) => void;

/**
 * Runs `work` for `open` and settles once: the first of result, error or abort wins; `respond`
 * gets the error (or the result with ok = true).
 */
function runOnce<Res>(open: OpenCall, work: () => Promise<Res>, respond: Respond<Res>): void {
  // Already past its deadline or cancelled: answered; do not start the work.
  if (open.aborted) {
    open.close();
    respond(open.reason, undefined, false);
    return;
  }
  const settled = new Settled(open, respond);
  open.onAbort = settled;
  work().then(
    (result) => settled.finish(undefined, result, true),
    (error: unknown) => settled.finish(error, undefined, false),
  );
}

/** The once-only answer of a call (a class, not closures: cheaper per call). */
class Settled<Res> {
  #done = false;
  constructor(
    private readonly open: OpenCall,
    private readonly respond: Respond<Res>,
  ) {}

  aborted(reason: unknown): void {
    this.finish(reason, undefined, false);
  }

  finish(error: unknown, result: Res | undefined, ok: boolean): void {
    if (this.#done) return;
    this.#done = true;
    this.open.close();
    this.respond(error, result, ok);
  }
}

export function unary<Req, Res>(
  env: HandlerEnv,
  fn: (request: Req, ctx: CallContext) => Promise<Res>,
  options: MethodOptions = {},
): handleUnaryCall<Req, Res> {
  const statusOptions = { ...env.statusOptions, batchField: options.batchField };
  // An undecodable request fails inside the interceptors, so they see (and count) it.
  const run = chain(env.interceptors, (request: Req, ctx: CallContext): Promise<Res> =>
    (request as unknown) instanceof UndecodableRequest ? Promise.reject(undecodable(request as UndecodableRequest)) : fn(request, ctx),
  );
  return (call, callback) => {
    const open = new OpenCall(env, call, "unary");
    runOnce(
      open,
      () => run(call.request, open),
      (error, response, ok) => {
        if (ok) callback(null, response);
        else callback(errorToStatus(error, statusOptions));
      },
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
  const run = chain(env.interceptors, fn);
  return (call, callback) => {
    const open = new OpenCall(env, call, "client_stream");
    runOnce(
      open,
      () => run(streamMessages<Req>(call, open.signal), open),
      (error, response, ok) => {
        if (ok) callback(null, response);
        else callback(errorToStatus(error, statusOptions));
      },
    );
  };
}

async function writeAll<Req, Res>(call: ServerWritableStream<Req, Res>, messages: AsyncIterable<Res>, signal: AbortSignal): Promise<void> {
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
  const write = chain(env.interceptors, (stream: ServerWritableStream<Req, Res>, ctx: CallContext): Promise<void> => {
    const request: unknown = stream.request;
    return request instanceof UndecodableRequest ? Promise.reject(undecodable(request)) : writeAll(stream, fn(stream.request, ctx), ctx.signal);
  });
  return (call) => {
    const open = new OpenCall(env, call, "server_stream");
    runOnce(
      open,
      () => write(call, open),
      (error, _result, ok) => {
        if (ok) call.end();
        else call.emit("error", errorToStatus(error, statusOptions));
      },
    );
  };
}
