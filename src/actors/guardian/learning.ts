/**
 * Governed learning (DESIGN §3.2): every learning change (a confidence change from feedback, a
 * promotion, a deletion, a new hypothesis from co-activation) is a proposal that must pass the
 * guardian before it is applied and logged:
 * - the mutation-rate cap: at most `max_mutations_per_interval` proposals per node in each
 *   fixed window of `mutation_interval_ms` (0 = learning off), shared by every shard of the node;
 * - allowed types and value ranges of the constitution (a proposed hypothesis is validated like
 *   any written connection record);
 * - the lifecycle rules (promotion/deletion thresholds) re-checked against the connection's state.
 * Refused proposals are counted by rule (`GuardianStats`).
 */
import type { CompiledConstitution, LearningParams } from "../../core/constitution/index.ts";
import { validateConnectionRecords } from "../../core/constitution/index.ts";
import { CONNECTION_FLAGS, CONNECTION_RECORD_SIZE, Mutability, encodeConnection } from "../../core/connection/index.ts";
import type { LifecycleThresholds } from "../../core/connection/index.ts";
import { ErrorCode, type FieldViolation } from "../../core/errors.ts";
import type { ConnectionLimits } from "../../core/limits.ts";
import { StoreRule } from "../../core/store/index.ts";

/** Rules of refused learning proposals (besides the record validation rules). */
export const LearningRule = {
  /** The node's mutation-rate cap for the current interval is used up (or learning is off). */
  mutationRate: "mutation_rate",
  notFound: StoreRule.notFound,
  /** The connection's source is on another shard (or this is a mirror). */
  notOwned: StoreRule.notOwned,
  /** Immutable connections never learn. */
  immutable: "immutable",
  /** Co-activated tokens that are connected already (either way, any type). */
  alreadyConnected: "already_connected",
  /** The connection's state no longer satisfies the lifecycle rule (store re-check). */
  proposalApplicable: "proposal_applicable",
  idNonzero: StoreRule.idNonzero,
} as const;

/** The status code of an item refused by a learning rule. */
export function learningRuleCode(rule: string): ErrorCode {
  switch (rule) {
    case LearningRule.mutationRate:
      return ErrorCode.QuotaExceeded;
    case LearningRule.notFound:
      return ErrorCode.NotFound;
    case LearningRule.immutable:
    case LearningRule.alreadyConnected:
    case LearningRule.proposalApplicable:
      return ErrorCode.FailedPrecondition;
    default:
      return ErrorCode.InvalidArgument;
  }
}

export interface MutationCapHit {
  readonly cap: number;
  readonly intervalMs: number;
  readonly windowStartMs: number;
  /** Proposals refused by the take that hit the cap. */
  readonly rejected: number;
}

/**
 * The mutation-rate cap: a fixed-window counter (window = floor(now / interval)). In every
 * window at most `max` proposals are granted, whatever the number of callers. O(1) per take.
 */
export class MutationBudget {
  private max = 0;
  private intervalMs = 1000;
  private window = -1;
  private used = 0;
  private capReported = false;
  private granted = 0;
  private refused = 0;
  private listener: ((hit: MutationCapHit) => void) | undefined;

  constructor(params?: Pick<LearningParams, "maxMutationsPerInterval" | "mutationIntervalMs">) {
    if (params !== undefined) this.setParams(params);
  }

  setParams(p: Pick<LearningParams, "maxMutationsPerInterval" | "mutationIntervalMs">): void {
    if (p.mutationIntervalMs !== this.intervalMs) this.window = -1;
    this.max = p.maxMutationsPerInterval;
    this.intervalMs = p.mutationIntervalMs;
  }

  /** Called the first time a window's cap refuses something. */
  onCapHit(listener: (hit: MutationCapHit) => void): void {
    this.listener = listener;
  }

  private roll(nowMs: number): void {
    const w = Math.floor(nowMs / this.intervalMs);
    if (w !== this.window) {
      this.window = w;
      this.used = 0;
      this.capReported = false;
    }
  }

  /** Grants up to `n` proposals now; returns how many. */
  take(n: number, nowMs: number): number {
    if (n <= 0) return 0;
    this.roll(nowMs);
    const granted = Math.max(0, Math.min(n, this.max - this.used));
    this.used += granted;
    this.granted += granted;
    if (granted < n) this.refuse(n - granted);
    return granted;
  }

  /** Grants all `n` or none (strict batches). */
  takeAll(n: number, nowMs: number): boolean {
    if (n <= 0) return true;
    this.roll(nowMs);
    if (this.used + n > this.max) {
      this.refuse(n);
      return false;
    }
    this.used += n;
    this.granted += n;
    return true;
  }

  private refuse(n: number): void {
    this.refused += n;
    if (this.capReported) return;
    this.capReported = true;
    this.listener?.({ cap: this.max, intervalMs: this.intervalMs, windowStartMs: this.window * this.intervalMs, rejected: n });
  }

