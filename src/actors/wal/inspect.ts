/**
 * Read-only inspection of a WAL (`neurograph wal inspect`): every snapshot and log record of
 * every shard, each CRC verified, gaps and misplaced records reported. Unlike recovery it does
 * not stop at the first problem, and it changes nothing (safe while a node runs).
 */
import {
  WireFormatError,
  checkRecord,
  decodeMutationPayload,
  isMutationRecordType,
  mutationItemCount,
  readRecordHeader,
  recordTypeName,
} from "../../core/wal/index.ts";
import { ValidationError } from "../../core/errors.ts";
import { WalEnvironment } from "./environment.ts";
import { listSnapshots, verifySnapshot, type SnapshotCheck } from "./snapshot-store.ts";

export interface InspectedRecord {
  readonly lsn: number;
  readonly type: string;
  readonly payloadBytes: number;
  readonly items: number;
  /** Undefined when the record is intact and in place. */
  readonly problem: string | undefined;
}

export interface InspectedShard {
  readonly shard: number;
  readonly snapshots: readonly SnapshotCheck[];
  /** Present only when records were asked for. */
  readonly records: readonly InspectedRecord[] | undefined;
  readonly recordCount: number;
  readonly firstLsn: number | undefined;
  readonly lastLsn: number | undefined;
  readonly logBytes: number;
  readonly items: number;
  /** Every problem found, in order, each naming the LSN. */
  readonly problems: readonly string[];
}

export interface InspectReport {
  readonly walDir: string;
  readonly shardCount: number;
  readonly shards: readonly InspectedShard[];
  readonly problems: number;
}

export interface InspectOptions {
  /** Only this shard. */
  readonly shard?: number;
  /** Keep the per-record listing (default true). */
  readonly records?: boolean;
}

export async function inspectWal(dir: string, options: InspectOptions = {}): Promise<InspectReport> {
  const env = WalEnvironment.openReadOnly(dir);
  try {
    const shards: InspectedShard[] = [];
    for (let s = 0; s < env.shardCount; s++) {
      if (options.shard !== undefined && options.shard !== s) continue;
      shards.push(inspectShard(env, s, options.records !== false));
    }
    if (options.shard !== undefined && shards.length === 0) {
      throw ValidationError.of("inspect options", [
        { field: "shard", value: String(options.shard), rule: "shard_range", description: `this WAL has shards 0..${env.shardCount - 1}` },
      ]);
    }
    return { walDir: env.walDir, shardCount: env.shardCount, shards, problems: shards.reduce((n, s) => n + s.problems.length, 0) };
  } finally {
    await env.close();
  }
}

function inspectShard(env: WalEnvironment, shard: number, keepRecords: boolean): InspectedShard {
  const dbs = env.shard(shard);
  const problems: string[] = [];
  const snapshots = listSnapshots(dbs).map((snap) => verifySnapshot(dbs, shard, snap));
  const newestComplete = snapshots.find((s) => s.manifest !== undefined);
  for (const s of snapshots) {
    // An incomplete snapshot newer than the valid one is an interrupted write, not damage.
    if (s.problem !== undefined && !(s.manifest === undefined && s.problem.startsWith("incomplete"))) {
      problems.push(`snapshot at LSN ${s.lsn}: ${s.problem}`);
    }
  }
  const base = newestComplete?.lsn ?? 0;
  const records: InspectedRecord[] = [];
  let count = 0;
  let bytes = 0;
  let items = 0;
  let first: number | undefined;
  let last: number | undefined;
  let expected: number | undefined;
  for (const { key, value } of dbs.log.getRange({})) {
    const lsn = typeof key === "number" ? key : Number.NaN;
    count++;
    bytes += value.length;
    first ??= lsn;
    // Records at or below the snapshot are covered by it (pruning may not have finished).
    const want = expected === undefined || expected <= base ? base + 1 : expected;
    if (!(lsn <= base) && lsn !== want) {
      problems.push(lsn > want ? `log: LSN ${want}${lsn - 1 > want ? `..${lsn - 1}` : ""} missing` : `log: unexpected key ${String(key)}`);
    }
    expected = lsn + 1;
    last = lsn;
    const r = inspectRecord(lsn, shard, value);
    items += r.items;
    if (r.problem !== undefined) problems.push(`log: LSN ${lsn}: ${r.problem}`);
    if (keepRecords) records.push(r);
  }
  return { shard, snapshots, records: keepRecords ? records : undefined, recordCount: count, firstLsn: first, lastLsn: last, logBytes: bytes, items, problems };
}

function inspectRecord(lsn: number, shard: number, value: Uint8Array): InspectedRecord {
  const check = checkRecord(value, { lsn, shard });
  if (!check.ok) {
    const h = readRecordHeader(value);
    return { lsn, type: h === undefined ? "?" : recordTypeName(h.type), payloadBytes: Math.max(0, value.length - 20), items: 0, problem: check.detail };
  }
  const type = recordTypeName(check.header.type);
  if (!isMutationRecordType(check.header.type)) return { lsn, type, payloadBytes: check.payload.length, items: 0, problem: "not a log record type" };
  try {
    const m = decodeMutationPayload(check.header.type, check.payload);
    return { lsn, type, payloadBytes: check.payload.length, items: mutationItemCount(m), problem: undefined };
  } catch (err) {
    if (!(err instanceof WireFormatError)) throw err;
    return { lsn, type, payloadBytes: check.payload.length, items: 0, problem: `undecodable payload: ${err.message}` };
  }
}
