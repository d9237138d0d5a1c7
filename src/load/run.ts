/**
 * The coordinator of a load run: preloads the data read scenarios need, forks the worker
 * processes, starts them at one common time, shows a live progress line, merges their results
 * into the report and writes the report files.
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { InternalError, UnavailableError, type NeuroGraphError } from "../core/errors.ts";
import { latencyChartSvg, reportHtml } from "./chart.ts";
import { preloadEdges, Random, tokenRecords } from "./data.ts";
import { mergeEncoded, newHistogram, summarize } from "./histogram.ts";
import { watchIngestConsumer, type IngestConsumerWatch } from "./nats-ops.ts";
import { loadClient } from "./ops.ts";
import type { LoadPlan } from "./plan.ts";
import type { FromWorker, ToWorker, WorkerResult } from "./protocol.ts";
import { buildReport, formatReport, type LoadReport } from "./report.ts";
import { formatCount, formatDurationMs, formatLatency } from "./units.ts";

export interface RunOptions {
  /** How to start a worker: a Node script and its arguments (the `neurograph` bin + `load-worker`). */
  readonly workerScript: string;
  readonly workerArgs: readonly string[];
  /** Live progress (stderr); null = quiet. */
  readonly progress: NodeJS.WritableStream | null;
  /** Rewrite the progress line in place (a terminal) or print a line every 5 s (a log). */
  readonly tty: boolean;
  readonly signal?: AbortSignal;
}

const PRELOAD_CHUNK = 10_000;
/** How far in the future the common start is set once every worker is ready. */
const START_DELAY_MS = 300;
/** JetStream runs: how long after the last PubAck the coordinator waits for the node to apply the backlog. */
const JETSTREAM_DRAIN_WAIT_MS = 60_000;

/** Creates tokens 1..N (and their connections) unless they exist; returns the time it took. */
export async function preload(plan: LoadPlan, log: (line: string) => void): Promise<number> {
  const { tokens, degree } = plan.preload;
  if (tokens === 0) return 0;
  const t0 = performance.now();
  const client = await loadClient({ ...plan, timeoutMs: Math.max(plan.timeoutMs, 60_000) });
  try {
    const rng = new Random(plan.seed);
    let created = 0;
    for (let first = 1; first <= tokens; first += PRELOAD_CHUNK) {
      const n = Math.min(PRELOAD_CHUNK, tokens - first + 1);
      // partial: tokens of an earlier run with the same preload exist already (ALREADY_EXISTS).
      const res = await client.createTokens(tokenRecords(n, first, rng), { partial: true });
      created += res.accepted;
    }
    let connected = 0;
    if (degree > 0) {
      const per = Math.max(1, Math.floor(PRELOAD_CHUNK / degree));
      for (let from = 1; from <= tokens; from += per) {
        const edges = preloadEdges(from, Math.min(tokens, from + per - 1), tokens, degree, plan.seed);
        const res = await client.connect(edges, { partial: true });
        connected += res.accepted;
      }
    }
    const ms = performance.now() - t0;
    log(`preload: ${formatCount(created)} new token(s) of ${formatCount(tokens)}, ${formatCount(connected)} new connection(s), ${formatDurationMs(ms)}`);
    return ms;
  } finally {
    client.close();
  }
}

interface WorkerHandle {
  readonly child: ChildProcess;
  result?: WorkerResult;
}

/** Runs the plan and returns the report (files are written by `writeReportFiles`). */
export async function runLoad(plan: LoadPlan, options: RunOptions): Promise<LoadReport> {
  const log = (line: string): void => void options.progress?.write(`${line}\n`);
  await preload(plan, log);
  // JetStream: the node applies stored messages after the PubAck; watch its consumer's backlog.
  let consumer: IngestConsumerWatch | undefined;
  if (plan.nats !== null && plan.mix.some((m) => m.op === "jetstream")) consumer = await watchIngestConsumer(plan.nats, plan.timeoutMs);
  try {
    const results = await runWorkers(plan, options);
    const ingest = consumer === undefined ? undefined : await consumer.finish(Math.max(plan.timeoutMs, JETSTREAM_DRAIN_WAIT_MS));
    if (ingest !== undefined && ingest.drainedAfterMs === null) log(`jetstream: the node still had ${ingest.backlogAtEnd} message(s) to apply after ${formatDurationMs(Math.max(plan.timeoutMs, JETSTREAM_DRAIN_WAIT_MS))}`);
    return buildReport(plan, results.results, results.startedAt, ingest);
  } finally {
    await consumer?.close();
  }
}

