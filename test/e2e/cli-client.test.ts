/**
 * The client subcommands as a user runs them: `node bin/neurograph.mjs <cmd>` child processes
 * against a real gRPC server started by the test (the API layer over the in-memory test backend,
 * in this process, so the test can look at what arrived), addressed through NG_GRPC_ADDR.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiServer } from "../../src/api/server.ts";
import { encodeTokenInputs } from "../../src/client/index.ts";
import { MemoryBackend } from "../integration/api/memory-backend.ts";
import { makePki } from "../integration/client/pki.ts";

const BIN = fileURLToPath(new URL("../../bin/neurograph.mjs", import.meta.url));

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], env: Record<string, string>, stdin?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("NG_")));
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...clean, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("neurograph client commands against a running server", () => {
  const dir = mkdtempSync(join(tmpdir(), "ng-cli-"));
  const backend = new MemoryBackend();
  const server = new ApiServer({ backend }, { address: "127.0.0.1:0" });
  let env: Record<string, string>;

  beforeAll(async () => {
    const { address } = await server.start();
    env = { NG_GRPC_ADDR: address };
  });
  afterAll(async () => {
    await server.stop(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates tokens from a JSON lines file and prints the assigned ids", async () => {
    const file = join(dir, "tokens.jsonl");
    writeFileSync(
      file,
      [
        '{"id": 1, "coords": {"l1": [0, 0, 0]}, "weight": 0.25, "entity_type": "concept"}',
        "",
        '{"id": 2, "coords": {"l1": [1, 0, 0]}, "weight": 0.5}',
        '{"coords": {"l1": [0, 2, 0]}, "weight": 1}',
      ].join("\n"),
    );
    const r = await cli(["create", file, "--ids"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [summary, ...ids] = r.stdout.trim().split("\n");
    expect(summary).toContain("created 3 token(s)");
    expect(ids).toEqual(["1", "2", "3"]);
    expect(backend.tokens.size).toBe(3);
  });

  it("creates from stdin and from a packed .bin file", async () => {
    const fromStdin = await cli(["create", "-", "--json"], env, '{"id": 10, "coords": {"l1": [90, 0, 0]}}\n{"id": 11, "coords": {"l1": [91, 0, 0]}}\n');
    expect(fromStdin.code).toBe(0);
    expect(JSON.parse(fromStdin.stdout)).toMatchObject({ received: 2, accepted: 2, messages: 1 });
    const bin = join(dir, "tokens.bin");
    writeFileSync(bin, encodeTokenInputs(Array.from({ length: 25 }, (_, i) => ({ id: 100 + i, coords: { l1: [100, i, 0] }, weight: 0.5 }))));
    const fromBin = await cli(["create", bin, "--batch-size", "10", "--json"], env);
    expect(fromBin.code).toBe(0);
    expect(JSON.parse(fromBin.stdout)).toMatchObject({ received: 25, accepted: 25, messages: 3 });
    expect(backend.tokens.has(124)).toBe(true);
  });

  it("gets tokens as a table and as JSON", async () => {
    const table = await cli(["get", "1", "2"], env);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^\s*id\s+type\s+level\s+weight/);
    expect(lines[1]).toMatch(/^\s*1\s+Concept\s+0\s+0\.25\b.*origin$/);
    expect(lines[2]).toMatch(/^\s*2\s+Undefined\s+0\s+0\.5\b.*l1=\(1, 0, 0\)$/);
    const json = await cli(["get", "2", "--json"], env);
    const parsed = JSON.parse(json.stdout) as { tokens: { id: number; weight: number; coords: { l1: number[] } }[] };
    expect(parsed.tokens[0]).toMatchObject({ id: 2, weight: 0.5, coords: { l1: [1, 0, 0] } });
  });

  it("answers neighbours with ids and distances", async () => {
    const r = await cli(["neighbors", "1", "--space", "L1", "--radius", "2.5"], env);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/))).toEqual([
      ["id", "distance"],
      ["2", "1"],
      ["3", "2"],
    ]);
  });

  it("prints stats, shards and health", async () => {
    const stats = await cli(["stats"], env);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/^tokens\s+30 \(1\.9 KiB\)$/m);
    expect(stats.stdout).toMatch(/^node\s+memory-node/m);
    const json = JSON.parse((await cli(["stats", "--json"], env)).stdout) as { tokens: number; shardCount: number };
    expect(json).toMatchObject({ tokens: 30, shardCount: 4 });
    const shards = await cli(["shards"], env);
    expect(shards.code).toBe(0);
    expect(shards.stdout.trim().split("\n")).toHaveLength(5);
    expect(shards.stdout).toMatch(/^\s*3\s+memory-node\s+read_only/m);
    const health = await cli(["health"], env);
    expect([health.code, health.stdout.trim()]).toEqual([0, "SERVING"]);
  });

  it("reports rejected input with its lines and exits 1, changing nothing", async () => {
    const file = join(dir, "bad.jsonl");
    writeFileSync(file, '{"id": 50, "weight": 0.5}\n{"id": 51, "weight": 1.5}\n\n{"id": 52, "weight": -1}\n');
    const r = await cli(["create", file], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("[INVALID_ARGUMENT]");
    expect(r.stderr).toContain("  line 2: weight = 1.5  [weight_range] weight must be within [0, 1]");
    expect(r.stderr).toContain("  line 4: weight = -1  [weight_range]");
    expect(backend.tokens.has(50)).toBe(false);

    const typo = join(dir, "typo.jsonl");
    writeFileSync(typo, '{"id": 60}\n{"id": 61, "wieght": 0.5}\n');
    const t = await cli(["create", typo], env);
    expect(t.code).toBe(1);
    expect(t.stderr).toContain("line 2: wieght  [unknown_field]");
    expect(backend.tokens.has(60)).toBe(false);

    const missing = await cli(["get", "999"], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("[NOT_FOUND]");
  });

  it("exits 2 on usage and configuration errors and 3 when the node cannot be reached", async () => {
    const usage = await cli(["neighbors", "1", "--radius", "1"], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("required option '--space <space>'");
    const badEnv = await cli(["stats"], { NG_GRPC_ADDR: "no-port" });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain('NG_GRPC_ADDR="no-port"');
    const noFile = await cli(["create", join(dir, "nope.jsonl")], env);
    expect(noFile.code).toBe(2);
    const port = await freePort();
    const down = await cli(["stats", "--addr", `127.0.0.1:${port}`], env);
    expect(down.code).toBe(3);
    expect(down.stderr).toContain(`cannot reach a NeuroGraph node at 127.0.0.1:${port}`);
  });

  it("sends the admin token from NG_ADMIN_TOKEN and hints when it is missing", async () => {
    const secret = "e2e-admin-token-0123456789";
    const guarded = new ApiServer({ backend: new MemoryBackend() }, { address: "127.0.0.1:0", adminToken: secret });
    const { address } = await guarded.start();
    try {
      const denied = await cli(["stats"], { NG_GRPC_ADDR: address });
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain("[UNAUTHENTICATED]");
      expect(denied.stderr).toContain("hint: pass the admin token with --token or NG_ADMIN_TOKEN");
      const allowed = await cli(["stats", "--json"], { NG_GRPC_ADDR: address, NG_ADMIN_TOKEN: secret });
      expect(allowed.code).toBe(0);
      expect((JSON.parse(allowed.stdout) as { nodeId: string }).nodeId).toBe("memory-node");
    } finally {
      await guarded.stop(1000);
    }
  });

  it("connects over mTLS with --tls-ca, --tls-cert and --tls-key, and exits 3 without a certificate", async () => {
    const pki = join(dir, "pki");
    mkdirSync(pki);
    makePki(pki);
    const f = (name: string): string => join(pki, name);
    const secure = new ApiServer({ backend: new MemoryBackend() }, { address: "127.0.0.1:0", tls: { certFile: f("server.crt"), keyFile: f("server.key"), caFile: f("ca.crt"), requireClientCert: true } });
    const { address } = await secure.start();
    try {
      const ok = await cli(["health", "--addr", address, "--tls-ca", f("ca.crt"), "--tls-cert", f("client.crt"), "--tls-key", f("client.key")], {});
      expect([ok.code, ok.stdout.trim()]).toEqual([0, "SERVING"]);
      const noCert = await cli(["health", "--addr", address, "--tls-ca", f("ca.crt")], {});
      expect(noCert.code).toBe(3);
      const halfPair = await cli(["health", "--addr", address, "--tls-cert", f("client.crt")], {});
      expect(halfPair.code).toBe(2);
      expect(halfPair.stderr).toContain("--tls-cert and --tls-key go together");
    } finally {
      await secure.stop(1000);
    }
  });
});
