/**
 * Soft-threshold cleanup: what a shard may remove when a quota passes its soft threshold, within
 * the constitution's cleanup policy.
 * - Weak hypotheses: owned Hypothesis connections with confidence below
 *   `cleanup_weak_hypothesis_confidence` (0 = never).
 * - Inactive tokens: tokens whose timestamp (the time of their last write) is more than
 *   `cleanup_inactive_token_age_seconds` old (0 = never, the default: tokens are user data), never
 *   PERSISTENT or LOCKED ones.
 * Planning is read-only; the shard removes the planned items through its ordinary write path
 * (delete / disconnect), so the removals are logged and cross-shard mirrors are unlinked.
 */
import type { QuotaParams } from "../../core/constitution/index.ts";
import { Mutability } from "../../core/connection/index.ts";
import type { EdgeKeys, ShardStore } from "../../core/store/index.ts";
import { TOKEN_FLAGS } from "../../core/token/index.ts";

export interface CleanupPolicy {
  /** Remove owned Hypothesis connections with confidence below this (0 = none). */
  readonly weakHypothesisConfidence: number;
  /** Remove tokens not written for this many seconds (0 = none). */
  readonly inactiveTokenAgeSeconds: number;
  /** Unix seconds. */
  readonly nowSeconds: number;
  /** At most this many connections and tokens per shard and pass (bounds the work of one turn). */
  readonly maxConnections: number;
  readonly maxTokens: number;
}

export interface CleanupRequest extends CleanupPolicy {
  /** The quota whose soft threshold asked for the cleanup, or `manual`. */
  readonly trigger: string;
}

export interface CleanupReport {
  readonly connectionsRemoved: number;
  readonly tokensRemoved: number;
}

export interface CleanupPlan {
  readonly connections: EdgeKeys;
  readonly tokens: Uint32Array;
}

/** Default per-shard bound of one cleanup pass. */
export const CLEANUP_BATCH_LIMIT = 100_000;

/** The cleanup policy of a compiled constitution at `nowSeconds`. */
export function cleanupPolicy(q: QuotaParams, nowSeconds: number, limit = CLEANUP_BATCH_LIMIT): CleanupPolicy {
  return {
    weakHypothesisConfidence: q.cleanupWeakHypothesisConfidence,
    inactiveTokenAgeSeconds: q.cleanupInactiveTokenAgeSeconds,
    nowSeconds,
    maxConnections: limit,
    maxTokens: limit,
  };
}

/** True when the policy allows removing anything at all. */
export function cleanupAllowed(p: CleanupPolicy): boolean {
  return p.weakHypothesisConfidence > 0 || p.inactiveTokenAgeSeconds > 0;
}

/** The items `store` may remove under `policy` (nothing is changed). */
export function planCleanup(store: ShardStore, policy: CleanupPolicy): CleanupPlan {
  const c = store.connections;
  const threshold = policy.weakHypothesisConfidence;
  const s: number[] = [];
  const t: number[] = [];
  const y: number[] = [];
  if (threshold > 0) {
    for (let e = 0; e < c.size && s.length < policy.maxConnections; e++) {
      if (c.mutability[e] !== Mutability.Hypothesis || !(c.confidence[e]! < threshold)) continue;
      if (!store.isConnectionLive(e) || store.isMirror(e)) continue;
      s.push(c.sources[e]!);
      t.push(c.targets[e]!);
      y.push(c.types[e]!);
    }
  }
  const ids: number[] = [];
  const age = policy.inactiveTokenAgeSeconds;
  if (age > 0) {
    const cols = store.columns;
    const before = policy.nowSeconds - age;
    const keep = TOKEN_FLAGS.PERSISTENT | TOKEN_FLAGS.LOCKED;
    for (let i = 0; i < cols.size && ids.length < policy.maxTokens; i++) {
      if ((cols.flags[i]! & keep) !== 0 || cols.timestamps[i]! >= before) continue;
      ids.push(cols.ids[i]!);
    }
  }
  return {
    connections: { count: s.length, sources: Uint32Array.from(s), targets: Uint32Array.from(t), types: Uint8Array.from(y) },
    tokens: Uint32Array.from(ids),
  };
}
