/**
 * A bounded history of constitution versions, newest last, kept as their stored bytes so a
 * rollback hands back exactly what was active before: the same bytes, version and checksum.
 * (The original kept the initial document twice and its rollback skipped a version.)
 *
 * Pure data: the guardian owns one, logs pushes and rollbacks to the WAL and broadcasts them.
 */
import type { Constitution } from "../../gen/neurograph/v1/constitution.ts";
import { FailedPreconditionError, ValidationError } from "../errors.ts";
import { decodeConstitution, encodeConstitution } from "./canonical.ts";
import { DocumentRule } from "./checks.ts";

export interface HistoryEntry {
  readonly version: number;
  readonly checksum: number;
  /** The encoded document (never modify it). */
  readonly bytes: Uint8Array;
}

export class ConstitutionHistory {
  readonly capacity: number;
  private readonly entries: HistoryEntry[] = [];

  /** `capacity` >= 2: the active document and at least one to roll back to. */
  constructor(initial: Constitution | Uint8Array, capacity = 100) {
    if (!Number.isInteger(capacity) || capacity < 2) {
      throw ValidationError.of("constitution history", [
        { field: "capacity", value: String(capacity), rule: "history_capacity", description: "must be an integer >= 2 (the active document and one to roll back to)" },
      ]);
    }
    this.capacity = capacity;
    this.entries.push(entryOf(initial).entry);
  }

  get length(): number {
    return this.entries.length;
  }

  /** The active document's entry. */
  current(): HistoryEntry {
    return this.entries[this.entries.length - 1]!;
  }

  /** The entry a rollback would restore, if any. */
  previous(): HistoryEntry | undefined {
    return this.entries[this.entries.length - 2];
  }

  /** All kept entries, oldest first. */
  list(): readonly HistoryEntry[] {
    return [...this.entries];
  }

  /**
   * Makes `next` the active document. Its version must be the current one + 1 and its parent the
   * current version, so the history is one unbroken chain. Beyond `capacity` the oldest goes.
   */
  push(next: Constitution | Uint8Array): HistoryEntry {
    const { entry, doc } = entryOf(next);
    const cur = this.current();
    const parent = doc.metadata?.parentVersion;
    if (entry.version !== cur.version + 1 || parent !== cur.version) {
      throw ValidationError.of("constitution history", [
        {
          field: "metadata.version",
          value: `${entry.version} (parent ${String(parent)})`,
          rule: DocumentRule.versionSequence,
          description: `must be version ${cur.version + 1} with parent ${cur.version}, following the active version`,
        },
      ]);
    }
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.shift();
    return entry;
  }

  /**
   * Drops the active document and makes the previous one active again; returns its entry (the
   * bytes exactly as they were pushed). Fails when there is nothing to go back to.
   */
  rollback(): HistoryEntry {
    if (this.entries.length < 2) {
      throw new FailedPreconditionError(
        `cannot roll back the constitution: version ${this.current().version} is the oldest one kept; make an update instead`,
      );
    }
    this.entries.pop();
    return this.current();
  }
}

/**
 * Keeps the canonical encoding: given bytes are decoded and re-encoded (identical for canonical
 * input, and never aliased with the caller's buffer).
 */
function entryOf(input: Constitution | Uint8Array): { entry: HistoryEntry; doc: Constitution } {
  const doc = input instanceof Uint8Array ? decodeConstitution(input) : input;
  const bytes = encodeConstitution(doc);
  return { entry: Object.freeze({ version: doc.metadata?.version ?? 0, checksum: doc.checksum, bytes }), doc };
}
