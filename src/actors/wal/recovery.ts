/**
 * Recovery of one shard (docs/wal.md §5): newest valid snapshot, then the log after it in LSN
 * order through the shard's handler. A torn tail is truncated with a warning; damage anywhere
 * else (bad record before the tail, missing LSN, unreadable snapshot) refuses to start with a
 * DataLossError, unless repair was asked for, which keeps everything up to the damage and moves
 * the rest aside. Every entry that leaves the log is first saved to the quarantine directory.
 */
import type { Key } from "lmdb";
import { DataLossError, InternalError, toNeuroGraphError } from "../../core/errors.ts";
import { LogScan, mutationItemCount, type ScanProblem } from "../../core/wal/index.ts";
import type { RecoveryHandler, RecoveryReport } from "../shard-log.ts";
import type { ShardDatabases, WalEnvironment } from "./environment.ts";
import { LOG_PART, QuarantineWriter, type QuarantinedEntry } from "./quarantine.ts";
import { type OpenedSnapshot, SnapshotDamagedError, openSnapshot, replayHeadroom } from "./snapshot-open.ts";
import type { PreparedSnapshot, RecoveryPool } from "./recovery-pool.ts";
import { type StoredSnapshot, listSnapshots } from "./snapshot-store.ts";
import type { WalShardState } from "./state.ts";
import { removeKeys } from "./removal.ts";

export interface WalRecoveryReport extends RecoveryReport {
  readonly shard: number;
  readonly snapshotTokens: number;
  readonly snapshotConnections: number;
  readonly snapshotMs: number;
  readonly replayedBytes: number;
  /** Items (tokens, connections, ids) carried by the replayed records. */
  readonly replayedItems: number;
  /** True when --repair moved damaged data aside. */
  readonly repaired: boolean;
  /** True when a recovery thread loaded the snapshot's tokens (recovery-pool.ts). */
  readonly snapshotOnThread: boolean;
  /** Where moved-aside entries were saved, when any were. */
  readonly quarantineDir: string | undefined;
}

export interface RecoveryOptions {
  readonly repair: boolean;
  /**
   * A later recovery of the same start (the shard actor restarted): read only, after every
   * append so far settled. Changes nothing on disk (a snapshot may be being written meanwhile).
   */
  readonly reload?: boolean;
  /** The session's quarantine directory (created on first use). */
  readonly quarantineSession: string;
  readonly warn: (message: string, fields: Record<string, unknown>) => void;
  /** Recovery threads that may have loaded the newest snapshot ahead (recovery-pool.ts). */
  readonly pool?: RecoveryPool | undefined;
}

