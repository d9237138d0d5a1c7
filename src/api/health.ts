/**
 * The standard `grpc.health.v1.Health` service on the generated code: a status per service name
 * ("" = the whole node), set by the node (SERVING once ready, NOT_SERVING when degraded or
 * stopping). Check answers NOT_FOUND for unknown services; Watch streams the current status at
 * once and then every change (SERVICE_UNKNOWN while the service is unknown).
 */
import { NotFoundError } from "../core/errors.ts";
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthListRequest,
  type HealthListResponse,
  type HealthServer,
} from "../gen/grpc/health/v1/health.ts";
import { serverStreaming, unary, type HandlerEnv } from "./handlers.ts";

export { ServingStatus };

export class HealthRegistry {
  readonly #statuses = new Map<string, ServingStatus>();
  #waiters: (() => void)[] = [];

  /** Sets (and registers) the status of a service; "" is the node as a whole. */
  setStatus(service: string, status: ServingStatus): void {
    if (this.#statuses.get(service) === status) return;
    this.#statuses.set(service, status);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Sets every registered service, e.g. NOT_SERVING when the node stops. */
  setAll(status: ServingStatus): void {
    for (const service of [...this.#statuses.keys()]) this.setStatus(service, status);
  }

  getStatus(service: string): ServingStatus | undefined {
    return this.#statuses.get(service);
  }

  check(req: HealthCheckRequest): HealthCheckResponse {
    const status = this.#statuses.get(req.service);
    if (status === undefined) {
      throw new NotFoundError(`unknown service "${req.service}"; known: ${[...this.#statuses.keys()].map((s) => `"${s}"`).join(", ")}`);
    }
    return { status };
  }

  list(_req: HealthListRequest): HealthListResponse {
    const statuses: HealthListResponse["statuses"] = {};
    for (const [service, status] of this.#statuses) statuses[service] = { status };
    return { statuses };
  }

  /** Current status, then each change, until `signal` aborts. */
  async *watch(req: HealthCheckRequest, signal: AbortSignal): AsyncGenerator<HealthCheckResponse> {
    let last: ServingStatus | undefined;
    while (!signal.aborted) {
      const current = this.#statuses.get(req.service) ?? ServingStatus.SERVICE_UNKNOWN;
      if (current !== last) {
        last = current;
        yield { status: current };
      }
      await this.#nextChange(signal);
    }
  }

  #nextChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const onAbort = (): void => {
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        resolve();
      };
      const wake = (): void => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(wake);
    });
  }

  /** The grpc-js service implementation. */
  service(env: HandlerEnv): HealthServer {
    return {
      check: unary(env, (req: HealthCheckRequest) => Promise.resolve(this.check(req))),
      list: unary(env, (req: HealthListRequest) => Promise.resolve(this.list(req))),
      watch: serverStreaming(env, (req: HealthCheckRequest, ctx) => this.watch(req, ctx.signal)),
    };
  }
}
