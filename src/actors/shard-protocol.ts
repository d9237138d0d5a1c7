/**
 * The message protocol of a graph shard actor (`shard/<n>`), spoken by the coordinator
 * (`GraphRouter`). Everything is plain data with typed arrays, so a codec for the NATS transport
 * can be written without touching the actor.
 *
 * Writes come in three shapes:
 * - `shard.write`: a whole operation on this shard, applied at once (one-shard batches, partial
 *   batches whose items are independent, cascades). Atomic per shard.
 * - `shard.prepare` → `shard.commit`* / `shard.abort`: the two phases of a write that spans shards
 *   (strict multi-shard batches, cross-shard connections). `prepare` validates against the current
 *   state and, on success, fences the shard: later writes wait in a bounded stash until the
 *   transaction commits or aborts, so nothing can invalidate the check in between. Reads continue.
 *   `commit` applies the items of `keep` (all when null); a connect may commit twice (owned edges
 *   first, mirrors second) and releases the fence with `release`.
 * Replies that reveal state (every reply) are released only once every mutation applied before
 * them is durable (commit-wait), so no caller ever sees data that a crash could take back.
 */
import type { ShardSnapshotResult } from "./shard-log.ts";
import type { FieldViolation } from "../core/errors.ts";
import type { Direction, Expansion } from "../core/graph/expansion.ts";
import type { Ask } from "../runtime/index.ts";
import type { CleanupPlan, CleanupPolicy, LearningKeys } from "./guardian/index.ts";

/** 256-bit set of connection types (bit t = byte t >> 3, bit t & 7); null = every type. */
export type TypeFilter = Uint8Array | null;

/** Connection keys, column-wise; entry i is (sources[i], targets[i], types[i]). */
export interface KeyColumns<T extends Uint8Array | Int16Array = Uint8Array> {
  readonly sources: Uint32Array;
  readonly targets: Uint32Array;
  readonly types: T;
}

/** One operation on one shard; items are numbered 0..n-1 within the operation. */
export type ShardOp =
  /**
   * Packed token records (id 0 = allocate). The shard writes allocated ids into `records`.
   * `checked`: the coordinator already checked the values against the same limits.
   */
  /** `framed`: the records are a part of `allocateFramedParts`, this shard's alone (the WAL
   *  may seal its record around them in place). */
  /** `quota`: the ticket of the coordinator's quota reservation this part draws on (`QuotaGate`). */
  | { readonly kind: "insert"; readonly records: Uint8Array; readonly checked?: boolean; readonly framed?: boolean; readonly quota?: number }
  | { readonly kind: "update"; readonly records: Uint8Array }
  | { readonly kind: "delete"; readonly ids: Uint32Array }
  /** Connection records with a local source (owned) or a remote source and local target (mirror). */
  | { readonly kind: "connect"; readonly records: Uint8Array; readonly quota?: number }
  /** Owned connections by key; type −1 = every type between source and target. */
  | { readonly kind: "disconnect"; readonly keys: KeyColumns<Int16Array> }
  /** Removes whichever of these exact keys exist (owned or mirror); never rejects. */
  | { readonly kind: "unlink"; readonly keys: KeyColumns };

export type ShardOpKind = ShardOp["kind"];

export interface WriteReply {
  /** Items applied (disconnect: keys that removed at least one connection). */
  readonly applied: number;
  /** 1 per applied item. */
  readonly accepted: Uint8Array;
  /** Rejected items; `index` is the item's position in the operation. */
  readonly violations: readonly FieldViolation[];
  /** insert: the id of every item (0 when rejected). */
  readonly ids?: Uint32Array;
  /** Authoritative connections removed here (mirrors are not counted). */
  readonly connectionsRemoved: number;
  /** Keys the shard of their *source* must unlink (a deleted local target's remote owners). */
  readonly unlinkAtSource?: KeyColumns;
  /** Keys the shard of their *target* must unlink (mirrors of removed owned connections). */
  readonly unlinkAtTarget?: KeyColumns;
}

/** What a check found: the items a write would reject. */
export interface CheckReport {
  readonly violations: readonly FieldViolation[];
  /** 1 per item that would be rejected. */
  readonly invalid: Uint8Array;
}

