/**
 * Continuous learning on arena entries (DESIGN §3.2). Every function is deterministic in its
 * inputs (`now` is passed in; core reads no clock).
 *
 * Confidence on feedback (Learnable and Hypothesis; Immutable connections never change):
 *   success: c ← min(c + lr, 1);  failure: c ← max(c − lr/2, 0);  stored as float32.
 *   evidence_count += 1 on every feedback, success_count += 1 on success (both saturate at 2^32−1).
 *   Known answer: start 0.5, lr 0.125: success ×5 → 0.625, 0.75, 0.875, 1, 1;
 *   then failure ×3 → 0.9375, 0.875, 0.8125 (evidence 8, successes 5).
 *
 * Decay (Hypothesis only) is a function of elapsed time, not of how often it is called:
 *   c(t) = fround(base × (1 − decay_rate)^h),  h = floor((t − anchor) / 3600),
 * where `base` is the confidence at the last activity (`anchor`: feedback, activation, or the
 * stored updated_at/last_activation when the connection was loaded). Calling decay at t1 then
 * t2 gives exactly the value of one call at t2, and a second call at the same t changes nothing.
 * Decay moves updated_at to anchor + h·3600 (how far decay has been settled), so a record saved
 * and loaded again continues from the same hour grid. Activation and feedback first settle the
 * pending decay, then restart the inactivity clock at `now`.
 *
 * Lifecycle: promotion and deletion are *proposals* (plain data, they are rare) that a caller
 * checks (`proposalViolation`) and applies; nothing here deletes or promotes on its own.
 */
import type { ConnectionArena } from "./arena.ts";
import { CONNECTION_FLAGS, Mutability } from "./layout.ts";

export const HOUR_SECONDS = 3600;
const U32_MAX = 0xffffffff;

/** Decayed confidence after `hours` whole hours of inactivity, as stored (float32). */
export function decayedConfidence(base: number, decayRate: number, hours: number): number {
  if (hours <= 0) return Math.fround(base);
  return Math.fround(base * Math.pow(1 - decayRate, hours));
}

/**
 * Settles the decay of a Hypothesis entry up to `now`. Returns true when confidence changed.
 * Other mutabilities, or `now` before the anchor, change nothing.
 */
export function decay(arena: ConnectionArena, e: number, now: number): boolean {
  const c = arena.columns;
  if (c.mutability[e] !== Mutability.Hypothesis) return false;
  const anchor = arena.decayAnchor[e]!;
  if (now <= anchor) return false;
  const hours = Math.floor((now - anchor) / HOUR_SECONDS);
  if (hours === 0) return false;
  const next = decayedConfidence(arena.decayBase[e]!, c.decayRate[e]!, hours);
  const settled = Math.min(U32_MAX, anchor + hours * HOUR_SECONDS);
  if (settled > c.updatedAt[e]!) c.updatedAt[e] = settled;
  if (next === c.confidence[e]) return false;
  c.confidence[e] = next;
  c.flags[e] = c.flags[e]! | CONNECTION_FLAGS.DECAYING;
  return true;
}

function restartClock(arena: ConnectionArena, e: number, now: number): void {
  arena.decayBase[e] = arena.columns.confidence[e]!;
  arena.decayAnchor[e] = Math.max(arena.decayAnchor[e]!, now);
}

/**
 * Records one use of the connection: activation_count + 1 (saturating), last_activation = now,
 * ACTIVE set, REINFORCED set for Learnable connections. A Hypothesis settles its decay first.
 */
export function activate(arena: ConnectionArena, e: number, now: number): void {
  const c = arena.columns;
  const m = c.mutability[e];
  if (m === Mutability.Hypothesis) decay(arena, e, now);
  c.activationCount[e] = Math.min(U32_MAX, c.activationCount[e]! + 1);
  c.lastActivation[e] = now;
  let flags = c.flags[e]! | CONNECTION_FLAGS.ACTIVE;
  if (m === Mutability.Learnable) flags |= CONNECTION_FLAGS.REINFORCED;
  c.flags[e] = flags;
  restartClock(arena, e, now);
}

/**
 * Applies success/failure feedback (see the module comment). Returns false, changing nothing,
 * for Immutable connections.
 */
export function recordFeedback(arena: ConnectionArena, e: number, success: boolean, now: number): boolean {
  const c = arena.columns;
  const m = c.mutability[e];
  if (m === Mutability.Immutable) return false;
  if (m === Mutability.Hypothesis) decay(arena, e, now);
  const conf = c.confidence[e]!;
  const lr = c.learningRate[e]!;
  c.confidence[e] = success ? Math.min(conf + lr, 1) : Math.max(conf - lr / 2, 0);
  c.evidenceCount[e] = Math.min(U32_MAX, c.evidenceCount[e]! + 1);
  if (success) c.successCount[e] = Math.min(U32_MAX, c.successCount[e]! + 1);
  c.updatedAt[e] = now;
  c.flags[e] = (c.flags[e]! | CONNECTION_FLAGS.MODIFIED) & ~CONNECTION_FLAGS.DECAYING;
  restartClock(arena, e, now);
  return true;
}

