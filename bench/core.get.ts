/**
 * core.get: random get by id from one shard store (batches of 10 000 ids into packed 64-byte
 * records), at 1 M and 10 M tokens; core.lookup: random id → slot lookups alone.
 */
import { ShardStore } from "../src/core/store/index.ts";
import { probes, rng, setIds, tokenRecords } from "./lib/core-data.ts";
import { emit, gc, machine } from "./lib/report.ts";

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

  let best = Infinity;
  for (let r = 0; r < 4; r++) {
    const t0 = process.hrtime.bigint();
    let found = 0;
    for (let off = 0; off < QUERIES; off += BATCH) found += store.getRecords(queries.subarray(off, off + BATCH), out).count;
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (found !== QUERIES) throw new Error("lookups missed");
    if (r > 0) best = Math.min(best, s);
  }
  emit(`core.get${suffix}`, QUERIES / best, "gets/s", { tokens: n, queries: QUERIES, batch: BATCH, seconds: best, ...env });

  best = Infinity;
  for (let r = 0; r < 4; r++) {
    const t0 = process.hrtime.bigint();
    let sum = 0;
    for (let i = 0; i < QUERIES; i++) sum += store.slotOf(queries[i]!);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (sum < 0) throw new Error("lookups missed");
    if (r > 0) best = Math.min(best, s);
  }
  emit(`core.lookup${suffix}`, QUERIES / best, "lookups/s", { tokens: n, queries: QUERIES, seconds: best, ...env });
}
