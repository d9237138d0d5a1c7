/**
 * core.create: batch token create into one shard store from packed 64-byte records, one thread:
 * 1 M tokens per store in batches of 10 000. Variants: a growing store (core.create), a
 * pre-sized store (core.create_presized), a growing store with the value checks a shard actor
 * runs (core.create_validated), and a store whose memory is already resident
 * (core.create_warm: re-create after deleting everything), which separates the store's own cost
 * from the kernel's cost of faulting in fresh pages (reported as fresh_memory_ns_per_64b).
 * Also core.connect / core.connect_update: connection create and upsert of existing keys,
 * 1 M tokens × out-degree 8 = 8 M connections, batches of 10 000.
 *
 * core.create_floor: the same copy + id insert as a bare loop in warm memory (what plain JS on this
 * machine can do at best). CORE_CREATE_CONNECT=0 skips the connection figures.
 *
 * Every line carries wall `seconds` and `cpu_seconds` (best of several runs each) and
 * `per_cpu_second` (items per CPU second): on a shared machine the CPU figure is the steadier.
 */
import { DEFAULT_TOKEN_LIMITS } from "../src/core/limits.ts";
import { ShardStore } from "../src/core/store/index.ts";
import { CONNECTION_RECORD_SIZE } from "../src/core/connection/index.ts";
import { TOKEN_RECORD_SIZE } from "../src/core/token/index.ts";
import { connectionRecords, probes, tokenRecords } from "./lib/core-data.ts";
import { bestTiming, emit, gc, machine, timingDetails } from "./lib/report.ts";

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
  const t = bestTiming(5, 2, () => {
    fill(new ShardStore(presized ? { initialCapacity: TOKENS } : {}));
  });
  emit(presized ? "core.create_presized" : "core.create", TOKENS / t.seconds, "tokens/s", { presized, ...timingDetails(t, TOKENS), ...env });
}

// The shard actor's create path: the same growing store, with the constitution's value checks.
const validate = { limits: DEFAULT_TOKEN_LIMITS, nowSeconds: 1_800_000_000 };
gc();
const tv = bestTiming(5, 2, () => {
  const store = new ShardStore();
  for (const b of batches) store.insertRecords(b, { validate });
  if (store.size !== TOKENS) throw new Error(`expected ${TOKENS} tokens, got ${store.size}`);
});
emit("core.create_validated", TOKENS / tv.seconds, "tokens/s", { presized: false, validated: true, ...timingDetails(tv, TOKENS), ...env });

const warm = fill(new ShardStore({ initialCapacity: TOKENS }));
gc();
const tw = bestTiming(5, 1, () => fill(warm), () => warm.deleteIds(allIds));
emit("core.create_warm", TOKENS / tw.seconds, "tokens/s", { ...timingDetails(tw, TOKENS), ...env });

// The floor of this machine for the same work in plain JS, warm memory: each batch's records
// copied whole (one memcpy) into one resident array, and each id inserted into a resident
// open-addressing table at position id & mask (the kindest hash for consecutive ids: one cache
// line per 16 tokens), linear probing; no validation, no columns, no growth.
{
  const words = new Uint32Array(TOKENS * 16);
  const table = new Uint32Array(1 << Math.ceil(Math.log2(TOKENS / 0.7)));
  const tmask = table.length - 1;
  const bareInsert = (): void => {
    let slot = 0;
    for (const b of batches) {
      const u32 = new Uint32Array(b.buffer, b.byteOffset, b.byteLength >>> 2);
      words.set(u32, slot << 4);
      const n = b.byteLength >>> 6;
      for (let i = 0; i < n; i++, slot++) {
        let p = u32[(i << 4) + 12]! & tmask;
        while (table[p] !== 0) p = (p + 1) & tmask;
        table[p] = slot + 1;
      }
    }
  };
  const tf = bestTiming(5, 1, bareInsert, () => table.fill(0));
  emit("core.create_floor", TOKENS / tf.seconds, "tokens/s", { note: "bare memcpy of the records + id table insert, warm memory", ...timingDetails(tf, TOKENS), ...env });
}

if (process.env.CORE_CREATE_CONNECT === "0") process.exit(0);

const edgeRecords = connectionRecords(TOKENS, DEGREE);
const EDGES = TOKENS * DEGREE;
const edgeBatches: Uint8Array[] = [];
for (let off = 0; off < EDGES; off += BATCH) {
  edgeBatches.push(edgeRecords.subarray(off * CONNECTION_RECORD_SIZE, Math.min(EDGES, off + BATCH) * CONNECTION_RECORD_SIZE));
}
function connectAll(store: ShardStore): void {
  for (const b of edgeBatches) store.connectRecords(b);
}
const cenv = { connections: EDGES, degree: DEGREE, ...env };

// Create: a fresh token store each run (untimed), every key new.
let store = new ShardStore();
const tc = bestTiming(3, 0, () => connectAll(store), () => {
  store = new ShardStore();
  gc();
  fill(store);
});
if (store.connectionCount !== EDGES) throw new Error(`expected ${EDGES} connections, got ${store.connectionCount}`);
emit("core.connect", EDGES / tc.seconds, "connections/s", { note: "create", ...timingDetails(tc, EDGES), ...cenv });

// Upsert: every key exists, every record replaces one.
const tu = bestTiming(3, 0, () => connectAll(store));
emit("core.connect_update", EDGES / tu.seconds, "connections/s", { note: "upsert of existing keys", ...timingDetails(tu, EDGES), ...cenv });
