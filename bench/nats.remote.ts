/**
 * Remote actor asks over a local nats-server (DESIGN §8, issue 7). The bench starts nats-server
 * and a child process hosting `echo/0`; this process asks it through its own actor system and
 * NATS transport (protobuf envelope, binary codec, 16-byte message):
 *   nats.remote_ask_p50_us / _p99_us   latency of sequential asks (one in flight)
 *   nats.remote_ask_rate               asks/s with `--concurrency` (default 64) asks in flight
 *   nats.remote_tell_rate              acknowledged tells/s, in batches of `--concurrency`
 * Three processes (server, two nodes) share the machine's cores: figures are end-to-end loopback.
 * Options: --asks N (sequential, default 20000), --seconds S (throughput window, default 3).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ActorSystem } from "../src/runtime/index.ts";
import { NatsTransport } from "../src/runtime/nats/index.ts";
import { startNatsServer } from "../test/support/nats-server.ts";
import { type EchoMsg, echoCodecs } from "./lib/nats-echo.ts";
import { numberArg } from "./lib/args.ts";
import { emit, machine } from "./lib/report.ts";

const sequentialAsks = numberArg("asks", 20_000);
const windowSeconds = numberArg("seconds", 3);
const concurrency = numberArg("concurrency", 64);

const server = await startNatsServer({ jetstream: false });
const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./lib/nats-echo-node.ts", import.meta.url)), server.url], {
  stdio: ["ignore", "pipe", "inherit"],
});
await new Promise<void>((resolve, reject) => {
  child.stdout?.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
  child.once("exit", (code) => reject(new Error(`echo node exited with ${code}`)));
});

const transport = await NatsTransport.connect({ servers: server.url }, { nodeId: "bench-client", cluster: "bench", maxInFlight: 100_000 });
const system = new ActorSystem({ nodeId: "bench-client", transport, codecs: echoCodecs() });
const echo = system.ref<EchoMsg>("echo/0");
const pad = new Uint8Array(8);
const details = { ...machine(), server: "nats-server (loopback)", payload_bytes: 16, processes: 3 };

try {
  // Warm-up: JIT on both sides, connections, subscriptions.
  for (let i = 0; i < 2000; i++) await echo.ask({ type: "echo.ping", n: i, pad });

  const lat = new Float64Array(sequentialAsks);
  for (let i = 0; i < sequentialAsks; i++) {
    const t0 = process.hrtime.bigint();
    await echo.ask({ type: "echo.ping", n: i, pad });
    lat[i] = Number(process.hrtime.bigint() - t0) / 1e3;
  }
  lat.sort();
  const pct = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  emit("nats.remote_ask_p50_us", pct(0.5), "us", { ...details, asks: sequentialAsks });
  emit("nats.remote_ask_p99_us", pct(0.99), "us", { ...details, asks: sequentialAsks });

  const askRate = await window(async () => {
    await echo.ask({ type: "echo.ping", n: 1, pad });
  }, concurrency);
  emit("nats.remote_ask_rate", askRate.rate, "asks/s", { ...details, concurrency, seconds: windowSeconds, completed: askRate.done });

  // Acknowledged tells in batches of `concurrency`, each closed by an ask: the actor handles its
  // mailbox in order, so the ask's reply means every tell before it arrived.
  let tells = 0;
  const tellEnd = Date.now() + windowSeconds * 1000;
  const tellStart = process.hrtime.bigint();
  while (Date.now() < tellEnd) {
    for (let i = 0; i < concurrency; i++) echo.tell({ type: "echo.note", n: i });
    tells += concurrency;
    await echo.ask({ type: "echo.ping", n: 0, pad });
  }
  while (transport.stats().inFlight > 0) await new Promise((r) => setImmediate(r));
  const tellRate = tells / (Number(process.hrtime.bigint() - tellStart) / 1e9);
  emit("nats.remote_tell_rate", tellRate, "tells/s", { ...details, batch: concurrency, seconds: windowSeconds, acknowledged: true });
} finally {
  await system.shutdown({ timeoutMs: 5000 });
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  await server.dispose();
}

/** Runs `op` from `lanes` concurrent loops for the window; returns completions per second. */
async function window(op: () => Promise<void>, lanes: number): Promise<{ rate: number; done: number }> {
  let done = 0;
  const end = Date.now() + windowSeconds * 1000;
  const t0 = process.hrtime.bigint();
  const lane = async (): Promise<void> => {
    while (Date.now() < end) {
      await op();
      done++;
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  while (transport.stats().inFlight > 0) await new Promise((r) => setImmediate(r));
  return { rate: done / (Number(process.hrtime.bigint() - t0) / 1e9), done };
}
