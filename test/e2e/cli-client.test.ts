/**
 * The client subcommands as a user runs them: `node bin/neurograph.mjs <cmd>` child processes
 * against a real node (`neurograph serve`, also a child process, on free loopback ports with its
 * data in a temporary directory), addressed through NG_GRPC_ADDR.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeTokenInputs } from "../../src/client/index.ts";
import { makePki } from "../integration/client/pki.ts";
import { cli, freePort, startServe, type ServeProcess } from "./cli-helpers.ts";

describe("neurograph client commands against neurograph serve", () => {
  const dir = mkdtempSync(join(tmpdir(), "ng-cli-"));
  let node: ServeProcess;
  let env: Record<string, string>;
  let allocated = "";

  beforeAll(async () => {
    node = await startServe(join(dir, "data"));
    env = { NG_GRPC_ADDR: node.address };
  });
  afterAll(async () => {
    expect(await node.stop()).toBe(0);
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
    expect(ids.slice(0, 2)).toEqual(["1", "2"]);
    allocated = ids[2]!;
    expect(Number(allocated)).toBeGreaterThan(2);
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
  });

  it("gets tokens as a table and as JSON", async () => {
    const table = await cli(["get", "1", "2"], env);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^\s*id\s+type\s+level\s+weight/);
    expect(lines[1]).toMatch(/^\s*1\s+Concept\s+0\s+0\.25\b.*origin$/);
    expect(lines[2]).toMatch(/^\s*2\s+Undefined\s+0\s+0\.5\b.*l1=\(1, 0, 0\)$/);
    const json = await cli(["get", "124", "--json"], env);
    const parsed = JSON.parse(json.stdout) as { tokens: { id: number; weight: number; coords: { l1: number[] } }[] };
    expect(parsed.tokens[0]).toMatchObject({ id: 124, weight: 0.5, coords: { l1: [100, 24, 0] } });
  });

  it("answers neighbours with ids and distances", async () => {
    const r = await cli(["neighbors", "1", "--space", "L1", "--radius", "2.5"], env);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/))).toEqual([
      ["id", "distance"],
      ["2", "1"],
      [allocated, "2"],
    ]);
  });

  it("prints stats, shards and health", async () => {
    const stats = await cli(["stats"], env);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/^tokens\s+30 \(/m);
    expect(stats.stdout).toMatch(/^shards\s+4 of 4 served here$/m);
    const json = JSON.parse((await cli(["stats", "--json"], env)).stdout) as { tokens: number; shardCount: number };
    expect(json).toMatchObject({ tokens: 30, shardCount: 4 });
    const shards = await cli(["shards"], env);
    expect(shards.code).toBe(0);
    const rows = shards.stdout.trim().split("\n");
    expect(rows).toHaveLength(5);
    expect(rows.slice(1).every((r) => /^\s*\d\s+\S+\s+serving\s/.test(r))).toBe(true);
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
    expect(r.stderr).toContain("  line 2: weight = 1.5  [weight_range]");
    expect(r.stderr).toContain("  line 4: weight = -1  [weight_range]");

    const typo = join(dir, "typo.jsonl");
    writeFileSync(typo, '{"id": 60}\n{"id": 61, "wieght": 0.5}\n');
    const t = await cli(["create", typo], env);
    expect(t.code).toBe(1);
    expect(t.stderr).toContain("line 2: wieght  [unknown_field]");

    for (const id of ["50", "60"]) {
      const missing = await cli(["get", id], env);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("[NOT_FOUND]");
    }
    expect(JSON.parse((await cli(["stats", "--json"], env)).stdout)).toMatchObject({ tokens: 30 });
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
    const guarded = await startServe(join(dir, "guarded"), [], { NG_ADMIN_TOKEN: secret });
    try {
      const denied = await cli(["stats"], { NG_GRPC_ADDR: guarded.address });
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain("[UNAUTHENTICATED]");
      expect(denied.stderr).toContain("hint: pass the admin token with --token or NG_ADMIN_TOKEN");
      const allowed = await cli(["stats", "--json"], { NG_GRPC_ADDR: guarded.address, NG_ADMIN_TOKEN: secret });
      expect(allowed.code).toBe(0);
      expect((JSON.parse(allowed.stdout) as { tokens: number }).tokens).toBe(0);
    } finally {
      expect(await guarded.stop()).toBe(0);
    }
  });

  it("connects over mTLS with --tls-ca, --tls-cert and --tls-key, and exits 3 without a certificate", async () => {
    const pki = join(dir, "pki");
    mkdirSync(pki);
    makePki(pki);
    const f = (name: string): string => join(pki, name);
    const secure = await startServe(join(dir, "secure"), ["--tls-cert", f("server.crt"), "--tls-key", f("server.key"), "--tls-ca", f("ca.crt"), "--tls-client-auth"]);
    try {
      const ok = await cli(["health", "--addr", secure.address, "--tls-ca", f("ca.crt"), "--tls-cert", f("client.crt"), "--tls-key", f("client.key")], {});
      expect([ok.code, ok.stdout.trim()]).toEqual([0, "SERVING"]);
      const noCert = await cli(["health", "--addr", secure.address, "--tls-ca", f("ca.crt")], {});
      expect(noCert.code).toBe(3);
      const halfPair = await cli(["health", "--addr", secure.address, "--tls-cert", f("client.crt")], {});
      expect(halfPair.code).toBe(2);
      expect(halfPair.stderr).toContain("--tls-cert and --tls-key go together");
    } finally {
      expect(await secure.stop()).toBe(0);
    }
  });
});
