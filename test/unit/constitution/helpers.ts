/** Shared helpers of the constitution tests (not a test file). */
import fc from "fast-check";
import type { FieldViolation } from "../../../src/core/errors.ts";
import {
  cloneConstitution,
  computeChecksum,
  defaultConstitution,
  validateConstitution,
  type Constitution,
} from "../../../src/core/constitution/index.ts";

/** Violations of the default document after `mutate`, resealed so only the mutation is judged. */
export function violationsAfter(mutate: (doc: Constitution) => void): FieldViolation[] {
  const doc = cloneConstitution(defaultConstitution());
  mutate(doc);
  try {
    doc.checksum = computeChecksum(doc);
  } catch {
    return validateConstitution(doc, { checksum: false });
  }
  return validateConstitution(doc);
}

/** Section by name with a non-undefined assertion, for terse mutations in tests. */
export function sections(doc: Constitution): Required<{ [K in keyof Constitution]: NonNullable<Constitution[K]> }> {
  const need = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error("section missing in test document");
    return v;
  };
  return {
    checksum: doc.checksum,
    metadata: need(doc.metadata),
    tokens: need(doc.tokens),
    connections: need(doc.connections),
    physics: need(doc.physics),
    fields: need(doc.fields),
    learning: need(doc.learning),
    quotas: need(doc.quotas),
    sampling: need(doc.sampling),
    validation: need(doc.validation),
  };
}

// Any double but −0 (which protobuf cannot tell from +0; the canonical form is +0).
const dbl = fc.double().map((v) => (v === 0 ? 0 : v));
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.maxSafeNat();
const text = fc.string({ unit: "grapheme", maxLength: 12 });
const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });

/** Arbitrary documents: every field any value of its protobuf type, sections possibly absent. */
export const anyConstitution: fc.Arbitrary<Constitution> = fc.record({
  checksum: u32,
  metadata: opt(fc.record({ version: u64, parentVersion: u64, createdAtUnixMs: u64, author: text, comment: text, profile: fc.integer({ min: 0, max: 4 }) })),
  tokens: opt(
    fc.record({ minWeight: dbl, maxWeight: dbl, minRadiusRaw: u32, maxRadiusRaw: u32, minStrengthRaw: u32, maxStrengthRaw: u32, maxFutureSeconds: u32 }),
  ),
  connections: opt(
    fc.record({
      allowedTypes: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
      minPullStrength: dbl,
      maxPullStrength: dbl,
      minRigidity: dbl,
      maxRigidity: dbl,
      minPreferredDistance: dbl,
      maxPreferredDistance: dbl,
      maxOutDegree: u32,
      maxInDegree: u32,
    }),
  ),
  physics: opt(
    fc.record({
      activeSpaces: u32,
      cellSize: fc.array(dbl, { maxLength: 10 }),
      springConstant: dbl,
      repulsionConstant: dbl,
      gravity: dbl,
      timeStep: dbl,
      temperature: dbl,
      cooling: dbl,
      minTemperature: dbl,
    }),
  ),
  fields: opt(fc.record({ densityThresholdTokens: u32, minFieldTokens: u32, hierarchyMaxLevels: u32, stabilitySteps: u32 })),
  learning: opt(
    fc.record({
      maxMutationsPerInterval: u32,
      mutationIntervalMs: u32,
      promotionMinEvidence: u32,
      promotionMinSuccessRate: dbl,
      deletionMinEvidence: u32,
      deletionMaxSuccessRate: dbl,
      hypothesisInitialConfidence: dbl,
      hypothesisLearningRate: dbl,
      hypothesisDecayRatePerHour: dbl,
      hypothesisMinConfidence: dbl,
      coactivationWindowMs: u32,
      coactivationMinCount: u32,
      hypothesisType: u32,
      hypothesisPullStrength: dbl,
      hypothesisPreferredDistance: dbl,
      promotedLearningRate: dbl,
    }),
  ),
  quotas: opt(
    fc.record({
      maxTokens: u64,
      maxConnections: u64,
      maxStoreBytes: u64,
      maxMemoryBytes: u64,
      softThreshold: dbl,
      rssSampleIntervalMs: u32,
      cleanupInactiveTokenAgeSeconds: u64,
      cleanupWeakHypothesisConfidence: dbl,
    }),
  ),
  sampling: opt(
    fc.record({
      baseRate: dbl,
      targetTracesPerSecond: dbl,
      adjustIntervalMs: u32,
      minRate: dbl,
      maxRate: dbl,
      slowThresholdMs: u32,
      slowKeepShare: dbl,
      allowForceTrace: fc.boolean(),
      allowClientPriority: fc.boolean(),
      allowClientRate: fc.boolean(),
    }),
  ),
  validation: opt(fc.record({ strict: fc.boolean() })),
});
