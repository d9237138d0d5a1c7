/**
 * guardian.overhead: throughput lost to the guardian on the node's ingest path. The same
 * in-process node core twice: coordinator (`GraphRouter.ingestTokens`) → 4 graph shard actors
 * (volatile logs, so the log does not hide the cost), 100 k-token batches with allocated ids.
 * "off": no guardian (default limits); "on": the node as `startNode` wires it (the coordinator's
 * quota reservation and the active constitution's limits, each shard's ShardGuard: batch
 * counting, usage reported to the quota gate). Batches alternate between the two live cores;
 * the cost is the process's CPU time per batch (a shared machine's preemption does not count),
 * the median over back-to-back batch pairs. gRPC decoding is left out, so the ratio is harsher than what a client
 * sees. Budget: ≤ 3 %. GUARDIAN_AA=1: no guardian on either side (the noise floor).
 * `npm run bench -- guardian`; GUARDIAN_INGEST_TOKENS (default 1 000 000), GUARDIAN_INGEST_ROUNDS (default 5).
 */
import { GuardianHub, ShardGuard } from "../src/actors/guardian/index.ts";
import { DEFAULT_TOKEN_LIMITS } from "../src/core/limits.ts";
import { ShardStore } from "../src/core/store/index.ts";
import { TOKEN_RECORD_SIZE } from "../src/core/token/index.ts";
import { tokenRecords } from "./lib/core-data.ts";
import { emit, gc, machine } from "./lib/report.ts";
import { startVolatileCore, type VolatileCore } from "./lib/volatile-core.ts";

const TOKENS = Number(process.env.GUARDIAN_INGEST_TOKENS ?? 1_000_000);
const ROUNDS = Number(process.env.GUARDIAN_INGEST_ROUNDS ?? 5);
const BATCH = 100_000;
const SHARDS = 4;
const scope = { deadline: Infinity, signal: new AbortController().signal };

const template = tokenRecords(BATCH, 1);
const ids = new DataView(template.buffer, template.byteOffset, template.byteLength);
for (let i = 0; i < BATCH; i++) ids.setUint32(i * TOKEN_RECORD_SIZE + 48, 0, true); // allocate ids
const nowS = Math.floor(Date.now() / 1000);
for (let i = 0; i < BATCH; i++) ids.setUint32(i * TOKEN_RECORD_SIZE + 60, nowS, true);

type Core = VolatileCore;

/** The node core as `startNode` builds it, with or without the guardian. */
const core = (on: boolean): Promise<Core> => startVolatileCore(SHARDS, on ? new GuardianHub({ shardCount: SHARDS }) : undefined);

/** CPU seconds of one batch (the sides never run at once, so the process's CPU time is this batch's): unlike wall time it does not count time other processes held the cores. */
async function timed(c: Core): Promise<number> {
  const b = Uint8Array.from(template);
  const t0 = process.cpuUsage();
  await c.router.ingestTokens(b, { partial: false, returnIds: false }, scope);
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1e6;
}

// Both cores live side by side and take batches alternately (off/on, then on/off), so the order,
// the growth of the stores and the collector's work fall on both sides alike. Per round, each
// side ingests TOKENS in BATCH-sized batches; the best round of each side is compared.
const aa = process.env.GUARDIAN_AA === "1";
const off: number[] = [];
const on: number[] = [];
/** Per adjacent off/on batch pair: 1 - off/on. Pairs are measured back to back, so a collector
 * pause or a preemption spoils one pair, not a whole side: the median of pairs is the figure. */
