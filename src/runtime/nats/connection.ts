/**
 * Connecting to NATS: options (servers, credentials, TLS, reconnect) validated up front with one
 * `ValidationError` listing every problem, connection failures mapped to typed errors that say
 * what to check, and connection status (disconnect, reconnect, …) turned into events that are
 * logged and can be observed.
 */
import { readFileSync } from "node:fs";
import {
  connect,
  credsAuthenticator,
  errors as natsErrors,
  nkeyAuthenticator,
  nkeys,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
  type Authenticator,
  type NatsConnection,
  type NodeConnectionOptions,
  type Status,
} from "@nats-io/transport-node";
import { ErrorCode, NeuroGraphError, UnavailableError, ValidationError, type FieldViolation } from "../../core/errors.ts";

export interface NatsTlsOptions {
  /** CA bundle that signed the server certificate (PEM). */
  readonly caFile?: string;
  /** Client certificate for mutual TLS (PEM); needs `keyFile`. */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** TLS before the NATS INFO exchange (servers configured with `handshake_first`). */
  readonly handshakeFirst?: boolean;
}

export interface NatsReconnectOptions {
  /** Attempts per server before giving up; -1 = forever (default). */
  readonly maxAttempts?: number;
  /** Wait between attempts to the same server (default 2000 ms). */
  readonly waitMs?: number;
  /** Random extra wait, plain connections (default 100 ms) and TLS (default 1000 ms). */
  readonly jitterMs?: number;
  readonly jitterTlsMs?: number;
}

export interface NatsConnectionOptions {
  /** `nats://host:port` or `tls://host:port` (a bare `host:port` means `nats://`); at least one. */
  readonly servers: string | readonly string[];
  /** Connection name shown by the server's monitoring (`/connz`). */
  readonly name?: string;
  /** At most one way to authenticate: user + password, token, nkey seed, or a `.creds` file. */
  readonly user?: string;
  readonly password?: string;
  readonly token?: string;
  /** A user nkey seed (`SU…`), given directly or as a file that holds it. */
  readonly nkeySeed?: string;
  readonly nkeySeedFile?: string;
  /** A decentralised-auth credentials file (user JWT + seed). */
  readonly credsFile?: string;
  readonly tls?: NatsTlsOptions;
  /** `false` disables reconnecting (the connection closes on the first disconnect). */
  readonly reconnect?: NatsReconnectOptions | false;
  /** Timeout of the first connection (default 5000 ms). */
  readonly connectTimeoutMs?: number;
  /** Keep retrying the first connection like a reconnect instead of failing (default false). */
  readonly waitOnFirstConnect?: boolean;
  /** Client pings: interval (default 2 min) and how many may go unanswered (default 2). */
  readonly pingIntervalMs?: number;
  readonly maxPingOut?: number;
}

/** A connection state change, for logs and for components that react to it. */
export interface NatsStatusEvent {
  readonly type: "disconnect" | "reconnecting" | "reconnect" | "update" | "ldm" | "error" | "stale" | "slow_consumer" | "close";
  /** The server concerned (disconnect, reconnect, ldm). */
  readonly server?: string;
  readonly error?: Error;
  /** For slow consumers: the subject and messages pending. */
  readonly detail?: string;
}

/** The part of a (pino) logger the NATS code uses. */
export interface NatsLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export const silentNatsLogger: NatsLogger = { info: () => undefined, warn: () => undefined };