export async function recoverShard(
  env: WalEnvironment,
  state: WalShardState,
  handler: RecoveryHandler,
  options: RecoveryOptions,
): Promise<WalRecoveryReport> {
  const shard = state.shard;
  const dbs = env.shard(shard);
  const reload = options.reload === true;
  const started = performance.now();
  const warnings: string[] = [];
  let quarantine: QuarantineWriter | undefined;
  const quarantineWriter = (): QuarantineWriter => (quarantine ??= new QuarantineWriter(options.quarantineSession, shard));
  const warn = (message: string, fields: Record<string, unknown>): void => {
    warnings.push(message);
    options.warn(message, { shard, ...fields });
  };
  let repaired = false;

  // 1. The newest snapshot that verifies completely, loaded as it is verified (snapshot-open.ts).
  const stored = listSnapshots(dbs);
  const prepared = reload ? undefined : await preparedOnThread(options.pool, handler, shard, stored);
  let base = 0;
  let baseAt = 0;
  let snapshotTokens = 0;
  let snapshotConnections = 0;
  /** The handler holds part of a snapshot that turned out damaged while it was loaded. */
  let partlyLoaded = false;
  const movedAside = new Set<number>();
  for (const snap of stored) {
    if (!snap.hasManifest) continue;
    if (prepared !== undefined && prepared.lsn === snap.lsn) {
      adoptInto(handler, prepared, shard);
      base = snap.lsn;
      baseAt = prepared.createdAtMs;
      snapshotTokens = prepared.tokenCount;
      snapshotConnections = prepared.connections.length / 64;
      break;
    }
    const open = openSnapshot(dbs, shard, snap.lsn);
    let detail: string | undefined;
    if (open.ok) {
      detail = loadInto(handler, open.snapshot, shard, snap.lsn, dbs.log);
      if (detail === undefined) {
        base = snap.lsn;
        baseAt = open.snapshot.manifest.createdAtMs;
        snapshotTokens = open.snapshot.manifest.tokenBytes / 64;
        snapshotConnections = open.snapshot.connections.length / 64;
        partlyLoaded = false;
        break;
      }
      partlyLoaded = true;
    } else detail = open.detail;
    if (!options.repair || reload) {
      throw dataLoss(shard, `the snapshot at LSN ${snap.lsn} is unreadable (${detail})`, "the newest readable state before it", env.quarantineRoot);
    }
    const entries = snap.parts.map((part): QuarantinedEntry => ({ lsn: snap.lsn, part, value: copy(dbs.snap.getBinaryFast([snap.lsn, part])) }));
    quarantineWriter().write(`snapshot-${snap.lsn}`, entries);
    await removeKeys(env, dbs.snap, snap.parts.map((p) => [snap.lsn, p]));
    movedAside.add(snap.lsn);
    warn(`shard ${shard}: repair moved the unreadable snapshot at LSN ${snap.lsn} aside (${detail})`, { lsn: snap.lsn });
    repaired = true;
  }
  // No snapshot loaded after one failed half-way: the handler starts again from nothing.
  if (partlyLoaded) callHandler(shard, 0, () => handler.loadSnapshot({ lsn: 0, tokens: new Uint8Array(0), connections: new Uint8Array(0), constitution: undefined }));
  // Leftovers: older snapshots (crash before cleanup) and incomplete ones (crash while writing).
  if (!reload) {
    const stale = stored.filter((s) => s.lsn !== base && !movedAside.has(s.lsn));
    for (const s of stale) await removeKeys(env, dbs.snap, s.parts.map((p) => [s.lsn, p]));
  }
  const snapshotMs = performance.now() - started;

  // 2. Log records at or below the snapshot were meant to be pruned; finish that.
  if (!reload) await removeKeys(env, dbs.log, [...dbs.log.getKeys({ end: base + 1 })]);

  // 3. Replay everything after the snapshot.
  const scan = new LogScan(shard, base);
  let replayedBytes = 0;
  let replayedItems = 0;
  for (const { key, value } of dbs.log.getRange({ start: base + 1 })) {
    const item = scan.feed(typeof key === "number" ? key : Number.NaN, value);
    if (item === undefined) continue;
    replayedBytes += item.bytes;
    replayedItems += mutationItemCount(item.mutation);
    callHandler(shard, item.lsn, () => handler.apply(item.mutation, item.lsn));
  }
  const result = scan.result();
  const lastLsn = result.lastLsn;
  if (reload) return reloaded(state, result, base, started, snapshotTokens, snapshotConnections, snapshotMs, replayedBytes, replayedItems, env.quarantineRoot);
  if (result.kind === "torn-tail") {
    const moved = await moveAside(env, shard, result.problem.lsn, quarantineWriter(), `log-from-${result.problem.lsn}`);
    warn(
      `shard ${shard}: torn write at the end of the log: ${moved} unreadable record(s) from LSN ${result.problem.lsn} (${result.problem.detail}); ` +
        `truncated to LSN ${lastLsn}, raw records saved in ${quarantineWriter().dir}`,
      { lsn: result.problem.lsn, records: moved },
    );
  } else if (result.kind === "damaged") {
    if (!options.repair) {
      throw dataLoss(shard, describeProblem(result.problem, result.entriesFromDamage, result.intactAfter), `LSN ${lastLsn}`, env.quarantineRoot);
    }
    const moved = await moveAside(env, shard, result.problem.lsn, quarantineWriter(), `log-from-${result.problem.lsn}`);
    warn(
      `shard ${shard}: repair kept the log up to LSN ${lastLsn} and moved ${moved} record(s) from LSN ${result.problem.lsn} aside ` +
        `(${result.problem.detail}) into ${quarantineWriter().dir}`,
      { lsn: result.problem.lsn, records: moved },
    );
    repaired = true;
  }
  if (quarantine !== undefined) quarantine.finish(warnings.join("\n"), lastLsn);

  state.lastLsn = state.lastEnqueuedLsn = state.durableLsn = lastLsn;
  state.lastSnapshotLsn = base;
  state.lastSnapshotAt = baseAt;
  state.recordsSinceSnapshot = result.replayed;
  state.bytesSinceSnapshot = replayedBytes;
  state.firstSinceSnapshotAt = Date.now();
  state.recovered = true;
  return {
    shard,
    snapshotLsn: base,
    replayedRecords: result.replayed,
    lastLsn,
    durationMs: performance.now() - started,
    warnings,
    snapshotTokens,
    snapshotConnections,
    snapshotMs,
    replayedBytes,
    replayedItems,
    repaired,
    snapshotOnThread: base !== 0 && prepared?.lsn === base,
    quarantineDir: quarantine?.dir,
  };
}

/** The end of a reload: the log must hold exactly what this start appended and saw settle. */
function reloaded(
  state: WalShardState,
  result: ReturnType<LogScan["result"]>,
  base: number,
  started: number,
  snapshotTokens: number,
  snapshotConnections: number,
  snapshotMs: number,
  replayedBytes: number,
  replayedItems: number,
  quarantineRoot: string,
): WalRecoveryReport {
  if (result.kind !== "clean") {
    throw dataLoss(state.shard, `while reloading, ${describeProblem(result.problem, result.kind === "damaged" ? result.entriesFromDamage : result.tailEntries, result.kind === "damaged" ? result.intactAfter : 0)}`, `LSN ${result.lastLsn}`, quarantineRoot);
  }
  if (result.lastLsn !== state.durableLsn) {
    throw new InternalError(`shard ${state.shard}: reloading found the log at LSN ${result.lastLsn}, but LSN ${state.durableLsn} is durable`);
  }
  return {
    shard: state.shard,
    snapshotLsn: base,
    replayedRecords: result.replayed,
    lastLsn: result.lastLsn,
    durationMs: performance.now() - started,
    warnings: [],
    snapshotTokens,
    snapshotConnections,
    snapshotMs,
    replayedBytes,
    replayedItems,
    repaired: false,
    snapshotOnThread: false,
    quarantineDir: undefined,
  };
}

