/**
 * Durability of constitution changes. The guardian appends the stored (canonical) bytes of every
 * document that becomes active, in order: updates, profile switches and rollbacks alike (a
 * rollback appends the previous document again, byte for byte). On start it reads the sequence
 * back and rebuilds the active document and its history (`replayConstitutionLog`).
 *
 * What a durable implementation (the WAL) must provide:
 * - `append(document)` resolves only once the record is durable; a rejected append means the
 *   change did not happen (the guardian then leaves everything as it was);
 * - `load()` returns the appended documents in append order; after log pruning (snapshots) it
 *   must still return at least the latest one, ideally the last `history capacity` ones;
 * - records are opaque bytes (`constitution.set` ShardMutation in the WAL's format).
 */
import { ConstitutionHistory, validateConstitutionBytes } from "../../core/constitution/index.ts";
import { DataLossError, FailedPreconditionError } from "../../core/errors.ts";
import type { ShardLog } from "../shard-log.ts";

export interface ConstitutionLog {
  /** Every logged document, oldest first (empty for a new node). */
  load(): Promise<readonly Uint8Array[]>;
  /**
   * Appends one document; resolves once durable. A log shared by several nodes rejects with
   * FailedPreconditionError when another node appended since this one last loaded or followed.
   */
  append(document: Uint8Array): Promise<void>;
  /**
   * A log shared by several nodes (cluster mode): calls `onDocument` with each document appended
   * after the last `load`, in order, until the returned function is called. The guardian calls
   * `adopted` once it applied the document; until then appends fail (FailedPreconditionError).
   */
  follow?(onDocument: (document: Uint8Array, adopted: () => void) => void): () => void;
}

/**
 * Keeps the log in memory (a node without a data directory, and tests). Shared by every
 * incarnation of the guardian, so a restarted guardian recovers the same state.
 */
export class MemoryConstitutionLog implements ConstitutionLog {
  private readonly records: Uint8Array[] = [];
  /** Fail the next append with this error (tests of the failure path). */
  failNextAppend: Error | undefined;

  load(): Promise<readonly Uint8Array[]> {
    return Promise.resolve(this.records.map((r) => Uint8Array.from(r)));
  }

  append(document: Uint8Array): Promise<void> {
    const fail = this.failNextAppend;
    if (fail !== undefined) {
      this.failNextAppend = undefined;
      return Promise.reject(fail);
    }
    this.records.push(Uint8Array.from(document));
    return Promise.resolve();
  }

  get length(): number {
    return this.records.length;
  }

  /** A copy of record `i`. */
  record(i: number): Uint8Array | undefined {
    const r = this.records[i];
    return r === undefined ? undefined : Uint8Array.from(r);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Rebuilds the history from logged documents: a document with version = active + 1 (and that
 * parent) was an update; one equal, byte for byte, to the entry before the active one was a
 * rollback; anything else (the log was pruned, or the first record) starts the history afresh
 * from it. Every document must be decodable, canonical and valid: anything else is damage the
 * guardian refuses to start from (DataLossError naming the record).
 */
export function replayConstitutionLog(records: readonly Uint8Array[], capacity: number): ConstitutionHistory | undefined {
  let history: ConstitutionHistory | undefined;
  records.forEach((bytes, i) => {
    history = nextHistory(history, bytes, capacity, `record ${i} of the constitution log`).history;
  });
  return history;
}

/** How a logged document relates to the history before it. */
export type LoggedChange = "first" | "update" | "rollback" | "restart" | "same";

/**
 * One step of the replay: the history after `bytes` was logged, and what the document was. Throws
 * DataLossError (naming `what`) when the document is not a valid constitution.
 */
export function nextHistory(history: ConstitutionHistory | undefined, bytes: Uint8Array, capacity: number, what: string): { history: ConstitutionHistory; change: LoggedChange } {
  const { doc, violations } = validateConstitutionBytes(bytes);
  if (doc === undefined || violations.length > 0) {
    const why = violations.slice(0, 3).map((v) => `${v.field}: ${v.description}`).join("; ");
    throw new DataLossError(`${what} is not a valid constitution document (${why}); restore the log from a backup or remove the record to start from the one before it`);
  }
  if (history === undefined) return { history: new ConstitutionHistory(bytes, capacity), change: "first" };
  const version = doc.metadata?.version ?? 0;
  const current = history.current();
  const previous = history.previous();
  if (version === current.version + 1 && doc.metadata?.parentVersion === current.version) {
    history.push(bytes);
    return { history, change: "update" };
  }
  if (previous !== undefined && sameBytes(previous.bytes, bytes)) {
    history.rollback();
    return { history, change: "rollback" };
  }
  if (sameBytes(current.bytes, bytes)) return { history, change: "same" };
  return { history: new ConstitutionHistory(bytes, capacity), change: "restart" };
}

/**
 * A `ConstitutionLog` over a `ShardLog` (the WAL): each document is a `constitution.set` mutation.
 * The first `load()` recovers the shard log (once per process, as a shard log requires) and keeps
 * the documents; later loads (a restarted guardian) return them with every append since.
 * Give the guardian a log of its own (never snapshotted: its records are few and must all stay).
 */
export class ShardLogConstitutionLog implements ConstitutionLog {
  private docs: Uint8Array[] | undefined;

  constructor(private readonly log: ShardLog) {}

  async load(): Promise<readonly Uint8Array[]> {
    if (this.docs === undefined) {
      const docs: Uint8Array[] = [];
      await this.log.recover({
        loadSnapshot: () => undefined,
        apply: (m) => {
          if (m.kind === "constitution.set") docs.push(Uint8Array.from(m.document));
        },
      });
      this.docs = docs;
    }
    return this.docs.map((d) => Uint8Array.from(d));
  }

  async append(document: Uint8Array): Promise<void> {
    if (this.docs === undefined) throw new FailedPreconditionError("load the constitution log before appending to it");
    const copy = Uint8Array.from(document);
    await this.log.append({ kind: "constitution.set", document: copy }).durable;
    this.docs.push(copy);
  }
}
