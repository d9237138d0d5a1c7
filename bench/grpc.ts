/**
 * gRPC figures of an embedded node (DESIGN §8), with the client in a separate process:
 *   grpc.stream_ingest   tokens/s through TokenService.IngestTokens (client streaming), 10 000
 *                        tokens per message, into a node with its WAL on (acknowledged only
 *                        once durable), 16 shards
 *   grpc.stream_ingest_memory  the same into a node without its WAL (`--no-wal`: issue 3's
 *                        "into memory" figure)
 * (`grpc.unary_p99` is in grpc.unary.ts.)
 * Arguments (optional): <ingestTokens>, e.g. `npm run bench -- grpc 3000000`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadServeConfig } from "../src/cli/serve.ts";
import { startNode, type NodeHandle } from "../src/node/index.ts";
import { createLogger } from "../src/telemetry/index.ts";
import { runBenchChild } from "./lib/child.ts";
import { emit, gc, machine } from "./lib/report.ts";

const [ingestArg = "3000000"] = process.argv.slice(2);
const PER_MESSAGE = 10_000;
const ingestTokens = Math.max(PER_MESSAGE, Math.round(Number(ingestArg) / PER_MESSAGE) * PER_MESSAGE);
const info = machine();

async function withNode<T>(wal: boolean, fn: (node: NodeHandle) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), "ng-bench-"));
  const args = ["--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "silent"];
  const config = loadServeConfig(wal ? args : [...args, "--no-wal"], {});
  const node = await startNode(config, { logger: createLogger({ level: "silent" }) });
  try {
    return await fn(node);
  } finally {
    await node.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function streamIngest(wal: boolean): Promise<void> {
  await withNode(wal, async (node) => {
    // A short warm-up stream, so the JIT has seen the path before the timed run.
    await runBenchChild("grpc-ingest-client.ts", [node.grpcAddress, 20, PER_MESSAGE]);
    gc();
    const cpu0 = process.cpuUsage();
    const r = await runBenchChild("grpc-ingest-client.ts", [node.grpcAddress, ingestTokens / PER_MESSAGE, PER_MESSAGE]);
    const cpu = process.cpuUsage(cpu0);
    const serverCpuSeconds = (cpu.user + cpu.system) / 1e6;
    if (r.accepted !== r.tokens) throw new Error(`ingest accepted ${r.accepted} of ${r.tokens} tokens`);
    const stored = node.board.tokens.reduce((a, b) => a + b, 0);
    emit(wal ? "grpc.stream_ingest" : "grpc.stream_ingest_memory", r.tokens! / r.seconds!, "tokens/s", {
      tokens: r.tokens,
      seconds: r.seconds,
      serverCpuSeconds,
      tokensPerServerCpuSecond: Math.round(r.tokens! / serverCpuSeconds),
      perMessage: PER_MESSAGE,
      shards: node.board.shardCount,
      stored,
      durability: wal ? "wal" : "none (--no-wal)",
      budget: 3_000_000,
      ...info,
    });
  });
}

// GRPC_BENCH_WAL=0 or 1 runs one side only.
const only = process.env.GRPC_BENCH_WAL;
if (only !== "0") await streamIngest(true);
if (only !== "1") await streamIngest(false);
