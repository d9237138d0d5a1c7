/**
 * wal.durable_ingest: in-process ingest into 16 shard stores with the LMDB WAL, batches of 10 000
 * tokens split by shard, each batch acknowledged only when every shard's append is durable
 * (several batches in flight, as a streaming client keeps them). Also small batches, the same
 * runs with the WAL off (volatile logs) and the overhead, and the replay rate of the log written.
 * Budget (DESIGN §8): ≥ 4 M tokens/s; overhead ≤ 10 % at large batches.
 */
import { emit, gc, machine } from "./lib/report.ts";
import { Pipeline, sustained } from "./lib/wal-pipeline.ts";

const SHARDS = 16;
const SECONDS = Number(process.env.WAL_BENCH_SECONDS ?? 4);
const env = { shards: SHARDS, ...machine() };

const cases = [
  { name: "", batch: 10_000, inFlight: 8 },
  { name: "_small", batch: 100, inFlight: 64 },
] as const;

for (const c of cases) {
  gc();
  const off = await Pipeline.open(SHARDS, "off");
  const volatile = await sustained(off, c.batch, c.inFlight, SECONDS);
  await off.close();
  gc();
  const on = await Pipeline.open(SHARDS, {});
  const durable = await sustained(on, c.batch, c.inFlight, SECONDS);
  const commits = on.wal?.env.committer.stats();
  await on.wal?.env.committer.whenIdle();

  // Replay: reopen the log just written and recover every shard from it.
  const dir = on.dataDir;
  await on.close(false);
  gc();
  const t0 = performance.now();
  const again = await Pipeline.open(SHARDS, {}, dir);
  const replaySeconds = (performance.now() - t0) / 1000;
  const replayedTokens = again.handlers.reduce((n, h) => n + h.tokens, 0);
  const replayedRecords = again.logs.reduce((n, l) => n + l.stats().lastLsn, 0);
  await again.close(true);

  const details = { batch: c.batch, inFlight: c.inFlight, seconds: durable.seconds, ...env };
  emit(`wal.durable_ingest${c.name}`, durable.rate, "tokens/s", {
    ...details,
    commits: commits?.commits,
    recordsPerCommit: commits === undefined ? undefined : commits.records / Math.max(1, commits.commits),
    mbPerSecond: (durable.rate * 64) / 1e6,
  });
  emit(`wal.volatile_ingest${c.name}`, volatile.rate, "tokens/s", details);
  emit(`wal.overhead${c.name}`, 100 * (1 - durable.rate / volatile.rate), "%", details);
  emit(`wal.replay_records${c.name}`, replayedRecords / replaySeconds, "records/s", { records: replayedRecords, seconds: replaySeconds, ...env });
  emit(`wal.replay_tokens${c.name}`, replayedTokens / replaySeconds, "tokens/s", { tokens: replayedTokens, seconds: replaySeconds, ...env });
}
