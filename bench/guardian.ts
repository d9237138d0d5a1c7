/**
 * guardian.overhead: ingest throughput lost to the guardian on the shard write path, 100 k-token
 * batches into a shard store: "off" inserts without value validation or quotas; "on" does what
 * a shard does per batch with the guardian: quota admission (O(1)), the store's vectorised
 * validation against the active constitution's token limits, counting the batch and reporting
 * the store's exact figures to the quota gate. Runs are interleaved (off, on, off, on, …) and
 * the best (fastest) run of each side is compared: on a shared machine preemption only ever
 * adds time, so the minimum is the least disturbed figure (medians are reported too).
 *
 * Also: guardian.validation_ns_per_token (the on − off difference per token),
 * guardian.quota_admit_ns (one admission), guardian.event_publish_ns (one event to 4
 * subscribers) and guardian.coactivation_observe_us (one 16-token activation call).
 * `npm run bench -- guardian`; GUARDIAN_BENCH_TOKENS (default 2 000 000), GUARDIAN_BENCH_ROUNDS (default 9).
 */
import { ShardStore } from "../src/core/store/index.ts";
import { TOKEN_RECORD_SIZE } from "../src/core/token/index.ts";
import { CoactivationTable, GuardianHub, ShardGuard } from "../src/actors/guardian/index.ts";
import { setIds, tokenRecords } from "./lib/core-data.ts";
import { emit, gc, machine } from "./lib/report.ts";

const TOKENS = Number(process.env.GUARDIAN_BENCH_TOKENS ?? 2_000_000);
const ROUNDS = Number(process.env.GUARDIAN_BENCH_ROUNDS ?? 9);
const BATCH = 100_000;
const NOW_S = 1_700_000_100;

const template = tokenRecords(BATCH, 1);
const batches: Uint8Array[] = [];
for (let off = 0; off < TOKENS; off += BATCH) {
  const b = Uint8Array.from(template.subarray(0, Math.min(BATCH, TOKENS - off) * TOKEN_RECORD_SIZE));
  // Ids 0, allocated by the store as in a node's ingest: both sides take the general insert path
  // (explicit ids without validation would take the bulk path of snapshot loads).
  setIds(b, 0, 0);
  batches.push(b);
}

const hub = new GuardianHub({ shardCount: 1 });
const guard = new ShardGuard(hub, 0);

function ingest(on: boolean): number {
  const store = new ShardStore({ initialCapacity: TOKENS });
  for (const b of batches) setIds(b, 0, 0); // the previous round wrote its allocated ids back
  const t0 = process.hrtime.bigint();
  for (const b of batches) {
    const n = b.byteLength / TOKEN_RECORD_SIZE;
    if (on) {
      guard.admit(n, 0);
      const r = store.insertRecords(b, { strict: guard.strictFor(false), allocateIds: true, validate: guard.tokenValidation(NOW_S) });
      guard.recordBatch("token", n, r.violations, n - r.applied, false);
      guard.report(store);
    } else {
      store.insertRecords(b, { strict: true, allocateIds: true });
    }
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (store.size !== TOKENS) throw new Error(`expected ${TOKENS} tokens, stored ${store.size}`);
  return s;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

ingest(false);
ingest(true);
const off: number[] = [];
const on: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  gc();
  off.push(ingest(false));
  gc();
  on.push(ingest(true));
}
const offS = Math.min(...off);
const onS = Math.min(...on);
const env = { tokens: TOKENS, batch: BATCH, rounds: ROUNDS, ...machine() };
const loss = 1 - offS / onS;
emit("guardian.overhead_store", loss * 100, "%", {
  budget_percent: 3,
  off_tokens_per_s: Math.round(TOKENS / offS),
  on_tokens_per_s: Math.round(TOKENS / onS),
  median_loss_percent: (1 - median(off) / median(on)) * 100,
  note: "throughput lost = 1 - on/off, best of interleaved rounds; bare store insert (no WAL, no actor): the harshest ratio",
  ...env,
});
emit("guardian.validation_ns_per_token", ((onS - offS) * 1e9) / TOKENS, "ns/token", { note: "on - off per token: admission, validation, counting, usage report", ...env });

// One quota admission.
const ADMITS = 10_000_000;
let t0 = process.hrtime.bigint();
for (let i = 0; i < ADMITS; i++) hub.quotas.admit(1, 0, 64);
emit("guardian.quota_admit_ns", Number(process.hrtime.bigint() - t0) / ADMITS, "ns", { note: "one O(1) admission against node totals" });

// One event to 4 subscribers (never blocking: bounded rings).
const subs = [0, 1, 2, 3].map(() => hub.events.subscribe({ capacity: 1024 }));
const EVENTS = 1_000_000;
t0 = process.hrtime.bigint();
for (let i = 0; i < EVENTS; i++) hub.events.publish({ kind: "quota", quota: "tokens", level: "soft", usage: i, limit: 1 });
emit("guardian.event_publish_ns", Number(process.hrtime.bigint() - t0) / EVENTS, "ns", { subscribers: subs.length, dropped: hub.events.stats().dropped });

// One activation call of 16 tokens against a warm co-activation table.
const table = new CoactivationTable();
const CALLS = 20_000;
const tokens = new Uint32Array(16);
let now = 1_700_000_000_000;
t0 = process.hrtime.bigint();
for (let c = 0; c < CALLS; c++) {
  for (let k = 0; k < 16; k++) tokens[k] = 1 + ((c * 7 + k * 131) % 50_000);
  now += 5;
  table.observe(tokens, now, 1000, 5);
}
emit("guardian.coactivation_observe_us", Number(process.hrtime.bigint() - t0) / 1000 / CALLS, "us", { tokens_per_call: 16, table_bytes: table.byteSize });
