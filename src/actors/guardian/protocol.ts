/**
 * The message protocol of the guardian actor (`guardian/<node>`), and the interface through which
 * it reaches the node's shards (`ShardMaintenance`). Everything is plain data, so a NATS codec can
 * be added without touching the actor.
 */
import type { Constitution, ConstitutionProfile } from "../../core/constitution/index.ts";
import type { FieldViolation } from "../../core/errors.ts";
import type { Ask } from "../../runtime/index.ts";
import type { ConstitutionChangeRequest } from "./changes.ts";
import type { CleanupReport, CleanupRequest } from "./cleanup.ts";
import type { EventHubStats, QuotaLevelName, QuotaName, RuleCount } from "./events.ts";
import type { ActiveConstitution } from "./hub.ts";
import type { QuotaUsage } from "./quota.ts";
import type { GuardianStatsSnapshot } from "./stats.ts";

export const GUARDIAN_KIND = "guardian";

/** One kept version of the constitution, oldest first in a listing. */
export interface HistoryItem {
  readonly version: number;
  readonly checksum: number;
  /** The stored bytes (never modify). */
  readonly bytes: Uint8Array;
  readonly createdAtUnixMs: number;
  readonly author: string;
  readonly comment: string;
  readonly profile: ConstitutionProfile;
  /** The active version (the newest entry). */
  readonly active: boolean;
}

export interface DryRunResult {
  readonly valid: boolean;
  readonly violations: readonly FieldViolation[];
  /** What an update would make active (version n + 1); nothing was changed. */
  readonly draft: Constitution;
}

/** Hypothesis connections the guardian admits after a co-activation report. */
export interface HypothesisProposals {
  /** Pairs that reached the co-activation threshold. */
  readonly candidates: number;
  /** Admitted records (n × 64 bytes): create them unless the pair is connected already. */
  readonly records: Uint8Array;
  readonly sources: Uint32Array;
  readonly targets: Uint32Array;
  /** Candidates refused by the guardian, by rule. */
  readonly rejected: readonly RuleCount[];
}

export interface GuardianReport {
  readonly version: number;
  readonly checksum: number;
  readonly profile: ConstitutionProfile;
  readonly stats: GuardianStatsSnapshot;
  readonly quotas: readonly QuotaUsage[];
  readonly events: EventHubStats;
  readonly mutations: { readonly granted: number; readonly refused: number; readonly remaining: number };
  /** Epoch ms of the last RSS sample (-Infinity before the first). */
  readonly rssSampledAt: number;
}

export interface CleanupOutcome extends CleanupReport {
  readonly trigger: string;
  readonly durationMs: number;
}

export interface SweepReport {
  readonly decayed: number;
  readonly promoted: number;
  readonly deleted: number;
}

/**
 * What the guardian needs from the node's shards. The node implements it by asking every local
 * shard to plan (`planCleanup` / `sweepLifecycle`) and to remove through its ordinary, logged
 * write path.
 */
export interface ShardMaintenance {
  cleanup(request: CleanupRequest): Promise<CleanupReport>;
  /** Settles decay and applies lifecycle proposals on every local shard. */
  sweepLearning?(nowMs: number): Promise<SweepReport>;
}

export type GuardianMessage =
  | Ask<{ readonly type: "guardian.get" }, ActiveConstitution>
  | Ask<{ readonly type: "guardian.history" }, readonly HistoryItem[]>
  /** Validated as a whole; version n + 1; ValidationError listing every violation. */
  | Ask<{ readonly type: "guardian.update"; readonly request: ConstitutionChangeRequest }, ActiveConstitution>
  /** Dry run: the draft and all violations; nothing changes. */
  | Ask<{ readonly type: "guardian.validate"; readonly request: ConstitutionChangeRequest }, DryRunResult>
  /** Makes the previous version active again, byte for byte. */
  | Ask<{ readonly type: "guardian.rollback"; readonly expectedVersion?: number; readonly author?: string; readonly comment?: string }, ActiveConstitution>
  | Ask<{ readonly type: "guardian.stats" }, GuardianReport>
  /** Tokens activated together (one message per Activate call, never per token). */
  | Ask<{ readonly type: "guardian.coactivated"; readonly tokens: Uint32Array }, HypothesisProposals>
  /** Runs a cleanup now (ignores the cooldown; joins one that is running). */
  | Ask<{ readonly type: "guardian.cleanup"; readonly trigger?: string }, CleanupOutcome>
  /** Timer: RSS sample, quota gauges, soft-threshold check. */
  | { readonly type: "guardian.tick" }
  /** Timer: learning sweep. */
  | { readonly type: "guardian.sweep" }
  /** A document another node of the cluster appended to the shared constitution log. */
  | { readonly type: "guardian.adopt"; readonly document: Uint8Array; readonly adopted: () => void }
  /** From the quota gate (in a shard's turn): a quota changed level. */
  | { readonly type: "guardian.quota-level"; readonly quota: QuotaName; readonly level: QuotaLevelName }
  /** Internal: a cleanup finished. */
  | {
      readonly type: "guardian.cleanup-finished";
      readonly trigger: string;
      readonly startedMs: number;
      readonly report: CleanupReport | undefined;
      readonly error: string | undefined;
    }
  /** Internal: a sweep finished. */
  | { readonly type: "guardian.sweep-finished"; readonly error: string | undefined };
