/**
 * What the production features cost an ingesting node (DESIGN §8 `obs.overhead`, budget ≤ 10 %):
 * CreateTokens batches over gRPC loopback into an embedded node (16 shards), run with
 *   off      everything off: no WAL (volatile shard logs), no metrics hooks, tracing off, the
 *            guardian not enforcing (values still checked against the default limits)
 *   off_aa   exactly `off` again: the A/A control, so the noise floor is visible next to the figures
 *   bare     WAL + guardian on, metrics hooks and tracing off (what observability alone costs)
 *   on       WAL + guardian + metrics hooks + tracing at 1 % head sampling, exported over OTLP/HTTP
 *            (protobuf, batched) to a receiver in the same process that reads and discards the bodies
 *   tail     as `on` plus the tail-sampling processor
 *
 * Method (so that rounds are comparable and the figures honest on a shared 2-core machine):
 * - every round of every variant runs in a fresh child process with a fresh node and a fresh data
 *   directory: no store, heap, JIT feedback or process-wide state (AsyncLocalStorage hooks, OTel
 *   globals) carries over from one measurement to the next (the old single-process bench lost
 *   ~10 % per round to that);
 * - rounds are interleaved and the order rotates each round (a Latin square over the variants), so
 *   a slow stretch of the machine hits every variant alike;
 * - each child warms up (OBS_WARMUP_SECONDS, default 2 s: the JIT and what a traced node starts
 *   lazily), then ingests closed-loop for the round's seconds and reports tokens/s and
 *   CPU time per token (process.cpuUsage, client + node + LMDB threads: the steadier figure when
 *   others load the machine);
 * - an overhead is the median over rounds of the paired per-round loss (variant vs `off` of the same
 *   round), with medians and bests per variant, CPU-based figures and every round in the details;
 * - `obs.overhead_aa` is the same figure for `off_aa` vs `off`: what noise alone shows.
 *
 *   obs.overhead            % of `off` throughput lost with `on` (WAL + metrics + tracing + guardian)
 *   obs.overhead_tail       % lost with `tail`
 *   obs.overhead_telemetry  % of `bare` throughput lost with `on` (metrics + tracing alone)
 *   obs.overhead_aa         % "lost" by `off_aa` against `off` (the noise floor; ideally ≈ 0)
 *   obs.ingest_*            tokens/s of each variant (median; best and per-round in details)
 *   obs.scrape_at_load_ms   /metrics scrape time (p50, p99 in details) while `on` ingests (a
 *                           separate child, every 100 ms)
 * With the WAL on, a call is acked after the durable commit.
 *
 *   npm run bench -- obs.overhead [seconds per round] [rounds]
 *   node --import tsx bench/obs.overhead.ts --child <variant> <seconds> [scrape]   (one round, e.g. under --cpu-prof)
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { credentials } from "@grpc/grpc-js";
import { loadServeConfig } from "../src/cli/serve.ts";
import { TokenServiceClient, type CreateTokensRequest } from "../src/gen/neurograph/v1/token_service.ts";
import { startNode, type NodeHandle } from "../src/node/index.ts";
import { createLogger } from "../src/telemetry/index.ts";
import { emit, gc, machine } from "./lib/report.ts";

const PER_CALL = 2000;
const IN_FLIGHT = 8;
/**
 * Warm-up per child before the timed part (OBS_WARMUP_SECONDS): long enough for the JIT and for
 * what a traced node starts lazily (the SDK's processors and exporter, the first export), so a
 * round measures the steady state rather than start-up.
 */
const WARMUP_SECONDS = Number(process.env.OBS_WARMUP_SECONDS ?? 2);

type Variant = "off" | "off_aa" | "bare" | "on" | "tail";
const VARIANTS: readonly Variant[] = ["off", "off_aa", "bare", "on", "tail"];
const RESULT_PREFIX = "obs.overhead.round ";

