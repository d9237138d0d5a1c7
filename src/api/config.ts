/**
 * Configuration of the gRPC server: defaults, and validation that reports every bad value at
 * once (one violation per option, naming the option, the value and what is allowed).
 */
import { ValidationError, type FieldViolation } from "../core/errors.ts";

export const DEFAULT_GRPC_ADDRESS = "127.0.0.1:50051";
const MiB = 1024 * 1024;

/** Limits the services enforce at the edge. */
export interface ApiLimits {
  /** Items per batch write, ids per read, records per ingest message. */
  readonly maxBatchItems: number;
  /** Results of a spatial query or GetConnections when the request gives no limit. */
  readonly defaultResultLimit: number;
  /** Largest `limit`, `k` or `max_results` a request may ask for. */
  readonly maxResultLimit: number;
  /** Tokens a traversal visits when the request gives no max_nodes. */
  readonly defaultTraversalNodes: number;
  readonly maxTraversalNodes: number;
  /** Largest max_depth of a traversal, path search or spreading activation. */
  readonly maxDepth: number;
  /** Rejections an ingest summary lists (all are counted). */
  readonly maxReportedRejections: number;
}

export const DEFAULT_API_LIMITS: ApiLimits = Object.freeze({
  maxBatchItems: 100_000,
  defaultResultLimit: 1000,
  maxResultLimit: 100_000,
  defaultTraversalNodes: 10_000,
  maxTraversalNodes: 1_000_000,
  maxDepth: 64,
  maxReportedRejections: 1000,
});

export interface TlsOptions {
  /** PEM certificate chain of the server. */
  readonly certFile: string;
  /** PEM private key of the server. */
  readonly keyFile: string;
  /** PEM CA bundle that client certificates must chain to (enables client certificate checks). */
  readonly caFile?: string;
  /** Require and verify a client certificate (mTLS); needs `caFile`. */
  readonly requireClientCert?: boolean;
}

export interface KeepaliveOptions {
  /** Interval of the server's HTTP/2 pings on an idle connection. */
  readonly timeMs?: number;
  /** How long the server waits for a ping ack before closing the connection. */
  readonly timeoutMs?: number;
  /** Close connections idle for this long (0 = never). */
  readonly maxConnectionIdleMs?: number;
  /** Close connections older than this, after a grace period (0 = never). */
  readonly maxConnectionAgeMs?: number;
}

export interface ApiServerOptions {
  /** `host:port` (IPv6 as `[::1]:50051`); port 0 picks a free port. */
  readonly address?: string;
  readonly tls?: TlsOptions;
  /** Largest request message accepted (RESOURCE_EXHAUSTED above it). */
  readonly maxReceiveMessageBytes?: number;
  /** Largest response message sent. */
  readonly maxSendMessageBytes?: number;
  readonly keepalive?: KeepaliveOptions;
  /** Concurrent streams per HTTP/2 connection (0 = the HTTP/2 default). */
  readonly maxConcurrentStreams?: number;
  /** Deadline given to calls whose client set none (0 = none). */
  readonly defaultDeadlineMs?: number;
  /** Grace period of `stop()` before in-flight calls are cancelled. */
  readonly shutdownTimeoutMs?: number;
  /** When set, AdminService methods require `authorization: Bearer <adminToken>`. */
  readonly adminToken?: string;
  readonly limits?: Partial<ApiLimits>;
}

export interface ApiServerConfig {
  readonly host: string;
  readonly port: number;
  readonly tls: TlsOptions | undefined;
  readonly maxReceiveMessageBytes: number;
  readonly maxSendMessageBytes: number;
  readonly keepalive: Required<KeepaliveOptions>;
  readonly maxConcurrentStreams: number;
  readonly defaultDeadlineMs: number;
  readonly shutdownTimeoutMs: number;
  readonly adminToken: string | undefined;
  readonly limits: ApiLimits;
}

export interface ParsedAddress {
  readonly host: string;
  readonly port: number;
}

const HOST_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$/;

/** Parses `host:port`; returns a description of the problem instead of throwing. */
export function parseAddress(address: string): ParsedAddress | string {
  const colon = address.lastIndexOf(":");
  if (colon <= 0) return `expected host:port (e.g. ${DEFAULT_GRPC_ADDRESS} or [::1]:50051)`;
  const host = address.slice(0, colon);
  const portText = address.slice(colon + 1);
  if (!HOST_PATTERN.test(host) || (host.includes(":") && !host.startsWith("["))) {
    return `invalid host "${host}": use a hostname, an IPv4 address or a bracketed IPv6 address`;
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    return `invalid port "${portText}": use an integer 0..65535 (0 picks a free port)`;
  }
  return { host, port: Number(portText) };
}

