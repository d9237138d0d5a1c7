/**
 * core.get: random get by id from one shard store, at 1 M and 10 M tokens. A query is a batch of
 * 10 000 uniformly random existing ids; `getRecords(ids, out)` writes their packed 64-byte
 * records into one reused buffer (what a shard actor does to answer a get request). 2 M queries
 * per measurement, best of 4 after a warm-up. core.lookup: random id → slot lookups alone, one
 * call per id.
 */
import { ShardStore } from "../src/core/store/index.ts";
import { probes, rng, setIds, tokenRecords } from "./lib/core-data.ts";
import { bestTiming, emit, gc, machine, timingDetails } from "./lib/report.ts";

const SIZES = (process.env.CORE_GET_SIZES ?? "1000000,10000000").split(",").map(Number);
const QUERIES = 2_000_000;
const BATCH = 10_000;
const env = { ...probes(), ...machine() };

for (const n of SIZES) {
  const store = new ShardStore({ initialCapacity: n });
  const batch = tokenRecords(BATCH, 1);
  for (let first = 1; first <= n; first += BATCH) {
    setIds(batch.subarray(0, Math.min(BATCH, n - first + 1) * 64), first);
    store.insertRecords(batch.subarray(0, Math.min(BATCH, n - first + 1) * 64));
  }
  const rnd = rng(99);
  const queries = Uint32Array.from({ length: QUERIES }, () => 1 + (rnd() % n));
  const out = new Uint8Array(BATCH * 64);
  gc();
  const suffix = n === 1_000_000 ? "" : `_${n / 1_000_000}m`;

  let found = 0;
  const tg = bestTiming(4, 1, () => {
    found = 0;
    for (let off = 0; off < QUERIES; off += BATCH) found += store.getRecords(queries.subarray(off, off + BATCH), out).count;
  });
  if (found !== QUERIES) throw new Error("lookups missed");
  emit(`core.get${suffix}`, QUERIES / tg.seconds, "gets/s", { tokens: n, queries: QUERIES, batch: BATCH, ...timingDetails(tg, QUERIES), ...env });

  let sum = 0;
  const tl = bestTiming(4, 1, () => {
    sum = 0;
    for (let i = 0; i < QUERIES; i++) sum += store.slotOf(queries[i]!);
  });
  if (sum < 0) throw new Error("lookups missed");
  emit(`core.lookup${suffix}`, QUERIES / tl.seconds, "lookups/s", { tokens: n, queries: QUERIES, ...timingDetails(tl, QUERIES), ...env });
}