/** Saves every log entry from `fromLsn` on to the quarantine, then deletes them (durably). */
async function moveAside(env: WalEnvironment, shard: number, fromLsn: number, q: QuarantineWriter, name: string): Promise<number> {
  const log = env.shard(shard).log;
  const keys: Key[] = [];
  const entries = function* (): Generator<QuarantinedEntry> {
    for (const { key, value } of log.getRange({ start: fromLsn })) {
      keys.push(key);
      yield { lsn: typeof key === "number" ? key : -1, part: LOG_PART, value };
    }
  };
  const n = q.write(name, entries());
  await removeKeys(env, log, keys);
  return n;
}

/**
 * Hands an opened snapshot to the handler (streamed when it can take pieces); returns undefined
 * when it loaded, or what is damaged when a token chunk failed verification on the way (the
 * handler then holds part of it). Any other failure of the handler is an InternalError.
 */
function loadInto(handler: RecoveryHandler, c: OpenedSnapshot, shard: number, lsn: number, log: ShardDatabases["log"]): string | undefined {
  const snapshotTokens = c.manifest.tokenBytes / 64;
  const headroomTokens = replayHeadroom(log, lsn, c.manifest.tokenBytes);
  const { connections, constitution } = c;
  try {
    if (handler.loadStreamedSnapshot !== undefined) {
      handler.loadStreamedSnapshot({ lsn, tokenCount: snapshotTokens, tokenPieces: c.tokenPieces(), connections, constitution, headroomTokens });
    } else {
      handler.loadSnapshot({ lsn, tokens: c.assembleTokens(), connections, constitution, headroomTokens });
    }
    return undefined;
  } catch (err) {
    // The pieces' own error, whether the handler let it through or wrapped it.
    const damage = err instanceof SnapshotDamagedError ? err : err instanceof Error && err.cause instanceof SnapshotDamagedError ? err.cause : undefined;
    if (damage !== undefined) return damage.message;
    const e = toNeuroGraphError(err);
    throw new InternalError(`shard ${shard}: loading the snapshot at LSN ${lsn} during recovery failed: ${e.message}`, { cause: err });
  }
}

/**
 * The newest snapshot as a recovery thread loaded it, when one did so cleanly and the handler can
 * adopt it; otherwise undefined, and this thread loads it (and meets any damage) itself.
 */
async function preparedOnThread(pool: RecoveryPool | undefined, handler: RecoveryHandler, shard: number, stored: readonly StoredSnapshot[]): Promise<PreparedSnapshot | undefined> {
  if (pool === undefined) return undefined;
  const { pending } = await pool.take(shard, stored.find((s) => s.hasManifest)?.lsn);
  if (pending === undefined || handler.adoptSnapshot === undefined) return undefined;
  const result = await pending;
  return result?.ok === true ? result : undefined;
}

function adoptInto(handler: RecoveryHandler, p: PreparedSnapshot, shard: number): void {
  try {
    handler.adoptSnapshot!({ lsn: p.lsn, tokenCount: p.tokenCount, tokens: p.tokens, connections: p.connections, constitution: p.constitution, headroomTokens: p.headroomTokens });
  } catch (err) {
    const e = toNeuroGraphError(err);
    throw new InternalError(`shard ${shard}: loading the snapshot at LSN ${p.lsn} during recovery failed: ${e.message}`, { cause: err });
  }
}

function callHandler(shard: number, lsn: number, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    const e = toNeuroGraphError(err);
    throw new InternalError(`shard ${shard}: applying the WAL at LSN ${lsn} during recovery failed: ${e.message}`, { cause: err });
  }
}

function describeProblem(p: ScanProblem, entries: number, intact: number): string {
  const after = `${entries - 1} more stored record(s) follow, ${Math.max(0, intact - (p.kind === "gap" ? 1 : 0))} of them intact`;
  switch (p.kind) {
    case "gap":
      return `the log has a hole: ${p.detail}`;
    case "corrupt":
      return `the record at LSN ${p.lsn} is damaged (${p.detail}) and is not the last one: ${after}`;
    default:
      return `the record at LSN ${p.lsn} cannot be used (${p.detail}); ${after}`;
  }
}

function dataLoss(shard: number, what: string, keep: string, quarantineRoot: string): DataLossError {
  return new DataLossError(
    `shard ${shard}: ${what}. NeuroGraph refuses to start rather than drop acknowledged writes silently. ` +
      `To keep everything up to ${keep} and move the damaged part and everything after it aside into ${quarantineRoot}/, ` +
      `restart with \`neurograph serve --repair\`.`,
  );
}

function copy(b: Uint8Array | undefined): Uint8Array {
  return b === undefined ? new Uint8Array(0) : Uint8Array.from(b);
}
