/**
 * wal.restart_10m: restart of a node holding 10 M tokens (16 shards) to "every shard recovered":
 * open the WAL, load each shard's newest snapshot into a store in bulk (ShardStore.fromSnapshot
 * on the packed records) and replay the log after it. The data is written first through the WAL
 * (durable ingest), then snapshotted, then a short tail is appended. Budget: ≤ 2 s.
 * Also wal.snapshot_10m: time to write the snapshots of all shards (in the background of the
 * group committer, chunk by chunk). The page cache is warm (the data was just written).
 * WAL_RESTART_TOKENS=N measures another size (default 10 M); `cpuSeconds` is the restart's CPU time.
 */
import { emit, gc, machine } from "./lib/report.ts";
import { Pipeline } from "./lib/wal-pipeline.ts";

const SHARDS = 16;
const TOKENS = Number(process.env.WAL_RESTART_TOKENS ?? 10_000_000);
const BATCH = 10_000;
const TAIL_BATCHES = 20;
const env = { shards: SHARDS, tokens: TOKENS, ...machine() };

async function ingest(p: Pipeline, batches: number): Promise<void> {
  const inFlight: Promise<unknown>[] = [];
  for (let b = 0; b < batches; b++) {
    inFlight.push(p.ingest(BATCH));
    if (inFlight.length >= 8) await inFlight.shift();
  }
  await Promise.all(inFlight);
}

const p = await Pipeline.open(SHARDS, {});
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
await p.close(false);
gc();

const r0 = performance.now();
const c0 = process.cpuUsage();
const again = await Pipeline.open(SHARDS, {}, dir);
const restartSeconds = (performance.now() - r0) / 1000;
// CPU time of the restart (this thread and LMDB's): what a shared machine distorts least.
const cpu = process.cpuUsage(c0);
const restartCpuSeconds = (cpu.user + cpu.system) / 1e6;
const tokens = again.handlers.reduce((n, h) => n + h.store.size, 0);
if (tokens !== TOKENS + TAIL_BATCHES * BATCH) throw new Error(`recovered ${tokens} tokens, expected ${TOKENS + TAIL_BATCHES * BATCH}`);
await again.close(true);

emit("wal.snapshot_10m", snapshotSeconds, "s", { ...env, bytes: TOKENS * 64 });
emit("wal.restart_10m", restartSeconds, "s", { ...env, cpuSeconds: restartCpuSeconds, tailTokens: TAIL_BATCHES * BATCH, recoveredTokens: tokens, warmPageCache: true });
