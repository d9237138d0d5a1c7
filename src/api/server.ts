/**
 * The gRPC server of a node: TokenService, GraphService, AdminService, grpc.health.v1.Health and
 * reflection on one `@grpc/grpc-js` server, with TLS / mTLS, message size limits, keepalive, an
 * optional admin bearer token and a graceful stop.
 */
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { Server, ServerCredentials, type ChannelOptions, type ServerInterceptor } from "@grpc/grpc-js";
import { FailedPreconditionError, UnavailableError, ValidationError, type FieldViolation } from "../core/errors.ts";
import { AdminServiceService } from "../gen/neurograph/v1/admin_service.ts";
import { FieldServiceService } from "../gen/neurograph/v1/field_service.ts";
import { GraphServiceService } from "../gen/neurograph/v1/graph_service.ts";
import { HealthService } from "../gen/grpc/health/v1/health.ts";
import { AdminServiceHandlers } from "./admin-service.ts";
import { BearerTokenAuth } from "./auth.ts";
import { serializeGetTokensResponse } from "./get-tokens-codec.ts";
import type { NodeBackend } from "./backend.ts";
import { tolerantDefinition } from "./decode.ts";
import type { GuardianBackend } from "./guardian-backend.ts";
import { GuardianServiceHandlers } from "./guardian-service.ts";
import { formatAddress, resolveApiServerConfig, type ApiServerConfig, type ApiServerOptions, type TlsOptions } from "./config.ts";
import { FieldServiceHandlers, type FieldBackend } from "./field-service.ts";
import { GraphServiceHandlers } from "./graph-service.ts";
import { OpenCalls, type CallInterceptor, type HandlerEnv } from "./handlers.ts";
import { HealthRegistry, ServingStatus } from "./health.ts";
import { ObservabilityServiceHandlers, type ObservabilityBackend } from "./observability-service.ts";
import { addReflection } from "./reflection.ts";
import { TokenServiceHandlers, tokenServiceDefinition } from "./token-service.ts";

export const SERVICE_NAMES = Object.freeze({
  token: "neurograph.v1.TokenService",
  graph: "neurograph.v1.GraphService",
  field: "neurograph.v1.FieldService",
  admin: "neurograph.v1.AdminService",
  health: "grpc.health.v1.Health",
});

export interface ApiServerDeps {
  readonly backend: NodeBackend;
  /** The node's field engine; FieldService is served only when given. */
  readonly field?: FieldBackend;
  /** Sampling configuration and black box RPCs of AdminService; without it they answer UNIMPLEMENTED. */
  readonly observability?: ObservabilityBackend;
  /** The constitution, guardian and learning RPCs; without it they answer UNIMPLEMENTED. */
  readonly guardian?: GuardianBackend;
  /** Run around every call after authentication (metrics, tracing). */
  readonly interceptors?: readonly CallInterceptor[];
  /** grpc-js server interceptors, run before our handlers. */
  readonly grpcInterceptors?: readonly ServerInterceptor[];
  /** Receives unexpected errors with the id the client was given (for the log). */
  readonly onInternalError?: (error: unknown, errorId: string) => void;
}

export interface BoundAddress {
  readonly host: string;
  readonly port: number;
  /** `host:port` as clients dial it. */
  readonly address: string;
}

function readPem(violations: FieldViolation[], field: string, path: string | undefined): Buffer | undefined {
  if (path === undefined || path === "") return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    violations.push({ field, value: path, rule: "readable_file", description: `cannot read ${field} (${reason}); give the path of a PEM file` });
    return undefined;
  }
}