interface RoundResult {
  readonly variant: Variant;
  readonly tokensPerSecond: number;
  /** CPU microseconds (user + system, whole process) per token ingested. */
  readonly cpuUsPerToken: number;
  readonly calls: number;
  readonly scrapes: readonly number[];
  readonly exported: { readonly requests: number; readonly bytes: number };
}

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
  const off = variant === "off" || variant === "off_aa";
  const flags = ["--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "silent", "--shards", "16"];
  if (off) flags.push("--no-wal");
  if (off || variant === "bare") flags.push("--tracing", "off");
  else flags.push("--tracing", "on", "--trace-sample-rate", "0.01", ...(variant === "tail" ? ["--trace-tail"] : []));
  const config = loadServeConfig(flags, {});
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" };
  const started = performance.now();
  const node = await startNode(config, {
    logger: createLogger({ level: "silent" }),
    metricsHooks: variant === "on" || variant === "tail",
    tracing: { env },
    guardian: { enforce: !off },
  });
  const ran = performance.now();
  try {
    return await fn(node);
  } finally {
    const stopping = performance.now();
    await node.stop();
    rmSync(dataDir, { recursive: true, force: true });
    process.stderr.write(`obs.overhead ${variant}: start ${Math.round(ran - started)} ms, run ${Math.round(stopping - ran)} ms, stop ${Math.round(performance.now() - stopping)} ms\n`);
  }
}

/** Closed-loop ingest for `seconds`: tokens/s, CPU per token, and scrape times if asked. */
async function ingest(node: NodeHandle, seconds: number, scrape: boolean): Promise<Omit<RoundResult, "variant" | "exported">> {
  const client = new TokenServiceClient(node.grpcAddress, credentials.createInsecure(), { "grpc.max_send_message_length": 64 * 2 ** 20 });
  const batches = Array.from({ length: 16 }, (_, i) => records(PER_CALL, i));
  const send = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const req: CreateTokensRequest = { tokens: { payload: { $case: "packed", value: batches[i % batches.length]! } }, partial: false };
      client.createTokens(req, (err) => (err === null ? resolve() : reject(err)));
    });
  try {
    // Warm-up, with the timed part's concurrency: the JIT sees the path before it is timed.
    const warmEnd = performance.now() + WARMUP_SECONDS * 1000;
    await Promise.all(Array.from({ length: IN_FLIGHT }, async (_, w) => {
      for (let i = w; performance.now() < warmEnd; i += IN_FLIGHT) await send(i);
    }));
    gc();
    let calls = 0;
    let running = true;
    const scrapes: number[] = [];
    const c0 = process.cpuUsage();
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
    const cpu = process.cpuUsage(c0);
    running = false;
    await scraping;
    const tokens = calls * PER_CALL;
    return { tokensPerSecond: tokens / elapsed, cpuUsPerToken: (cpu.user + cpu.system) / tokens, calls, scrapes };
  } finally {
    client.close();
  }
}

/** One round of one variant in this (fresh) process; the result goes to stdout for the parent. */
async function childRound(variant: Variant, seconds: number, scrape: boolean): Promise<void> {
  const sink = await otlpSink();
  try {
    const r = await withNode(variant, sink.endpoint, (node) => ingest(node, seconds, scrape));
    const result: RoundResult = { variant, ...r, exported: { ...sink.stats } };
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
  } finally {
    await sink.close();
  }
}

const self = fileURLToPath(import.meta.url);

