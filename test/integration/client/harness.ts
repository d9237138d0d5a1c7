/**
 * A real gRPC server (`src/api`) on a free loopback port with the in-memory test backend behind
 * it (standing in for the actor layer, not for gRPC), wrapped so a test can make chosen backend
 * methods fail a number of times first; and a `NeuroGraphClient` connected to it.
 */
import { ApiServer } from "../../../src/api/server.ts";
import type { ApiServerOptions } from "../../../src/api/config.ts";
import type { NodeBackend } from "../../../src/api/backend.ts";
import { NeuroGraphClient, type ClientOptions } from "../../../src/client/index.ts";
import { MemoryBackend } from "../api/memory-backend.ts";

type Method = keyof NodeBackend;

/** Makes chosen backend methods throw the given errors before they run for real. */
export class FlakyBackend {
  readonly inner = new MemoryBackend();
  /** Calls per method, failed ones included. */
  readonly attempts = new Map<string, number>();
  readonly #failures = new Map<string, Error[]>();
  readonly backend: NodeBackend;

  constructor() {
    this.backend = new Proxy(this.inner, {
      get: (target, prop, receiver): unknown => {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof prop !== "string" || typeof value !== "function") return value;
        const fn = value as (...args: unknown[]) => Promise<unknown>;
        return async (...args: unknown[]): Promise<unknown> => {
          this.attempts.set(prop, (this.attempts.get(prop) ?? 0) + 1);
          const queued = this.#failures.get(prop);
          const next = queued?.shift();
          if (next !== undefined) throw next;
          return fn.apply(target, args);
        };
      },
    });
  }

  /** The next `errors.length` calls of `method` throw these errors, in order. */
  failNext(method: Method, ...errors: Error[]): void {
    this.#failures.set(method, [...(this.#failures.get(method) ?? []), ...errors]);
  }

  attemptsOf(method: Method): number {
    return this.attempts.get(method) ?? 0;
  }
}

export interface ClientHarness {
  readonly server: ApiServer;
  readonly flaky: FlakyBackend;
  readonly memory: MemoryBackend;
  readonly address: string;
  readonly client: NeuroGraphClient;
  /** Another client on the same server with other options. */
  newClient(options?: ClientOptions): Promise<NeuroGraphClient>;
  close(): Promise<void>;
}

/** Retries fast in tests: the server's RetryInfo (1 s for UNAVAILABLE) is capped at 20 ms. */
export const FAST_RETRY = { initialBackoffMs: 5, maxBackoffMs: 20 } as const;

export async function startClientHarness(serverOptions: ApiServerOptions = {}, clientOptions: ClientOptions = {}): Promise<ClientHarness> {
  const flaky = new FlakyBackend();
  const server = new ApiServer({ backend: flaky.backend }, { address: "127.0.0.1:0", ...serverOptions });
  const { address } = await server.start();
  const clients: NeuroGraphClient[] = [];
  const newClient = async (options: ClientOptions = {}): Promise<NeuroGraphClient> => {
    const c = await NeuroGraphClient.connect({ address, retry: FAST_RETRY, env: {}, ...clientOptions, ...options });
    clients.push(c);
    return c;
  };
  const client = await newClient();
  return {
    server,
    flaky,
    memory: flaky.inner,
    address,
    client,
    newClient,
    async close() {
      for (const c of clients) c.close();
      await server.stop(1000);
    },
  };
}

/** The rejection of a promise that must fail (fails the test when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`rejected with a non-Error: ${String(err)}`);
  }
  throw new Error("the call succeeded but a failure was expected");
}
