/**
 * Data of the hierarchy planner: its parameters (constitution), its persistent state and the
 * plan of writes it returns. All plain data, so the field actor can log and persist it.
 */
import { type FieldViolation, ValidationError } from "../errors.ts";
import { ConnectionCategory, type Mutability } from "../connection/layout.ts";
import { MAX_HIERARCHY_LEVEL } from "../token/flags.ts";
import type { ParentAffinity } from "./affinity.ts";
import type { TrackedField } from "./tracking.ts";

/** PartOf: the first type of the structural category (0x60). */
export const CONNECTION_TYPE_PART_OF = ConnectionCategory.Structural;

export interface HierarchyParams {
  /** Consecutive detections a field (or cluster) must exist before it gets a parent. Default 5. */
  readonly stabilitySteps: number;
  /** Highest parent level (1..15). Default 3. */
  readonly maxLevels: number;
  /** Parents a cluster needs to get a parent of its own. Default 2. */
  readonly minChildren: number;
  /** Fraction of linked leaves (on both sides) at which two parents of a level are joined. Default 0.15. */
  readonly parentLinkDensity: number;
  /** Domain (id bits 28-31) of the parent ids the planner assigns. Default 15. */
  readonly parentIdDomain: number;
  /** Weight of a new parent token. Default 0.5. */
  readonly parentWeight: number;
  /** Spring parameters of PartOf connections (type 0x60). */
  readonly partOfRigidity: number;
  readonly partOfPull: number;
  readonly partOfPreferredDistance: number;
  readonly partOfConfidence: number;
}

export const DEFAULT_HIERARCHY_PARAMS: HierarchyParams = Object.freeze({
  stabilitySteps: 5,
  maxLevels: 3,
  minChildren: 2,
  parentLinkDensity: 0.15,
  parentIdDomain: 15,
  parentWeight: 0.5,
  partOfRigidity: 1,
  partOfPull: 0.02,
  partOfPreferredDistance: 0.1,
  partOfConfidence: 1,
});

export function validateHierarchyParams(p: HierarchyParams): HierarchyParams {
  const v: FieldViolation[] = [];
  const int = (field: string, value: number, min: number, max: number): void => {
    if (!Number.isInteger(value) || value < min || value > max) {
      v.push({ field, value: String(value), rule: `${field}_range`, description: `must be an integer in [${min}, ${max}]` });
    }
  };
  const num = (field: string, value: number, min: number, max: number): void => {
    if (!Number.isFinite(value) || value < min || value > max) {
      v.push({ field, value: String(value), rule: `${field}_range`, description: `must be a number in [${min}, ${max}]` });
    }
  };
  int("stabilitySteps", p.stabilitySteps, 1, 1_000_000);
  int("maxLevels", p.maxLevels, 0, MAX_HIERARCHY_LEVEL);
  int("minChildren", p.minChildren, 2, 1_000_000);
  num("parentLinkDensity", p.parentLinkDensity, 0, 1e9);
  int("parentIdDomain", p.parentIdDomain, 0, 15);
  num("parentWeight", p.parentWeight, 0, 1e9);
  num("partOfRigidity", p.partOfRigidity, 0, 1);
  num("partOfPull", p.partOfPull, -10, 10);
  num("partOfPreferredDistance", p.partOfPreferredDistance, 0.01, 100);
  num("partOfConfidence", p.partOfConfidence, 0, 1);
  if (v.length > 0) throw ValidationError.of("hierarchy parameters", v);
  return p;
}

/** An active parent token. */
export interface ParentRecord {
  readonly id: number;
  /** ≥ 1 */
  readonly level: number;
  /** Ids of the fields (level 1) or clusters (level ≥ 2) it stands for; the first is primary. */
  readonly sources: readonly number[];
  /** Children ids, ascending: tokens for level 1, level-(ℓ−1) parents above. */
  readonly members: Uint32Array;
  /** Level-0 tokens below it. */
  readonly leafCount: number;
  /** Centroid of its leaves in all 8 spaces, raw (rounded). */
  readonly centroidRaw: Int16Array;
}

/** A cluster of parents of one level, tracked across detections like a field. */
export interface ParentCluster {
  readonly id: number;
  /** Level of the member parents. */
  readonly level: number;
  readonly members: Uint32Array;
  readonly age: number;
}

export interface HierarchyState {
  /** Sequence of the next parent id (id = domain << 28 | seq). */
  readonly nextSeq: number;
  readonly nextClusterId: number;
  /** Active parents, ascending id. */
  readonly parents: readonly ParentRecord[];
  readonly clusters: readonly ParentCluster[];
}

export const EMPTY_HIERARCHY: HierarchyState = Object.freeze({ nextSeq: 1, nextClusterId: 1, parents: [], clusters: [] });

export interface HierarchyInput {
  /** This detection's tracked level-0 fields of every space. */
  readonly fields: readonly TrackedField[];
  /** Leaf connection counts between active parents of the same level (see `parentAffinities`). */
  readonly affinities: readonly ParentAffinity[];
}

/** A parent token to create (token record fields). */
export interface ParentTokenWrite {
  readonly id: number;
  readonly level: number;
  readonly entityType: number;
  /** ACTIVE | entity type << 8 | level << 12 */
  readonly flags: number;
  readonly coords: Int16Array;
  readonly weight: number;
  /** Raw radius and strength bytes: 0, a parent is a passive anchor that does not repel. */
  readonly radiusRaw: number;
  readonly strengthRaw: number;
}

/** PartOf connections, source = member, target = parent. */
export interface PartOfBatch {
  readonly source: Uint32Array;
  readonly target: Uint32Array;
}

/** The record fields every PartOf connection of a plan shares (connection/layout.ts). */
export interface PartOfTemplate {
  readonly type: number;
  /** CONNECTION_FLAGS.ACTIVE */
  readonly flags: number;
  /** Structural connections are Immutable. */
  readonly mutability: Mutability;
  readonly rigidity: number;
  readonly pull: number;
  readonly preferredDistance: number;
  readonly confidence: number;
  /** 0 = all spaces. */
  readonly activeSpaces: number;
}

export interface HierarchyPlan {
  readonly createParents: readonly ParentTokenWrite[];
  /** Parents to deactivate (clear ACTIVE); their PartOf connections are in `disconnect`. */
  readonly deactivateParents: Uint32Array;
  readonly connect: PartOfBatch;
  readonly disconnect: PartOfBatch;
  readonly partOf: PartOfTemplate;
}
