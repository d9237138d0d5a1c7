/**
 * What the guardian RPCs need from the node (AdminService constitution / guardian methods,
 * GraphService Activate and Feedback), next to `NodeBackend`. Kept apart so the two interfaces
 * evolve without merge conflicts; a node passes one object implementing both.
 *
 * The guardian's own types (change requests, events, reports) come from `src/actors/guardian`
 * (type-only imports: `api → actors` is the allowed direction). The actor layer provides
 * `GuardianFrontend` for the constitution, stats and events methods; Activate and Feedback go
 * through the node's shards.
 */
import type { Constitution } from "../core/constitution/index.ts";
import type {
  ConstitutionChangeRequest,
  DryRunResult,
  GuardianEvent,
  GuardianEventKind,
  GuardianReport,
  HistoryItem,
} from "../actors/guardian/index.ts";
import type { ConnectionKeys, RequestContext, WriteOptions, WriteResult } from "./backend.ts";

/** A constitution as the API returns it: the document and its stored canonical bytes. */
export interface ConstitutionState {
  readonly document: Constitution;
  readonly bytes: Uint8Array;
}

export interface RollbackOptions {
  readonly expectedVersion?: number;
  readonly author?: string;
  readonly comment?: string;
}

export interface WatchOptions {
  /** Kinds to deliver; empty or absent = all. */
  readonly kinds?: readonly GuardianEventKind[];
  /** Events buffered for this watcher (default: the hub's). */
  readonly capacity?: number;
}

export interface ActivateResult extends WriteResult {
  /** Hypothesis connections created from co-activation. */
  readonly hypothesesCreated: number;
}

export interface FeedbackResult extends WriteResult {
  readonly promoted: number;
  readonly deleted: number;
}

export interface GuardianBackend {
  getConstitution(ctx: RequestContext): Promise<ConstitutionState>;
  /** Validated as a whole (ValidationError listing every violation); version n + 1. */
  updateConstitution(request: ConstitutionChangeRequest, ctx: RequestContext): Promise<ConstitutionState>;
  /** Dry run: nothing changes. */
  validateConstitution(request: ConstitutionChangeRequest, ctx: RequestContext): Promise<DryRunResult>;
  rollbackConstitution(options: RollbackOptions, ctx: RequestContext): Promise<ConstitutionState>;
  constitutionHistory(ctx: RequestContext): Promise<readonly HistoryItem[]>;
  guardianStats(ctx: RequestContext): Promise<GuardianReport>;
  /** Events until `ctx.signal` aborts (the iteration then ends). */
  watchEvents(options: WatchOptions, ctx: RequestContext): AsyncIterable<GuardianEvent>;
  /** Records uses of connections (keys with type −1 = every type) and co-activation of `tokens`. */
  activate(keys: ConnectionKeys, tokens: Uint32Array, options: WriteOptions, ctx: RequestContext): Promise<ActivateResult>;
  /** success[i] !== 0: success for key i. */
  feedback(keys: ConnectionKeys, success: Uint8Array, options: WriteOptions, ctx: RequestContext): Promise<FeedbackResult>;
}
