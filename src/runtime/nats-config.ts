/**
 * Configuration of the NATS transport and cluster identity. Spread it into the node's schema:
 * `loadConfig({ ...nodeConfigSchema, ...natsConfigSchema }, …)`, then `natsSettings(values)`
 * gives the connection options (undefined when `--nats` is not set: a single embedded node).
 * Cross-option checks (one auth method, certificate with key, readable files) run when the
 * connection options are validated (`natsClientOptions`), with the same clear messages.
 */
import { hostname } from "node:os";
import { option, type ConfigOf } from "./config.ts";
import { ConfigValueError, duration, integer, list, optional, path, string, type ValueParser } from "./config-parsers.ts";
import type { NatsConnectionOptions } from "./nats/connection.ts";
import { DEFAULT_CLUSTER } from "./nats/subjects.ts";

const TOKEN_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** `nats://host:port`, `tls://host:port` or a bare `host:port`. */
function natsServer(): ValueParser<string> {
  return {
    expected: "a NATS server URL, e.g. nats://127.0.0.1:4222 or tls://nats.example:4222",
    parse(text) {
      const t = text.trim();
      const withScheme = t.includes("://") ? t : `nats://${t}`;
      let u: URL;
      try {
        u = new URL(withScheme);
      } catch {
        throw new ConfigValueError(undefined);
      }
      if (u.protocol !== "nats:" && u.protocol !== "tls:") throw new ConfigValueError(`protocol ${u.protocol} is not supported`);
      if (u.username !== "" || u.password !== "") throw new ConfigValueError("put credentials in --nats-user/--nats-password or --nats-token, not in the URL");
      if (u.host === "") throw new ConfigValueError("the URL has no host");
      return `${u.protocol}//${u.host}`;
    },
  };
}

export const natsConfigSchema = {
  nats: option("nats", {
    env: "NG_NATS_URL",
    key: "nats.url",
    default: "",
    description: "NATS server URLs, comma-separated (nats://host:port or tls://host:port); enables the NATS transport and cluster mode",
    parser: optional(list(natsServer(), { minItems: 1 })),
  }),
  cluster: option("cluster", {
    key: "cluster.name",
    default: DEFAULT_CLUSTER,
    description: "cluster name: nodes with the same name and NATS servers form one cluster (subjects ng.<cluster>.…)",
    parser: string({ pattern: TOKEN_RE, expected: "1-64 characters of A-Z, a-z, 0-9, '-', '_'" }),
  }),
  nodeId: option("nodeId", {
    key: "node.id",
    default: "",
    description: "this node's id, unique in the cluster (default: the host name)",
    parser: optional(string({ pattern: TOKEN_RE, expected: "1-64 characters of A-Z, a-z, 0-9, '-', '_'" })),
  }),
  natsUser: option("natsUser", {
    default: "",
    description: "NATS user name (with --nats-password)",
    parser: optional(string()),
  }),
  natsPassword: option("natsPassword", {
    default: "",
    description: "NATS password (prefer the environment variable to the flag: flags are visible in ps)",
    parser: optional(string()),
  }),
  natsToken: option("natsToken", {
    default: "",
    description: "NATS authentication token",
    parser: optional(string()),
  }),
  natsNkeySeed: option("natsNkeySeed", {
    default: "",
    description: "NATS user nkey seed (SU…)",
    parser: optional(string()),
  }),
  natsNkeySeedFile: option("natsNkeySeedFile", {
    key: "nats.nkey.file",
    default: "",
    description: "file holding the NATS user nkey seed",
    parser: optional(path()),
  }),
  natsCreds: option("natsCreds", {
    default: "",
    description: "NATS credentials file (.creds: user JWT and nkey seed)",
    parser: optional(path()),
  }),
  natsTlsCa: option("natsTlsCa", {
    default: "",
    description: "CA certificate (PEM) that signed the NATS servers' certificates",
    parser: optional(path()),
  }),
  natsTlsCert: option("natsTlsCert", {
    default: "",
    description: "client certificate (PEM) for NATS mutual TLS (with --nats-tls-key)",
    parser: optional(path()),
  }),
  natsTlsKey: option("natsTlsKey", {
    default: "",
    description: "private key (PEM) of the NATS client certificate",
    parser: optional(path()),
  }),
  natsReconnectAttempts: option("natsReconnectAttempts", {
    default: "-1",
    description: "reconnect attempts per NATS server before giving up (-1 = forever)",
    parser: integer({ min: -1, max: 1_000_000 }),
  }),
  natsReconnectWait: option("natsReconnectWait", {
    default: "2s",
    description: "wait between reconnect attempts to the same NATS server",
    parser: duration({ minMs: 0, maxMs: 3_600_000 }),
  }),
  natsReconnectJitter: option("natsReconnectJitter", {
    default: "100ms",
    description: "random extra wait before a reconnect attempt (TLS connections use 10x)",
    parser: duration({ minMs: 0, maxMs: 3_600_000 }),
  }),
  natsConnectTimeout: option("natsConnectTimeout", {
    default: "5s",
    description: "timeout of the first NATS connection",
    parser: duration({ maxMs: 3_600_000 }),
  }),
  natsMaxInFlight: option("natsMaxInFlight", {
    default: "10000",
    description: "requests to remote actors in flight at once; beyond it senders get RESOURCE_EXHAUSTED",
    parser: integer({ min: 1, max: 10_000_000 }),
  }),
};