/** Reads and checks the PEM files at once, so a bad file fails the start with a clear message. */
function serverCredentials(tls: TlsOptions | undefined): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  const violations: FieldViolation[] = [];
  const cert = readPem(violations, "tls.certFile", tls.certFile);
  const key = readPem(violations, "tls.keyFile", tls.keyFile);
  const ca = readPem(violations, "tls.caFile", tls.caFile);
  if (violations.length === 0 && cert !== undefined && key !== undefined) {
    try {
      createSecureContext({ cert, key, ...(ca === undefined ? {} : { ca }) });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      violations.push({
        field: "tls",
        rule: "valid_pem",
        description: `the TLS certificate, key or CA is not usable (${reason}); check that the files are PEM and that the key matches the certificate`,
      });
    }
  }
  if (violations.length > 0 || cert === undefined || key === undefined) throw ValidationError.of("TLS configuration", violations);
  return ServerCredentials.createSsl(ca ?? null, [{ cert_chain: cert, private_key: key }], tls.requireClientCert === true);
}

function grpcOptions(config: ApiServerConfig, interceptors: readonly ServerInterceptor[]): ChannelOptions & { interceptors: ServerInterceptor[] } {
  const k = config.keepalive;
  return {
    "grpc.max_receive_message_length": config.maxReceiveMessageBytes,
    "grpc.max_send_message_length": config.maxSendMessageBytes,
    "grpc.keepalive_time_ms": k.timeMs,
    "grpc.keepalive_timeout_ms": k.timeoutMs,
    ...(k.maxConnectionIdleMs > 0 ? { "grpc.max_connection_idle_ms": k.maxConnectionIdleMs } : {}),
    ...(k.maxConnectionAgeMs > 0
      ? { "grpc.max_connection_age_ms": k.maxConnectionAgeMs, "grpc.max_connection_age_grace_ms": config.shutdownTimeoutMs }
      : {}),
    ...(config.maxConcurrentStreams > 0 ? { "grpc.max_concurrent_streams": config.maxConcurrentStreams } : {}),
    // "grpc.enable_channelz": 0 would save channelz's per-call bookkeeping, but grpc-js 1.14 then
    // never records the sessions and forceShutdown() leaves them open (calls hang after a forced
    // stop), so channelz stays on.
    interceptors: [...interceptors],
  };
}

export class ApiServer {
  readonly config: ApiServerConfig;
  /** Health statuses; the node sets NOT_SERVING / SERVING as its state changes. */
  readonly health = new HealthRegistry();
  readonly #deps: ApiServerDeps;
  readonly #shutdown = new AbortController();
  readonly #calls = new OpenCalls();
  #server: Server | undefined;
  #bound: BoundAddress | undefined;
  #stopping: Promise<{ forced: boolean }> | undefined;

  /** Validates the options (throws a ValidationError listing every bad one). */
  constructor(deps: ApiServerDeps, options: ApiServerOptions = {}) {
    this.config = resolveApiServerConfig(options);
    this.#deps = deps;
  }

  /** The address the server listens on, once started. */
  get address(): BoundAddress | undefined {
    return this.#bound;
  }

