import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiServer } from "../../../src/api/server.ts";
import { NeuroGraphClient, UnavailableError } from "../../../src/client/index.ts";
import { MemoryBackend } from "../api/memory-backend.ts";
import { rejectionOf } from "./harness.ts";
import { makePki } from "./pki.ts";

describe("client over TLS and mTLS", () => {
  let dir: string;
  let server: ApiServer;
  let address: string;
  const read = (name: string): Buffer => readFileSync(join(dir, name));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ng-client-tls-"));
    makePki(dir);
    const f = (name: string): string => join(dir, name);
    server = new ApiServer({ backend: new MemoryBackend() }, { address: "127.0.0.1:0", tls: { certFile: f("server.crt"), keyFile: f("server.key"), caFile: f("ca.crt"), requireClientCert: true } });
    ({ address } = await server.start());
  });
  afterAll(async () => {
    await server.stop(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  it("connects with the CA and a client certificate, also under another server name", async () => {
    const client = await NeuroGraphClient.connect({ address, tls: { ca: read("ca.crt"), cert: read("client.crt"), key: read("client.key") }, env: {} });
    try {
      expect(await client.health()).toBe("SERVING");
      expect((await client.stats()).nodeId).toBe("memory-node");
    } finally {
      client.close();
    }
    const named = await NeuroGraphClient.connect({ address, tls: { ca: read("ca.crt").toString(), cert: read("client.crt").toString(), key: read("client.key").toString(), serverName: "node.test" }, env: {} });
    try {
      expect(await named.health()).toBe("SERVING");
    } finally {
      named.close();
    }
  });

  it("fails to connect without a client certificate, with the wrong CA, or in plaintext", async () => {
    for (const tls of [{ ca: read("ca.crt") }, { ca: read("server.crt"), cert: read("client.crt"), key: read("client.key") }, undefined]) {
      const err = await rejectionOf(NeuroGraphClient.connect({ address, tls, connectTimeoutMs: 3000, env: {} }).then((c) => c.stats().finally(() => c.close())));
      expect(err).toBeInstanceOf(UnavailableError);
    }
  });
});
