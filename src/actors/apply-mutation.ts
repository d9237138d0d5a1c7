/**
 * Applies one resolved `ShardMutation` to a shard store. The live write path and WAL replay call
 * exactly this function, so a replayed log rebuilds exactly the store that acknowledged the
 * writes. Mutations are resolved before they are logged (ids allocated, rejected items removed),
 * so every apply is strict: a mutation that does not apply means the log and the store disagree,
 * which is reported as data loss rather than silently skipped.
 */
import { DataLossError, ValidationError } from "../core/errors.ts";
import type { ShardStore } from "../core/store/index.ts";
import type { ShardMutation } from "./shard-log.ts";
import { replayFieldResult } from "./shard-field.ts";

/** What a mutation changed, for the caller's bookkeeping (spatial index, counters). */
export interface AppliedMutation {
  /** Token ids inserted, updated or deleted (empty for connection mutations). */
  readonly tokenIds: Uint32Array | undefined;
}

const NOTHING: AppliedMutation = Object.freeze({ tokenIds: undefined });

function tokenIdsOf(records: Uint8Array): Uint32Array {
  const n = records.byteLength >>> 6;
  const ids = new Uint32Array(n);
  const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
  for (let i = 0; i < n; i++) ids[i] = dv.getUint32(i * 64 + 48, true);
  return ids;
}

/**
 * Applies `mutation` to `store`; throws `DataLossError` (naming the mutation and the first
 * problem) when it does not apply cleanly. Constitution mutations are not store state and are
 * ignored here; `field.result` moves tokens (its engine state section is kept by the shard).
 */
export function applyMutation(store: ShardStore, mutation: ShardMutation): AppliedMutation {
  try {
    switch (mutation.kind) {
      case "tokens.insert":
        store.insertRecords(mutation.records, { allocateIds: false });
        return { tokenIds: tokenIdsOf(mutation.records) };
      case "tokens.update":
        store.updateRecords(mutation.records);
        return { tokenIds: tokenIdsOf(mutation.records) };
      case "tokens.delete":
        store.deleteIds(mutation.ids);
        return { tokenIds: mutation.ids };
      case "connections.upsert":
        // Values were checked against the constitution in force when they were written.
        store.connectRecords(mutation.records, { limits: null });
        return NOTHING;
      case "connections.remove":
        store.disconnectKeys(mutation.sources, mutation.targets, mutation.types);
        return NOTHING;
      case "field.result":
        return { tokenIds: replayFieldResult(store, mutation.payload).ids };
      case "constitution.set":
        return NOTHING;
    }
  } catch (err) {
    if (err instanceof ValidationError) {
      const first = err.violations[0];
      const detail = first === undefined ? err.message : `${first.rule}: ${first.description}`;
      throw new DataLossError(
        `shard ${store.shard}: a logged ${mutation.kind} mutation does not apply to the recovered state (${detail}); the log or snapshot is damaged`,
        { cause: err },
      );
    }
    throw err;
  }
}