  /** Binds and starts serving; every service reports SERVING once bound. */
  async start(): Promise<BoundAddress> {
    if (this.#server !== undefined) throw new FailedPreconditionError("the gRPC server is already started");
    const config = this.config;
    const credentials = serverCredentials(config.tls);
    const server = new Server(grpcOptions(config, this.#deps.grpcInterceptors ?? []));
    const interceptors: CallInterceptor[] = [];
    if (config.adminToken !== undefined) interceptors.push(new BearerTokenAuth(config.adminToken, [SERVICE_NAMES.admin]));
    interceptors.push(...(this.#deps.interceptors ?? []));
    const env: HandlerEnv = {
      interceptors,
      defaultDeadlineMs: config.defaultDeadlineMs,
      statusOptions: this.#deps.onInternalError === undefined ? {} : { onInternalError: this.#deps.onInternalError },
      shutdown: this.#shutdown.signal,
      calls: this.#calls,
    };
    const { backend, guardian } = this.#deps;
    const guardianHandlers = guardian === undefined ? undefined : new GuardianServiceHandlers(guardian, config.limits);
    server.addService(
      tolerantDefinition({ ...tokenServiceDefinition, getTokens: { ...tokenServiceDefinition.getTokens, responseSerialize: serializeGetTokensResponse } }),
      new TokenServiceHandlers(backend, config.limits).service(env));
    server.addService(tolerantDefinition(GraphServiceService), { ...new GraphServiceHandlers(backend, config.limits).service(env), ...guardianHandlers?.graphService(env) });
    const observability = this.#deps.observability === undefined ? undefined : new ObservabilityServiceHandlers(this.#deps.observability).service(env);
    server.addService(tolerantDefinition(AdminServiceService), { ...new AdminServiceHandlers(backend).service(env), ...observability, ...guardianHandlers?.adminService(env) });
    if (this.#deps.field !== undefined) server.addService(tolerantDefinition(FieldServiceService), new FieldServiceHandlers(this.#deps.field, config.limits).service(env));
    server.addService(HealthService, this.health.service(env));
    addReflection(server);

    const requested = formatAddress(config.host, config.port);
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(requested, credentials, (err, boundPort) => {
        if (err === null) return resolve(boundPort);
        server.forceShutdown();
        reject(new FailedPreconditionError(`cannot listen for gRPC on ${requested}: ${err.message}; choose another address (e.g. --grpc-addr / NG_GRPC_ADDR)`, [], { cause: err }));
      });
    });
    this.#server = server;
    this.#bound = { host: config.host, port, address: formatAddress(config.host, port) };
    const names: string[] = ["", SERVICE_NAMES.token, SERVICE_NAMES.graph, SERVICE_NAMES.admin];
    if (this.#deps.field !== undefined) names.push(SERVICE_NAMES.field);
    for (const name of names) {
      this.health.setStatus(name, ServingStatus.SERVING);
    }
    return this.#bound;
  }

  /** Calls in progress (unary, client and server streams). */
  get openCalls(): number {
    return this.#calls.size;
  }

  /**
   * Graceful stop: reports NOT_SERVING, answers every new call (health checks aside) with
   * UNAVAILABLE ("draining, retry another node") and stops taking connections (HTTP/2 GOAWAY),
   * ends server streams with UNAVAILABLE, and lets the calls in flight finish for up to
   * `timeoutMs`. Calls still open then are answered with UNAVAILABLE, never cancelled by the
   * transport (CANCELLED is not retryable); their work may still complete, so only idempotent
   * calls may be retried (the client library retries creates only when every token has its id,
   * and reads back what an earlier attempt stored).
   */
  stop(timeoutMs: number = this.config.shutdownTimeoutMs): Promise<{ forced: boolean }> {
    this.#stopping ??= this.#stop(timeoutMs);
    return this.#stopping;
  }

  async #stop(timeoutMs: number): Promise<{ forced: boolean }> {
    const server = this.#server;
    const where = this.#bound === undefined ? "this node" : `node ${this.#bound.address}`;
    this.health.setAll(ServingStatus.NOT_SERVING);
    this.#calls.refuse(new UnavailableError(`${where} is draining (shutting down) and takes no new calls; retry on another node of the cluster`));
    // Let health watchers write NOT_SERVING before their streams end.
    await new Promise((resolve) => setImmediate(resolve));
    this.#shutdown.abort();
    if (server === undefined) return { forced: false };
    const closed = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    const limit = <T>(p: Promise<T>, ms: number): Promise<boolean> =>
      new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), ms);
        void p.then(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    if (await limit(closed, timeoutMs)) return { forced: false };
    // The drain limit: answer what is left ourselves, so clients see UNAVAILABLE (retryable)
    // rather than the transport's CANCELLED, then give the sessions a moment to send it.
    const left = this.#calls.size;
    this.#calls.abortAll(new UnavailableError(`${where} stopped before this call completed (its drain limit of ${timeoutMs} ms passed); retry on another node (an idempotent retry is safe: it may have been applied)`));
    const answered = await limit(closed, Math.min(1_000, Math.max(100, timeoutMs)));
    if (!answered) server.forceShutdown();
    return { forced: left > 0 || !answered };
  }
}

/** Creates and starts a server; see `ApiServer`. */
export async function startApiServer(deps: ApiServerDeps, options: ApiServerOptions = {}): Promise<ApiServer> {
  const server = new ApiServer(deps, options);
  await server.start();
  return server;
}