export interface PrepareReply extends CheckReport {
  /** The shard holds the transaction (send commit or abort); false when nothing can apply. */
  readonly fenced: boolean;
}

export interface GetReply {
  /** ids.length × 64 bytes; zeros where not found. */
  readonly records: Uint8Array;
  readonly found: Uint8Array;
  readonly count: number;
}

export interface ConnectionsReply {
  /** Records of every id in request order (`counts[i]` records for id i). */
  readonly records: Uint8Array;
  readonly counts: Uint32Array;
  readonly found: Uint8Array;
  /** The shard stopped at the limit. */
  readonly truncated: boolean;
}

export interface SpatialQuery {
  /** `within`: every token within `radius` of `point`; `nearest`: the `limit` nearest. */
  readonly mode: "within" | "nearest";
  readonly space: number;
  /** Decoded units. */
  readonly point: readonly [number, number, number];
  readonly radius: number;
  /** Most results to return (nearest first, then by id). */
  readonly limit: number;
  /** A token id to leave out (the query's own token), 0 for none. */
  readonly exclude: number;
  readonly withRecords: boolean;
}

export interface SpatialReply {
  readonly ids: Uint32Array;
  /** Decoded units, ascending; ties ordered by id. */
  readonly distances: Float64Array;
  /** More tokens matched than `limit`. */
  readonly more: boolean;
  readonly records?: Uint8Array;
}

/** What `shard.mirror-repair` changed (edge reconciliation at node start, `router-repair.ts`). */
export interface MirrorRepairReply {
  readonly mirrorsAdded: number;
  readonly mirrorsUpdated: number;
  readonly mirrorsRemoved: number;
  /** Owned connections (on other shards) whose target token does not exist here: their owners unlink them. */
  readonly dangling: KeyColumns;
}

/** Owned connections of a shard as spring columns (endpoints as token ids). */
export interface SpringColumns {
  readonly count: number;
  readonly source: Uint32Array;
  readonly target: Uint32Array;
  readonly rigidity: Float32Array;
  readonly confidence: Float32Array;
  readonly pull: Float32Array;
  readonly preferredDistance: Float32Array;
  readonly activeSpaces: Uint8Array;
}

/** What the field engine needs of a shard for a batch of steps (copies, slot order). */
export interface FieldSnapshotReply {
  /** The shard's applied LSN when the copy was taken (the engine's apply expects it). */
  readonly lsn: number;
  readonly count: number;
  readonly ids: Uint32Array;
  /** Raw coordinates, 24 per token. */
  readonly positions: Int16Array;
  readonly flags: Uint16Array;
  readonly radii: Uint8Array;
  readonly strengths: Uint8Array;
  readonly springs: SpringColumns;
  /** The field engine's latest persisted state, if this shard keeps it (shard 0). */
  readonly state?: Uint8Array;
}

export interface FieldApplyReply {
  /** false: the shard changed since `expectLsn` (a write came in); nothing was applied. */
  readonly applied: boolean;
  readonly lsn: number;
}

/**
 * Governed learning and maintenance on one shard (keys address connections this shard owns).
 * `granted`: the coordinator took the mutation grants of a strict batch spanning shards already.
 */
export type LearnOp =
  | { readonly kind: "activate"; readonly keys: LearningKeys; readonly strict: boolean }
  | { readonly kind: "feedback"; readonly keys: LearningKeys; readonly success: Uint8Array; readonly strict: boolean; readonly granted: boolean }
  /** Read-only: what activate / feedback would refuse, and the grants the rest needs. */
  | { readonly kind: "check"; readonly keys: LearningKeys; readonly feedback: boolean }
  /** Decay, then promotion / deletion proposals of every owned Hypothesis. */
  | { readonly kind: "sweep" }
  /** Read-only: what a cleanup may remove here. */
  | { readonly kind: "cleanup-plan"; readonly policy: CleanupPolicy }
  /** Read-only: which proposed hypotheses (owned source → target) join tokens connected already. */
  | { readonly kind: "pairs"; readonly sources: Uint32Array; readonly targets: Uint32Array };