export type NatsConfig = ConfigOf<typeof natsConfigSchema>;

export interface NatsSettings {
  readonly connection: NatsConnectionOptions;
  readonly cluster: string;
  readonly nodeId: string;
  readonly maxInFlight: number;
}

/** The host name as a node id (characters outside the id alphabet become '-'). */
export function defaultNodeId(): string {
  const id = hostname().replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 64);
  return id === "" ? "node" : id;
}

/** Connection settings from configuration; undefined when no NATS server is configured. */
export function natsSettings(config: NatsConfig): NatsSettings | undefined {
  if (config.nats === undefined || config.nats.length === 0) return undefined;
  const nodeId = config.nodeId ?? defaultNodeId();
  const tlsGiven = config.natsTlsCa !== undefined || config.natsTlsCert !== undefined || config.natsTlsKey !== undefined;
  const connection: NatsConnectionOptions = {
    servers: config.nats,
    name: `neurograph-${nodeId}`,
    ...(config.natsUser === undefined ? {} : { user: config.natsUser }),
    ...(config.natsPassword === undefined ? {} : { password: config.natsPassword }),
    ...(config.natsToken === undefined ? {} : { token: config.natsToken }),
    ...(config.natsNkeySeed === undefined ? {} : { nkeySeed: config.natsNkeySeed }),
    ...(config.natsNkeySeedFile === undefined ? {} : { nkeySeedFile: config.natsNkeySeedFile }),
    ...(config.natsCreds === undefined ? {} : { credsFile: config.natsCreds }),
    ...(tlsGiven
      ? {
          tls: {
            ...(config.natsTlsCa === undefined ? {} : { caFile: config.natsTlsCa }),
            ...(config.natsTlsCert === undefined ? {} : { certFile: config.natsTlsCert }),
            ...(config.natsTlsKey === undefined ? {} : { keyFile: config.natsTlsKey }),
          },
        }
      : {}),
    reconnect: {
      maxAttempts: config.natsReconnectAttempts,
      waitMs: config.natsReconnectWait,
      jitterMs: config.natsReconnectJitter,
      jitterTlsMs: config.natsReconnectJitter * 10,
    },
    connectTimeoutMs: config.natsConnectTimeout,
  };
  return { connection, cluster: config.cluster, nodeId, maxInFlight: config.natsMaxInFlight };
}
