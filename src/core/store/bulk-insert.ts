/**
 * The bulk path of `insertTokens`: a batch of records with explicit ids, no value validation and
 * no skipped items (snapshot load, log replay, trusted bulk ingest). Two tight passes: records →
 * columns (`copyRecordsToColumns`, the codec's copy), then the ids into the id table. About 3× the general loop, which checks options and builds a violation per
 * item. Anything unusual (id 0, a foreign id, a duplicate, no room without growing) leaves the
 * store as it was and returns undefined: the general path then decides and reports exactly as
 * before, so the fast path never changes an answer.
 */
import { copyRecordsToColumns } from "../token/batch.ts";
import { DOMAIN_ZERO_LIMIT } from "../token/flags.ts";
import { recordViews } from "../token/views.ts";
import type { TokenStoreState } from "./token-writes.ts";
import type { InsertResult } from "./types.ts";

/** Inserts `n` records (4-aligned, `n` × 64 bytes) or returns undefined having changed nothing. */
export function insertExplicitIds(st: TokenStoreState, records: Uint8Array, n: number): InsertResult | undefined {
  const tt = st.tokens;
  const size = tt.size;
  const end = size + n;
  if (end > tt.capacity || end > tt.table.limit || records.byteOffset % 4 !== 0) return undefined;
  const u32 = new Uint32Array(records.buffer, records.byteOffset, n << 4);
  const S = st.shardCount;
  const shard = st.shard;
  // Ownership first (nothing written yet): a foreign or zero id sends the batch to the general path.
  let maxId = st.maxLocalId;
  if ((S & (S - 1)) === 0) {
    const m = S - 1;
    for (let i = 0; i < n; i++) {
      const id = u32[(i << 4) + 12]!;
      if (id === 0 || (id & m) !== shard) return undefined;
      if (id < DOMAIN_ZERO_LIMIT && id > maxId) maxId = id;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const id = u32[(i << 4) + 12]!;
      if (id === 0 || id % S !== shard) return undefined;
      if (id < DOMAIN_ZERO_LIMIT && id > maxId) maxId = id;
    }
  }
  const cols = tt.cols;
  const alias = tt.alias;
  const ids = cols.ids;
  copyRecordsToColumns(recordViews(records), 0, n, cols, alias, size);
  if (tt.table.insertSlots(ids, size, end) >= 0) {
    tt.clearSlots(size, end);
    return undefined;
  }
  cols.size = end;
  st.maxLocalId = maxId;
  return { applied: n, accepted: new Uint8Array(n).fill(1), ids: ids.slice(size, end), violations: [] };
}