/** success_count / evidence_count, or 0 without evidence. */
export function successRate(arena: ConnectionArena, e: number): number {
  const c = arena.columns;
  const n = c.evidenceCount[e]!;
  return n === 0 ? 0 : c.successCount[e]! / n;
}

export interface LifecycleThresholds {
  /** Evidence (feedback observations) needed before promotion or deletion. */
  readonly minEvidence: number;
  /** Promote a Hypothesis to Learnable at success rate ≥ this. */
  readonly promoteRate: number;
  /** Propose deleting a Hypothesis at success rate ≤ this. */
  readonly deleteRate: number;
  /** Propose deleting a Hypothesis whose confidence decayed below this. */
  readonly minConfidence: number;
  /** Learning rate a promoted connection gets. */
  readonly promotedLearningRate: number;
}

export const DEFAULT_LIFECYCLE: LifecycleThresholds = Object.freeze({
  minEvidence: 20,
  promoteRate: 0.7,
  deleteRate: 0.2,
  minConfidence: 0.1,
  promotedLearningRate: 0.125,
});

interface ProposalKey {
  readonly source: number;
  readonly target: number;
  readonly type: number;
  readonly evidence: number;
  readonly successes: number;
  readonly successRate: number;
  readonly confidence: number;
}

export interface PromoteProposal extends ProposalKey {
  readonly kind: "promote";
  readonly learningRate: number;
}

export interface DeleteProposal extends ProposalKey {
  readonly kind: "delete";
  readonly reason: "low_success_rate" | "decayed";
}

export type ConnectionProposal = PromoteProposal | DeleteProposal;

/** The lifecycle proposal for entry `e`, if any (Hypothesis entries only). */
export function lifecycleProposal(
  arena: ConnectionArena,
  e: number,
  t: LifecycleThresholds = DEFAULT_LIFECYCLE,
): ConnectionProposal | undefined {
  const c = arena.columns;
  if (c.mutability[e] !== Mutability.Hypothesis) return undefined;
  const evidence = c.evidenceCount[e]!;
  const rate = successRate(arena, e);
  const key: ProposalKey = {
    source: c.sources[e]!,
    target: c.targets[e]!,
    type: c.types[e]!,
    evidence,
    successes: c.successCount[e]!,
    successRate: rate,
    confidence: c.confidence[e]!,
  };
  if (evidence >= t.minEvidence && rate >= t.promoteRate) {
    return { kind: "promote", ...key, learningRate: t.promotedLearningRate };
  }
  if (evidence >= t.minEvidence && rate <= t.deleteRate) return { kind: "delete", ...key, reason: "low_success_rate" };
  if ((c.flags[e]! & CONNECTION_FLAGS.DECAYING) !== 0 && c.confidence[e]! < t.minConfidence) {
    return { kind: "delete", ...key, reason: "decayed" };
  }
  return undefined;
}

/** Why `p` cannot be applied to entry `e` now, or undefined when it can. */
export function proposalViolation(
  arena: ConnectionArena,
  e: number,
  p: ConnectionProposal,
  t: LifecycleThresholds = DEFAULT_LIFECYCLE,
): string | undefined {
  const c = arena.columns;
  if (c.mutability[e] !== Mutability.Hypothesis) return "only Hypothesis connections are promoted or deleted by the lifecycle";
  const evidence = c.evidenceCount[e]!;
  const rate = successRate(arena, e);
  if (p.kind === "promote") {
    if (!(p.learningRate >= 0 && p.learningRate <= 1)) return "learning rate must be in [0, 1]";
    if (evidence < t.minEvidence) return `promotion needs ≥ ${t.minEvidence} evidence, the connection has ${evidence}`;
    if (rate < t.promoteRate) return `promotion needs success rate ≥ ${t.promoteRate}, the connection has ${rate}`;
    return undefined;
  }
  if (p.reason === "low_success_rate") {
    if (evidence < t.minEvidence) return `deletion needs ≥ ${t.minEvidence} evidence, the connection has ${evidence}`;
    if (rate > t.deleteRate) return `deletion needs success rate ≤ ${t.deleteRate}, the connection has ${rate}`;
    return undefined;
  }
  if (c.confidence[e]! >= t.minConfidence) return `confidence ${c.confidence[e]} is not below ${t.minConfidence}`;
  return undefined;
}

/** Makes a Hypothesis entry Learnable (checked by `proposalViolation` first). */
export function promote(arena: ConnectionArena, e: number, learningRate: number, now: number): void {
  const c = arena.columns;
  c.mutability[e] = Mutability.Learnable;
  c.learningRate[e] = learningRate;
  c.updatedAt[e] = now;
  c.flags[e] = (c.flags[e]! | CONNECTION_FLAGS.MODIFIED) & ~CONNECTION_FLAGS.DECAYING;
  restartClock(arena, e, now);
}
