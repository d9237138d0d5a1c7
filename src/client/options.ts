/**
 * Client options: where the node is, how to authenticate, default deadline and retries. Only the
 * address and the admin token have environment defaults (`NG_GRPC_ADDR`, `NG_ADMIN_TOKEN`), the
 * same variables `neurograph serve` and the CLI read.
 */
import { ValidationError, type FieldViolation, type NeuroGraphError } from "../core/errors.ts";
import { DEFAULT_RETRY_BUDGET, resolveRetryPolicy, type RetryBudgetOptions, type RetryPolicy } from "./retry.ts";

export const DEFAULT_ADDRESS = "127.0.0.1:50051";
const MiB = 1024 * 1024;

export interface ClientTlsOptions {
  /** PEM CA bundle that the server certificate must chain to (default: the system roots). */
  readonly ca?: Uint8Array | string;
  /** PEM client certificate and key, for servers that require mTLS. */
  readonly cert?: Uint8Array | string;
  readonly key?: Uint8Array | string;
  /** The name the server certificate must carry, when it differs from the address host. */
  readonly serverName?: string;
}

export interface ClientOptions {
  /** `host:port`; default `NG_GRPC_ADDR`, else 127.0.0.1:50051. */
  readonly address?: string;
  /**
   * Several nodes of one cluster (`ip:port` each, all IPv4 or all IPv6), used instead of
   * `address`: calls are spread round-robin over the nodes that are up, and a retry after
   * UNAVAILABLE goes to another one, so a node restarting does not stop the client.
   */
  readonly addresses?: readonly string[];
  /** TLS (`true`: TLS with the system roots); default plaintext. */
  readonly tls?: ClientTlsOptions | true;
  /** Bearer token for AdminService (and any method the server protects); default `NG_ADMIN_TOKEN`. */
  readonly token?: string;
  /** Deadline of each unary call, retries included, in ms; 0 = none. Default 30 000. */
  readonly deadlineMs?: number;
  /** Retries of idempotent calls; `false` turns them off. */
  readonly retry?: Partial<RetryPolicy> | false;
  /** The token bucket that caps retries across all calls of this client. */
  readonly retryBudget?: RetryBudgetOptions;
  /** Told before every retry (logging, metrics): the failure and the wait before the next attempt. */
  readonly onRetry?: RetryListener;
  /** How long `connect()` waits for the channel to be ready, in ms; 0 = do not wait. Default 5 000. */
  readonly connectTimeoutMs?: number;
  /** Largest response accepted (default 64 MiB) and request sent (default 16 MiB, the server's default limit). */
  readonly maxReceiveMessageBytes?: number;
  readonly maxSendMessageBytes?: number;
  /** Extra grpc-js channel options (keepalive etc.). */
  readonly channelOptions?: Readonly<Record<string, string | number>>;
  /** Environment to read defaults from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** What a retry listener is told. */
export interface RetryEvent {
  /** The RPC method, e.g. `createTokens`. */
  readonly method: string;
  /** The attempt that failed (1 = the first). */
  readonly attempt: number;
  readonly error: NeuroGraphError;
  readonly delayMs: number;
}

export type RetryListener = (event: RetryEvent) => void;

export interface ResolvedClientOptions {
  /** The address, or the addresses joined with commas. */
  readonly address: string;
  /** The grpc-js channel target (`host:port`, or `ipv4:a,b,c` for several nodes). */
  readonly target: string;
  /** Several nodes: the channel balances round-robin over them. */
  readonly balanced: boolean;
  readonly tls: ClientTlsOptions | true | undefined;
  readonly token: string | undefined;
  readonly deadlineMs: number;
  readonly retry: RetryPolicy | false;
  readonly retryBudget: RetryBudgetOptions;
  readonly onRetry: RetryListener | undefined;
  readonly connectTimeoutMs: number;
  readonly maxReceiveMessageBytes: number;
  readonly maxSendMessageBytes: number;
  readonly channelOptions: Readonly<Record<string, string | number>>;
}

const ADDRESS = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/;
const SCHEMED = /^(?:dns|ipv4|ipv6|unix|unix-abstract):/;

function checkInt(v: FieldViolation[], field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    v.push({ field, value: String(value), rule: "integer_range", description: `${field} must be an integer in ${min}..${max}` });
  }
}

