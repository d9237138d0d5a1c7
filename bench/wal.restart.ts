/**
 * wal.restart_10m: restart of a node holding 10 M tokens (16 shards) to serving. The data is
 * written first through the WAL (durable ingest), then snapshotted, then a short tail is
 * appended; the page cache is warm (the data was just written). Budget: ≤ 2 s.
 *
 * - `wal.restart_10m`: a real node process, as an operator restarts one: `neurograph serve` from
 *   the compiled JavaScript (what the image runs; built with `npm run build` first) on that data
 *   directory, from spawn to its "serving gRPC" line. Includes process start and module loading.
 * - `wal.recover_10m`: the WAL part alone, in this process: open the WAL, load each shard's newest
 *   snapshot into a store in bulk and replay the log after it (the ingest's stores are still alive
 *   here, so memory is not fresh).
 * - `wal.snapshot_10m`: time to write the snapshots of all shards (in the background of the group
 *   committer, chunk by chunk).
 * - `wal.restart_10m_small_pages`: the same with GLIBC_TUNABLES unset (4 KiB pages; see
 *   src/node/huge-pages.ts), and `wal.restart_10m_main_thread` without recovery threads
 *   (NG_RECOVERY_THREADS=0); runs interleaved with the others, WAL_RESTART_RUNS of each (5).
 * WAL_RESTART_DIR=<dir> keeps the data set in <dir> and reuses it when it is there.
 * WAL_RESTART_TOKENS=N measures another size (default 10 M); `cpuSeconds` is CPU time (all threads).
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { emit, gc, machine } from "./lib/report.ts";
import { Pipeline } from "./lib/wal-pipeline.ts";
import { HUGE_PAGE_TUNABLE, hugePageStatus } from "../src/node/huge-pages.ts";

const SHARDS = 16;
const TOKENS = Number(process.env.WAL_RESTART_TOKENS ?? 10_000_000);
const BATCH = 10_000;
const TAIL_BATCHES = 20;
const RUNS = Number(process.env.WAL_RESTART_RUNS ?? 5);
const env = { shards: SHARDS, tokens: TOKENS, ...machine() };

async function ingest(p: Pipeline, batches: number): Promise<void> {
  const inFlight: Promise<unknown>[] = [];
  for (let b = 0; b < batches; b++) {
    inFlight.push(p.ingest(BATCH));
    if (inFlight.length >= 8) await inFlight.shift();
  }
  await Promise.all(inFlight);
}

/** Writes the data set into `into` (a fresh temporary directory when undefined); returns the directory and the snapshot time. */
async function generate(into: string | undefined): Promise<{ dir: string; snapshotSeconds: number }> {
  const p = await Pipeline.open(SHARDS, {}, into);
  const t0 = performance.now();
  await ingest(p, Math.ceil(TOKENS / BATCH));
  console.error(`ingested ${TOKENS} tokens in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  gc();
  const s0 = performance.now();
  await Promise.all(p.logs.map((log, s) => log.snapshot({ lsn: log.stats().lastLsn, tokens: p.handlers[s]!.store.exportTokens(), connections: p.handlers[s]!.store.exportConnections() })));
  const snapshotSeconds = (performance.now() - s0) / 1000;
  await p.wal?.env.committer.whenIdle();
  await ingest(p, TAIL_BATCHES);
  const dir = p.dataDir;
  if (dir === undefined) throw new Error("the restart bench needs the WAL on (a data directory)");
  await p.close(false);
  gc();
  return { dir, snapshotSeconds };
}

// WAL_RESTART_DIR=<dir> keeps the data set there and reuses it in later runs (no ingest, no
// snapshot figure); the restarts only read it. Made with the same WAL_RESTART_TOKENS, of course.
const keep = process.env.WAL_RESTART_DIR;
const reuse = keep !== undefined && existsSync(join(keep, "wal", "data.mdb"));
const { dir, snapshotSeconds } = reuse ? { dir: keep, snapshotSeconds: Number.NaN } : await generate(keep);

const r0 = performance.now();
const c0 = process.cpuUsage();
const again = await Pipeline.open(SHARDS, {}, dir);
const restartSeconds = (performance.now() - r0) / 1000;
// CPU time of the restart (this thread and LMDB's): what a shared machine distorts least.
const cpu = process.cpuUsage(c0);
const restartCpuSeconds = (cpu.user + cpu.system) / 1e6;
const tokens = again.handlers.reduce((n, h) => n + h.store.size, 0);
if (tokens !== TOKENS + TAIL_BATCHES * BATCH) throw new Error(`recovered ${tokens} tokens, expected ${TOKENS + TAIL_BATCHES * BATCH}`);
await again.close(false);

/** Spawns the compiled node on `dataDir`; resolves at its serving line with the wall time and its CPU so far. */
function serveOnce(dataDir: string, env: Record<string, string> = {}): Promise<{ seconds: number; cpuSeconds: number; recoveredMs: number }> {
  const t0 = performance.now();
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, [join(root, "dist", "cli", "main.js"), "serve", "--data-dir", dataDir, "--shards", String(SHARDS), "--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--log-level", "info"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...env },
  });
  let err = "";
  let served = false;
  return new Promise((resolve, reject) => {
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
      if (served || !/serving gRPC on /.test(err)) return;
      served = true;
      const seconds = (performance.now() - t0) / 1000;
      // utime + stime of the whole process (all threads), in clock ticks (100 per second on Linux).
      const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      const cpuSeconds = (Number(stat[11]) + Number(stat[12])) / 100;
      const recovered = err.split("\n").find((l) => l.includes('"every shard recovered"'));
      const recoveredMs = recovered === undefined ? NaN : Date.parse((JSON.parse(recovered) as { time: string }).time) - spawnedAt;
      child.kill("SIGTERM");
      child.once("exit", () => resolve({ seconds, cpuSeconds, recoveredMs }));
    });
    child.once("exit", (code) => served || reject(new Error(`neurograph serve exited with ${code} before serving:\n${err}`)));
  });
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });
type Run = { seconds: number; cpuSeconds: number; recoveredMs: number };
// The node as the image (and npm start) runs it: malloc asks for transparent huge pages.
const asImage = { GLIBC_TUNABLES: HUGE_PAGE_TUNABLE };
const runs: Run[] = [];
// The same restart with 4 KiB pages (the tunable unset), and with every shard recovered on the
// main thread (no recovery threads); the three are interleaved so drift hits them alike.
const smallPages: Run[] = [];
const mainOnly: Run[] = [];
for (let i = 0; i < RUNS; i++) {
  runs.push(await serveOnce(dir, asImage));
  smallPages.push(await serveOnce(dir, { GLIBC_TUNABLES: "" }));
  mainOnly.push(await serveOnce(dir, { ...asImage, NG_RECOVERY_THREADS: "0" }));
}
if (keep === undefined) rmSync(dir, { recursive: true, force: true });
const bestOf = (rs: Run[]): Run => rs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
const median = (rs: Run[]): number => rs.map((r) => r.seconds).sort((a, b) => a - b)[Math.floor(rs.length / 2)]!;
const summary = (rs: Run[]): Record<string, unknown> => {
  const b = bestOf(rs);
  return { cpuSeconds: b.cpuSeconds, median: Number(median(rs).toFixed(3)), runs: rs.map((r) => Number(r.seconds.toFixed(3))), spawnToRecoveredMs: b.recoveredMs };
};

if (!reuse) emit("wal.snapshot_10m", snapshotSeconds, "s", { ...env, bytes: TOKENS * 64 });
emit("wal.recover_10m", restartSeconds, "s", { ...env, cpuSeconds: restartCpuSeconds, tailTokens: TAIL_BATCHES * BATCH, recoveredTokens: tokens, warmPageCache: true });
emit("wal.restart_10m", bestOf(runs).seconds, "s", {
  ...env,
  what: `neurograph serve (dist) spawn to its serving line, as the image runs it (GLIBC_TUNABLES=${HUGE_PAGE_TUNABLE}), recovery threads on (one per core but one, sharing the shards with the main thread), best of ${RUNS}`,
  ...summary(runs),
  hugePages: hugePageStatus(asImage).effective,
  tailTokens: TAIL_BATCHES * BATCH,
  warmPageCache: true,
});
emit("wal.restart_10m_small_pages", bestOf(smallPages).seconds, "s", {
  ...env,
  what: `as wal.restart_10m with GLIBC_TUNABLES unset (4 KiB pages for the columns), best of ${RUNS}`,
  ...summary(smallPages),
  hugePages: false,
});
emit("wal.restart_10m_main_thread", bestOf(mainOnly).seconds, "s", {
  ...env,
  what: `as wal.restart_10m with NG_RECOVERY_THREADS=0 (every shard recovered on the main thread), best of ${RUNS}`,
  ...summary(mainOnly),
  hugePages: hugePageStatus(asImage).effective,
});
