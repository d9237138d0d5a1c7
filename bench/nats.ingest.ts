/**
 * Producer ingest over NATS into a node (DESIGN §8, issue 7). Starts nats-server (JetStream) and
 * a node in this process (`--nats`: cluster mode with one node, 4 shards, each shard's writes
 * appended to its JetStream replicated log, R1, before they are acknowledged); a producer child
 * process publishes packed token batches:
 *   nats.core_ingest_durable tokens/s over core NATS, request/ack per batch (acked once durable
 *                           in the shard logs; the into-memory figure is nats.ingest_memory.ts)
 *   nats.jetstream_ingest   tokens/s through the JetStream stream (file storage), from the first
 *                           publish until the node applied (and acknowledged) the last message
 * Three processes (nats-server, node, producer) share the machine's cores.
 * Options: --tokens N (default 1 000 000), --batch N (default 20 000), --window N (default 8).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadServeConfig } from "../src/cli/serve.ts";
import { startNode } from "../src/node/index.ts";
import { createLogger } from "../src/telemetry/index.ts";
import { startNatsServer } from "../test/support/nats-server.ts";
import { numberArg } from "./lib/args.ts";
import { emit, machine } from "./lib/report.ts";

const tokens = numberArg("tokens", 1_000_000);
const batch = numberArg("batch", 20_000);
const window = numberArg("window", 8);
const CLUSTER = "bench";

const server = await startNatsServer({ maxPayload: 4 * 1024 * 1024, jetstreamMaxFile: "8G" });
const dataDir = mkdtempSync(join(tmpdir(), "ng-bench-nats-"));
const config = loadServeConfig(
  ["--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir", dataDir, "--shards", "4", "--nats", server.url, "--cluster", CLUSTER, "--node-id", "bench", "--ingest-max-ack-pending", "64"],
  {},
);
const node = await startNode(config, { logger: createLogger({ level: "error" }) });
const count = (): number => node.board.tokens.reduce((a, b) => a + b, 0);
const details = { ...machine(), tokens, batch, window, shards: 4, processes: 3, storage: "JetStream replicated shard log (R1, file)" };

async function run(mode: "core" | "js", first: number): Promise<number> {
  const target = count() + tokens;
  const child = spawn(
    process.execPath,
    ["--import", "tsx", fileURLToPath(new URL("./lib/nats-ingest-producer.ts", import.meta.url)), server.url, CLUSTER, mode, String(tokens), String(batch), String(window), String(first)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let t0 = 0;
  const exited = new Promise<void>((resolve, reject) => child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`producer exited with ${code}`)))));
  await new Promise<void>((resolve) => child.stdout?.on("data", (d: Buffer) => d.toString().includes("start") && ((t0 = performance.now()), resolve())));
  while (count() < target) await new Promise((r) => setTimeout(r, 2));
  const seconds = (performance.now() - t0) / 1000;
  await exited;
  if (count() !== target) throw new Error(`expected ${target} tokens, the node holds ${count()}`);
  return tokens / seconds;
}

try {
  await run("core", 1); // warm-up is part of the figure's first pass; measure a second pass
  // nats.core_ingest (into memory) is nats.ingest_memory.ts; this is the durable cluster path.
  emit("nats.core_ingest_durable", await run("core", 1 + tokens), "tokens/s", { ...details, path: "core NATS request/ack, each shard write appended to its JetStream log" });
  emit("nats.jetstream_ingest", await run("js", 1 + 2 * tokens), "tokens/s", { ...details, path: "JetStream (file storage, R1), consumer acks after apply" });
} finally {
  await node.stop({ force: true });
  await server.dispose();
  rmSync(dataDir, { recursive: true, force: true });
}
