/**
 * The guardian's presence inside a graph shard: everything a shard needs to enforce the
 * constitution on its own, in its own turn, with no message to the guardian:
 * - the compiled constitution of the moment (`constitution`, re-read per batch);
 * - vectorised batch validation with the strict / non-strict verdict;
 * - the quota gate (O(1) admission per batch, exact usage reported after each write);
 * - the learning context (shared mutation budget);
 * - counting and the aggregated `validation_failed` event.
 */
import {
  splitValid,
  validateConnectionRecords,
  type BatchVerdict,
  type CompiledConstitution,
} from "../../core/constitution/index.ts";
import type { FieldViolation } from "../../core/errors.ts";
import type { ConnectionLimits, TokenLimits } from "../../core/limits.ts";
import { validateTokenRecords } from "../../core/token/index.ts";
import type { GuardianHub } from "./hub.ts";
import type { LearningContext } from "./learning-shard.ts";

/** What a shard reports after a write: its store's figures. */
export interface UsageSource {
  readonly size: number;
  readonly connectionCount: number;
  byteSize(): number;
}

export interface WriteLimits {
  readonly tokens: TokenLimits;
  readonly connections: ConnectionLimits;
  readonly nowSeconds: number;
}

/** Estimated store growth per new token or connection entry, for the store-bytes quota. */
export const RECORD_BYTES_ESTIMATE = 64;

export class ShardGuard {
  /** `shard/<n>`: the source named in events. */
  readonly source: string;

  constructor(
    readonly hub: GuardianHub,
    readonly shard: number,
  ) {
    this.source = `shard/${shard}`;
  }

  /** The active compiled constitution. Read it once per batch and use that copy for the batch. */
  get constitution(): CompiledConstitution {
    return this.hub.view.compiled;
  }

  /** All or nothing: the request asked for it (`partial = false`) or the constitution is strict. */
  strictFor(partial: boolean): boolean {
    return !partial || this.hub.view.compiled.strict;
  }

  /** The value limits of the active constitution (what the store's write validation takes). */
  limits(nowSeconds: number): WriteLimits {
    const c = this.hub.view.compiled;
    return { tokens: c.tokens, connections: c.connections, nowSeconds };
  }

  /** The store's token-write `validate` option under the active constitution. */
  tokenValidation(nowSeconds: number): { readonly limits: TokenLimits; readonly nowSeconds: number } {
    return { limits: this.hub.view.compiled.tokens, nowSeconds };
  }

  /**
   * Quota admission of a write adding `tokens` tokens and `connections` connection entries
   * (throws QuotaExceededError; O(1)). Count what the write may create; updates count 0.
   */
  admit(tokens: number, connections: number): void {
    this.hub.quotas.admit(tokens, connections, (tokens + connections) * RECORD_BYTES_ESTIMATE);
  }

  /** Whether such a write fits (no throw, nothing counted). */
  fits(tokens: number, connections: number): boolean {
    return this.hub.quotas.fits(tokens, connections, (tokens + connections) * RECORD_BYTES_ESTIMATE);
  }

  /**
   * A part of the write holding quota reservation `ticket` was decided here in this turn (see
   * `QuotaGate.settle`): `tokens` token items, `connections` connection entries, applied or
   * rejected. Call it in the turn that applied them, where the shard reports its figures.
   */
  settle(ticket: number, tokens: number, connections: number): void {
    this.hub.quotas.settle(ticket, tokens, connections, (tokens + connections) * RECORD_BYTES_ESTIMATE);
  }

  /** Reports the store's exact figures after a write (O(1); call it wherever the shard publishes its figures). */
  report(store: UsageSource): void {
    this.hub.quotas.report(this.shard, store.size, store.connectionCount, store.byteSize());
  }

  /**
   * Validates packed token records against the active token limits and returns the verdict
   * (strict: any violation rejects the whole batch). Counts the batch; one event if anything
   * was rejected.
   */
  validateTokens(records: Uint8Array, nowSeconds: number, partial: boolean, allowZeroId: boolean): BatchVerdict {
    const c = this.hub.view.compiled;
    const n = Math.floor(records.byteLength / 64);
    const invalid = new Uint8Array(n);
    const violations = validateTokenRecords(records, c.tokens, nowSeconds, { allowZeroId, invalid, maxViolations: 1000 });
    return this.verdict("token", n, violations, partial, invalid);
  }

  /** Like `validateTokens`, for packed connection records (structure, allowed types, ranges). */
  validateConnections(records: Uint8Array, partial: boolean): BatchVerdict {
    const c = this.hub.view.compiled;
    const n = Math.floor(records.byteLength / 64);
    const invalid = new Uint8Array(n);
    const violations = validateConnectionRecords(records, c.connections, { invalid, maxViolations: 1000 });
    return this.verdict("connection", n, violations, partial, invalid);
  }

  private verdict(kind: string, n: number, violations: readonly FieldViolation[], partial: boolean, invalid: Uint8Array): BatchVerdict {
    const v = splitValid(violations, n, this.strictFor(partial), invalid);
    this.recordBatch(kind, n, v.violations, v.rejectedCount, v.wholeBatchRejected);
    return v;
  }

  /**
   * Counts a batch the shard validated itself (e.g. through the store's write validation):
   * `items` checked, `rejected` not applied. One `validation_failed` event when rejected > 0.
   */
  recordBatch(kind: string, items: number, violations: readonly FieldViolation[], rejected: number, wholeBatch: boolean): void {
    this.hub.validated(this.source, kind, items, violations, rejected, wholeBatch);
  }

  /** The learning context for one learning batch at `nowMs`. */
  learning(nowMs: number): LearningContext {
    return { constitution: this.hub.view.compiled, budget: this.hub.budget, stats: this.hub.stats, nowMs };
  }
}