function runChild(variant: Variant, seconds: number, scrape: boolean): RoundResult {
  const args = ["--expose-gc", "--import", "tsx", self, "--child", variant, String(seconds), ...(scrape ? ["scrape"] : [])];
  const r = spawnSync(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  const line = r.stdout.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
  if (r.status !== 0 || line === undefined) throw new Error(`obs.overhead: the ${variant} round failed (exit ${r.status ?? r.signal})`);
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as RoundResult;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

const round1 = (v: number): number => Math.round(v * 10) / 10;

function parent(seconds: number, rounds: number): void {
  const info = machine();
  const byVariant = new Map<Variant, RoundResult[]>(VARIANTS.map((v) => [v, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < VARIANTS.length; k++) {
      const v = VARIANTS[(r + k) % VARIANTS.length]!;
      const res = runChild(v, seconds, false);
      byVariant.get(v)!.push(res);
      process.stderr.write(`obs.overhead round ${r + 1} ${v}: ${Math.round(res.tokensPerSecond)} tokens/s, ${res.cpuUsPerToken.toFixed(3)} µs CPU/token (${res.calls} calls)\n`);
    }
  }
  const scrapeRun = runChild("on", seconds, true);

  const of = (v: Variant): RoundResult[] => byVariant.get(v)!;
  const tps = (v: Variant): number[] => of(v).map((x) => Math.round(x.tokensPerSecond));
  const cpu = (v: Variant): number[] => of(v).map((x) => Number(x.cpuUsPerToken.toFixed(4)));
  /** Paired per-round losses in % of `base`: round i of `v` against round i of `base`. */
  const paired = (v: Variant, base: Variant): number[] => of(v).map((x, i) => round1((100 * (of(base)[i]!.tokensPerSecond - x.tokensPerSecond)) / of(base)[i]!.tokensPerSecond));
  const overhead = (v: Variant, base: Variant): { value: number; details: Record<string, unknown> } => {
    const perRound = paired(v, base);
    const medV = median(tps(v));
    const medB = median(tps(base));
    const bestV = Math.max(...tps(v));
    const bestB = Math.max(...tps(base));
    const cpuV = median(cpu(v));
    const cpuB = median(cpu(base));
    return {
      value: median(perRound),
      details: {
        method: `median of per-round paired losses (${v} vs ${base} of the same round)`,
        perRound,
        fromMedians: round1((100 * (medB - medV)) / medB),
        fromBests: round1((100 * (bestB - bestV)) / bestB),
        // Throughput lost if the node were purely CPU-bound: 1 − cpu(base)/cpu(variant).
        fromCpu: round1(100 * (1 - cpuB / cpuV)),
        cpuUsPerToken: { [v]: cpuV, [base]: cpuB },
      },
    };
  };

  const common = { perCall: PER_CALL, inFlight: IN_FLIGHT, secondsPerRound: seconds, rounds, shards: 16, process: "fresh child process + node + data dir per round", ...info };
  const describe: Record<Variant, string> = {
    off: "no WAL, guardian not enforcing, metrics hooks off, tracing off",
    off_aa: "identical to off (A/A control)",
    bare: "WAL + guardian, metrics hooks off, tracing off",
    on: "WAL + guardian + metrics + tracing 1 % (OTLP/HTTP protobuf)",
    tail: "WAL + guardian + metrics + tracing 1 % + tail sampling",
  };
  for (const v of VARIANTS) {
    emit(`obs.ingest_${v}`, median(tps(v)), "tokens/s", {
      variant: describe[v], statistic: "median", best: Math.max(...tps(v)), roundTokensPerSecond: tps(v),
      cpuUsPerToken: median(cpu(v)), roundCpuUsPerToken: cpu(v), ...common,
    });
  }
  const on = overhead("on", "off");
  const tail = overhead("tail", "off");
  const telemetry = overhead("on", "bare");
  const aa = overhead("off_aa", "off");
  const exported = of("on").reduce((a, x) => ({ requests: a.requests + x.exported.requests, bytes: a.bytes + x.exported.bytes }), { requests: 0, bytes: 0 });
  emit("obs.overhead", on.value, "%", { budget: 10, reference: "original claims 22 %", noiseFloorAA: aa.value, ...on.details, exported, ...common });
  emit("obs.overhead_tail", tail.value, "%", { budget: 10, noiseFloorAA: aa.value, ...tail.details, ...common });
  emit("obs.overhead_telemetry", telemetry.value, "%", { note: "metrics hooks + tracing 1 % alone: on vs bare (both with WAL and guardian)", ...telemetry.details, ...common });
  emit("obs.overhead_aa", aa.value, "%", { note: "A/A control: off_aa is the same configuration as off; shows the noise floor", ...aa.details, ...common });
  const scrapes = scrapeRun.scrapes;
  emit("obs.scrape_at_load_ms", percentile(scrapes, 0.5), "ms", { p99_ms: percentile(scrapes, 0.99), scrapes: scrapes.length, via: "loopback fetch every 100 ms while `on` ingests (own child process)" });
}

const argv = process.argv.slice(2);
if (argv[0] === "--child") {
  const variant = VARIANTS.find((v) => v === argv[1]);
  if (variant === undefined) throw new Error(`obs.overhead --child: variant must be one of ${VARIANTS.join(", ")}`);
  await childRound(variant, Number(argv[2] ?? "3"), argv[3] === "scrape");
} else {
  const [secondsArg = "2", roundsArg = "4"] = argv;
  parent(Number(secondsArg), Number(roundsArg));
}