async function runWorkers(plan: LoadPlan, options: RunOptions): Promise<{ results: WorkerResult[]; startedAt: Date }> {
  const startedAt = new Date();
  const workers: WorkerHandle[] = [];
  let failure: NeuroGraphError | undefined;
  let readyCount = 0;
  let resolveReady!: () => void;
  let rejectAll!: (err: NeuroGraphError) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectAll = reject;
  });
  const interval = { done: 0, errors: 0, histogram: newHistogram(), inFlight: new Map<number, number>() };
  let totalDone = 0;

  for (let index = 0; index < plan.workers; index++) {
    const child = fork(options.workerScript, [...options.workerArgs], { stdio: ["ignore", "inherit", "inherit", "ipc"], env: { ...process.env } });
    const handle: WorkerHandle = { child };
    workers.push(handle);
    child.on("message", (raw: unknown) => {
      const msg = raw as FromWorker;
      switch (msg.type) {
        case "ready":
          if (++readyCount === plan.workers) resolveReady();
          break;
        case "progress":
          interval.done += msg.done;
          interval.errors += msg.errors;
          totalDone += msg.done;
          interval.inFlight.set(msg.index, msg.inFlight);
          mergeEncoded(interval.histogram, msg.histogram);
          break;
        case "result":
          handle.result = msg.result;
          break;
        case "failed": {
          const err = msg.code === "UNAVAILABLE" ? new UnavailableError(`load worker ${msg.index}: ${msg.message}`) : new InternalError(`load worker ${msg.index} failed: ${msg.message} [${msg.code}]`);
          failure ??= err;
          rejectAll(err);
          break;
        }
      }
    });
    child.send({ type: "plan", plan, index } satisfies ToWorker);
  }
  const exited = workers.map((w) => new Promise<number | null>((resolve) => w.child.on("exit", (code) => resolve(code))));
  void Promise.all(exited).then(() => rejectAll(failure ?? new InternalError("a load worker exited before it was ready")));
  const stopAll = (): void => {
    for (const w of workers) if (w.child.connected) w.child.send({ type: "stop" } satisfies ToWorker);
  };
  options.signal?.addEventListener("abort", stopAll, { once: true });

  let ticker: NodeJS.Timeout | undefined;
  try {
    await ready;
    const atEpochMs = Date.now() + START_DELAY_MS;
    for (const w of workers) w.child.send({ type: "start", atEpochMs } satisfies ToWorker);
    const t0 = performance.now() + START_DELAY_MS;
    let lastLine = 0;
    ticker = setInterval(() => {
      const now = performance.now();
      const s = summarize(interval.histogram);
      const inFlight = [...interval.inFlight.values()].reduce((a, b) => a + b, 0);
      const phase = now - t0 < plan.rampUpMs ? "ramp-up" : "measuring";
      const line = `[${formatDurationMs(Math.max(0, now - t0))}] ${phase}: ${formatCount(interval.done)} ops/s, ${interval.errors} errors, p50 ${formatLatency(s.p50)}, p99 ${formatLatency(s.p99)}, max ${formatLatency(s.max)}, in flight ${inFlight}, total ${formatCount(totalDone)}`;
      if (options.tty) options.progress?.write(`\r\x1b[2K${line}`);
      else if (now - lastLine >= 5000) {
        options.progress?.write(`${line}\n`);
        lastLine = now;
      }
      interval.done = 0;
      interval.errors = 0;
      interval.histogram = newHistogram();
    }, 1000);
    await Promise.all(exited);
  } catch (err) {
    stopAll();
    for (const w of workers) if (w.child.exitCode === null) w.child.kill("SIGTERM");
    throw err;
  } finally {
    if (ticker !== undefined) clearInterval(ticker);
    if (options.tty) options.progress?.write("\r\x1b[2K");
    options.signal?.removeEventListener("abort", stopAll);
  }
  if (failure !== undefined) throw failure;
  return { results: workers.map((w, i) => w.result ?? missing(i)), startedAt };
}

function missing(index: number): never {
  throw new InternalError(`load worker ${index} exited without a result; see its messages above`);
}

/** Writes report.json, report.txt, latency.svg and report.html into `dir`; returns their paths. */
export function writeReportFiles(report: LoadReport, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files: [string, string][] = [
    ["report.json", `${JSON.stringify(report, null, 2)}\n`],
    ["report.txt", `${formatReport(report)}\n`],
    ["latency.svg", `${latencyChartSvg(report)}\n`],
    ["report.html", reportHtml(report)],
  ];
  return files.map(([name, text]) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  });
}
