/**
 * A recovery thread (recovery-pool.ts): goes through the list of loads from the last, claiming
 * each that no other thread (nor the main thread) has claimed, and loads that shard's newest snapshot into
 * token columns and an id table, verifying every chunk as it is read (snapshot-open.ts, the same
 * checks as the single-thread path); it sends the arrays back without copying them. It opens the node's WAL
 * environment read-only: lmdb-js shares one LMDB environment between the threads of a process,
 * and every database it reads was opened by the main thread first. It never writes.
 *
 * Anything unusual (a damaged chunk, a snapshot that is not the newest any more, a store that
 * refuses the records) is answered `ok: false`: the main thread then recovers the shard itself,
 * which finds the same problem and reports or repairs it exactly as it always does.
 */
import { parentPort } from "node:worker_threads";
import { type Database, type Key, type RootDatabase, open } from "lmdb";
import { ShardStore } from "../../core/store/index.ts";
import { type RecoveryJob, type RecoveryJobResult, type RecoveryThreadMessage, type RecoveryWork, UNCLAIMED } from "./recovery-pool.ts";
import { openSnapshot, replayHeadroom } from "./snapshot-open.ts";

let env: { path: string; root: RootDatabase } | undefined;

function databases(job: RecoveryJob): { log: Database<Uint8Array, Key>; snap: Database<Uint8Array, Key> } {
  if (env?.path !== job.walDir) {
    void env?.root.close();
    env = { path: job.walDir, root: open({ path: job.walDir, readOnly: true, maxDbs: job.maxDbs }) };
  }
  const root = env.root;
  return {
    log: root.openDB<Uint8Array, Key>({ name: `log.${job.shard}`, encoding: "binary" }),
    snap: root.openDB<Uint8Array, Key>({ name: `snap.${job.shard}`, encoding: "binary" }),
  };
}

function load(job: RecoveryJob, index: number): { result: RecoveryJobResult; transfer: ArrayBuffer[] } {
  const started = performance.now();
  const { shard, lsn } = job;
  const dbs = databases(job);
  const open = openSnapshot(dbs, shard, lsn);
  if (!open.ok) return { result: { ok: false, index, shard, lsn, detail: open.detail }, transfer: [] };
  const c = open.snapshot;
  const tokenCount = c.manifest.tokenBytes / 64;
  const headroomTokens = replayHeadroom(dbs.log, lsn, c.manifest.tokenBytes);
  // What GraphShardActor's streamed load does, minus the connections (they need the whole store).
  const store = new ShardStore({ initialCapacity: tokenCount + headroomTokens, shard, shardCount: job.shardCount });
  for (const piece of c.tokenPieces()) store.insertRecords(piece, { allocateIds: false });
  const tokens = store.exportTokenState();
  const cols = tokens.columns;
  const transfer = [cols.coords, cols.ids, cols.flags, cols.weights, cols.radii, cols.strengths, cols.timestamps, tokens.idEntries, c.connections].map(
    (a) => a.buffer as ArrayBuffer,
  );
  if (c.constitution !== undefined) transfer.push(c.constitution.buffer as ArrayBuffer);
  return {
    result: {
      ok: true,
      index,
      shard,
      lsn,
      createdAtMs: c.manifest.createdAtMs,
      tokenCount,
      headroomTokens,
      tokens,
      connections: c.connections,
      constitution: c.constitution,
      busyMs: performance.now() - started,
    },
    transfer,
  };
}

const port = parentPort;
if (port === null) throw new Error("recovery-worker.ts runs only as a worker thread (recovery-pool.ts starts it)");
port.once("message", (work: RecoveryWork) => {
  // From the last shard down: the main thread recovers from the first up (recovery-pool.ts).
  for (let i = work.jobs.length - 1; i >= 0; i--) {
    const job = work.jobs[i]!;
    if (Atomics.compareExchange(work.claims, i, UNCLAIMED, work.claimAs) !== UNCLAIMED) continue;
    let out: { result: RecoveryJobResult; transfer: ArrayBuffer[] };
    try {
      out = load(job, i);
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      out = { result: { ok: false, index: i, shard: job.shard, lsn: job.lsn, detail }, transfer: [] };
    }
    port.postMessage(out.result satisfies RecoveryThreadMessage, out.transfer);
  }
  void env?.root.close();
  env = undefined;
  port.postMessage({ done: true } satisfies RecoveryThreadMessage);
});
