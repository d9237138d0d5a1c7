/**
 * What the production features cost an ingesting node (DESIGN §8 `obs.overhead`, budget ≤ 10 %):
 * CreateTokens batches over gRPC loopback into an embedded node (16 shards), run with
 *   off      everything off: no WAL (volatile shard logs), no metrics hooks, tracing off, the
 *            guardian not enforcing (values still checked against the default limits)
 *   bare     WAL + guardian on, metrics hooks and tracing off (what observability alone costs)
 *   on       WAL + guardian + metrics hooks + tracing at 1 % head sampling, exported over OTLP/HTTP
 *            (protobuf, batched) to a receiver in this process that reads and discards the bodies
 *   tail     as `on` plus the tail-sampling processor
 * in alternating rounds (off, bare, on, tail, off, …), best round of each, and
 *   obs.overhead            % of `off` throughput lost with `on` (WAL + metrics + tracing + guardian)
 *   obs.overhead_tail       % lost with `tail`
 *   obs.overhead_telemetry  % of `bare` throughput lost with `on` (metrics + tracing alone)
 *   obs.ingest_*            tokens/s of each variant
 *   obs.scrape_at_load_ms   /metrics scrape time (p50, p99 in details) while `on` ingests (a
 *                           separate run, every 100 ms)
 * With the WAL on, a call is acked after the durable commit.
 *
 *   npm run bench -- obs.overhead [seconds per round] [rounds]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { loadServeConfig } from "../src/cli/serve.ts";
import { TokenServiceClient, type CreateTokensRequest } from "../src/gen/neurograph/v1/token_service.ts";
import { startNode, type NodeHandle } from "../src/node/index.ts";
import { createLogger } from "../src/telemetry/index.ts";
import { emit, gc, machine } from "./lib/report.ts";

const [secondsArg = "3", roundsArg = "3"] = process.argv.slice(2);
const SECONDS = Number(secondsArg);
const ROUNDS = Number(roundsArg);
const PER_CALL = 2000;
const IN_FLIGHT = 8;
const info = machine();

type Variant = "off" | "bare" | "on" | "tail";
const VARIANTS: readonly Variant[] = ["off", "bare", "on", "tail"];

/** Packed records with id 0 (the node allocates ids), positions spread over L1. */
function records(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n * 64);
  for (let i = 0; i < n; i++) {
    const o = i * 64;
    const k = seed * n + i;
    b.writeInt16LE((k % 2000) - 1000, o);
    b.writeInt16LE(((k * 7) % 2000) - 1000, o + 2);
    b.writeInt16LE(((k * 13) % 2000) - 1000, o + 4);
    b.writeUInt16LE(1, o + 52);
    b.writeFloatLE(0.5, o + 54);
    b.writeUInt32LE(1_700_000_000, o + 60);
  }
  return b;
}