export interface LearnReply {
  readonly applied: number;
  /** 1 per applied key (activate, feedback). */
  readonly accepted: Uint8Array;
  readonly violations: readonly FieldViolation[];
  /** check: grants the accepted keys need. */
  readonly edges: number;
  readonly promoted: number;
  readonly deleted: number;
  readonly decayed: number;
  /** activate: endpoints of the activated connections. */
  readonly tokens?: Uint32Array;
  /** Mirrors of removed connections the target's shard must unlink. */
  readonly unlinkAtTarget?: KeyColumns;
  /** Records of changed connections whose target is on another shard: that shard's mirror copies. */
  readonly refreshAtTarget?: Uint8Array;
  readonly plan?: CleanupPlan;
  /** pairs: 1 per proposal to drop. */
  readonly invalid?: Uint8Array;
}

export type ShardMessage =
  | Ask<{ readonly type: "shard.write"; readonly op: ShardOp; readonly partial: boolean }, WriteReply>
  | Ask<
      { readonly type: "shard.prepare"; readonly txn: number; readonly op: ShardOp; readonly partial: boolean; readonly expiresAt: number },
      PrepareReply
    >
  | Ask<{ readonly type: "shard.commit"; readonly txn: number; readonly keep: Uint8Array | null; readonly release: boolean }, WriteReply>
  | Ask<{ readonly type: "shard.abort"; readonly txn: number }, boolean>
  | Ask<{ readonly type: "shard.get"; readonly ids: Uint32Array }, GetReply>
  | Ask<
      {
        readonly type: "shard.expand";
        readonly nodes: Uint32Array;
        readonly direction: Direction;
        readonly types: TypeFilter;
        /** Connections with any of these flags are not followed (e.g. INHIBITORY for activation). */
        readonly skipFlags: number;
      },
      Expansion
    >
  | Ask<
      {
        readonly type: "shard.connections";
        readonly ids: Uint32Array;
        readonly direction: Direction;
        readonly types: TypeFilter;
        readonly limit: number;
      },
      ConnectionsReply
    >
  | Ask<{ readonly type: "shard.spatial"; readonly query: SpatialQuery }, SpatialReply>
  /** Packed records of the owned connections whose target lives on `targetShard` (edge reconciliation). */
  | Ask<{ readonly type: "shard.edge-audit"; readonly targetShard: number }, Uint8Array>
  /**
   * Makes the mirrors here equal to `owned` (every other shard's owned connections into this
   * shard, or with `fromShard` those of that one shard only), logging the changes; replies once
   * they are durable.
   */
  | Ask<{ readonly type: "shard.mirror-repair"; readonly owned: Uint8Array; readonly fromShard?: number }, MirrorRepairReply>
  /** Edge reconciliation: unlinks owned connections whose target token is gone (never waits for the gate). */
  | Ask<{ readonly type: "shard.unlink-dangling"; readonly keys: KeyColumns }, WriteReply>
  /** Recovery is complete (edge reconciliation done): serve the calls that waited. */
  | { readonly type: "shard.open" }
  /** Field engine: a copy of the tokens and owned connections. */
  | Ask<{ readonly type: "shard.field-snapshot" }, FieldSnapshotReply>
  /**
   * Field engine: an encoded `field.result` payload (positions and/or engine state), applied and
   * logged when the shard's applied LSN still equals `expectLsn` (−1: apply unconditionally).
   */
  | Ask<{ readonly type: "shard.field-apply"; readonly payload: Uint8Array; readonly expectLsn: number }, FieldApplyReply>
  /** Learning and maintenance under the guardian (a shard without one answers FAILED_PRECONDITION). */
  | Ask<{ readonly type: "shard.learn"; readonly op: LearnOp }, LearnReply>
  /** Timer: the prepared transaction's deadline passed without a commit or abort. */
  | { readonly type: "shard.fence-expired"; readonly txn: number }
  /** Timer: time to consider a snapshot. */
  | { readonly type: "shard.snapshot-due" }
  /** Snapshot now (AdminService `Snapshot`); replies once the snapshot is durable. */
  | Ask<{ readonly type: "shard.snapshot" }, ShardSnapshotResult>;

export type ShardMessageType = ShardMessage["type"];
