/**
 * `neurograph load <scenario>`: the load-testing harness (src/load). Open loop (`--rate`,
 * constant arrival rate, latency from the intended send time: no coordinated omission) or
 * closed loop (`--concurrency`); several worker processes; HDR percentiles; report files;
 * SLO flags whose miss makes the exit code 4, so CI can gate on a run.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { ValidationError } from "../../core/errors.ts";
import { formatReport, resolveLoadPlan, runLoad, runWorkerProcess, writeReportFiles, type GrpcTarget, type LoadFlags, type LoadReport, type NatsTarget } from "../../load/index.ts";
import { formatStressReport, runStress, STRESS_CONFIGS, type StressConfig } from "../../load/stress.ts";
import { formatCount, parseCount } from "../../load/units.ts";
import { clientCommand, exitWith, ExitCode, failWith, loadClientConfig } from "./shared.ts";

export const LOAD_EXIT_SLO_MISSED = 4;
const BIN = fileURLToPath(new URL("../../../bin/neurograph.mjs", import.meta.url));

const LOAD_HELP = `
Scenarios:
  ingest     IngestTokens streams (--batch tokens per message, --stream-messages per stream)
  create     CreateTokens calls of --batch tokens (ids allocated by the node)
  get        GetTokens of --batch random ids (needs --preload N or --ids MIN-MAX)
  neighbors  Neighbors of a random token (--space, --radius, --limit)
  traverse   Traverse from a random token (--depth, --max-nodes; --preload-degree connections)
  mix        weighted ops, e.g. --mix get=80,create=15,traverse=5
  nats       core NATS ingest: requests of --batch tokens to ng.<cluster>.ingest.tokens; the
             latency ends at the node's IngestAck (sent once the tokens are durable)
  jetstream  JetStream ingest: publishes to ng.<cluster>.ingest.js.tokens with a unique
             Nats-Msg-Id; the latency ends at the PubAck (stored in the stream); the report adds
             the node's consumer backlog and how long it took to apply everything
             (both need nodes started with --nats and the same --cluster; give --nats URL)
  stress     the original's stress test, measured: starts its own nodes (full: WAL, metrics,
             1 % tracing, guardian with a --quota token quota; bare: all off), ingests --tokens
             (default 9.5M, quota 10M) into each; time, overhead, peak RSS, B/token; then drives
             the full node past its quota: first RESOURCE_EXHAUSTED, refusals, reads at the limit

Modes:
  --rate N         open loop: N ops/s arrive on schedule whatever the node does; latency is
                   measured from the intended send time (corrected for coordinated omission)
  --concurrency N  closed loop: N clients, each sends its next op when the previous returns

Reports: text on stdout (JSON with --json); report.json, report.txt, latency.svg and
report.html in --report-dir (default ./load-report; --no-report to skip).

Exit codes of load:
  0  done, every SLO met
  1  the run failed (no operation succeeded, a worker failed)
  2  usage or configuration error
  3  the node cannot be reached
  4  an SLO was missed (--max-p99, --min-rate, --max-error-rate, …)

Examples:
  neurograph load ingest --rate 200 --batch 1000 --duration 30s --max-p99 50ms
  neurograph load mix --mix get=80,create=20 --preload 100k --rate 2k --workers 2 --ramp-up 5s
  neurograph load get --preload 10k --concurrency 32 --count 100k --json`;

interface LoadCommandFlags extends LoadFlags {
  readonly json?: boolean;
  readonly reportDir?: string;
  readonly report?: boolean;
  readonly quiet?: boolean;
  readonly nats?: string;
  readonly cluster?: string;
  readonly natsUser?: string;
  readonly natsPassword?: string;
  readonly natsToken?: string;
  readonly natsCreds?: string;
  readonly [key: string]: unknown;
}

function grpcTarget(flags: LoadCommandFlags): GrpcTarget {
  const config = loadClientConfig(flags).values;
  const tls = config.tls || config.tlsCa !== undefined || config.tlsCert !== undefined;
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) exitWith(ExitCode.Usage, "--tls-cert and --tls-key go together (mTLS needs both)");
  return {
    address: config.addr.address,
    ...(config.token === undefined ? {} : { token: config.token }),
    ...(tls
      ? {
          tls:
            config.tlsCa === undefined && config.tlsCert === undefined && config.tlsServerName === undefined
              ? ("system" as const)
              : {
                  ...(config.tlsCa === undefined ? {} : { caFile: config.tlsCa }),
                  ...(config.tlsCert === undefined ? {} : { certFile: config.tlsCert }),
                  ...(config.tlsKey === undefined ? {} : { keyFile: config.tlsKey }),
                  ...(config.tlsServerName === undefined ? {} : { serverName: config.tlsServerName }),
                },
        }
      : {}),
  };
}

function natsTarget(urls: string, flags: LoadCommandFlags): NatsTarget {
  const pick = (flag: string | undefined, env: string): string | undefined => {
    const v = flag ?? process.env[env];
    return v === undefined || v === "" ? undefined : v;
  };
  const cluster = flags.cluster ?? "neurograph";
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cluster)) exitWith(ExitCode.Usage, `--cluster ${cluster}: expected 1-64 characters of A-Z, a-z, 0-9, '-', '_'`);
  const user = pick(flags.natsUser, "NG_NATS_USER");
  const password = pick(flags.natsPassword, "NG_NATS_PASSWORD");
  const token = pick(flags.natsToken, "NG_NATS_TOKEN");
  const credsFile = pick(flags.natsCreds, "NG_NATS_CREDS");
  return {
    servers: urls.split(",").map((s) => s.trim()).filter((s) => s !== ""),
    cluster,
    ...(user === undefined ? {} : { user }),
    ...(password === undefined ? {} : { password }),
    ...(token === undefined ? {} : { token }),
    ...(credsFile === undefined ? {} : { credsFile }),
  };
}

export function registerLoadCommand(program: Command): void {
  const cmd = clientCommand(program, "load <scenario>", "load-test a node: open/closed loop, HDR percentiles, reports, SLO exit codes");
  cmd
    .option("--rate <ops/s>", "open loop: operations per second, all workers together (e.g. 500, 2k)")
    .option("--concurrency <n>", "closed loop: clients, all workers together")
    .option("--max-in-flight <n>", "open loop: operations in flight at most (later ones wait; their wait counts) [10000]")
    .option("--duration <d>", "length of the measured phase, e.g. 30s, 5m [10s]")
    .option("--count <n>", "measured operations instead of a duration")
    .option("--ramp-up <d>", "before the measured phase, the rate (or the clients) grow from 0; not recorded [0s]")
    .option("--workers <n>", "worker processes, so the client is not the bottleneck [1]")
    .option("--connections <n>", "gRPC connections per worker [1]")
    .option("--batch <n>", "tokens per op (ingest message, create call) or ids per get")
    .option("--stream-messages <n>", "ingest: messages per stream [1]")
    .option("--timeout <d>", "deadline of each operation [10s]")
    .option("--mix <spec>", "mix: op=weight pairs, e.g. get=80,create=15,traverse=5")
    .option("--ids <min-max>", "reads pick ids from this range of existing tokens")
    .option("--preload <n>", "create tokens 1..N first (skipped where they exist) [0]")
    .option("--preload-degree <n>", "connections per preloaded token [4 with traverse, else 0]")
    .option("--space <L1..L8>", "neighbors: space [L1]")
    .option("--radius <r>", "neighbors: radius [1]")
    .option("--limit <n>", "neighbors: results at most [100]")
    .option("--depth <n>", "traverse: depth [2]")
    .option("--max-nodes <n>", "traverse: nodes at most [1000]")
    .option("--seed <n>", "seed of the generated data and choices [1]")
    .option("--max-p50 <latency>", "SLO: p50 at most, e.g. 2ms")
    .option("--max-p90 <latency>", "SLO: p90 at most")
    .option("--max-p99 <latency>", "SLO: p99 at most, e.g. 5ms")
    .option("--max-p999 <latency>", "SLO: p99.9 at most")
    .option("--max-latency <latency>", "SLO: max at most")
    .option("--min-rate <ops/s>", "SLO: achieved operations per second at least")
    .option("--min-token-rate <tokens/s>", "SLO: achieved tokens per second at least")
    .option("--max-error-rate <fraction>", "SLO: failed operations at most, e.g. 0.001 or 0.1%")
    .option("--nats <urls>", "NATS servers for the nats/jetstream scenarios (comma-separated) [env NG_NATS_URL]")
    .option("--cluster <name>", "cluster name of the NATS subjects [neurograph]")
    .option("--nats-user <name>", "NATS user (with --nats-password) [env NG_NATS_USER]")
    .option("--nats-password <pw>", "NATS password [env NG_NATS_PASSWORD]")
    .option("--nats-token <token>", "NATS token [env NG_NATS_TOKEN]")
    .option("--nats-creds <file>", "NATS credentials file [env NG_NATS_CREDS]")
    .option("--tokens <n>", "stress: tokens per configuration [9.5M]")
    .option("--quota <n>", "stress: the full node's token quota; after the load it is driven past it (0 = none) [10M]")
    .option("--after-limit <n>", "stress: writes sent after the first quota refusal [10]")
    .option("--configs <list>", "stress: configurations to run, of full, bare [full,bare]")
    .option("--data-dir <dir>", "stress: parent of the nodes' fresh data directories [./load-report/stress-data]")
    .option("--shards <n>", "stress: shards of the nodes [16]")
    .option("--report-dir <dir>", "where the report files go [./load-report]")
    .option("--no-report", "write no report files")
    .option("--quiet", "no progress line")
    .addHelpText("after", LOAD_HELP)
    .action(async (scenario: string) => {
      const flags = cmd.opts<LoadCommandFlags>();
      if (scenario === "stress") return stress(flags);
      const grpc = grpcTarget(flags);
      const natsUrl = flags.nats ?? process.env["NG_NATS_URL"];
      const nats = natsUrl === undefined || natsUrl === "" ? null : natsTarget(natsUrl, flags);
      let plan;
      try {
        plan = resolveLoadPlan(scenario, flags, grpc, nats);
      } catch (err) {
        if (err instanceof ValidationError) exitWith(ExitCode.Usage, err.message);
        throw err;
      }
      const controller = new AbortController();
      const onSignal = (): void => controller.abort();
      process.once("SIGINT", onSignal);
      let report: LoadReport;
      try {
        report = await runLoad(plan, {
          workerScript: BIN,
          workerArgs: ["load-worker"],
          progress: flags.quiet === true ? null : process.stderr,
          tty: process.stderr.isTTY,
          signal: controller.signal,
        });
      } catch (err) {
        failWith(err);
      } finally {
        process.off("SIGINT", onSignal);
      }
      process.stdout.write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
      if (flags.report !== false) {
        const files = writeReportFiles(report, flags.reportDir ?? "load-report");
        if (flags.quiet !== true) process.stderr.write(`report: ${files.join(", ")}\n`);
      }
      if (report.operations > 0 && report.errors === report.operations) exitWith(ExitCode.RequestFailed, `every operation failed (${Object.keys(report.errorsByCode).join(", ")})`);
      if (report.operations === 0) exitWith(ExitCode.RequestFailed, "no operation was measured");
      if (!report.passed) exitWith(LOAD_EXIT_SLO_MISSED);
    });

  async function stress(flags: LoadCommandFlags): Promise<void> {
    const problems: string[] = [];
    const count = (name: string, text: unknown, fallback: number, min: number, max: number): number => {
      if (typeof text !== "string") return fallback;
      const r = parseCount(text, min, max);
      if (r.ok) return r.value;
      problems.push(`  ${name} ${text}: expected ${r.expected}`);
      return fallback;
    };
    const tokens = count("--tokens", flags["tokens"], 9_500_000, 1, 100_000_000);
    const batch = count("--batch", flags.batch, 10_000, 1, 100_000);
    const shards = count("--shards", flags["shards"], 16, 1, 4096);
    const quota = count("--quota", flags["quota"], 10_000_000, 0, 1e12);
    const afterLimit = count("--after-limit", flags["afterLimit"], 10, 0, 1_000_000);
    if (quota > 0 && tokens > quota) problems.push(`  --tokens ${formatCount(tokens)}: the load must fit under --quota ${formatCount(quota)} (the at-limit phase goes past it afterwards)`);
    const configs = (typeof flags["configs"] === "string" ? flags["configs"] : STRESS_CONFIGS.join(",")).split(",").map((c) => c.trim());
    for (const c of configs) if (!(STRESS_CONFIGS as readonly string[]).includes(c)) problems.push(`  --configs ${c}: expected a list of ${STRESS_CONFIGS.join(", ")}`);
    if (problems.length > 0) exitWith(ExitCode.Usage, `invalid stress options:\n${problems.join("\n")}`);
    const reportDir = flags.reportDir ?? "load-report";
    let report;
    try {
      report = await runStress({
        tokens,
        batch,
        shards,
        quota,
        afterLimit,
        configs: configs as StressConfig[],
        dataDir: typeof flags["dataDir"] === "string" ? flags["dataDir"] : `${reportDir}/stress-data`,
        bin: BIN,
        log: (line) => void (flags.quiet === true ? undefined : process.stderr.write(`${line}\n`)),
      });
    } catch (err) {
      failWith(err);
    }
    process.stdout.write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : `${formatStressReport(report)}\n`);
    if (flags.report !== false) {
      mkdirSync(reportDir, { recursive: true });
      writeFileSync(join(reportDir, "stress.json"), `${JSON.stringify(report, null, 2)}\n`);
      writeFileSync(join(reportDir, "stress.txt"), `${formatStressReport(report)}\n`);
    }
    if (report.runs.some((r) => r.tokens !== tokens)) exitWith(ExitCode.RequestFailed, "a configuration did not ingest every token");
    const limit = report.runs.find((r) => r.atLimit !== undefined)?.atLimit;
    if (limit !== undefined && (limit.firstRefusal === null || limit.refusedAfterLimit !== limit.writesAfterLimit || !limit.readsSucceeded)) {
      exitWith(ExitCode.RequestFailed, "the full node did not hold its quota as it should (see the quota lines of the report)");
    }
  }

  program
    .command("load-worker", { hidden: true })
    .description("a worker process of `neurograph load` (started by it over IPC)")
    .action(async () => {
      const code = await runWorkerProcess();
      if (code !== 0) exitWith(code);
    });
}