/** An OTLP/HTTP receiver that reads and drops every export; counts requests and bytes. */
async function otlpSink(): Promise<{ endpoint: string; stats: { requests: number; bytes: number }; close(): Promise<void> }> {
  const stats = { requests: 0, bytes: 0 };
  const server = createServer((req, res) => {
    req.on("data", (c: Buffer) => (stats.bytes += c.length));
    req.on("end", () => {
      stats.requests++;
      res.writeHead(200, { "Content-Type": "application/x-protobuf" });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const a = server.address();
  const port = typeof a === "object" && a !== null ? a.port : 0;
  return { endpoint: `http://127.0.0.1:${port}`, stats, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function withNode<T>(variant: Variant, endpoint: string, fn: (node: NodeHandle) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), "ng-bench-obs-"));
  const flags = ["--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "silent", "--shards", "16"];
  if (variant === "off") flags.push("--no-wal");
  if (variant === "off" || variant === "bare") flags.push("--tracing", "off");
  else flags.push("--tracing", "on", "--trace-sample-rate", "0.01", ...(variant === "tail" ? ["--trace-tail"] : []));
  const config = loadServeConfig(flags, {});
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" };
  const node = await startNode(config, {
    logger: createLogger({ level: "silent" }),
    metricsHooks: variant === "on" || variant === "tail",
    tracing: { env },
    guardian: { enforce: variant !== "off" },
  });
  try {
    return await fn(node);
  } finally {
    await node.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Closed-loop ingest for `seconds`: tokens/s, and scrape times if asked. */
async function ingest(node: NodeHandle, seconds: number, scrape: boolean): Promise<{ tokensPerSecond: number; calls: number; scrapes: number[] }> {
  const client = new TokenServiceClient(node.grpcAddress, credentials.createInsecure(), { "grpc.max_send_message_length": 64 * 2 ** 20 });
  const batches = Array.from({ length: 16 }, (_, i) => records(PER_CALL, i));
  const send = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const req: CreateTokensRequest = { tokens: { payload: { $case: "packed", value: batches[i % batches.length]! } }, partial: false };
      client.createTokens(req, (err) => (err === null ? resolve() : reject(err)));
    });
  try {
    // Warm-up: the JIT sees the path before the timed part.
    for (let i = 0; i < 40; i++) await send(i);
    gc();
    let calls = 0;
    let running = true;
    const scrapes: number[] = [];
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    const worker = async (w: number): Promise<void> => {
      for (let i = w; performance.now() < end; i += IN_FLIGHT) {
        await send(i);
        calls++;
      }
    };
    const scraper = async (): Promise<void> => {
      while (running) {
        const s0 = performance.now();
        await (await fetch(`${node.metricsAddress}/metrics`)).text();
        scrapes.push(performance.now() - s0);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const scraping = scrape ? scraper() : Promise.resolve();
    await Promise.all(Array.from({ length: IN_FLIGHT }, (_, w) => worker(w)));
    const elapsed = (performance.now() - t0) / 1000;
    running = false;
    await scraping;
    return { tokensPerSecond: (calls * PER_CALL) / elapsed, calls, scrapes };
  } finally {
    client.close();
  }
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

const sink = await otlpSink();
const best: Record<Variant, number> = { off: 0, bare: 0, on: 0, tail: 0 };
const all: Record<Variant, number[]> = { off: [], bare: [], on: [], tail: [] };
const scrapes: number[] = [];
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of VARIANTS) {
      const result = await withNode(v, sink.endpoint, (node) => ingest(node, SECONDS, false));
      all[v].push(Math.round(result.tokensPerSecond));
      best[v] = Math.max(best[v], result.tokensPerSecond);
      process.stderr.write(`obs.overhead round ${r + 1} ${v}: ${Math.round(result.tokensPerSecond)} tokens/s (${result.calls} calls)\n`);
    }
  }
  // Scrapes while `on` ingests: a separate run, so scraping does not weigh on the figures above.
  scrapes.push(...(await withNode("on", sink.endpoint, (node) => ingest(node, SECONDS, true))).scrapes);
} finally {
  await sink.close();
}

const common = { perCall: PER_CALL, inFlight: IN_FLIGHT, secondsPerRound: SECONDS, shards: 16, ...info };
emit("obs.ingest_off", best.off, "tokens/s", { variant: "no WAL, guardian not enforcing, metrics hooks off, tracing off", roundTokensPerSecond: all.off, ...common });
emit("obs.ingest_bare", best.bare, "tokens/s", { variant: "WAL + guardian, metrics hooks off, tracing off", roundTokensPerSecond: all.bare, ...common });
emit("obs.ingest_on", best.on, "tokens/s", { variant: "WAL + guardian + metrics + tracing 1 % (OTLP/HTTP protobuf)", roundTokensPerSecond: all.on, ...common });
emit("obs.ingest_tail", best.tail, "tokens/s", { variant: "WAL + guardian + metrics + tracing 1 % + tail sampling", roundTokensPerSecond: all.tail, ...common });
emit("obs.overhead", (100 * (best.off - best.on)) / best.off, "%", { budget: 10, reference: "original claims 22 %", exported: sink.stats, ...common });
emit("obs.overhead_tail", (100 * (best.off - best.tail)) / best.off, "%", { budget: 10, ...common });
emit("obs.overhead_telemetry", (100 * (best.bare - best.on)) / best.bare, "%", { note: "metrics hooks + tracing 1 % alone: on vs bare (both with WAL and guardian)", ...common });
emit("obs.scrape_at_load_ms", percentile(scrapes, 0.5), "ms", { p99_ms: percentile(scrapes, 0.99), scrapes: scrapes.length, via: "loopback fetch while `on` ingests" });
