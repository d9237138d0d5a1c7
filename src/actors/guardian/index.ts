/**
 * The guardian: the constitution of a node, its enforcement in the shards (validation, quotas,
 * governed learning) and its event stream. The actor is `src/actors/guardian.ts`; the shared
 * state shards use without messages is `GuardianHub` / `ShardGuard`. See docs/guardian.md.
 */
export { GuardianActor, type GuardianEnv } from "../guardian.ts";
export {
  GUARDIAN_KIND,
  type CleanupOutcome,
  type DryRunResult,
  type GuardianMessage,
  type GuardianReport,
  type HistoryItem,
  type HypothesisProposals,
  type ShardMaintenance,
  type SweepReport,
} from "./protocol.ts";
export { checkExpectedVersion, documentPatch, draftChange, type ConstitutionChangeRequest, type ConstitutionDraft } from "./changes.ts";
export {
  ConstitutionView,
  GuardianHub,
  activeConstitution,
  type ActiveConstitution,
  type ConstitutionChangeInfo,
  type ConstitutionListener,
  type GuardianHubOptions,
  type QuotaLevelHandler,
} from "./hub.ts";
export { ShardGuard, RECORD_BYTES_ESTIMATE, type UsageSource, type WriteLimits } from "./shard-guard.ts";
export {
  DEFAULT_SUBSCRIBER_CAPACITY,
  EventHub,
  EventSubscription,
  GUARDIAN_EVENT_KINDS,
  QUOTA_NAMES,
  countRules,
  type ConstitutionAction,
  type EventHubStats,
  type GuardianEvent,
  type GuardianEventBody,
  type GuardianEventKind,
  type QuotaLevelName,
  type QuotaName,
  type RuleCount,
  type SubscribeOptions,
} from "./events.ts";
export { QuotaGate, QuotaIndex, RssSampler, processRss, type QuotaLevelListener, type QuotaUsage, type RssProbe } from "./quota.ts";
export {
  LearningRule,
  MutationBudget,
  governHypotheses,
  hypothesisRecords,
  learningRuleCode,
  lifecycleThresholds,
  mutationRateText,
  type GovernedHypotheses,
  type MutationCapHit,
} from "./learning.ts";
export {
  applyActivations,
  applyFeedback,
  checkLearningKeys,
  connectedPairs,
  lifecycleProposalAt,
  sweepLifecycle,
  type ActivationResult,
  type LearningBudget,
  type LearningContext,
  type LearningKeys,
  type LearningResult,
  type SweepResult,
} from "./learning-shard.ts";
export { CoactivationTable, type CoactivationCandidates, type CoactivationOptions } from "./coactivation.ts";
export { CLEANUP_BATCH_LIMIT, cleanupAllowed, cleanupPolicy, planCleanup, type CleanupPlan, type CleanupPolicy, type CleanupReport, type CleanupRequest } from "./cleanup.ts";
export { MemoryConstitutionLog, ShardLogConstitutionLog, replayConstitutionLog, type ConstitutionLog } from "./constitution-log.ts";
export { GuardianStats, type GuardianStatsSnapshot } from "./stats.ts";
export { GuardianFrontend, type CallScope, type ConstitutionSnapshot } from "./frontend.ts";
