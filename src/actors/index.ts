/**
 * The actors of a node: graph shard actors and the coordinator that fans requests out to them,
 * plus the durability seam (`ShardLog`) the WAL implements.
 */
export {
  VolatileShardLog,
  type AppendTicket,
  type RecoveryHandler,
  type RecoveryReport,
  type ShardLog,
  type ShardLogStats,
  type ShardMutation,
  type ShardMutationKind,
  type ShardSnapshotData,
} from "./shard-log.ts";
export { applyMutation, type AppliedMutation } from "./apply-mutation.ts";
export { GraphShardActor, type GraphShardEnv } from "./graph-shard.ts";
export { ShardJournal, type SnapshotPolicy } from "./shard-journal.ts";
export { GraphRouter, type GraphRouterOptions } from "./graph-router.ts";
export type { EdgeRepairReport } from "./router-repair.ts";
export { GraphLearning, type ActivateOutcome, type FeedbackOutcome } from "./router-learning.ts";
export { ShardBoard, SHARD_STATES, type ShardRow, type ShardStateName } from "./shard-board.ts";
export type * from "./shard-protocol.ts";
export { FieldEngineActor, type FieldEngineEnv, type FieldEngineMessage, type HierarchyView, type RunStatus, type StepReport } from "./field-engine.ts";
export { FieldEventHub, type FieldEvent, type FieldEventKind } from "./field-events.ts";
export type { FieldWriter } from "./field-plan-writes.ts";
