/**
 * `neurograph load stress`: the original's observability stress test redone with measured
 * figures. For each configuration it starts its own `neurograph serve` child process on a fresh
 * data directory, streams N tokens into it as fast as it takes them (IngestTokens, closed loop),
 * and measures wall time, the node's peak RSS (VmHWM of /proc/<pid>/status, the kernel's
 * high-water mark, not an estimate), its RSS before the load, the data directory on disk, and
 * what the node reports it holds. Bytes per token = (peak RSS − RSS at start) / tokens.
 *
 * Configurations: `full` = WAL (LMDB, durable before the ack) + metrics (scraped every second, as
 * Prometheus would) + tracing with 1 % parent-based ratio sampling exported over OTLP/HTTP to a
 * local sink + the guardian enforcing a token quota (`--quota`, default 10 M; soft threshold at
 * 95 %); `bare` = the same node with `--no-wal`, the OpenTelemetry SDK disabled, no scraping and
 * every quota lifted. After its load the `full` node is driven past its quota
 * (`stress-limit.ts`): the first RESOURCE_EXHAUSTED, the refusals after it, reads at the limit,
 * the soft-threshold cleanup. What this build cannot switch off (the metrics registry, the
 * guardian's per-write validation) is listed in the report's `limitations`, so the overhead is
 * never read as more than it measures.
 */
import { execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { NeuroGraphClient } from "../client/index.ts";
import { InternalError } from "../core/errors.ts";
import { Random, tokenRecords } from "./data.ts";
import { pushPastQuota, StressAdmin, type AtLimitReport } from "./stress-limit.ts";
import { formatBytes, formatCount, formatDurationMs, formatPercent } from "./units.ts";

export const STRESS_CONFIGS = ["full", "bare"] as const;
export type StressConfig = (typeof STRESS_CONFIGS)[number];

export interface StressOptions {
  readonly tokens: number;
  readonly batch: number;
  readonly configs: readonly StressConfig[];
  /** Parent of the per-configuration data directories (fresh subdirectories are created). */
  readonly dataDir: string;
  readonly shards: number;
  /** The `full` node's token quota (0 = unlimited: no at-limit phase). */
  readonly quota: number;
  /** At-limit phase: writes sent after the first refusal (batches, then one single token). */
  readonly afterLimit: number;
  /** The `neurograph` bin the nodes are started from. */
  readonly bin: string;
  readonly log: (line: string) => void;
}

export interface StressRun {
  readonly config: StressConfig;
  readonly tokens: number;
  readonly nodeTokens: number;
  readonly seconds: number;
  readonly tokensPerSecond: number;
  /** CPU seconds (user + system) the node used for the load: robust where wall time is not (a shared machine). */
  readonly nodeCpuSeconds: number;
  readonly rssAtStartBytes: number;
  readonly peakRssBytes: number;
  /** (peak RSS − RSS at start) / tokens: measured. */
  readonly bytesPerToken: number;
  readonly dataDirBytes: number;
  readonly diskBytesPerToken: number;
  readonly scrapes: number;
  readonly spansExported: number;
  readonly exitCode: number | null;
  /** The token quota in force during the load (0 = none). */
  readonly quota: number;
  /** `full` with a quota: the node driven past it after the load. */
  readonly atLimit?: AtLimitReport;
}

export interface StressReport {
  readonly schema: "neurograph.stress/v1";
  readonly tokens: number;
  readonly batch: number;
  readonly quota: number;
  readonly runs: readonly StressRun[];
  /** full.seconds / bare.seconds − 1, when both ran. */
  readonly overhead: number | null;
  /** full.nodeCpuSeconds / bare.nodeCpuSeconds − 1, when both ran. */
  readonly cpuOverhead: number | null;
  readonly original: { readonly claimedPeakBytes: 608_000_000; readonly claimedBytesPerToken: 64; readonly note: string };
  readonly limitations: readonly string[];
}

const WAL_ABSENT = "no WAL wrote to the full configuration's data directory: its figures include no WAL cost";
const LIMITATIONS = [
  "the metrics registry cannot be switched off: `bare` only skips the scrapes",
  "the guardian cannot be switched off (its per-write validation runs in both): `bare` lifts every quota, so no quota check can refuse there",
];

function procStatus(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m === null ? 0 : Number(m[1]) * 1024;
}

/** CPU seconds (user + system) the process used so far: /proc/<pid>/stat utime + stime. */
function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Kernel clock ticks per second (USER_HZ): 100 on Linux unless `getconf CLK_TCK` says otherwise. */
const CLOCK_TICKS = (() => {
  try {
    const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(path) : statSync(path).size;
  }
  return total;
}

/** An OTLP/HTTP sink that accepts and counts export requests. */
async function otlpSink(): Promise<{ server: Server; url: string; requests: () => number }> {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      n++;
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}`, requests: () => n };
}

interface Node {
  readonly pid: number;
  readonly grpc: string;
  readonly metrics: string;
  stop(): Promise<number | null>;
}

function startNode(options: StressOptions, dataDir: string, env: Record<string, string>): Promise<Node> {
  const child = spawn(process.execPath, [options.bin, "serve", "--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--shards", String(options.shards), "--data-dir", dataDir, "--log-level", "warn"], {
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /serving gRPC on (\S+) .*metrics (?:http:\/\/)?([\d.]+:\d+)/.exec(err);
      if (m !== null) {
        resolve({
          pid: child.pid ?? -1,
          grpc: m[1]!,
          metrics: m[2]!,
          stop: () => {
            child.kill("SIGTERM");
            return exit;
          },
        });
      }
    });
    void exit.then((code) => reject(new InternalError(`the stress node exited with ${code} before serving: ${err.trim()}`)));
  });
}

async function runOne(config: StressConfig, options: StressOptions): Promise<StressRun> {
  const sink = config === "full" ? await otlpSink() : null;
  const env: Record<string, string> =
    sink === null
      ? { OTEL_SDK_DISABLED: "true", NG_WAL: "false" }
      : { OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf", OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.01" };
  const dataDir = join(options.dataDir, `${config}-${Date.now()}`);
  const node = await startNode(options, dataDir, env);
  let scrapes = 0;
  let scraper: NodeJS.Timeout | undefined;
  const client = await NeuroGraphClient.connect({ address: node.grpc, retry: false, deadlineMs: 0, env: {} });
  const admin = new StressAdmin(node.grpc);
  try {
    if (config === "full") await admin.setQuotas(options.quota, false);
    else await admin.setQuotas(0, true);
    // Let the node settle before its baseline is read.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rssAtStart = procStatus(node.pid, "VmRSS");
    const cpuAtStart = procCpuSeconds(node.pid);
    if (config === "full") {
      scraper = setInterval(() => {
        void fetch(`http://${node.metrics}/metrics`).then(
          async (r) => {
            await r.text();
            scrapes++;
          },
          () => undefined,
        );
      }, 1000);
    }
    const rng = new Random(1);
    const t0 = performance.now();
    const writer = client.tokenWriter({ batchSize: options.batch });
    let lastLog = t0;
    for (let sent = 0; sent < options.tokens; ) {
      const n = Math.min(options.batch, options.tokens - sent);
      await writer.write(tokenRecords(n, 0, rng));
      sent += n;
      const now = performance.now();
      if (now - lastLog > 5000) {
        options.log(`stress ${config}: ${formatCount(sent)} / ${formatCount(options.tokens)} tokens, ${formatDurationMs(now - t0)}, RSS ${formatBytes(procStatus(node.pid, "VmRSS"))}`);
        lastLog = now;
      }
    }
    const summary = await writer.end();
    const seconds = (performance.now() - t0) / 1000;
    const peak = procStatus(node.pid, "VmHWM");
    const nodeCpuSeconds = procCpuSeconds(node.pid) - cpuAtStart;
    const stats = await client.stats();
    options.log(`stress ${config}: ${formatCount(summary.accepted)} tokens in ${seconds.toFixed(1)} s, peak RSS ${formatBytes(peak)}`);
    let atLimit: AtLimitReport | undefined;
    if (config === "full" && options.quota > 0) {
      atLimit = await pushPastQuota(client, admin, `http://${node.metrics}/metrics`, { quota: options.quota, batch: options.batch, afterLimit: options.afterLimit, cleanupWaitMs: 5000 });
      options.log(`stress ${config}: quota ${formatCount(options.quota)}: first refusal ${atLimit.firstRefusal === null ? "NONE" : `${atLimit.firstRefusal.code} at ${formatCount(atLimit.usageAtFirstRefusal)} tokens`}, ${atLimit.refusedAfterLimit}/${atLimit.writesAfterLimit} later writes refused, reads ${atLimit.readsSucceeded ? "ok" : "FAILED"}`);
    }
    admin.close();
    if (scraper !== undefined) clearInterval(scraper);
    client.close();
    const exitCode = await node.stop();
    const disk = dirBytes(dataDir);
    const run: StressRun = {
      config,
      tokens: summary.accepted,
      nodeTokens: Number(stats.tokens),
      seconds,
      tokensPerSecond: summary.accepted / seconds,
      nodeCpuSeconds,
      rssAtStartBytes: rssAtStart,
      peakRssBytes: peak,
      bytesPerToken: summary.accepted > 0 ? (peak - rssAtStart) / summary.accepted : 0,
      dataDirBytes: disk,
      diskBytesPerToken: summary.accepted > 0 ? disk / summary.accepted : 0,
      scrapes,
      spansExported: sink?.requests() ?? 0,
      exitCode,
      quota: config === "full" ? options.quota : 0,
      ...(atLimit === undefined ? {} : { atLimit }),
    };
    return run;
  } finally {
    if (scraper !== undefined) clearInterval(scraper);
    admin.close();
    client.close();
    await node.stop();
    sink?.server.close();
  }
}

