/**
 * `neurograph serve` as a child process: it starts from the checkout (no build), serves health
 * over gRPC, stops cleanly on SIGTERM, and refuses a bad configuration with exit code 2.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { credentials } from "@grpc/grpc-js";
import { HealthCheckResponse_ServingStatus as Serving, HealthClient } from "../../src/gen/grpc/health/v1/health.ts";
import { call } from "../integration/api/harness.ts";

const bin = fileURLToPath(new URL("../../bin/neurograph.mjs", import.meta.url));

interface Child {
  readonly stderr: () => string;
  readonly exit: Promise<number | null>;
  /** Resolves with the first match of `re` in stderr (rejects if the child exits first). */
  waitFor(re: RegExp): Promise<RegExpMatchArray>;
  kill(signal: NodeJS.Signals): void;
}

function serve(args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, [bin, "serve", ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
    for (const w of [...waiters]) {
      const m = err.match(w.re);
      if (m !== null) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    stderr: () => err,
    exit,
    waitFor: (re) => {
      const m = err.match(re);
      if (m !== null) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        waiters.push({ re, resolve });
        void exit.then((code) => reject(new Error(`exited with ${code} before ${String(re)}; stderr:\n${err}`)));
      });
    },
    kill: (signal) => child.kill(signal),
  };
}

describe("neurograph serve", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("serves, answers health over gRPC, and exits 0 on SIGTERM", async () => {
    const root = mkdtempSync(join(tmpdir(), "ng-serve-"));
    dirs.push(root);
    const dataDir = join(root, "data");
    const child = serve(["--metrics-addr", "127.0.0.1:0", "--shards", "3", "--log-level", "warn"], { NG_GRPC_ADDR: "127.0.0.1:0", NG_DATA_DIR: dataDir });
    const [, address] = await child.waitFor(/serving gRPC on (\S+) \(3 shards, data dir (\S+),/);
    expect(child.stderr()).toContain(`data dir ${dataDir}`);
    expect(existsSync(dataDir)).toBe(true);
    const health = new HealthClient(address!, credentials.createInsecure());
    try {
      expect((await call(health.check.bind(health), { service: "" })).status).toBe(Serving.SERVING);
    } finally {
      health.close();
    }
    child.kill("SIGTERM");
    expect(await child.exit).toBe(0);
  });

  it("refuses a bad configuration with exit code 2, naming each bad variable or flag", async () => {
    const child = serve(["--metrics-addr", "nowhere"], { NG_SHARDS: "zero", NG_GRPC_ADDR: "127.0.0.1:0" });
    expect(await child.exit).toBe(2);
    const err = child.stderr();
    expect(err).toContain('NG_SHARDS="zero"');
    expect(err).toContain('--metrics-addr="nowhere"');
    expect(err).not.toContain("serving");
  });

  it("refuses options that do not fit together with exit code 2", async () => {
    const child = serve(["--tls-client-auth"], { NG_GRPC_ADDR: "127.0.0.1:0", NG_METRICS_ADDR: "127.0.0.1:0" });
    expect(await child.exit).toBe(2);
    expect(child.stderr()).toContain("--tls-client-auth / NG_TLS_CLIENT_AUTH needs --tls-ca / NG_TLS_CA");
  });
});
