/**
 * Test harness: a real ApiServer on a free loopback port, wired to a MemoryBackend, and real
 * grpc-js clients built from the generated stubs.
 */
import { credentials, Metadata, type CallOptions, type ChannelCredentials, type ClientUnaryCall, type ServiceError } from "@grpc/grpc-js";
import { ApiServer, type ApiServerDeps } from "../../../src/api/server.ts";
import type { ApiServerOptions } from "../../../src/api/config.ts";
import { TokenServiceClient } from "../../../src/gen/neurograph/v1/token_service.ts";
import { GraphServiceClient } from "../../../src/gen/neurograph/v1/graph_service.ts";
import { AdminServiceClient } from "../../../src/gen/neurograph/v1/admin_service.ts";
import { HealthClient } from "../../../src/gen/grpc/health/v1/health.ts";
import { MemoryBackend } from "./memory-backend.ts";

export interface Harness {
  readonly server: ApiServer;
  readonly backend: MemoryBackend;
  readonly address: string;
  readonly tokens: TokenServiceClient;
  readonly graph: GraphServiceClient;
  readonly admin: AdminServiceClient;
  readonly health: HealthClient;
  close(): Promise<void>;
}

export async function startHarness(
  options: ApiServerOptions = {},
  deps: Partial<ApiServerDeps> = {},
  clientCredentials: ChannelCredentials = credentials.createInsecure(),
  clientOptions: Record<string, number | string> = {},
): Promise<Harness> {
  const backend = new MemoryBackend();
  const server = new ApiServer({ backend, ...deps }, { address: "127.0.0.1:0", ...options });
  const { address } = await server.start();
  const opts = { "grpc.max_receive_message_length": 64 * 1024 * 1024, ...clientOptions };
  const tokens = new TokenServiceClient(address, clientCredentials, opts);
  const graph = new GraphServiceClient(address, clientCredentials, opts);
  const admin = new AdminServiceClient(address, clientCredentials, opts);
  const health = new HealthClient(address, clientCredentials, opts);
  return {
    server,
    backend,
    address,
    tokens,
    graph,
    admin,
    health,
    async close() {
      for (const c of [tokens, graph, admin, health]) c.close();
      await server.stop(1000);
    },
  };
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** Calls a unary method of a generated client and resolves with its response. */
export function call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, metadata = new Metadata(), options: Partial<CallOptions> = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, metadata, options, (err, res) => (err === null ? resolve(res) : reject(err)));
  });
}

/** Resolves with the ServiceError of a call that must fail (and fails the test if it succeeds). */
export async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error("the call succeeded but a failure was expected");
}

export function bearer(token: string): Metadata {
  const md = new Metadata();
  md.set("authorization", `Bearer ${token}`);
  return md;
}