export async function runStress(options: StressOptions): Promise<StressReport> {
  const runs: StressRun[] = [];
  for (const config of options.configs) runs.push(await runOne(config, options));
  const full = runs.find((r) => r.config === "full");
  const bare = runs.find((r) => r.config === "bare");
  return {
    schema: "neurograph.stress/v1",
    tokens: options.tokens,
    batch: options.batch,
    quota: options.quota,
    runs,
    overhead: full !== undefined && bare !== undefined && bare.seconds > 0 ? full.seconds / bare.seconds - 1 : null,
    cpuOverhead: full !== undefined && bare !== undefined && bare.nodeCpuSeconds > 0 ? full.nodeCpuSeconds / bare.nodeCpuSeconds - 1 : null,
    original: { claimedPeakBytes: 608_000_000, claimedBytesPerToken: 64, note: "the original computed both (9.5 M × 64 B), it never measured them" },
    // A WAL leaves at least the records' bytes on disk.
    limitations: [...(full !== undefined && full.dataDirBytes < full.tokens * 8 ? [WAL_ABSENT] : []), ...LIMITATIONS],
  };
}

export function formatStressReport(r: StressReport): string {
  const lines = [`neurograph load stress: ${formatCount(r.tokens)} tokens per configuration, IngestTokens messages of ${formatCount(r.batch)}`];
  lines.push(`  ${"config".padEnd(6)} ${"time".padStart(9)} ${"CPU".padStart(8)} ${"tokens/s".padStart(10)} ${"RSS start".padStart(10)} ${"peak RSS".padStart(10)} ${"B/token".padStart(8)} ${"disk".padStart(10)} ${"disk B/tok".padStart(10)}`);
  for (const run of r.runs) {
    lines.push(
      `  ${run.config.padEnd(6)} ${`${run.seconds.toFixed(1)}s`.padStart(9)} ${`${run.nodeCpuSeconds.toFixed(1)}s`.padStart(8)} ${formatCount(run.tokensPerSecond).padStart(10)} ${formatBytes(run.rssAtStartBytes).padStart(10)} ${formatBytes(run.peakRssBytes).padStart(10)} ${run.bytesPerToken.toFixed(1).padStart(8)} ${formatBytes(run.dataDirBytes).padStart(10)} ${run.diskBytesPerToken.toFixed(1).padStart(10)}`,
    );
  }
  if (r.overhead !== null) lines.push(`  overhead of full over bare: ${formatPercent(r.overhead, 1)} (wall time), ${r.cpuOverhead === null ? "?" : formatPercent(r.cpuOverhead, 1)} (node CPU time)`);
  for (const run of r.runs) if (run.atLimit !== undefined) lines.push(...formatAtLimit(run.atLimit));
  lines.push(`  the original claimed 608 MB peak and 64 B/token: ${r.original.note}`);
  for (const l of r.limitations) lines.push(`  note: ${l}`);
  return lines.join("\n");
}

function formatAtLimit(a: AtLimitReport): string[] {
  const q = a.afterLoad.tokens;
  const lines = [`  quota (full): ${formatCount(a.quota)} tokens, soft threshold ${formatCount(q.softLimit)}`];
  lines.push(`    after the load: ${formatCount(q.usage)} tokens, level ${q.level}; soft crossings ${a.afterLoad.softCrossings}; cleanups ${a.afterLoad.cleanups} (removed ${a.afterLoad.cleanupTokensRemoved} tokens, ${a.afterLoad.cleanupConnectionsRemoved} connections)`);
  const first = a.firstRefusal;
  lines.push(
    first === null
      ? `    NO refusal: ${formatCount(a.acceptedToLimit)} more tokens were accepted past the quota`
      : `    first refusal after ${formatCount(a.acceptedToLimit)} more tokens, at ${formatCount(a.usageAtFirstRefusal)} tokens: ${first.code}: ${first.message.split("\n")[0]}`,
  );
  lines.push(`    after it: ${a.refusedAfterLimit} of ${a.writesAfterLimit} writes refused (${formatCount(a.refusedTokens)} tokens)${a.singleTokenRefused ? ", a single token too" : ""}; level ${a.after.tokens.level}, writes refused by the quota ${a.after.tokens.refused}`);
  lines.push(`    guardian at the end: soft crossings ${a.after.softCrossings}, hard crossings ${a.after.hardCrossings}, cleanups ${a.after.cleanups} (removed ${a.after.cleanupTokensRemoved} tokens, ${a.after.cleanupConnectionsRemoved} connections: the default policy never deletes tokens)`);
  lines.push(`    reads at the limit: ${a.readsSucceeded ? `ok (${formatCount(a.tokensReadBack)} tokens read back, stats ${formatCount(a.nodeTokensAfter)} tokens)` : "FAILED"}`);
  return lines;
}