  /** Proposals still grantable in the window containing `nowMs`. */
  remaining(nowMs: number): number {
    this.roll(nowMs);
    return Math.max(0, this.max - this.used);
  }

  get totals(): { readonly granted: number; readonly refused: number } {
    return { granted: this.granted, refused: this.refused };
  }
}

/** The lifecycle thresholds of the core store for a promotion or a deletion under `l`. */
export function lifecycleThresholds(l: LearningParams, kind: "promote" | "delete"): LifecycleThresholds {
  return {
    minEvidence: kind === "promote" ? l.promotionMinEvidence : l.deletionMinEvidence,
    promoteRate: l.promotionMinSuccessRate,
    deleteRate: l.deletionMaxSuccessRate,
    minConfidence: l.hypothesisMinConfidence,
    promotedLearningRate: l.promotedLearningRate,
  };
}

/** Rigidity of proposed hypotheses: the record default (0.5), kept inside the constitution's range. */
function hypothesisRigidity(k: ConnectionLimits): number {
  return Math.min(Math.max(0.5, k.minRigidity), k.maxRigidity);
}

/**
 * The 64-byte records of new Hypothesis connections `sources[i] → targets[i]` with the
 * constitution's hypothesis defaults (type, pull, preferred distance, initial confidence,
 * learning and decay rates), ACTIVE | BIDIRECTIONAL (co-activation is symmetric).
 */
export function hypothesisRecords(sources: ArrayLike<number>, targets: ArrayLike<number>, c: CompiledConstitution, nowSeconds: number): Uint8Array {
  const n = sources.length;
  const out = new Uint8Array(n * CONNECTION_RECORD_SIZE);
  const l = c.learning;
  const rigidity = hypothesisRigidity(c.connections);
  for (let i = 0; i < n; i++) {
    encodeConnection(
      {
        source: sources[i]!,
        target: targets[i]!,
        type: l.hypothesisType,
        activeSpaces: 0,
        flags: CONNECTION_FLAGS.ACTIVE | CONNECTION_FLAGS.BIDIRECTIONAL,
        mutability: Mutability.Hypothesis,
        rigidity,
        pullStrength: l.hypothesisPullStrength,
        preferredDistance: l.hypothesisPreferredDistance,
        confidence: l.hypothesisInitialConfidence,
        learningRate: l.hypothesisLearningRate,
        decayRate: l.hypothesisDecayRatePerHour,
        activationCount: 0,
        evidenceCount: 0,
        successCount: 0,
        createdAt: nowSeconds,
        updatedAt: nowSeconds,
        lastActivation: nowSeconds,
      },
      out,
      i,
    );
  }
  return out;
}

export interface GovernedHypotheses {
  /** Records the guardian admits (n × 64 bytes). */
  readonly records: Uint8Array;
  readonly sources: Uint32Array;
  readonly targets: Uint32Array;
  /** Candidates refused, with rules (index = candidate position). */
  readonly violations: readonly FieldViolation[];
}

/**
 * Passes hypothesis candidates through the guardian: the records are validated against the
 * connection limits (allowed type, ranges), then the mutation budget grants what it can.
 */
export function governHypotheses(
  sources: Uint32Array,
  targets: Uint32Array,
  c: CompiledConstitution,
  budget: MutationBudget,
  nowMs: number,
): GovernedHypotheses {
  const n = sources.length;
  const all = hypothesisRecords(sources, targets, c, Math.floor(nowMs / 1000));
  const invalid = new Uint8Array(n);
  const violations = validateConnectionRecords(all, c.connections, { invalid });
  let valid = 0;
  for (let i = 0; i < n; i++) valid += invalid[i] === 0 ? 1 : 0;
  let granted = budget.take(valid, nowMs);
  const keep: number[] = [];
  for (let i = 0; i < n; i++) {
    if (invalid[i] !== 0) continue;
    if (granted > 0) {
      granted--;
      keep.push(i);
    } else {
      violations.push({ index: i, field: "proposal", value: `${sources[i]!} → ${targets[i]!}`, rule: LearningRule.mutationRate, description: mutationRateText(c) });
    }
  }
  const records = new Uint8Array(keep.length * CONNECTION_RECORD_SIZE);
  const ks = new Uint32Array(keep.length);
  const kt = new Uint32Array(keep.length);
  keep.forEach((i, j) => {
    records.set(all.subarray(i * CONNECTION_RECORD_SIZE, (i + 1) * CONNECTION_RECORD_SIZE), j * CONNECTION_RECORD_SIZE);
    ks[j] = sources[i]!;
    kt[j] = targets[i]!;
  });
  return { records, sources: ks, targets: kt, violations };
}

/** The description of a `mutation_rate` refusal under `c`. */
export function mutationRateText(c: CompiledConstitution): string {
  const l = c.learning;
  return l.maxMutationsPerInterval === 0
    ? "learning is off (constitution learning.max_mutations_per_interval = 0)"
    : `the node accepts at most ${l.maxMutationsPerInterval} learning changes per ${l.mutationIntervalMs} ms (learning.max_mutations_per_interval); retry in the next interval`;
}
