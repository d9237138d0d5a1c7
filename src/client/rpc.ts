/**
 * The call machinery under `NeuroGraphClient`: one grpc-js channel shared by every service stub,
 * bearer metadata, deadlines, cancellation, typed errors and retries.
 *
 * A unary call's deadline covers all its attempts: each attempt gets what is left of it, and a
 * backoff that would end past it is not started (the last error is thrown instead).
 */
import { Channel, connectivityState, credentials, Metadata, type CallOptions as GrpcCallOptions, type ChannelCredentials, type ClientUnaryCall, type ServiceError } from "@grpc/grpc-js";
import { CancelledError, DeadlineExceededError, NeuroGraphError, UnavailableError, toNeuroGraphError } from "../core/errors.ts";
import { serverRetryDelayMs, statusToError } from "./errors.ts";
import type { ClientTlsOptions, ResolvedClientOptions, RetryListener } from "./options.ts";
import { backoffDelayMs, isRetryable, resolveRetryPolicy, RetryBudget, sleep, type RetryPolicy } from "./retry.ts";

/** Options of one call. */
export interface CallOptions {
  /** Deadline of this call (retries included) in ms; 0 = none. Default: the client's. */
  readonly deadlineMs?: number;
  /** Aborting cancels the call (CancelledError). */
  readonly signal?: AbortSignal;
  /** Retries for this call (merged over the client's policy); `false` = no retry. */
  readonly retry?: Partial<RetryPolicy> | false;
  /** Overrides whether the call may be retried (the method's own rule otherwise). */
  readonly idempotent?: boolean;
  /** Extra request metadata. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Told before each retry of this call (besides the client's `onRetry`). */
  readonly onRetry?: RetryListener;
}

export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<GrpcCallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** A stub's method bound to it and named after it (the name reaches retry listeners). */
export function rpc<S extends object, K extends keyof S & string>(stub: S, name: K): S[K] {
  const method = stub[name];
  if (typeof method !== "function") throw new TypeError(`${name} is not a method of the stub`);
  const bound: unknown = Object.defineProperty((method as (...a: unknown[]) => unknown).bind(stub), "name", { value: name });
  return bound as S[K];
}

/** What every attempt of a call is told: the absolute deadline (ms since epoch; Infinity = none). */
export interface Attempt {
  readonly deadline: number;
  readonly metadata: Metadata;
}

function pem(v: Uint8Array | string | undefined): Buffer | null {
  if (v === undefined) return null;
  return typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

function channelCredentials(tls: ClientTlsOptions | true | undefined): ChannelCredentials {
  if (tls === undefined) return credentials.createInsecure();
  if (tls === true) return credentials.createSsl();
  return credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert));
}

/** An error of a call that could not reach the node, with a hint of what to check. */
export function unreachable(address: string, detail: string, cause?: unknown): UnavailableError {
  return new UnavailableError(
    `cannot reach a NeuroGraph node at ${address} (${detail}); check that it runs (\`neurograph serve\`) and that the address is right (--addr / NG_GRPC_ADDR)`,
    { cause },
  );
}

export class Invoker {
  readonly channel: Channel;
  readonly options: ResolvedClientOptions;
  readonly budget: RetryBudget;
  #closed = false;

