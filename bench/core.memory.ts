/**
 * core.bytes_per_token: resident bytes per token of a shard store holding 10 M tokens, measured
 * after gc as (a) RSS delta and (b) V8 heap-used + external delta, for a growing store (no
 * capacity hint), the same store after trimToSize(), and a pre-sized one. Each variant runs in its own child process so one store's
 * freed memory cannot hide in the other's figures.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ShardStore } from "../src/core/store/index.ts";
import { setIds, tokenRecords } from "./lib/core-data.ts";
import { emit, gc, heapAndExternal, machine, rss } from "./lib/report.ts";

const TOKENS = Number(process.env.CORE_MEMORY_TOKENS ?? 10_000_000);
const BATCH = 10_000;
const variant = process.argv[2];

/** gc, then give V8's concurrent ArrayBuffer sweeper time to free backing stores, then gc again. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  gc();
}

if (variant === undefined) {
  for (const v of ["growing", "trimmed", "presized"]) {
    const r = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", fileURLToPath(import.meta.url), v], { stdio: "inherit" });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
} else {
  const presized = variant === "presized";
  const batch = tokenRecords(BATCH, 1);
  await settle();
  const rss0 = rss();
  const heap0 = heapAndExternal();
  const store = new ShardStore(presized ? { initialCapacity: TOKENS } : {});
  for (let first = 1; first <= TOKENS; first += BATCH) {
    setIds(batch, first);
    store.insertRecords(batch);
  }
  if (variant === "trimmed") store.trimToSize();
  await settle();
  const rssPer = (rss() - rss0) / store.size;
  const heapPer = (heapAndExternal() - heap0) / store.size;
  const details = {
    tokens: store.size,
    capacity: store.capacity,
    byteSizePerToken: Number((store.byteSize() / store.size).toFixed(2)),
    ...machine(),
  };
  const name = variant === "growing" ? "core.bytes_per_token" : `core.bytes_per_token_${variant}`;
  emit(name, rssPer, "bytes/token", { measure: "rss_delta", heapExternalPerToken: Number(heapPer.toFixed(2)), ...details });
  emit(`${name}.heap_external`, heapPer, "bytes/token", { measure: "heap_used_plus_external_delta", rssPerToken: Number(rssPer.toFixed(2)), ...details });
  if (store.size !== TOKENS) process.exit(1);
}
