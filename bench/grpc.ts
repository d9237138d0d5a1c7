/**
 * gRPC figures of an embedded node (DESIGN §8), with the client in a separate process:
 *   grpc.stream_ingest   tokens/s through TokenService.IngestTokens (client streaming), 10 000
 *                        tokens per message, into a node with its WAL on (acknowledged only
 *                        once durable), 16 shards
 *   grpc.unary_p99       ms, p99 of GetTokens by id at a fixed offered load (open loop), with
 *                        p50/p999/throughput in the details
 * Arguments (optional): <ingestTokens> <unaryRate> <unarySeconds>, e.g. `npm run bench -- grpc 3000000 5000 10`.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { credentials } from "@grpc/grpc-js";
import { loadServeConfig } from "../src/cli/serve.ts";
import { TokenServiceClient } from "../src/gen/neurograph/v1/token_service.ts";
import { startNode, type NodeHandle } from "../src/node/index.ts";
import { createLogger } from "../src/telemetry/index.ts";
import { emit, gc, machine } from "./lib/report.ts";

const [ingestArg = "3000000", rateArg = "5000", secondsArg = "10"] = process.argv.slice(2);
const PER_MESSAGE = 10_000;
const ingestTokens = Math.max(PER_MESSAGE, Math.round(Number(ingestArg) / PER_MESSAGE) * PER_MESSAGE);
const rate = Number(rateArg);
const unarySeconds = Number(secondsArg);
const info = machine();

async function withNode<T>(fn: (node: NodeHandle) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), "ng-bench-"));
  const config = loadServeConfig(["--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "silent"], {});
  const node = await startNode(config, { logger: createLogger({ level: "silent" }) });
  try {
    return await fn(node);
  } finally {
    await node.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Runs a bench client in its own process and parses its JSON line. */
function runClient(script: string, args: readonly (string | number)[]): Promise<Record<string, number>> {
  const path = fileURLToPath(new URL(`./lib/${script}`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path, ...args.map(String)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`${script} exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split("\n").pop() ?? "") as Record<string, number>);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

async function streamIngest(): Promise<void> {
  await withNode(async (node) => {
    // A short warm-up stream, so the JIT has seen the path before the timed run.
    await runClient("grpc-ingest-client.ts", [node.grpcAddress, 20, PER_MESSAGE]);
    gc();
    const cpu0 = process.cpuUsage();
    const r = await runClient("grpc-ingest-client.ts", [node.grpcAddress, ingestTokens / PER_MESSAGE, PER_MESSAGE]);
    const cpu = process.cpuUsage(cpu0);
    const serverCpuSeconds = (cpu.user + cpu.system) / 1e6;
    if (r.accepted !== r.tokens) throw new Error(`ingest accepted ${r.accepted} of ${r.tokens} tokens`);
    const stored = node.board.tokens.reduce((a, b) => a + b, 0);
    emit("grpc.stream_ingest", r.tokens! / r.seconds!, "tokens/s", {
      tokens: r.tokens,
      seconds: r.seconds,
      serverCpuSeconds,
      tokensPerServerCpuSecond: Math.round(r.tokens! / serverCpuSeconds),
      perMessage: PER_MESSAGE,
      shards: node.board.shardCount,
      stored,
      durability: "wal",
      budget: 3_000_000,
      ...info,
    });
  });
}

async function preload(address: string, count: number): Promise<void> {
  const client = new TokenServiceClient(address, credentials.createInsecure(), { "grpc.max_send_message_length": 64 * 1024 * 1024 });
  const batch = 50_000;
  for (let from = 1; from <= count; from += batch) {
    const n = Math.min(batch, count - from + 1);
    const b = Buffer.alloc(n * 64);
    for (let i = 0; i < n; i++) {
      b.writeUInt32LE(from + i, i * 64 + 48);
      b.writeUInt16LE(1, i * 64 + 52);
      b.writeFloatLE(0.5, i * 64 + 54);
      b.writeUInt32LE(1_700_000_000, i * 64 + 60);
    }
    await new Promise<void>((resolve, reject) =>
      client.createTokens({ tokens: { payload: { $case: "packed", value: b } }, partial: false }, (err) => (err === null ? resolve() : reject(err))),
    );
  }
  client.close();
}

async function unaryP99(): Promise<void> {
  const tokens = 100_000;
  await withNode(async (node) => {
    await preload(node.grpcAddress, tokens);
    gc();
    const r = await runClient("grpc-unary-client.ts", [node.grpcAddress, rate, unarySeconds, 2, tokens]);
    emit("grpc.unary_p99", r.p99!, "ms", {
      offered: rate,
      throughput: r.throughput,
      p50: r.p50,
      p999: r.p999,
      max: r.max,
      requests: r.requests,
      errors: r.errors,
      tokens,
      budget: 5,
      ...info,
    });
    emit("grpc.unary_p50", r.p50!, "ms", { offered: rate, requests: r.requests });
  });
}

await streamIngest();
await unaryP99();