/** Validates `options` and builds the client's options; throws one `ValidationError` listing every problem. */
export function natsClientOptions(options: NatsConnectionOptions): NodeConnectionOptions {
  const problems: FieldViolation[] = [];
  const problem = (field: string, value: string, rule: string, description: string): void => {
    problems.push({ field: `nats.${field}`, value, rule, description });
  };
  const servers = normaliseServers(options.servers, problem);

  const methods = [
    options.user !== undefined || options.password !== undefined ? "user/password" : undefined,
    options.token !== undefined ? "token" : undefined,
    options.nkeySeed !== undefined || options.nkeySeedFile !== undefined ? "nkey seed" : undefined,
    options.credsFile !== undefined ? "credentials file" : undefined,
  ].filter((m): m is string => m !== undefined);
  if (methods.length > 1) {
    problem("auth", methods.join(", "), "one_auth_method", `give one way to authenticate, not ${methods.join(" and ")}`);
  }
  let authenticator: Authenticator | undefined;
  if (options.user !== undefined || options.password !== undefined) {
    if (options.user === undefined || options.user === "") problem("user", "", "user_with_password", "a password needs a user name (--nats-user / NG_NATS_USER)");
    if (options.password === undefined) problem("password", "", "password_with_user", "a user needs a password (--nats-password / NG_NATS_PASSWORD)");
    else authenticator = usernamePasswordAuthenticator(options.user ?? "", options.password);
  }
  if (options.token !== undefined) {
    if (options.token === "") problem("token", "", "non_empty", "the token is empty");
    else authenticator = tokenAuthenticator(options.token);
  }
  if (options.nkeySeed !== undefined && options.nkeySeedFile !== undefined) {
    problem("nkeySeed", "", "one_source", "give the nkey seed or a file holding it, not both");
  }
  const seed = options.nkeySeed ?? (options.nkeySeedFile === undefined ? undefined : readText(options.nkeySeedFile, "nkeySeedFile", problem)?.trim());
  if (seed !== undefined) {
    if (checkUserSeed(seed)) authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
    else problem(options.nkeySeed !== undefined ? "nkeySeed" : "nkeySeedFile", options.nkeySeedFile ?? "(seed)", "nkey_seed", "not a NATS user nkey seed (it starts with SU and is 58 characters of base32)");
  }
  if (options.credsFile !== undefined) {
    const creds = readText(options.credsFile, "credsFile", problem);
    if (creds !== undefined) {
      if (!/-----BEGIN NATS USER JWT-----/.test(creds) || !/-----BEGIN USER NKEY SEED-----/.test(creds)) {
        problem("credsFile", options.credsFile, "creds_file", "not a NATS credentials file (it holds a user JWT and a user nkey seed)");
      } else authenticator = credsAuthenticator(new TextEncoder().encode(creds));
    }
  }

  let tls: NodeConnectionOptions["tls"];
  if (options.tls !== undefined) {
    const t = options.tls;
    if ((t.certFile === undefined) !== (t.keyFile === undefined)) {
      problem(t.certFile === undefined ? "tls.certFile" : "tls.keyFile", "", "cert_and_key", "a client certificate needs its key and vice versa (--nats-tls-cert with --nats-tls-key)");
    }
    for (const [field, file] of [["tls.caFile", t.caFile], ["tls.certFile", t.certFile], ["tls.keyFile", t.keyFile]] as const) {
      if (file !== undefined) readText(file, field, problem);
    }
    tls = {
      ...(t.caFile === undefined ? {} : { caFile: t.caFile }),
      ...(t.certFile === undefined ? {} : { certFile: t.certFile }),
      ...(t.keyFile === undefined ? {} : { keyFile: t.keyFile }),
      ...(t.handshakeFirst === true ? { handshakeFirst: true } : {}),
    };
  } else if (servers.some((s) => s.startsWith("tls://"))) {
    tls = {};
  }

  const r = options.reconnect;
  const int = (field: string, v: number | undefined, min: number, max: number): void => {
    if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) problem(field, String(v), "range", `must be an integer in ${min}..${max}`);
  };
  if (r !== false && r !== undefined) {
    int("reconnect.maxAttempts", r.maxAttempts, -1, 1_000_000);
    int("reconnect.waitMs", r.waitMs, 0, 3_600_000);
    int("reconnect.jitterMs", r.jitterMs, 0, 3_600_000);
    int("reconnect.jitterTlsMs", r.jitterTlsMs, 0, 3_600_000);
  }
  int("connectTimeoutMs", options.connectTimeoutMs, 1, 3_600_000);
  int("pingIntervalMs", options.pingIntervalMs, 1, 3_600_000);
  int("maxPingOut", options.maxPingOut, 1, 1000);
  if (options.name !== undefined && !/^[\x20-\x7e]{1,128}$/.test(options.name)) {
    problem("name", options.name, "connection_name", "1-128 printable ASCII characters");
  }
  if (problems.length > 0) throw ValidationError.of("NATS connection options", problems);

  return {
    servers,
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(authenticator === undefined ? {} : { authenticator }),
    ...(tls === undefined ? {} : { tls }),
    reconnect: r !== false,
    maxReconnectAttempts: r === false ? 0 : (r?.maxAttempts ?? -1),
    reconnectTimeWait: r === false ? 0 : (r?.waitMs ?? 2000),
    reconnectJitter: r === false ? 0 : (r?.jitterMs ?? 100),
    reconnectJitterTLS: r === false ? 0 : (r?.jitterTlsMs ?? 1000),
    timeout: options.connectTimeoutMs ?? 5000,
    waitOnFirstConnect: options.waitOnFirstConnect === true,
    ...(options.pingIntervalMs === undefined ? {} : { pingInterval: options.pingIntervalMs }),
    ...(options.maxPingOut === undefined ? {} : { maxPingOut: options.maxPingOut }),
    // A stack-capturing Error per request costs more than the request itself on loopback.
    noAsyncTraces: true,
  };
}

function normaliseServers(
  servers: string | readonly string[],
  problem: (field: string, value: string, rule: string, description: string) => void,
): string[] {
  const list = (typeof servers === "string" ? servers.split(",") : [...servers]).map((s) => s.trim()).filter((s) => s !== "");
  if (list.length === 0) problem("servers", "", "servers", "give at least one NATS server URL, e.g. nats://127.0.0.1:4222 (--nats / NG_NATS_URL)");
  const out: string[] = [];
  for (const raw of list) {
    const text = raw.includes("://") ? raw : `nats://${raw}`;
    let u: URL;
    try {
      u = new URL(text);
    } catch {
      problem("servers", raw, "server_url", "not a URL; expected nats://host:port or tls://host:port");
      continue;
    }
    if (u.protocol !== "nats:" && u.protocol !== "tls:") {
      problem("servers", raw, "server_url", `protocol ${u.protocol} is not supported; use nats:// or tls://`);
      continue;
    }
    if (u.username !== "" || u.password !== "") {
      problem("servers", `${u.protocol}//…@${u.host}`, "no_url_credentials", "put credentials in the user/password or token options, not in the URL (URLs end up in logs)");
      continue;
    }
    out.push(`${u.protocol}//${u.host === "" ? "127.0.0.1:4222" : u.host}`);
  }
  return out;
}