const IPV4_PORT = /^(?:\d{1,3}\.){3}\d{1,3}:(\d{1,5})$/;
const IPV6_PORT = /^\[[0-9A-Fa-f:.]+\]:(\d{1,5})$/;

/** The channel target for several nodes: `ipv4:a,b` or `ipv6:a,b` (grpc-js resolves both without DNS). */
function multiTarget(v: FieldViolation[], addresses: readonly string[]): string {
  const family = addresses.every((a) => IPV4_PORT.test(a)) ? "ipv4" : addresses.every((a) => IPV6_PORT.test(a)) ? "ipv6" : undefined;
  if (family === undefined) {
    v.push({
      field: "addresses",
      value: addresses.join(","),
      rule: "address_format",
      description: "several addresses must all be ip:port of one family, e.g. 10.0.0.1:50051 or [::1]:50051 (for a DNS name that resolves to every node use address: \"dns:name:port\")",
    });
    return addresses.join(",");
  }
  return `${family}:${addresses.join(",")}`;
}

/** Applies defaults and validates every option at once. */
export function resolveClientOptions(options: ClientOptions = {}): ResolvedClientOptions {
  const env = options.env ?? process.env;
  const v: FieldViolation[] = [];
  const many = options.addresses !== undefined && options.addresses.length > 0 ? options.addresses : undefined;
  if (many !== undefined && options.address !== undefined) {
    v.push({ field: "addresses", value: many.join(","), rule: "address_conflict", description: "give either address or addresses, not both" });
  }
  const address = many?.join(",") ?? options.address ?? (env["NG_GRPC_ADDR"] === undefined || env["NG_GRPC_ADDR"] === "" ? DEFAULT_ADDRESS : env["NG_GRPC_ADDR"]);
  const target = many === undefined ? address : multiTarget(v, many);
  if (many !== undefined) {
    for (const a of many) {
      if (Number(a.slice(a.lastIndexOf(":") + 1)) > 65535) v.push({ field: "addresses", value: a, rule: "address_format", description: "the port must be in 1..65535" });
    }
  } else if (!ADDRESS.test(address) && !SCHEMED.test(address)) {
    v.push({ field: "address", value: address, rule: "address_format", description: `expected host:port, e.g. ${DEFAULT_ADDRESS} or [::1]:50051` });
  } else if (!SCHEMED.test(address) && Number(address.slice(address.lastIndexOf(":") + 1)) > 65535) {
    v.push({ field: "address", value: address, rule: "address_format", description: "the port must be in 1..65535" });
  }
  const token = options.token ?? (env["NG_ADMIN_TOKEN"] === "" ? undefined : env["NG_ADMIN_TOKEN"]);
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) {
    v.push({ field: "token", value: `(${token.length} characters)`, rule: "token_format", description: "the bearer token must be printable ASCII without spaces" });
  }
  const deadlineMs = options.deadlineMs ?? 30_000;
  checkInt(v, "deadlineMs", deadlineMs, 0, 2 ** 31 - 1);
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  checkInt(v, "connectTimeoutMs", connectTimeoutMs, 0, 2 ** 31 - 1);
  const maxReceiveMessageBytes = options.maxReceiveMessageBytes ?? 64 * MiB;
  const maxSendMessageBytes = options.maxSendMessageBytes ?? 16 * MiB;
  checkInt(v, "maxReceiveMessageBytes", maxReceiveMessageBytes, 1024, 2 ** 31 - 1);
  checkInt(v, "maxSendMessageBytes", maxSendMessageBytes, 1024, 2 ** 31 - 1);
  let retry: RetryPolicy | false = false;
  if (options.retry !== false) {
    try {
      retry = resolveRetryPolicy(options.retry ?? {});
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      v.push(...err.violations);
    }
  }
  if (v.length > 0) throw ValidationError.of("client options", v);
  return {
    address,
    target,
    balanced: many !== undefined && many.length > 1,
    tls: options.tls,
    token,
    deadlineMs,
    retry,
    retryBudget: options.retryBudget ?? DEFAULT_RETRY_BUDGET,
    onRetry: options.onRetry,
    connectTimeoutMs,
    maxReceiveMessageBytes,
    maxSendMessageBytes,
    channelOptions: options.channelOptions ?? {},
  };
}
