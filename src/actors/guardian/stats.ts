/**
 * The guardian's counters: items validated by kind, items rejected by rule, learning proposals
 * applied by kind and rejected by rule, cleanups. Shards update them once per batch (a handful
 * of map updates per *rule*, never per item), and mirror them into Prometheus when a registry
 * is given. Keys are bounded by the validators' fixed rule names.
 */
import type { FieldViolation } from "../../core/errors.ts";
import type { MetricsRegistry } from "../../telemetry/index.ts";
import type { RuleCount } from "./events.ts";

export interface GuardianStatsSnapshot {
  /** Items validated, by kind (`token`, `connection`, `constitution`, `proposal`). */
  readonly validated: readonly RuleCount[];
  /** Items rejected by validation, by rule. */
  readonly rejected: readonly RuleCount[];
  /** Learning proposals applied, by kind (`confidence`, `promote`, `delete`, `create`). */
  readonly proposalsApplied: readonly RuleCount[];
  /** Learning proposals refused, by rule (`mutation_rate`, `immutable`, …). */
  readonly proposalsRejected: readonly RuleCount[];
  readonly cleanups: number;
  readonly cleanupTokensRemoved: number;
  readonly cleanupConnectionsRemoved: number;
}

function add(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

function sorted(map: ReadonlyMap<string, number>): RuleCount[] {
  return [...map].map(([rule, count]) => ({ rule, count })).sort((a, b) => (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0));
}

export class GuardianStats {
  private readonly validated = new Map<string, number>();
  private readonly rejected = new Map<string, number>();
  private readonly applied = new Map<string, number>();
  private readonly refused = new Map<string, number>();
  private cleanups = 0;
  private cleanupTokens = 0;
  private cleanupConnections = 0;

  constructor(private readonly metrics?: MetricsRegistry) {}

  /**
   * One validated batch: `items` checked, `violations` found (one rejection is counted per
   * violation's rule; an item with two broken rules counts under both).
   */
  recordValidation(kind: string, items: number, violations: readonly FieldViolation[]): void {
    if (items > 0) {
      add(this.validated, kind, items);
      this.metrics?.guardianValidated(kind, items);
    }
    if (violations.length === 0) return;
    const batch = new Map<string, number>();
    for (const v of violations) add(batch, v.rule, 1);
    for (const [rule, n] of batch) {
      add(this.rejected, rule, n);
      this.metrics?.guardianRejected(rule, n);
    }
  }

  proposalApplied(kind: string, n = 1): void {
    if (n <= 0) return;
    add(this.applied, kind, n);
    this.metrics?.guardianValidated("proposal", n);
  }

  proposalRejected(rule: string, n = 1): void {
    if (n <= 0) return;
    add(this.refused, rule, n);
    this.metrics?.guardianValidated("proposal", n);
    this.metrics?.guardianRejected(rule, n);
  }

  cleanupDone(tokens: number, connections: number): void {
    this.cleanups++;
    this.cleanupTokens += tokens;
    this.cleanupConnections += connections;
  }

  /** Applied proposals of one kind so far. */
  appliedCount(kind: string): number {
    return this.applied.get(kind) ?? 0;
  }

  /** Refused proposals under one rule so far. */
  refusedCount(rule: string): number {
    return this.refused.get(rule) ?? 0;
  }

  /** Rejected items under one validation rule so far. */
  rejectedCount(rule: string): number {
    return this.rejected.get(rule) ?? 0;
  }

  snapshot(): GuardianStatsSnapshot {
    return {
      validated: sorted(this.validated),
      rejected: sorted(this.rejected),
      proposalsApplied: sorted(this.applied),
      proposalsRejected: sorted(this.refused),
      cleanups: this.cleanups,
      cleanupTokensRemoved: this.cleanupTokens,
      cleanupConnectionsRemoved: this.cleanupConnections,
    };
  }
}