function readText(file: string, field: string, problem: (field: string, value: string, rule: string, description: string) => void): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code;
    problem(field, file, "readable_file", code === "ENOENT" ? "the file does not exist" : `cannot read the file (${code ?? String(err)})`);
    return undefined;
  }
}

function checkUserSeed(seed: string): boolean {
  if (!seed.startsWith("SU")) return false;
  try {
    nkeys.fromSeed(new TextEncoder().encode(seed));
    return true;
  } catch {
    return false;
  }
}

/** Connects; failures become `UnavailableError` (unreachable, retryable) or an UNAUTHENTICATED error. */
export async function connectNats(options: NatsConnectionOptions): Promise<NatsConnection> {
  const clientOptions = natsClientOptions(options);
  const where = (clientOptions.servers as string[]).join(", ");
  try {
    return await connect(clientOptions);
  } catch (err) {
    throw connectError(err, where, clientOptions.tls !== undefined);
  }
}

/**
 * Maps a client error at connect time to a typed error naming the servers and what to check.
 * `tls`: the connection used TLS, so a connection the server cut off is most likely a handshake
 * it refused (a server that requires client certificates resets the socket without an alert).
 */
export function connectError(err: unknown, where: string, tls = false): NeuroGraphError {
  const detail = (err instanceof Error ? err.message : String(err)).trim();
  if (err instanceof natsErrors.AuthorizationError || /authoriz|authenticat/i.test(detail)) {
    return new NeuroGraphError(
      ErrorCode.Unauthenticated,
      `the NATS server at ${where} rejected the credentials (${detail}); check the user/password, token, nkey seed or credentials file (--nats-user, --nats-password, --nats-token, --nats-nkey-seed-file, --nats-creds)`,
      { cause: err },
    );
  }
  if (tls && /ECONNRESET|EPIPE|socket hang up|connection (was )?closed/i.test(detail)) {
    return new UnavailableError(
      `TLS with the NATS server at ${where} failed: the server closed the connection during the handshake (${detail}); if it requires client certificates, give one it trusts (--nats-tls-cert, --nats-tls-key), and check the CA (--nats-tls-ca)`,
      { cause: err, retryable: false },
    );
  }
  if (/tls|certificate|ssl|handshake/i.test(detail)) {
    return new UnavailableError(
      `TLS with the NATS server at ${where} failed (${detail}); check the CA, certificate and key (--nats-tls-ca, --nats-tls-cert, --nats-tls-key) and that the server speaks TLS`,
      // A certificate problem does not go away by retrying.
      { cause: err, retryable: false },
    );
  }
  return new UnavailableError(`cannot connect to NATS at ${where} (${detail}); check that nats-server is running there (--nats / NG_NATS_URL)`, { cause: err });
}

/** Turns the client's status stream into events; returns when the connection is closed. */
export async function watchStatus(nc: NatsConnection, emit: (event: NatsStatusEvent) => void): Promise<void> {
  for await (const s of nc.status()) {
    const event = toEvent(s);
    if (event !== undefined) emit(event);
  }
}

function toEvent(s: Status): NatsStatusEvent | undefined {
  switch (s.type) {
    case "disconnect":
      return { type: "disconnect", server: s.server };
    case "reconnecting":
      return { type: "reconnecting" };
    case "reconnect":
      return { type: "reconnect", server: s.server };
    case "update":
      return { type: "update", detail: `added ${(s.added ?? []).join(",") || "-"}, removed ${(s.deleted ?? []).join(",") || "-"}` };
    case "ldm":
      return { type: "ldm", server: s.server };
    case "error":
      return { type: "error", error: s.error };
    case "staleConnection":
      return { type: "stale" };
    case "slowConsumer":
      return { type: "slow_consumer", detail: `${s.sub.getSubject()}: ${s.pending} pending` };
    case "close":
      return { type: "close" };
    default:
      return undefined; // pings and forced reconnects are not worth an event
  }
}

/** Logs a status event at a level that matches its weight. */
export function logStatus(logger: NatsLogger, event: NatsStatusEvent, fields: object = {}): void {
  const f = { ...fields, nats_event: event.type, ...(event.server === undefined ? {} : { server: event.server }), ...(event.detail === undefined ? {} : { detail: event.detail }) };
  switch (event.type) {
    case "reconnect":
    case "update":
    case "close":
      logger.info(f, `NATS ${event.type}${event.server === undefined ? "" : ` (${event.server})`}`);
      return;
    default:
      logger.warn(event.error === undefined ? f : { ...f, err: event.error }, `NATS ${event.type}${event.server === undefined ? "" : ` (${event.server})`}`);
  }
}
