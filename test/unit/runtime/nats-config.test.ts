/** NATS configuration options and connection option validation (no server needed). */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nkeys } from "@nats-io/transport-node";
import { afterAll, describe, expect, it } from "vitest";
import { UnavailableError, ValidationError } from "../../../src/core/errors.ts";
import { loadConfig, natsConfigSchema, natsSettings, nodeConfigSchema } from "../../../src/runtime/index.ts";
import { connectError, natsClientOptions } from "../../../src/runtime/nats/index.ts";

const schema = { ...nodeConfigSchema, ...natsConfigSchema };
const dir = mkdtempSync(join(tmpdir(), "ng-nats-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("NATS configuration", () => {
  it("is off by default: a single embedded node", () => {
    const { values } = loadConfig(schema, { env: {} });
    expect(values.cluster).toBe("neurograph");
    expect(natsSettings(values)).toBeUndefined();
  });

  it("reads --nats, --cluster, --node-id and credentials from flags and NG_* variables", () => {
    const { values, sources } = loadConfig(schema, {
      argv: ["--nats", "nats://10.0.0.1:4222,10.0.0.2:4222", "--cluster", "prod", "--node-id=n-1", "--nats-reconnect-wait", "500ms"],
      env: { NG_NATS_USER: "ng", NG_NATS_PASSWORD: "pw", NG_CLUSTER: "ignored-flag-wins" },
    });
    expect(sources.cluster).toBe("flag");
    const s = natsSettings(values);
    expect(s).toMatchObject({ cluster: "prod", nodeId: "n-1", maxInFlight: 10_000 });
    expect(s?.connection).toMatchObject({
      servers: ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"],
      user: "ng",
      password: "pw",
      name: "neurograph-n-1",
      reconnect: { maxAttempts: -1, waitMs: 500, jitterMs: 100, jitterTlsMs: 1000 },
    });
    const env = loadConfig(schema, { env: { NG_NATS_URL: "tls://nats.example:4443", NG_NODE_ID: "b", NG_NATS_TLS_CA: "/etc/ca.pem" } }).values;
    expect(natsSettings(env)?.connection.tls).toEqual({ caFile: "/etc/ca.pem" });
  });

  it("reports every bad value with where it came from", () => {
    let err: unknown;
    try {
      loadConfig(schema, { argv: ["--nats", "http://x:1", "--cluster", "a.b", "--node-id", "has space", "--nats-reconnect-attempts", "-2"], env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    const text = (err as Error).message;
    for (const flag of ["--nats=", "--cluster=", "--node-id=", "--nats-reconnect-attempts="]) expect(text).toContain(flag);
  });
});

describe("NATS connection options", () => {
  it("accepts each single auth method and builds the client's options", () => {
    const seed = new TextDecoder().decode(nkeys.createUser().getSeed());
    const seedFile = join(dir, "user.nk");
    writeFileSync(seedFile, seed);
    for (const auth of [{ user: "u", password: "p" }, { token: "t" }, { nkeySeed: seed }, { nkeySeedFile: seedFile }]) {
      const o = natsClientOptions({ servers: "127.0.0.1:4222", ...auth });
      expect(o.servers).toEqual(["nats://127.0.0.1:4222"]);
      expect(typeof o.authenticator).toBe("function");
      expect(o.noAsyncTraces).toBe(true);
    }
    expect(natsClientOptions({ servers: ["tls://h:1"] }).tls).toEqual({});
    expect(natsClientOptions({ servers: "nats://h:1", reconnect: false })).toMatchObject({ reconnect: false, maxReconnectAttempts: 0 });
  });

  it("rejects bad seeds, creds files and missing files with the field named", () => {
    const creds = join(dir, "bad.creds");
    writeFileSync(creds, "not creds");
    const cases: [Parameters<typeof natsClientOptions>[0], string][] = [
      [{ servers: [] }, "nats.servers"],
      [{ servers: "h:1", nkeySeed: "SUNOTASEED" }, "nats.nkeySeed"],
      [{ servers: "h:1", credsFile: creds }, "nats.credsFile"],
      [{ servers: "h:1", credsFile: join(dir, "missing.creds") }, "nats.credsFile"],
      [{ servers: "h:1", tls: { caFile: join(dir, "missing.pem") } }, "nats.tls.caFile"],
      [{ servers: "h:1", tls: { keyFile: join(dir, "missing.key") } }, "nats.tls.certFile"],
      [{ servers: "h:1", password: "p" }, "nats.user"],
      [{ servers: "h:1", token: "" }, "nats.token"],
      [{ servers: "h:1", connectTimeoutMs: 0 }, "nats.connectTimeoutMs"],
    ];
    for (const [options, field] of cases) {
      let err: unknown;
      try {
        natsClientOptions(options);
      } catch (e) {
        err = e;
      }
      expect(err, field).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).violations.map((v) => v.field), field).toContain(field);
    }
  });
});

describe("NATS connect errors", () => {
  it("name TLS and the client certificate when a TLS server cuts the handshake off, and say where otherwise", () => {
    const cut = connectError(new Error("read ECONNRESET"), "tls://127.0.0.1:4443", true);
    expect(cut).toBeInstanceOf(UnavailableError);
    expect(cut.message).toMatch(/^TLS with the NATS server at tls:\/\/127\.0\.0\.1:4443 failed: the server closed the connection during the handshake \(read ECONNRESET\)/);
    expect(cut.message).toContain("--nats-tls-cert");
    expect(cut.retryable).toBe(false);
    const plain = connectError(new Error("read ECONNRESET"), "nats://127.0.0.1:4222", false);
    expect(plain.message).toMatch(/^cannot connect to NATS at nats:\/\/127\.0\.0\.1:4222 \(read ECONNRESET\); check that nats-server is running/);
    expect(plain.retryable).toBe(true);
  });
});
