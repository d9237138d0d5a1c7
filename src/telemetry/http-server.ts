/**
 * The operations endpoint: `/metrics` (Prometheus text format), `/healthz` (the process is alive)
 * and `/readyz` (the node says it is ready, e.g. every shard recovered). Plain `node:http`, its own
 * port (default 127.0.0.1:9464, loopback unless configured otherwise).
 *
 * Concurrent scrapes share one rendering (single flight), so a burst of scrapers cannot multiply
 * the work done on the event loop.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { isIP, type Socket } from "node:net";
import { FailedPreconditionError, ValidationError, type FieldViolation } from "../core/errors.ts";
import type { MetricsRegistry } from "./metrics.ts";

export const DEFAULT_METRICS_HOST = "127.0.0.1";
export const DEFAULT_METRICS_PORT = 9464;

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** What the node answers to a readiness probe. */
export type Readiness = boolean | { readonly ready: boolean; readonly reason?: string };
export type ReadinessCheck = () => Readiness | Promise<Readiness>;

export interface MetricsServerOptions {
  readonly metrics: MetricsRegistry;
  /** IP literal or `localhost`. Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port (tests). Default 9464. */
  readonly port?: number;
  /** Readiness probe; without one the endpoint reports ready once it listens. */
  readonly ready?: ReadinessCheck;
  /** Open connections still busy after this many ms of `close()` are destroyed. Default 2000. */
  readonly closeGraceMs?: number;
}

export interface MetricsServer {
  readonly host: string;
  readonly port: number;
  /** Base URL, e.g. `http://127.0.0.1:9464`. */
  readonly url: string;
  /** Stops listening, lets in-flight requests finish (up to the grace period), then resolves. */
  close(): Promise<void>;
}

/** Validates a bind address; throws a ValidationError naming `field`. */
export function validateListenAddress(address: ListenAddress, field = "metrics.listen"): ListenAddress {
  const violations: FieldViolation[] = [];
  if (address.host !== "localhost" && isIP(address.host) === 0) {
    violations.push({
      field: `${field}.host`,
      value: address.host,
      rule: "ip_address",
      description: "must be an IP address (e.g. 127.0.0.1, ::1, 0.0.0.0) or localhost",
    });
  }
  if (!Number.isInteger(address.port) || address.port < 0 || address.port > 65535) {
    violations.push({ field: `${field}.port`, value: String(address.port), rule: "port_range", description: "must be an integer from 0 to 65535" });
  }
  if (violations.length > 0) throw ValidationError.of("listen address", violations);
  return address;
}

/**
 * Parses `host:port`, `[v6]:port` or a bare `port` (host 127.0.0.1). An empty host (`:9464`) is
 * rejected rather than read as "every interface": exposing the endpoint must be explicit.
 */
export function parseListenAddress(text: string, field = "metrics.listen"): ListenAddress {
  const t = text.trim();
  let host: string;
  let portText: string;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(t);
  if (v6 !== null) {
    host = v6[1] ?? "";
    portText = v6[2] ?? "";
  } else if (/^\d+$/.test(t)) {
    host = DEFAULT_METRICS_HOST;
    portText = t;
  } else {
    const i = t.lastIndexOf(":");
    if (i <= 0 || t.indexOf(":") !== i) {
      throw ValidationError.of("listen address", [
        { field, value: text, rule: "host_port", description: "must be host:port (e.g. 127.0.0.1:9464), [::1]:9464 or a port number" },
      ]);
    }
    host = t.slice(0, i);
    portText = t.slice(i + 1);
  }
  const port = /^\d+$/.test(portText) ? Number(portText) : Number.NaN;
  return validateListenAddress({ host, port }, field);
}

async function evaluateReadiness(check: ReadinessCheck | undefined): Promise<{ ready: boolean; reason?: string }> {
  if (check === undefined) return { ready: true };
  try {
    const r = await check();
    if (typeof r === "boolean") return r ? { ready: true } : { ready: false, reason: "the node reports not ready" };
    return r.ready ? { ready: true } : { ready: false, reason: r.reason ?? "the node reports not ready" };
  } catch (err) {
    return { ready: false, reason: `readiness check failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string, head: boolean): void {
  res.writeHead(status, {
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
  });
  res.end(head ? undefined : body);
}

const JSON_TYPE = "application/json; charset=utf-8";
const TEXT_TYPE = "text/plain; charset=utf-8";

/** Starts the endpoint; rejects with a clear error when the address cannot be bound. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const address = validateListenAddress({ host: options.host ?? DEFAULT_METRICS_HOST, port: options.port ?? DEFAULT_METRICS_PORT });
  const metrics = options.metrics;
  let inflight: Promise<string> | undefined;
  const scrape = (): Promise<string> => {
    inflight ??= metrics.metrics().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? "GET";
    const path = (req.url ?? "/").split("?", 1)[0];
    const head = method === "HEAD";
    if (method !== "GET" && !head) {
      req.resume();
      res.setHeader("Allow", "GET, HEAD");
      send(res, 405, TEXT_TYPE, `method ${method} not allowed; use GET\n`, false);
      return;
    }
    switch (path) {
      case "/metrics": {
        try {
          send(res, 200, metrics.contentType, await scrape(), head);
        } catch (err) {
          send(res, 500, TEXT_TYPE, `metrics collection failed: ${err instanceof Error ? err.message : String(err)}\n`, head);
        }
        return;
      }
      case "/healthz":
        send(res, 200, JSON_TYPE, `${JSON.stringify({ status: "ok", pid: process.pid, uptime_s: Math.round(process.uptime()) })}\n`, head);
        return;
      case "/readyz": {
        const r = await evaluateReadiness(options.ready);
        const body = r.ready ? { status: "ready" } : { status: "not_ready", reason: r.reason };
        send(res, r.ready ? 200 : 503, JSON_TYPE, `${JSON.stringify(body)}\n`, head);
        return;
      }
      default:
        send(res, 404, TEXT_TYPE, "not found; try /metrics, /healthz or /readyz\n", head);
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, TEXT_TYPE, `internal error: ${err instanceof Error ? err.message : String(err)}\n`, false);
      else res.destroy();
    });
  });
  // Slow or idle clients must not hold the endpoint: bound header and request time.
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.keepAliveTimeout = 5_000;
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const where = `${address.host}:${address.port}`;
      const why = err.code === "EADDRINUSE" ? "the address is in use" : err.code === "EACCES" ? "permission denied" : err.message;
      reject(new FailedPreconditionError(`metrics endpoint cannot listen on ${where}: ${why}; configure another metrics listen address`, [], { cause: err }));
    };
    server.once("error", onError);
    server.listen(address.port, address.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === "object" && bound !== null ? bound.port : address.port;
  const urlHost = isIP(address.host) === 6 ? `[${address.host}]` : address.host;

  let closing: Promise<void> | undefined;
  return {
    host: address.host,
    port,
    url: `http://${urlHost}:${port}`,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        const timer = setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, options.closeGraceMs ?? 2000);
        timer.unref();
        server.once("close", () => clearTimeout(timer));
      });
      return closing;
    },
  };
}