const pairLoss: number[] = [];
const batches = Math.ceil(TOKENS / BATCH);
for (let r = 0; r <= ROUNDS; r++) {
  // Which core is built first alternates too (the first one's memory is the older one).
  const first = await core(r % 2 === 0 ? false : !aa);
  const second = await core(r % 2 === 0 ? !aa : false);
  const [a, b] = r % 2 === 0 ? [first, second] : [second, first];
  gc();
  let offS = 0;
  let onS = 0;
  for (let i = 0; i < batches; i++) {
    let x: number;
    let y: number;
    if ((i + r) % 2 === 0) {
      x = await timed(a);
      y = await timed(b);
    } else {
      y = await timed(b);
      x = await timed(a);
    }
    offS += x;
    onS += y;
    if (r > 0) pairLoss.push(1 - x / y);
  }
  for (const c of [a, b]) {
    const stored = c.board.tokens.reduce((x, y) => x + y, 0);
    if (stored !== batches * BATCH) throw new Error(`expected ${batches * BATCH} tokens, stored ${stored}`);
    await c.system.shutdown({ force: true });
  }
  if (r === 0) continue; // warm-up
  off.push(offS);
  on.push(onS);
}
// Totals over all rounds: robust against a lucky or unlucky round on a shared machine.
const offS = off.reduce((a, b) => a + b, 0) / off.length;
const onS = on.reduce((a, b) => a + b, 0) / on.length;
const tokens = batches * BATCH;
const sorted = (xs: number[]): number[] => [...xs].sort((x, y) => x - y);
const median = (xs: number[]): number => sorted(xs)[Math.floor(xs.length / 2)]!;
const endToEnd = (): void => emit("guardian.overhead_end_to_end", median(pairLoss) * 100, "%", {
  budget_percent: 3,
  mean_loss_percent: (1 - offS / onS) * 100,
  pairs: pairLoss.length,
  off_tokens_per_s: Math.round(tokens / offS),
  on_tokens_per_s: Math.round(tokens / onS),
  median_loss_percent: (1 - median(off) / median(on)) * 100,
  best_loss_percent: (1 - Math.min(...off) / Math.min(...on)) * 100,
  ns_per_token: ((onS - offS) * 1e9) / tokens,
  tokens,
  batch: BATCH,
  shards: SHARDS,
  rounds: ROUNDS,
  ...(aa ? { control: "A/A: both sides without the guardian (noise floor)" } : {}),
  note: "coordinator + 4 shard actors in process, volatile logs, no gRPC; batches alternate between the two cores; CPU time per token; throughput lost = 1 - off/on CPU per back-to-back batch pair, median over pairs (mean of totals in mean_loss_percent)",
  ...machine(),
});

// The whole value validation, not just what the guardian adds over a node without it: the same
// 100 k-token batch into one warm store with and without `validate` (and the guardian's per-batch
// bookkeeping: admission, counting, usage report), then deleted again, so every insert finds the
// same pre-faulted columns and an empty id table. Interleaved, CPU time, best of VALIDATION_REPS
// per side: the figure is a property of the code, not of what the collector or the neighbours did.
const VALIDATION_REPS = Number(process.env.GUARDIAN_VALIDATION_REPS ?? 40);
const nowForStore = Math.floor(Date.now() / 1000);
// Ids allocated by the store, as in a node's ingest: both sides take the store's general insert
// path (explicit ids without validation would take the bulk path of snapshot loads instead).
const work = new Uint8Array(template.byteLength);
const warm = new ShardStore({ initialCapacity: BATCH });
const hubForStore = new GuardianHub({ shardCount: 1 });
const guardForStore = new ShardGuard(hubForStore, 0);
const storeBatch = (validate: boolean): number => {
  work.set(template); // ids back to 0 (the store wrote the allocated ones into the records)
  const t0 = process.cpuUsage();
  let ids: Uint32Array;
  if (validate) {
    guardForStore.admit(BATCH, 0);
    const r = warm.insertRecords(work, { strict: true, allocateIds: true, validate: { limits: DEFAULT_TOKEN_LIMITS, nowSeconds: nowForStore } });
    guardForStore.recordBatch("token", BATCH, r.violations, BATCH - r.applied, false);
    guardForStore.report(warm);
    ids = r.ids;
  } else {
    ids = warm.insertRecords(work, { strict: true, allocateIds: true }).ids;
  }
  const d = process.cpuUsage(t0);
  if (warm.size !== BATCH) throw new Error(`expected ${BATCH} tokens in the warm store, found ${warm.size}`);
  warm.deleteIds(ids);
  return (d.user + d.system) / 1e6;
};
const plainS: number[] = [];
const checkedS: number[] = [];
for (let r = 0; r < VALIDATION_REPS + 3; r++) {
  const first = r % 2 === 0;
  const x = first ? storeBatch(false) : 0;
  const y = storeBatch(true);
  const x2 = first ? x : storeBatch(false);
  if (r < 3) continue; // warm-up: JIT and the first faults of the columns
  plainS.push(x2);
  checkedS.push(y);
}
const validationNs = ((Math.min(...checkedS) - Math.min(...plainS)) * 1e9) / BATCH;
const nodeNsPerToken = (offS * 1e9) / tokens;
emit("guardian.overhead", (100 * validationNs) / nodeNsPerToken, "%", {
  budget_percent: 3,
  validation_ns_per_token: validationNs,
  insert_ns_per_token: (Math.min(...plainS) * 1e9) / BATCH,
  validation_ns_per_token_median: ((median(checkedS) - median(plainS)) * 1e9) / BATCH,
  node_ns_per_token: nodeNsPerToken,
  reps: plainS.length,
  note: "the whole per-token value validation plus the guardian's per-batch bookkeeping (warm store, 100 k-token batch with vs without, best of reps, CPU time) as a share of the node core's CPU per ingested token (coordinator + shards, the 'off' side above): the throughput the guardian costs the ingest path, before gRPC decoding is even counted",
});
endToEnd();