/** Formats a host and port for grpc-js (`[::1]:50051` keeps its brackets). */
export function formatAddress(host: string, port: number): string {
  return `${host}:${port}`;
}

function checkInt(violations: FieldViolation[], field: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    violations.push({
      field,
      value: String(value),
      rule: "integer_range",
      description: `${field} must be an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? "∞" : max}]`,
    });
  }
}

/** Applies defaults and validates; throws a ValidationError listing every bad option. */
export function resolveApiServerConfig(options: ApiServerOptions = {}): ApiServerConfig {
  const violations: FieldViolation[] = [];
  const address = options.address ?? DEFAULT_GRPC_ADDRESS;
  const parsed = parseAddress(address);
  if (typeof parsed === "string") {
    violations.push({ field: "address", value: address, rule: "address_format", description: parsed });
  }
  const tls = options.tls;
  if (tls !== undefined) {
    if (tls.certFile === "") violations.push({ field: "tls.certFile", value: "", rule: "required", description: "tls.certFile is required with TLS" });
    if (tls.keyFile === "") violations.push({ field: "tls.keyFile", value: "", rule: "required", description: "tls.keyFile is required with TLS" });
    if (tls.requireClientCert === true && (tls.caFile === undefined || tls.caFile === "")) {
      violations.push({
        field: "tls.caFile",
        rule: "required",
        description: "tls.caFile is required to verify client certificates (requireClientCert)",
      });
    }
  }
  const keepalive = {
    timeMs: options.keepalive?.timeMs ?? 120_000,
    timeoutMs: options.keepalive?.timeoutMs ?? 20_000,
    maxConnectionIdleMs: options.keepalive?.maxConnectionIdleMs ?? 0,
    maxConnectionAgeMs: options.keepalive?.maxConnectionAgeMs ?? 0,
  };
  const limits: ApiLimits = { ...DEFAULT_API_LIMITS, ...options.limits };
  const config: ApiServerConfig = {
    host: typeof parsed === "string" ? "" : parsed.host,
    port: typeof parsed === "string" ? 0 : parsed.port,
    tls,
    maxReceiveMessageBytes: options.maxReceiveMessageBytes ?? 16 * MiB,
    maxSendMessageBytes: options.maxSendMessageBytes ?? 64 * MiB,
    keepalive,
    maxConcurrentStreams: options.maxConcurrentStreams ?? 0,
    defaultDeadlineMs: options.defaultDeadlineMs ?? 60_000,
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? 10_000,
    adminToken: options.adminToken,
    limits,
  };
  checkInt(violations, "maxReceiveMessageBytes", config.maxReceiveMessageBytes, 1024, 2 ** 31 - 1);
  checkInt(violations, "maxSendMessageBytes", config.maxSendMessageBytes, 1024, 2 ** 31 - 1);
  checkInt(violations, "keepalive.timeMs", keepalive.timeMs, 1000);
  checkInt(violations, "keepalive.timeoutMs", keepalive.timeoutMs, 100);
  checkInt(violations, "keepalive.maxConnectionIdleMs", keepalive.maxConnectionIdleMs, 0);
  checkInt(violations, "keepalive.maxConnectionAgeMs", keepalive.maxConnectionAgeMs, 0);
  checkInt(violations, "maxConcurrentStreams", config.maxConcurrentStreams, 0, 2 ** 31 - 1);
  checkInt(violations, "defaultDeadlineMs", config.defaultDeadlineMs, 0);
  checkInt(violations, "shutdownTimeoutMs", config.shutdownTimeoutMs, 0);
  if (config.adminToken !== undefined && config.adminToken.length < 16) {
    violations.push({
      field: "adminToken",
      value: `(${config.adminToken.length} characters)`,
      rule: "min_length",
      description: "adminToken must have at least 16 characters; generate one with `openssl rand -hex 32`",
    });
  }
  for (const key of Object.keys(DEFAULT_API_LIMITS) as (keyof ApiLimits)[]) {
    checkInt(violations, `limits.${key}`, limits[key], 1);
  }
  if (limits.defaultResultLimit > limits.maxResultLimit) {
    violations.push({ field: "limits.defaultResultLimit", value: String(limits.defaultResultLimit), rule: "le_max", description: "limits.defaultResultLimit must not exceed limits.maxResultLimit" });
  }
  if (limits.defaultTraversalNodes > limits.maxTraversalNodes) {
    violations.push({ field: "limits.defaultTraversalNodes", value: String(limits.defaultTraversalNodes), rule: "le_max", description: "limits.defaultTraversalNodes must not exceed limits.maxTraversalNodes" });
  }
  if (violations.length > 0) throw ValidationError.of("gRPC server configuration", violations);
  return config;
}
