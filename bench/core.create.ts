/**
 * core.create: batch token create into one shard store from packed 64-byte records, one thread:
 * 1 M tokens per store in batches of 10 000. Variants: a growing store (core.create), a
 * pre-sized store (core.create_presized), and a store whose memory is already resident
 * (core.create_warm: re-create after deleting everything), which separates the store's own cost
 * from the kernel's cost of faulting in fresh pages (reported as fresh_memory_ns_per_64b).
 * Also core.connect / core.connect_update: connection upserts, degree 8, batches of 10 000.
 */
import { ShardStore } from "../src/core/store/index.ts";
import { CONNECTION_RECORD_SIZE } from "../src/core/connection/index.ts";
import { TOKEN_RECORD_SIZE } from "../src/core/token/index.ts";
import { connectionRecords, probes, tokenRecords } from "./lib/core-data.ts";
import { bestOf, emit, gc, machine } from "./lib/report.ts";

const TOKENS = Number(process.env.CORE_CREATE_TOKENS ?? 1_000_000);
const BATCH = 10_000;
const DEGREE = 8;

const records = tokenRecords(TOKENS, 1);
const batches: Uint8Array[] = [];
for (let off = 0; off < TOKENS; off += BATCH) {
  batches.push(records.subarray(off * TOKEN_RECORD_SIZE, Math.min(TOKENS, off + BATCH) * TOKEN_RECORD_SIZE));
}
const allIds = Uint32Array.from({ length: TOKENS }, (_, i) => i + 1);

function fill(store: ShardStore): ShardStore {
  for (const b of batches) store.insertRecords(b);
  if (store.size !== TOKENS) throw new Error(`expected ${TOKENS} tokens, got ${store.size}`);
  return store;
}

const env = { tokens: TOKENS, batch: BATCH, ...probes(), ...machine() };
for (const presized of [false, true]) {
  gc();
  const s = bestOf(5, 2, () => {
    fill(new ShardStore(presized ? { initialCapacity: TOKENS } : {}));
  });
  emit(presized ? "core.create_presized" : "core.create", TOKENS / s, "tokens/s", { presized, seconds: s, ...env });
}

const warm = fill(new ShardStore({ initialCapacity: TOKENS }));
gc();
let sw = Infinity;
for (let r = 0; r < 6; r++) {
  warm.deleteIds(allIds);
  const t0 = process.hrtime.bigint();
  fill(warm);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r > 0) sw = Math.min(sw, s);
}
emit("core.create_warm", TOKENS / sw, "tokens/s", { seconds: sw, ...env });

const edgeRecords = connectionRecords(TOKENS, DEGREE);
const EDGES = TOKENS * DEGREE;
const store = fill(new ShardStore({ initialCapacity: TOKENS }));
gc();
for (const [name, note] of [
  ["core.connect", "create"],
  ["core.connect_update", "upsert of existing keys"],
] as const) {
  const t0 = process.hrtime.bigint();
  for (let off = 0; off < EDGES; off += BATCH) {
    store.connectRecords(edgeRecords.subarray(off * CONNECTION_RECORD_SIZE, Math.min(EDGES, off + BATCH) * CONNECTION_RECORD_SIZE));
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  emit(name, EDGES / s, "connections/s", { connections: EDGES, degree: DEGREE, seconds: s, note, ...env });
}
