/**
 * The compiled view: a frozen, plain copy of a valid constitution in the shapes hot paths use
 * (numbers and typed arrays, no protobuf objects). Shard actors keep one and validate batches
 * against it locally, with no message round trip; the guardian hands out a new one per version.
 *
 * Typed arrays (allowed types, cell sizes) cannot be frozen: they are private copies made for
 * this view, and readers must treat them as read-only.
 */
import type { Constitution, ConstitutionProfile } from "../../gen/neurograph/v1/constitution.ts";
import type { ConnectionLimits, TokenLimits } from "../limits.ts";
import { assertValidConstitution } from "./validate.ts";

/** Read by the force kernels, the spatial index and field detection. */
export interface PhysicsParams {
  /** Bit s = space s active. */
  readonly activeSpaces: number;
  /** 8 cell edge lengths in decoded units. */
  readonly cellSize: Float64Array;
  readonly springConstant: number;
  readonly repulsionConstant: number;
  readonly gravity: number;
  readonly timeStep: number;
  /** Initial and minimum maximum displacement per step, in cell sizes. */
  readonly temperature: number;
  readonly minTemperature: number;
  /** Temperature factor per step, (0, 1]. */
  readonly cooling: number;
}

/** Read by field detection and hierarchy formation. */
export interface FieldParams {
  readonly densityThresholdTokens: number;
  readonly minFieldTokens: number;
  readonly hierarchyMaxLevels: number;
  readonly stabilitySteps: number;
}

/** Read by learning and the guardian's mutation-rate cap. Rates are in [0, 1]. */
export interface LearningParams {
  /** 0 = learning disabled. */
  readonly maxMutationsPerInterval: number;
  readonly mutationIntervalMs: number;
  readonly promotionMinEvidence: number;
  readonly promotionMinSuccessRate: number;
  readonly deletionMinEvidence: number;
  readonly deletionMaxSuccessRate: number;
  readonly hypothesisInitialConfidence: number;
  readonly hypothesisLearningRate: number;
  readonly hypothesisDecayRatePerHour: number;
  readonly hypothesisMinConfidence: number;
  readonly coactivationWindowMs: number;
  readonly coactivationMinCount: number;
  readonly hypothesisType: number;
  readonly hypothesisPullStrength: number;
  readonly hypothesisPreferredDistance: number;
  readonly promotedLearningRate: number;
}

/**
 * Read by the guardian's quota checks. Limits of 0 (unlimited) in the document are Infinity
 * here, and the soft limits are precomputed, so a check is one comparison.
 */
export interface QuotaParams {
  readonly maxTokens: number;
  readonly maxConnections: number;
  readonly maxStoreBytes: number;
  readonly maxMemoryBytes: number;
  readonly softThreshold: number;
  /** limit × softThreshold (Infinity when unlimited). */
  readonly softTokens: number;
  readonly softConnections: number;
  readonly softStoreBytes: number;
  readonly softMemoryBytes: number;
  readonly rssSampleIntervalMs: number;
  /** 0 = cleanup never deletes tokens. */
  readonly cleanupInactiveTokenAgeSeconds: number;
  /** 0 = cleanup never deletes hypotheses. */
  readonly cleanupWeakHypothesisConfidence: number;
}

/** Read by src/sampling. */
export interface SamplingParams {
  readonly baseRate: number;
  /** 0 = no dynamic adjustment. */
  readonly targetTracesPerSecond: number;
  readonly adjustIntervalMs: number;
  readonly minRate: number;
  readonly maxRate: number;
  readonly slowThresholdMs: number;
  readonly slowKeepShare: number;
  readonly allowForceTrace: boolean;
  readonly allowClientPriority: boolean;
  readonly allowClientRate: boolean;
}

export interface CompiledConstitution {
  readonly version: number;
  readonly checksum: number;
  readonly profile: ConstitutionProfile;
  /** Strict mode: a batch with any invalid item is rejected whole. */
  readonly strict: boolean;
  readonly tokens: TokenLimits;
  readonly connections: ConnectionLimits;
  readonly physics: PhysicsParams;
  readonly fields: FieldParams;
  readonly learning: LearningParams;
  readonly quotas: QuotaParams;
  readonly sampling: SamplingParams;
}

const unlimited = (v: number): number => (v === 0 ? Infinity : v);

/** Compiles a valid document; throws a ValidationError listing every violation otherwise. */
export function compileConstitution(doc: Constitution): CompiledConstitution {
  assertValidConstitution(doc);
  // Validation guarantees every section is present.
  const { metadata: m, tokens: t, connections: k, physics: p, fields: f, learning: l, quotas: q, sampling: s, validation: v } = doc as Required<{
    [K in keyof Constitution]: NonNullable<Constitution[K]>;
  }>;
  const quota = (limit: number): [number, number] => {
    const max = unlimited(limit);
    return [max, max * q.softThreshold];
  };
  const [maxTokens, softTokens] = quota(q.maxTokens);
  const [maxConnections, softConnections] = quota(q.maxConnections);
  const [maxStoreBytes, softStoreBytes] = quota(q.maxStoreBytes);
  const [maxMemoryBytes, softMemoryBytes] = quota(q.maxMemoryBytes);
  return Object.freeze({
    version: m.version,
    checksum: doc.checksum,
    profile: m.profile,
    strict: v.strict,
    tokens: Object.freeze({
      minWeight: t.minWeight,
      maxWeight: t.maxWeight,
      minRadiusRaw: t.minRadiusRaw,
      maxRadiusRaw: t.maxRadiusRaw,
      minStrengthRaw: t.minStrengthRaw,
      maxStrengthRaw: t.maxStrengthRaw,
      maxFutureSeconds: t.maxFutureSeconds,
    }),
    connections: Object.freeze({
      allowedTypes: Uint8Array.from(k.allowedTypes),
      minPull: k.minPullStrength,
      maxPull: k.maxPullStrength,
      minRigidity: k.minRigidity,
      maxRigidity: k.maxRigidity,
      minPreferredDistance: k.minPreferredDistance,
      maxPreferredDistance: k.maxPreferredDistance,
      maxOutDegree: k.maxOutDegree,
      maxInDegree: k.maxInDegree,
    }),
    physics: Object.freeze({
      activeSpaces: p.activeSpaces,
      cellSize: Float64Array.from(p.cellSize),
      springConstant: p.springConstant,
      repulsionConstant: p.repulsionConstant,
      gravity: p.gravity,
      timeStep: p.timeStep,
      temperature: p.temperature,
      minTemperature: p.minTemperature,
      cooling: p.cooling,
    }),
    fields: Object.freeze({ ...f }),
    learning: Object.freeze({ ...l }),
    quotas: Object.freeze({
      maxTokens,
      maxConnections,
      maxStoreBytes,
      maxMemoryBytes,
      softThreshold: q.softThreshold,
      softTokens,
      softConnections,
      softStoreBytes,
      softMemoryBytes,
      rssSampleIntervalMs: q.rssSampleIntervalMs,
      cleanupInactiveTokenAgeSeconds: q.cleanupInactiveTokenAgeSeconds,
      cleanupWeakHypothesisConfidence: q.cleanupWeakHypothesisConfidence,
    }),
    sampling: Object.freeze({ ...s }),
  });
}