  constructor(options: ResolvedClientOptions) {
    this.options = options;
    this.budget = new RetryBudget(options.retryBudget);
    const tls = options.tls;
    this.channel = new Channel(options.target, channelCredentials(tls), {
      // Several nodes: spread calls over the ones that are up; a retry finds a live one.
      ...(options.balanced ? { "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }) } : {}),
      "grpc.max_receive_message_length": options.maxReceiveMessageBytes,
      "grpc.max_send_message_length": options.maxSendMessageBytes,
      ...(tls !== undefined && tls !== true && tls.serverName !== undefined ? { "grpc.ssl_target_name_override": tls.serverName, "grpc.default_authority": tls.serverName } : {}),
      ...options.channelOptions,
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.channel.close();
  }

  /** Request metadata: the bearer token and the caller's extras. */
  metadata(extra: Readonly<Record<string, string>> | undefined): Metadata {
    const md = new Metadata();
    if (this.options.token !== undefined) md.set("authorization", `Bearer ${this.options.token}`);
    for (const [k, v] of Object.entries(extra ?? {})) md.set(k, v);
    return md;
  }

  /** Absolute deadline of a call. */
  deadline(deadlineMs: number | undefined): number {
    const ms = deadlineMs ?? this.options.deadlineMs;
    return ms === 0 ? Infinity : Date.now() + ms;
  }

  #policy(call: CallOptions, idempotent: boolean): RetryPolicy | false {
    if (!(call.idempotent ?? idempotent) || call.retry === false || this.options.retry === false) return false;
    return call.retry === undefined ? this.options.retry : resolveRetryPolicy(call.retry, this.options.retry);
  }

  /**
   * Waits until the channel is connected; throws UnavailableError when the connection attempt
   * fails or `timeoutMs` passes.
   */
  async waitForReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = this.channel.getConnectivityState(true);
      if (state === connectivityState.READY) return;
      if (this.#closed) throw new CancelledError("the client is closed");
      // Fail fast on a refused or failed connection instead of waiting out the timeout.
      if (state === connectivityState.TRANSIENT_FAILURE) throw unreachable(this.options.address, "the connection was refused or failed");
      const ok = await new Promise<boolean>((resolve) => {
        this.channel.watchConnectivityState(state, deadline, (err) => resolve(err === undefined));
      });
      if (!ok) throw unreachable(this.options.address, `not connected within ${timeoutMs} ms`);
    }
  }

  /** A unary call with deadline, cancellation, typed errors and (when idempotent) retries. */
  async unary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, idempotent: boolean, call: CallOptions = {}): Promise<Res> {
    if (this.#closed) throw new CancelledError("the client is closed; create a new one");
    const deadline = this.deadline(call.deadlineMs);
    const policy = this.#policy(call, idempotent);
    const metadata = this.metadata(call.metadata);
    for (let attempt = 1; ; attempt++) {
      if (call.signal?.aborted === true) throw new CancelledError("the call was cancelled by the caller", { cause: call.signal.reason });
      if (Date.now() >= deadline) throw new DeadlineExceededError(`the deadline passed after ${attempt - 1} attempt(s); raise deadlineMs if the node is slow`);
      try {
        const res = await this.#once(method, request, { deadline, metadata }, call.signal);
        this.budget.onSuccess();
        return res;
      } catch (e) {
        const err = toNeuroGraphError(e);
        if (!isRetryable(err)) throw err;
        this.budget.onRetryableFailure();
        if (policy === false || attempt >= policy.maxAttempts || !this.budget.allowsRetry()) throw err;
        const wait = backoffDelayMs(policy, attempt, serverRetryDelayMs(err));
        if (Date.now() + wait >= deadline) throw err;
        if (this.options.onRetry !== undefined || call.onRetry !== undefined) {
          const event = { method: method.name, attempt, error: err, delayMs: wait };
          this.options.onRetry?.(event);
          call.onRetry?.(event);
        }
        await sleep(wait, call.signal);
      }
    }
  }

  #once<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, attempt: Attempt, signal: AbortSignal | undefined): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const options: Partial<GrpcCallOptions> = attempt.deadline === Infinity ? {} : { deadline: new Date(attempt.deadline) };
      let onAbort: (() => void) | undefined;
      const grpcCall = method(request, attempt.metadata, options, (err, res) => {
        if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
        if (err === null) resolve(res);
        else reject(toTypedError(err));
      });
      if (signal !== undefined) {
        onAbort = (): void => grpcCall.cancel();
        signal.addEventListener("abort", onAbort, { once: true });
      }
    });
  }
}

/** A grpc-js failure → the typed error (already typed errors pass through). */
export function toTypedError(err: unknown): NeuroGraphError {
  if (err instanceof NeuroGraphError) return err;
  if (typeof err === "object" && err !== null && "code" in err) return statusToError(err as ServiceError);
  return toNeuroGraphError(err);
}
