/**
 * Producer ingest over NATS into memory (DESIGN §8, issue 7: "core NATS ingest ≥ 3 M tokens/s into
 * memory, batched"). Starts nats-server and, in this process, the node's ingest core as
 * `startNode` wires it minus durability: `NatsIngest` (core NATS, queue group) and
 * `JetStreamIngest` (durable consumer) feeding the coordinator (`GraphRouter`) and 4 graph shard
 * actors with in-memory logs. A producer child process publishes packed token batches:
 *   nats.core_ingest             tokens/s over core NATS, request/ack per batch (acked once applied)
 *   nats.jetstream_ingest_memory tokens/s through the JetStream stream (file storage, R1) into
 *                                memory, consumer acks after apply
 * Each figure also reports the node side's CPU time per token (process.cpuUsage of this process,
 * which the producer and nats-server do not share): on a busy machine that is the steadier number.
 * The durable cluster path (every write appended to the shard's JetStream log) is `nats.ingest.ts`.
 * Options: --tokens N (default 1 000 000), --batch N (default 20 000), --window N (default 8).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { JetStreamIngest } from "../src/actors/ingest/jetstream-ingest.ts";
import { NatsIngest } from "../src/actors/ingest/nats-ingest.ts";
import { ClusterSubjects, connectNats } from "../src/runtime/nats/index.ts";
import { startNatsServer } from "../test/support/nats-server.ts";
import { numberArg } from "./lib/args.ts";
import { startVolatileCore } from "./lib/volatile-core.ts";
import { emit, machine } from "./lib/report.ts";

const tokens = numberArg("tokens", 1_000_000);
const batch = numberArg("batch", 20_000);
const window = numberArg("window", 8);
const CLUSTER = "bench";
const SHARDS = 4;

const server = await startNatsServer({ maxPayload: 4 * 1024 * 1024, jetstreamMaxFile: "8G" });
const { router, board, system } = await startVolatileCore(SHARDS);
const nc = await connectNats({ servers: server.url });
const subjects = new ClusterSubjects(CLUSTER);
const events = { publish: (): void => undefined };
const core = new NatsIngest({ connection: nc, subjects, sink: router, events, nodeId: "bench", maxConcurrent: window });
await core.start();
const durable = new JetStreamIngest({ connection: nc, subjects, sink: router, events, nodeId: "bench", replicas: 1, maxAckPending: 64, concurrency: window });
await durable.start();

const count = (): number => board.tokens.reduce((a, b) => a + b, 0);
const details = { ...machine(), tokens, batch, window, shards: SHARDS, processes: 3, storage: "memory (volatile shard logs)" };

async function run(mode: "core" | "js", first: number): Promise<{ rate: number; cpuNsPerToken: number }> {
  const target = count() + tokens;
  const child = spawn(
    process.execPath,
    ["--import", "tsx", fileURLToPath(new URL("./lib/nats-ingest-producer.ts", import.meta.url)), server.url, CLUSTER, mode, String(tokens), String(batch), String(window), String(first)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let t0 = 0;
  let cpu0 = process.cpuUsage();
  const exited = new Promise<void>((resolve, reject) => child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`producer exited with ${code}`)))));
  await new Promise<void>((resolve) =>
    child.stdout?.on("data", (d: Buffer) => {
      if (!d.toString().includes("start")) return;
      t0 = performance.now();
      cpu0 = process.cpuUsage();
      resolve();
    }),
  );
  while (count() < target) await new Promise((r) => setTimeout(r, 2));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await exited;
  if (count() !== target) throw new Error(`expected ${target} tokens, the node holds ${count()}`);
  return { rate: tokens / seconds, cpuNsPerToken: ((cpu.user + cpu.system) * 1000) / tokens };
}

try {
  await run("core", 1); // warm-up (JIT, store growth)
  const c = await run("core", 1 + tokens);
  emit("nats.core_ingest", c.rate, "tokens/s", { ...details, path: "core NATS request/ack into memory", node_cpu_ns_per_token: Math.round(c.cpuNsPerToken), node_tokens_per_cpu_s: Math.round(1e9 / c.cpuNsPerToken) });
  const j = await run("js", 1 + 2 * tokens);
  emit("nats.jetstream_ingest_memory", j.rate, "tokens/s", {
    ...details,
    path: "JetStream (file storage, R1) into memory, consumer acks after apply",
    node_cpu_ns_per_token: Math.round(j.cpuNsPerToken),
    node_tokens_per_cpu_s: Math.round(1e9 / j.cpuNsPerToken),
  });
} finally {
  await core.stop(1000);
  await durable.stop(1000);
  await nc.close();
  await system.shutdown({ force: true });
  await server.dispose();
}
