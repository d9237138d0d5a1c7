import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { credentials, status } from "@grpc/grpc-js";
import { ValidationError } from "../../../src/core/errors.ts";
import { ApiServer } from "../../../src/api/server.ts";
import { MemoryBackend } from "./memory-backend.ts";
import { call, failure, startHarness } from "./harness.ts";

/** A throwaway CA with a server certificate (localhost, 127.0.0.1) and a client certificate. */
function makePki(dir: string): void {
  const openssl = (...args: string[]): void => {
    execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  };
  const key = (name: string): void => openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`);
  key("ca");
  openssl("req", "-x509", "-new", "-key", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=neurograph-test-ca");
  writeFileSync(join(dir, "server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  writeFileSync(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
  for (const name of ["server", "client"]) {
    key(name);
    openssl("req", "-new", "-key", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
    openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "1", "-extfile", `${name}.ext`);
  }
}

describe("TLS and mTLS", () => {
  let dir: string;
  const file = (name: string): string => join(dir, name);
  const read = (name: string): Buffer => readFileSync(file(name));
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ng-tls-"));
    makePki(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("serves over TLS to clients that trust the CA, not to plaintext clients", async () => {
    const h = await startHarness({ tls: { certFile: file("server.crt"), keyFile: file("server.key") } }, {}, credentials.createSsl(read("ca.crt")));
    try {
      expect(await call(h.health.check.bind(h.health), { service: "" })).toEqual({ status: 1 });
      const plain = await startClientOnly(h.address);
      expect(plain).toBe(status.UNAVAILABLE);
    } finally {
      await h.close();
    }
  });

  it("requires a client certificate signed by the CA with requireClientCert", async () => {
    const tls = { certFile: file("server.crt"), keyFile: file("server.key"), caFile: file("ca.crt"), requireClientCert: true };
    const withCert = await startHarness({ tls }, {}, credentials.createSsl(read("ca.crt"), read("client.key"), read("client.crt")));
    try {
      expect(await call(withCert.health.check.bind(withCert.health), { service: "" })).toEqual({ status: 1 });
      const { HealthClient } = await import("../../../src/gen/grpc/health/v1/health.ts");
      const anonymous = new HealthClient(withCert.address, credentials.createSsl(read("ca.crt")));
      try {
        const err = await failure(call(anonymous.check.bind(anonymous), { service: "" }, undefined, { deadline: Date.now() + 5000 }));
        expect(err.code).toBe(status.UNAVAILABLE);
      } finally {
        anonymous.close();
      }
    } finally {
      await withCert.close();
    }
  });

  it("refuses to start with unreadable or mismatched PEM files, naming the option", async () => {
    const missing = new ApiServer({ backend: new MemoryBackend() }, { address: "127.0.0.1:0", tls: { certFile: file("nope.crt"), keyFile: file("server.key") } });
    const err = await missing.start().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).violations.map((v) => v.field)).toEqual(["tls.certFile"]);

    const mismatched = new ApiServer({ backend: new MemoryBackend() }, { address: "127.0.0.1:0", tls: { certFile: file("server.crt"), keyFile: file("client.key") } });
    const err2 = await mismatched.start().then(() => undefined, (e: unknown) => e);
    expect(err2).toBeInstanceOf(ValidationError);
    expect((err2 as ValidationError).violations[0]).toMatchObject({ field: "tls", rule: "valid_pem" });

    expect(() => new ApiServer({ backend: new MemoryBackend() }, { tls: { certFile: file("server.crt"), keyFile: file("server.key"), requireClientCert: true } })).toThrow(/tls.caFile is required/);
  });
});

/** A plaintext health check against `address`; returns the status code it fails with. */
async function startClientOnly(address: string): Promise<number> {
  const { HealthClient } = await import("../../../src/gen/grpc/health/v1/health.ts");
  const client = new HealthClient(address, credentials.createInsecure());
  try {
    const err = await failure(call(client.check.bind(client), { service: "" }, undefined, { deadline: Date.now() + 5000 }));
    return err.code;
  } finally {
    client.close();
  }
}
