/**
 * The documented defaults of every constitution parameter (docs/constitution.md has the same
 * table with valid ranges and readers). Each section builder returns a fresh object, so callers
 * may modify what they get without touching anyone else's copy.
 */
import {
  ConstitutionProfile,
  type Constitution,
  type ConstitutionConnectionLimits,
  type ConstitutionFields,
  type ConstitutionLearning,
  type ConstitutionMetadata,
  type ConstitutionPhysics,
  type ConstitutionQuotas,
  type ConstitutionSampling,
  type ConstitutionTokenLimits,
  type ConstitutionValidation,
} from "../../gen/neurograph/v1/constitution.ts";
import { definedConnectionTypes } from "../limits.ts";
import { SCALES } from "../token/layout.ts";

/** Raw int16 units per decoded unit, per space (DESIGN §3.1): the token codec's table. */
export const SPACE_SCALE: readonly number[] = SCALES;

/** Default cell edge: 1000 raw units in every space, so each axis has ~66 cells. */
const CELL_RAW_UNITS = 1000;

export function defaultMetadata(): ConstitutionMetadata {
  return {
    version: 1,
    parentVersion: 0,
    createdAtUnixMs: 0,
    author: "",
    comment: "",
    profile: ConstitutionProfile.CONSTITUTION_PROFILE_DEFAULT,
  };
}

/** Same numbers as DEFAULT_TOKEN_LIMITS of src/core/limits.ts (a test keeps them equal). */
export function defaultTokenLimits(): ConstitutionTokenLimits {
  return {
    minWeight: 0,
    maxWeight: 1,
    minRadiusRaw: 0,
    maxRadiusRaw: 255,
    minStrengthRaw: 0,
    maxStrengthRaw: 255,
    // One hour of clock skew between a producer and this node.
    maxFutureSeconds: 3600,
  };
}

/** Same numbers as DEFAULT_CONNECTION_LIMITS of src/core/limits.ts (a test keeps them equal). */
export function defaultConnectionLimits(): ConstitutionConnectionLimits {
  return {
    allowedTypes: Buffer.from(definedConnectionTypes()),
    minPullStrength: -10,
    maxPullStrength: 10,
    minRigidity: 0,
    maxRigidity: 1,
    minPreferredDistance: 0.01,
    maxPreferredDistance: 100,
    maxOutDegree: 1000,
    maxInDegree: 1000,
  };
}

export function defaultPhysics(): ConstitutionPhysics {
  return {
    activeSpaces: 0xff,
    cellSize: SPACE_SCALE.map((s) => CELL_RAW_UNITS / s),
    springConstant: 0.1,
    repulsionConstant: 0.5,
    gravity: 0.001,
    timeStep: 1,
    // Half a cell per step at first, cooling to 1 % of a cell over ~460 steps.
    temperature: 0.5,
    cooling: 0.99,
    minTemperature: 0.01,
  };
}

export function defaultFields(): ConstitutionFields {
  return {
    densityThresholdTokens: 4,
    minFieldTokens: 8,
    hierarchyMaxLevels: 4,
    stabilitySteps: 10,
  };
}

export function defaultLearning(): ConstitutionLearning {
  return {
    maxMutationsPerInterval: 1000,
    mutationIntervalMs: 1000,
    // DESIGN §3.2: promoted at >= 20 observations and success rate >= 0.7, deleted at <= 0.2.
    promotionMinEvidence: 20,
    promotionMinSuccessRate: 0.7,
    deletionMinEvidence: 20,
    deletionMaxSuccessRate: 0.2,
    hypothesisInitialConfidence: 0.3,
    hypothesisLearningRate: 0.1,
    hypothesisDecayRatePerHour: 0.05,
    hypothesisMinConfidence: 0.1,
    coactivationWindowMs: 1000,
    coactivationMinCount: 5,
    // Associative category, AssociatedWith: a co-activation says "related", nothing stronger.
    hypothesisType: 0x50,
    hypothesisPullStrength: 1,
    hypothesisPreferredDistance: 1,
    promotedLearningRate: 0.125,
  };
}

export function defaultQuotas(): ConstitutionQuotas {
  return {
    maxTokens: 10_000_000,
    maxConnections: 20_000_000,
    maxStoreBytes: 3 * 2 ** 30,
    maxMemoryBytes: 4 * 2 ** 30,
    softThreshold: 0.95,
    rssSampleIntervalMs: 1000,
    // Tokens are user data: cleanup never deletes them unless an operator opts in.
    cleanupInactiveTokenAgeSeconds: 0,
    cleanupWeakHypothesisConfidence: 0.25,
  };
}

export function defaultSampling(): ConstitutionSampling {
  return {
    baseRate: 0.01,
    targetTracesPerSecond: 10,
    adjustIntervalMs: 10_000,
    minRate: 0.0001,
    maxRate: 1,
    slowThresholdMs: 100,
    slowKeepShare: 0.5,
    // A client must not be able to force 100 % tracing unless an operator allows it (DESIGN §7).
    allowForceTrace: false,
    allowClientPriority: true,
    allowClientRate: false,
  };
}

export function defaultValidation(): ConstitutionValidation {
  return { strict: false };
}

/**
 * The default document: version 1, profile Default, created at `createdAtUnixMs` (0 unless
 * given, so the default document and its checksum are reproducible). The checksum is not set
 * here; use `defaultConstitution` of ./canonical.ts for a sealed document.
 */
export function defaultSections(createdAtUnixMs = 0): Constitution {
  return {
    checksum: 0,
    metadata: { ...defaultMetadata(), createdAtUnixMs },
    tokens: defaultTokenLimits(),
    connections: defaultConnectionLimits(),
    physics: defaultPhysics(),
    fields: defaultFields(),
    learning: defaultLearning(),
    quotas: defaultQuotas(),
    sampling: defaultSampling(),
    validation: defaultValidation(),
  };
}
