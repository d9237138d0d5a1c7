/**
 * Recovery rules for one shard's log (docs/wal.md §5), as a pure state machine fed with the
 * stored entries in key order. It hands out the mutations to replay up to the first problem,
 * then keeps reading only to classify that problem:
 *
 * - a record that looks torn (short, bad length, bad CRC) with no intact record after it is a
 *   torn tail: recovery truncates it, with a warning;
 * - a torn-looking record followed by an intact one, a missing LSN (gap), or an intact record
 *   that does not belong (wrong LSN, shard, version, type, undecodable payload) is damage:
 *   recovery refuses to start unless asked to repair.
 */
import { isMutationRecordType, recordTypeName, type ShardMutation } from "./mutation.ts";
import { decodeMutationPayload } from "./payload.ts";
import { checkRecord, isTornProblem } from "./record.ts";
import { WireFormatError } from "./wire.ts";

export type ScanProblemKind = "torn" | "corrupt" | "invalid" | "gap";

export interface ScanProblem {
  readonly kind: ScanProblemKind;
  /** The first LSN that is bad or missing. */
  readonly lsn: number;
  readonly detail: string;
}

export type ScanResult =
  | { readonly kind: "clean"; readonly lastLsn: number; readonly replayed: number }
  | {
      readonly kind: "torn-tail";
      readonly lastLsn: number;
      readonly replayed: number;
      readonly problem: ScanProblem;
      /** Entries from the torn one to the end (all unreadable). */
      readonly tailEntries: number;
    }
  | {
      readonly kind: "damaged";
      readonly lastLsn: number;
      readonly replayed: number;
      readonly problem: ScanProblem;
      /** Entries stored from the damage to the end of the log. */
      readonly entriesFromDamage: number;
      /** How many of those are intact records. */
      readonly intactAfter: number;
    };

export interface ReplayItem {
  readonly lsn: number;
  readonly mutation: ShardMutation;
  readonly bytes: number;
}

export class LogScan {
  private expected: number;
  private replayed = 0;
  private problem: ScanProblem | undefined;
  private entriesFromProblem = 0;
  private intactAfter = 0;

  constructor(
    readonly shard: number,
    /** The LSN the state already covers (the snapshot's, or 0). */
    readonly baseLsn: number,
  ) {
    this.expected = baseLsn + 1;
  }

  /** The first problem found so far, if any. */
  get firstProblem(): ScanProblem | undefined {
    return this.problem;
  }

  /**
   * Feeds the next stored entry (keys ascending, all above `baseLsn`). Returns the mutation to
   * replay, or undefined once a problem has been found (from then on entries are only counted).
   */
  feed(key: number, value: Uint8Array): ReplayItem | undefined {
    if (this.problem !== undefined) {
      this.entriesFromProblem++;
      if (checkRecord(value).ok) this.intactAfter++;
      return undefined;
    }
    if (!Number.isSafeInteger(key) || key <= this.baseLsn) {
      return this.fail({ kind: "invalid", lsn: this.expected, detail: `unexpected key ${String(key)} in the log` }, value);
    }
    if (key !== this.expected) {
      const missing = key - 1 === this.expected ? `LSN ${this.expected} is missing` : `LSNs ${this.expected}..${key - 1} are missing`;
      return this.fail({ kind: "gap", lsn: this.expected, detail: `${missing} (the next stored record is LSN ${key})` }, value);
    }
    const check = checkRecord(value, { lsn: key, shard: this.shard });
    if (!check.ok) {
      return this.fail({ kind: isTornProblem(check.problem) ? "torn" : "invalid", lsn: key, detail: check.detail }, undefined);
    }
    if (!isMutationRecordType(check.header.type)) {
      return this.fail({ kind: "invalid", lsn: key, detail: `a ${recordTypeName(check.header.type)} record does not belong in the log` }, undefined);
    }
    let mutation: ShardMutation;
    try {
      mutation = decodeMutationPayload(check.header.type, check.payload);
    } catch (err) {
      if (!(err instanceof WireFormatError)) throw err;
      return this.fail({ kind: "invalid", lsn: key, detail: `undecodable ${recordTypeName(check.header.type)} payload: ${err.message}` }, undefined);
    }
    this.expected++;
    this.replayed++;
    return { lsn: key, mutation, bytes: value.length };
  }

  result(): ScanResult {
    const lastLsn = this.expected - 1;
    const p = this.problem;
    if (p === undefined) return { kind: "clean", lastLsn, replayed: this.replayed };
    if (p.kind === "torn" && this.intactAfter === 0) {
      return { kind: "torn-tail", lastLsn, replayed: this.replayed, problem: p, tailEntries: this.entriesFromProblem };
    }
    const kind = p.kind === "torn" ? "corrupt" : p.kind;
    return {
      kind: "damaged",
      lastLsn,
      replayed: this.replayed,
      problem: { ...p, kind },
      entriesFromDamage: this.entriesFromProblem,
      intactAfter: this.intactAfter,
    };
  }

  /** Records the first problem; `countedValue` is the entry that revealed a gap (it is intact or not). */
  private fail(problem: ScanProblem, countedValue: Uint8Array | undefined): undefined {
    this.problem = problem;
    this.entriesFromProblem = 1;
    if (countedValue !== undefined && checkRecord(countedValue).ok) this.intactAfter = 1;
    return undefined;
  }
}
