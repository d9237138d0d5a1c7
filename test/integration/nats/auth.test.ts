/** Credentials and TLS against real nats-servers that require them. */
import { nkeys } from "@nats-io/transport-node";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, NeuroGraphError, UnavailableError, ValidationError } from "../../../src/core/errors.ts";
import { NatsTransport, type NatsConnectionOptions } from "../../../src/runtime/nats/index.ts";
import { freePort, startNatsServer, type NatsServer } from "../../support/nats-server.ts";
import { makePki, type TestPki } from "../../support/pki.ts";
import { KvActor, type KvMsg } from "./fixtures/kv.ts";
import { closeAll, settle, startNode } from "./support.ts";

afterEach(closeAll);

async function connectFails(connection: NatsConnectionOptions): Promise<NeuroGraphError> {
  const r = await settle(NatsTransport.connect({ reconnect: false, ...connection }, { nodeId: "probe" }));
  expect(r.ok).toBe(false);
  expect((r as { error: unknown }).error).toBeInstanceOf(NeuroGraphError);
  return (r as { error: NeuroGraphError }).error;
}

/** Two nodes with `connection` credentials exchange a remote ask. */
async function remoteAskWorks(connection: Partial<NatsConnectionOptions>, url: string): Promise<void> {
  const a = await startNode(url, "node-a", { connection });
  const b = await startNode(url, "node-b", { connection });
  b.system.spawn("kv/1", () => new KvActor());
  await b.transport.flush();
  a.system.ref<KvMsg>("kv/1").tell({ type: "kv.put", key: "k", value: 3 });
  expect(await a.system.ref<KvMsg>("kv/1").ask({ type: "kv.get", key: "k" })).toBe(3);
  // Two nodes hosting kv/1 at once would share its messages (queue group): close before the next pair.
  await closeAll();
}

describe("NATS credentials", () => {
  const servers: NatsServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.dispose();
  });

  it("user/password: the right ones connect, wrong or missing ones get UNAUTHENTICATED", async () => {
    const server = await startNatsServer({ jetstream: false, auth: { user: "ng", password: "s3cret" } });
    servers.push(server);
    await remoteAskWorks({ user: "ng", password: "s3cret" }, server.url);
    const wrong = await connectFails({ servers: server.url, user: "ng", password: "nope" });
    expect(wrong.code).toBe(ErrorCode.Unauthenticated);
    expect(wrong.message).toContain("rejected the credentials");
    expect(wrong.message).toContain(server.url);
    expect((await connectFails({ servers: server.url })).code).toBe(ErrorCode.Unauthenticated);
  });

  it("token: the right one connects, a wrong one gets UNAUTHENTICATED", async () => {
    const server = await startNatsServer({ jetstream: false, auth: { token: "t0ken-abc" } });
    servers.push(server);
    await remoteAskWorks({ token: "t0ken-abc" }, server.url);
    const wrong = await connectFails({ servers: server.url, token: "t0ken-xyz" });
    expect(wrong.code).toBe(ErrorCode.Unauthenticated);
  });

  it("nkey: a seed given directly or in a file connects, another user's seed does not", async () => {
    const user = nkeys.createUser();
    const seed = new TextDecoder().decode(user.getSeed());
    const server = await startNatsServer({ jetstream: false, auth: { nkeys: [user.getPublicKey()] } });
    servers.push(server);
    await remoteAskWorks({ nkeySeed: seed }, server.url);
    const dir = mkdtempSync(join(tmpdir(), "ng-nkey-"));
    try {
      writeFileSync(join(dir, "user.nk"), `${seed}\n`);
      await remoteAskWorks({ nkeySeedFile: join(dir, "user.nk") }, server.url);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const other = new TextDecoder().decode(nkeys.createUser().getSeed());
    expect((await connectFails({ servers: server.url, nkeySeed: other })).code).toBe(ErrorCode.Unauthenticated);
  });

  it("reports an unreachable server as UNAVAILABLE naming it", async () => {
    const port = await freePort();
    const err = await connectFails({ servers: `nats://127.0.0.1:${port}`, connectTimeoutMs: 2000 });
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toContain(`127.0.0.1:${port}`);
  });

  it("rejects inconsistent options before connecting, listing every problem", async () => {
    const r = await settle(
      NatsTransport.connect(
        { servers: ["http://x:1", "nats://u:p@h:4222"], user: "u", token: "t", tls: { certFile: "/nonexistent.crt" }, reconnect: { maxAttempts: -5 } },
        { nodeId: "probe" },
      ),
    );
    expect(!r.ok && r.error).toBeInstanceOf(ValidationError);
    const rules = (r as { error: ValidationError }).error.violations.map((v) => v.rule).sort();
    expect(rules).toEqual(["cert_and_key", "no_url_credentials", "one_auth_method", "password_with_user", "range", "readable_file", "server_url"].sort());
  });
});

describe("NATS over TLS", () => {
  let pki: TestPki;
  let server: NatsServer;
  beforeAll(async () => {
    pki = makePki();
    server = await startNatsServer({ jetstream: false, tls: { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caFile, verify: true } });
  });
  afterAll(async () => {
    await server.dispose();
    pki.dispose();
  });

  it("connects with the CA and a client certificate (mutual TLS)", async () => {
    expect(server.url.startsWith("tls://")).toBe(true);
    await remoteAskWorks({ tls: { caFile: pki.caFile, certFile: pki.clientCert, keyFile: pki.clientKey } }, server.url);
  });

  it("fails with a clear error without a client certificate or without the CA", async () => {
    const noCert = await connectFails({ servers: server.url, tls: { caFile: pki.caFile }, connectTimeoutMs: 3000 });
    expect(noCert).toBeInstanceOf(UnavailableError);
    expect(noCert.message).toContain(server.url);
    expect(noCert.message).toMatch(/TLS/);
    const noCa = await connectFails({ servers: server.url, tls: { certFile: pki.clientCert, keyFile: pki.clientKey }, connectTimeoutMs: 3000 });
    expect(noCa.message).toMatch(/TLS|certificate/i);
  });
});
