/**
 * `neurograph load nats` and `neurograph load jetstream` against a real `neurograph serve` with
 * NATS ingest (`--nats`) on a real nats-server with JetStream: the open-loop rate holds, every
 * token the report counts arrived in the node (its gRPC stats), a stalled node shows in the core
 * NATS percentiles (the latency runs to the node's IngestAck, from the intended send time), and a
 * JetStream run reports the node's consumer backlog and that it drained.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NeuroGraphClient } from "../../src/client/index.ts";
import type { LoadReport } from "../../src/load/index.ts";
import { startNatsServer, type NatsServer } from "../support/nats-server.ts";
import { BIN, cli, startServe, type ServeProcess } from "./cli-helpers.ts";

const CLUSTER = "lt";

describe("neurograph load over NATS ingest", () => {
  const dir = mkdtempSync(join(tmpdir(), "ng-load-nats-"));
  let nats: NatsServer;
  let node: ServeProcess;
  let client: NeuroGraphClient;
  let env: Record<string, string>;

  beforeAll(async () => {
    nats = await startNatsServer();
    node = await startServe(join(dir, "data"), ["--nats", nats.url, "--cluster", CLUSTER, "--node-id", "n1"]);
    client = await NeuroGraphClient.connect({ address: node.address, retry: false, env: {} });
    // Cluster mode: the node owns its shards once it holds their leases.
    for (let i = 0; i < 200; i++) {
      const health = await client.health().catch(() => undefined);
      if (health === "SERVING") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    env = { NG_GRPC_ADDR: node.address, NG_NATS_URL: nats.url };
  }, 60_000);
  afterAll(async () => {
    client?.close();
    expect(await node?.stop()).toBe(0);
    await nats?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const nodeTokens = async (): Promise<number> => Number((await client.stats()).tokens);

  async function load(args: readonly string[]): Promise<{ code: number | null; report: LoadReport; stderr: string }> {
    const r = await cli(["load", ...args, "--cluster", CLUSTER, "--json", "--quiet", "--no-report"], env);
    if (r.stdout.trim() === "") throw new Error(`no report (exit ${r.code}); stderr:\n${r.stderr}`);
    return { code: r.code, report: JSON.parse(r.stdout) as LoadReport, stderr: r.stderr };
  }

  it("nats: an open-loop run holds the rate, and every token it counts is in the node", async () => {
    const before = await nodeTokens();
    const { code, report, stderr } = await load(["nats", "--rate", "40", "--batch", "200", "--duration", "4s", "--workers", "2", "--max-error-rate", "0"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(report.mode).toBe("open");
    expect(report.target).toContain(`ng.${CLUSTER}.ingest.tokens`);
    expect(report.errors).toBe(0);
    expect(Math.abs(report.rate - 40) / 40).toBeLessThanOrEqual(0.05);
    expect(report.tokens).toBe(report.operations * 200);
    expect(report.operations).toBeGreaterThanOrEqual(150);
    // The node acknowledged each request once its tokens were durable: they are all there.
    expect(await nodeTokens()).toBe(before + report.tokens);
  });

  it("jetstream: PubAcks counted, the node applied every stored batch and the report says it drained", async () => {
    const before = await nodeTokens();
    const { code, report, stderr } = await load(["jetstream", "--rate", "40", "--batch", "200", "--duration", "4s", "--max-error-rate", "0"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(report.target).toContain(`ng.${CLUSTER}.ingest.js.tokens`);
    expect(report.errors).toBe(0);
    expect(Math.abs(report.rate - 40) / 40).toBeLessThanOrEqual(0.05);
    expect(report.tokens).toBe(report.operations * 200);
    expect(report.jetstream).toMatchObject({ stream: `NG_${CLUSTER}_INGEST`, consumer: "ingest", backlogAtEnd: 0, acknowledged: report.operations });
    expect(report.jetstream?.drainedAfterMs).not.toBeNull();
    expect(await nodeTokens()).toBe(before + report.tokens);
  });

  /** Runs a load with progress on stderr and stops the node (SIGSTOP) for `stallMs` once it measures. */
  function loadWithStall(args: readonly string[], stallMs: number): Promise<{ code: number | null; report: LoadReport; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, "load", ...args, "--cluster", CLUSTER, "--json", "--no-report"], { env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      let stalled = false;
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        if (!stalled && /measuring:/.test(stderr)) {
          stalled = true;
          process.kill(node.pid, "SIGSTOP");
          setTimeout(() => process.kill(node.pid, "SIGCONT"), stallMs);
        }
      });
      child.on("error", reject);
      child.on("close", (code) => {
        if (!stalled || stdout.trim() === "") reject(new Error(`no stall or no report (exit ${code}); stderr:\n${stderr}`));
        else resolve({ code, report: JSON.parse(stdout) as LoadReport, stderr });
      });
    });
  }

  it("nats: a stalled node shows in the open-loop percentiles (no coordinated omission)", async () => {
    const before = await nodeTokens();
    const { code, report } = await loadWithStall(["nats", "--rate", "40", "--batch", "100", "--duration", "5s", "--timeout", "20s"], 1000);
    expect(code).toBe(0);
    expect(report.errors).toBe(0);
    // ~40 of ~200 requests were due while the node was stopped: each waited for the rest of the
    // stall, measured from its intended send time.
    expect(report.latencyUs.max).toBeGreaterThanOrEqual(800_000);
    expect(report.latencyUs.p90).toBeGreaterThanOrEqual(300_000);
    expect(await nodeTokens()).toBe(before + report.tokens);
  });

  it("jetstream: a stalled node does not slow the PubAcks; its backlog grows and drains", async () => {
    const before = await nodeTokens();
    const { code, report } = await loadWithStall(["jetstream", "--rate", "40", "--batch", "100", "--duration", "5s", "--timeout", "20s"], 1500);
    expect(code).toBe(0);
    expect(report.errors).toBe(0);
    const js = report.jetstream!;
    // ~60 messages arrived while the node was stopped; the monitor (talking to NATS, not the
    // node) saw them wait in the stream.
    expect(js.maxBacklog).toBeGreaterThanOrEqual(10);
    expect(js.backlogAtEnd).toBe(0);
    expect(js.acknowledged).toBe(report.operations);
    expect(await nodeTokens()).toBe(before + report.tokens);
  });

  it("jetstream without a node's JetStream ingest is a clear precondition failure", async () => {
    const r = await cli(["load", "jetstream", "--rate", "10", "--duration", "1s", "--cluster", "nobody", "--quiet", "--no-report"], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("NG_nobody_INGEST");
    expect(r.stderr).toContain("--nats");
  });
});
