/**
 * Whole-document validation: every problem of a document is reported, one FieldViolation each,
 * so one round trip fixes a whole update. Field names are the .proto names
 * (`connections.max_pull_strength`, `physics.cell_size[3]`).
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
import { ValidationError, type FieldViolation } from "../errors.ts";
import { isTypeAllowed } from "../limits.ts";
import { computeChecksum, decodeConstitution, encodeConstitution } from "./canonical.ts";
import { Checker, DocumentRule, snake } from "./checks.ts";
import { SPACE_SCALE } from "./defaults.ts";

/** Fixed bounds of the record formats (DESIGN §3.1, §3.2); the constitution may only narrow them. */
export const FORMAT_BOUNDS = Object.freeze({
  pullStrength: [-10, 10] as const,
  rigidity: [0, 1] as const,
  preferredDistance: [0.01, 100] as const,
  /** Connection types 0x00..0xAF are defined (11 categories of 16). */
  definedTypes: 0xb0,
  /** The token flags hold the hierarchy level in 4 bits. */
  maxHierarchyLevel: 15,
  authorBytes: 256,
  commentBytes: 1024,
  minRssSampleIntervalMs: 1000,
  minAdjustIntervalMs: 100,
});

const PROFILES: ReadonlySet<number> = new Set([
  ConstitutionProfile.CONSTITUTION_PROFILE_DEFAULT,
  ConstitutionProfile.CONSTITUTION_PROFILE_EXPLORER,
  ConstitutionProfile.CONSTITUTION_PROFILE_ANALYST,
  ConstitutionProfile.CONSTITUTION_PROFILE_CREATIVE,
]);

export interface ConstitutionValidationOptions {
  /** Check the checksum field (default true). Off for a draft that is not sealed yet. */
  readonly checksum?: boolean;
}

/** All violations of `doc` (empty = valid), including a checksum that does not match. */
export function validateConstitution(doc: Constitution, options: ConstitutionValidationOptions = {}): FieldViolation[] {
  const c = new Checker();
  const present = <T>(name: string, section: T | undefined): section is T =>
    (section !== undefined && section !== null) ||
    c.fail(name, section, DocumentRule.sectionMissing, `the ${name} section is required; start from the default document and change what you need`);

  if (present("metadata", doc.metadata)) checkMetadata(c, doc.metadata);
  if (present("tokens", doc.tokens)) checkTokens(c, doc.tokens);
  const connectionsOk = present("connections", doc.connections) && checkConnections(c, doc.connections);
  if (present("physics", doc.physics)) checkPhysics(c, doc.physics);
  if (present("fields", doc.fields)) checkFields(c, doc.fields);
  if (present("learning", doc.learning)) checkLearning(c, doc.learning, connectionsOk ? doc.connections : undefined);
  if (present("quotas", doc.quotas)) checkQuotas(c, doc.quotas);
  if (present("sampling", doc.sampling)) checkSampling(c, doc.sampling);
  if (present("validation", doc.validation)) checkValidation(c, doc.validation);

  if (c.uint32("checksum", doc.checksum) && options.checksum !== false) {
    const want = checksumOf(doc);
    // undefined: some value cannot be encoded at all; that value is reported above.
    if (want !== undefined && want !== doc.checksum) {
      c.fail("checksum", hex(doc.checksum), DocumentRule.checksumMismatch, `does not match the contents (expected ${hex(want)}); the document was changed without being resealed, or damaged`);
    }
  }
  return c.violations;
}

/**
 * All violations of `next` as an update of `current`: the document rules plus the version rule
 * (next.version = current.version + 1).
 */
export function validateConstitutionUpdate(current: Constitution, next: Constitution, options: ConstitutionValidationOptions = {}): FieldViolation[] {
  const violations = validateConstitution(next, options);
  const cur = current.metadata?.version;
  const ver = next.metadata?.version;
  if (typeof cur === "number" && typeof ver === "number" && ver !== cur + 1) {
    violations.push({
      field: "metadata.version",
      value: String(ver),
      rule: DocumentRule.versionSequence,
      description: `must be ${cur + 1}: an update gets the current version (${cur}) + 1`,
    });
  }
  return violations;
}

/**
 * Validates a stored or received document as bytes: decodable, in canonical form (so the bytes
 * are exactly what the checksum and the history stand for), and valid. Returns the decoded
 * document when there are no violations.
 */
export function validateConstitutionBytes(bytes: Uint8Array): { doc: Constitution | undefined; violations: FieldViolation[] } {
  let doc: Constitution;
  try {
    doc = decodeConstitution(bytes);
  } catch (err: unknown) {
    if (err instanceof ValidationError) return { doc: undefined, violations: [...err.violations] };
    throw err;
  }
  const violations = validateConstitution(doc);
  let canonical: Uint8Array | undefined;
  try {
    canonical = encodeConstitution(doc);
  } catch {
    canonical = undefined; // a value the encoder refuses is reported above
  }
  if (canonical !== undefined && !sameBytes(canonical, bytes)) {
    violations.push({
      field: "constitution",
      value: `${bytes.length} bytes`,
      rule: DocumentRule.nonCanonical,
      description: `not in canonical form (re-encoded it is ${canonical.length} bytes): unknown fields, defaults written out or fields out of order; send encodeConstitution(doc)`,
    });
  }
  return { doc: violations.length === 0 ? doc : undefined, violations };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Throws a ValidationError listing every violation when `doc` is not valid. */
export function assertValidConstitution(doc: Constitution): void {
  const violations = validateConstitution(doc);
  if (violations.length > 0) throw ValidationError.of("constitution", violations);
}

function checksumOf(doc: Constitution): number | undefined {
  try {
    return computeChecksum(doc);
  } catch {
    return undefined;
  }
}

function hex(v: number): string {
  return `0x${(v >>> 0).toString(16).padStart(8, "0")}`;
}

function checkMetadata(c: Checker, m: ConstitutionMetadata): void {
  if (c.uint64("metadata.version", m.version) && m.version < 1) {
    c.fail("metadata.version", m.version, DocumentRule.versionPositive, "must be 1 or greater");
  }
  if (c.uint64("metadata.parent_version", m.parentVersion) && typeof m.version === "number" && m.version >= 1 && m.parentVersion !== m.version - 1) {
    c.fail("metadata.parent_version", m.parentVersion, DocumentRule.parentVersion, `must be version − 1 (${m.version - 1})`);
  }
  c.uint64("metadata.created_at_unix_ms", m.createdAtUnixMs);
  c.text("metadata.author", m.author, FORMAT_BOUNDS.authorBytes);
  c.text("metadata.comment", m.comment, FORMAT_BOUNDS.commentBytes);
  if (!PROFILES.has(m.profile)) {
    c.fail("metadata.profile", m.profile, DocumentRule.profileUnknown, "must be one of DEFAULT (1), EXPLORER (2), ANALYST (3), CREATIVE (4)");
  }
}

function checkTokens(c: Checker, t: ConstitutionTokenLimits): void {
  const minW = c.finite("tokens.min_weight", t.minWeight, true);
  const maxW = c.finite("tokens.max_weight", t.maxWeight, true);
  if (minW && maxW) c.order("tokens.min_weight", t.minWeight, "tokens.max_weight", t.maxWeight);
  if (c.byte("tokens.min_radius_raw", t.minRadiusRaw) && c.byte("tokens.max_radius_raw", t.maxRadiusRaw)) {
    c.order("tokens.min_radius_raw", t.minRadiusRaw, "tokens.max_radius_raw", t.maxRadiusRaw);
  }
  if (c.byte("tokens.min_strength_raw", t.minStrengthRaw) && c.byte("tokens.max_strength_raw", t.maxStrengthRaw)) {
    c.order("tokens.min_strength_raw", t.minStrengthRaw, "tokens.max_strength_raw", t.maxStrengthRaw);
  }
  c.uint32("tokens.max_future_seconds", t.maxFutureSeconds);
}

/** A range field pair inside fixed bounds; true when both ends are usable numbers. */
function checkRange(c: Checker, section: string, name: string, min: unknown, max: unknown, lo: number, hi: number): boolean {
  const minField = `${section}.min_${name}`;
  const maxField = `${section}.max_${name}`;
  const minOk = c.finite(minField, min, true) && c.bounds(minField, min, lo, hi);
  const maxOk = c.finite(maxField, max, true) && c.bounds(maxField, max, lo, hi);
  return minOk && maxOk && c.order(minField, min, maxField, max);
}

/** Returns true when the limits are usable for cross-checks (learning's hypothesis values). */
function checkConnections(c: Checker, k: ConstitutionConnectionLimits): boolean {
  let ok = true;
  const bits = k.allowedTypes;
  if (!(bits instanceof Uint8Array) || bits.length !== 32) {
    ok = c.fail("connections.allowed_types", bits, DocumentRule.allowedTypesSize, "must be exactly 32 bytes (a 256-bit set, bit t = type t)");
  } else {
    const undefinedTypes: string[] = [];
    for (let t = FORMAT_BOUNDS.definedTypes; t < 256; t++) if (isTypeAllowed(bits, t)) undefinedTypes.push(`0x${t.toString(16)}`);
    if (undefinedTypes.length > 0) {
      ok = c.fail("connections.allowed_types", bits, DocumentRule.allowedTypesUndefined, `allows undefined connection types ${undefinedTypes.slice(0, 4).join(", ")}${undefinedTypes.length > 4 ? ", …" : ""}; only 0x00..0xaf exist`);
    }
  }
  const B = FORMAT_BOUNDS;
  ok = checkRange(c, "connections", "pull_strength", k.minPullStrength, k.maxPullStrength, B.pullStrength[0], B.pullStrength[1]) && ok;
  ok = checkRange(c, "connections", "rigidity", k.minRigidity, k.maxRigidity, B.rigidity[0], B.rigidity[1]) && ok;
  ok = checkRange(c, "connections", "preferred_distance", k.minPreferredDistance, k.maxPreferredDistance, B.preferredDistance[0], B.preferredDistance[1]) && ok;
  c.uint32("connections.max_out_degree", k.maxOutDegree);
  c.uint32("connections.max_in_degree", k.maxInDegree);
  return ok;
}

function checkPhysics(c: Checker, p: ConstitutionPhysics): void {
  if (c.uint32("physics.active_spaces", p.activeSpaces) && p.activeSpaces > 0xff) {
    c.fail("physics.active_spaces", p.activeSpaces, DocumentRule.spaceMask, "must be an 8-bit mask (bits 0..7 = spaces L1..L8)");
  }
  if (!Array.isArray(p.cellSize) || p.cellSize.length !== SPACE_SCALE.length) {
    c.fail("physics.cell_size", p.cellSize, DocumentRule.cellSizeCount, `must hold exactly ${SPACE_SCALE.length} values, one per space`);
  } else {
    p.cellSize.forEach((v, s) => {
      const field = `physics.cell_size[${s}]`;
      const min = 1 / SPACE_SCALE[s]!;
      if (c.finite(field, v) && !(v >= min)) {
        c.fail(field, v, DocumentRule.cellSizeResolution, `must be at least one raw unit of the space (${min} decoded units)`);
      }
    });
  }
  for (const name of ["springConstant", "repulsionConstant", "gravity"] as const) {
    const f = `physics.${snake(name)}`;
    if (c.finite(f, p[name])) c.nonNegative(f, p[name]);
  }
  if (c.finite("physics.time_step", p.timeStep)) c.positive("physics.time_step", p.timeStep);
  const temperatureOk = c.finite("physics.temperature", p.temperature) && c.positive("physics.temperature", p.temperature);
  if (c.finite("physics.cooling", p.cooling) && !(p.cooling > 0 && p.cooling <= 1)) {
    c.fail("physics.cooling", p.cooling, DocumentRule.coolingRange, "must be within (0, 1]: the temperature factor per step");
  }
  if (c.finite("physics.min_temperature", p.minTemperature) && c.nonNegative("physics.min_temperature", p.minTemperature) && temperatureOk) {
    c.order("physics.min_temperature", p.minTemperature, "physics.temperature", p.temperature);
  }
}

function checkFields(c: Checker, f: ConstitutionFields): void {
  for (const name of ["densityThresholdTokens", "minFieldTokens", "stabilitySteps"] as const) {
    const field = `fields.${snake(name)}`;
    if (c.uint32(field, f[name])) c.positive(field, f[name]);
  }
  if (c.uint32("fields.hierarchy_max_levels", f.hierarchyMaxLevels) && f.hierarchyMaxLevels > FORMAT_BOUNDS.maxHierarchyLevel) {
    c.fail("fields.hierarchy_max_levels", f.hierarchyMaxLevels, DocumentRule.hierarchyLevels, `must be at most ${FORMAT_BOUNDS.maxHierarchyLevel}: the token flags hold the level in 4 bits`);
  }
}

function checkLearning(c: Checker, l: ConstitutionLearning, limits: ConstitutionConnectionLimits | undefined): void {
  c.uint32("learning.max_mutations_per_interval", l.maxMutationsPerInterval);
  for (const name of ["mutationIntervalMs", "promotionMinEvidence", "deletionMinEvidence", "coactivationWindowMs", "coactivationMinCount"] as const) {
    const field = `learning.${snake(name)}`;
    if (c.uint32(field, l[name])) c.positive(field, l[name]);
  }
  const unit = (name: keyof ConstitutionLearning): boolean => c.unit(`learning.${snake(name)}`, l[name]);
  const promo = unit("promotionMinSuccessRate");
  const del = unit("deletionMaxSuccessRate");
  if (promo && del && !(l.deletionMaxSuccessRate < l.promotionMinSuccessRate)) {
    c.fail("learning.deletion_max_success_rate", l.deletionMaxSuccessRate, DocumentRule.promotionDeletionOverlap, `must be below learning.promotion_min_success_rate (${l.promotionMinSuccessRate}), or a hypothesis could be both promoted and deleted`);
  }
  const init = unit("hypothesisInitialConfidence");
  const min = unit("hypothesisMinConfidence");
  if (init && min && !(l.hypothesisInitialConfidence > l.hypothesisMinConfidence)) {
    c.fail("learning.hypothesis_initial_confidence", l.hypothesisInitialConfidence, DocumentRule.hypothesisConfidenceOrder, `must be above learning.hypothesis_min_confidence (${l.hypothesisMinConfidence}), or new hypotheses are deleted at once`);
  }
  unit("hypothesisLearningRate");
  unit("hypothesisDecayRatePerHour");
  unit("promotedLearningRate");
  if (c.byte("learning.hypothesis_type", l.hypothesisType) && limits !== undefined && !isTypeAllowed(limits.allowedTypes, l.hypothesisType)) {
    c.fail("learning.hypothesis_type", l.hypothesisType, DocumentRule.hypothesisTypeNotAllowed, "must be a connection type allowed by connections.allowed_types");
  }
  if (c.finite("learning.hypothesis_pull_strength", l.hypothesisPullStrength, true) && limits !== undefined) {
    const [lo, hi] = [limits.minPullStrength, limits.maxPullStrength];
    if (!(l.hypothesisPullStrength >= lo && l.hypothesisPullStrength <= hi)) {
      c.fail("learning.hypothesis_pull_strength", l.hypothesisPullStrength, DocumentRule.hypothesisOutOfLimits, `must be within the connection pull range [${lo}, ${hi}]`);
    }
  }
  if (c.finite("learning.hypothesis_preferred_distance", l.hypothesisPreferredDistance, true) && limits !== undefined) {
    const [lo, hi] = [limits.minPreferredDistance, limits.maxPreferredDistance];
    if (!(l.hypothesisPreferredDistance >= lo && l.hypothesisPreferredDistance <= hi)) {
      c.fail("learning.hypothesis_preferred_distance", l.hypothesisPreferredDistance, DocumentRule.hypothesisOutOfLimits, `must be within the connection preferred-distance range [${lo}, ${hi}]`);
    }
  }
}

function checkQuotas(c: Checker, q: ConstitutionQuotas): void {
  for (const name of ["maxTokens", "maxConnections", "maxStoreBytes", "maxMemoryBytes", "cleanupInactiveTokenAgeSeconds"] as const) {
    c.uint64(`quotas.${snake(name)}`, q[name]);
  }
  if (c.finite("quotas.soft_threshold", q.softThreshold) && !(q.softThreshold > 0 && q.softThreshold <= 1)) {
    c.fail("quotas.soft_threshold", q.softThreshold, DocumentRule.softThresholdRange, "must be within (0, 1]: the share of a limit at which cleanup starts");
  }
  if (c.uint32("quotas.rss_sample_interval_ms", q.rssSampleIntervalMs) && q.rssSampleIntervalMs < FORMAT_BOUNDS.minRssSampleIntervalMs) {
    c.fail("quotas.rss_sample_interval_ms", q.rssSampleIntervalMs, DocumentRule.rssSampleInterval, `must be at least ${FORMAT_BOUNDS.minRssSampleIntervalMs}: RSS is sampled at most once a second`);
  }
  c.unit("quotas.cleanup_weak_hypothesis_confidence", q.cleanupWeakHypothesisConfidence);
}

function checkSampling(c: Checker, s: ConstitutionSampling): void {
  const minOk = c.unit("sampling.min_rate", s.minRate);
  const maxOk = c.unit("sampling.max_rate", s.maxRate);
  const rangeOk = minOk && maxOk && c.order("sampling.min_rate", s.minRate, "sampling.max_rate", s.maxRate);
  if (c.unit("sampling.base_rate", s.baseRate) && rangeOk && !(s.baseRate >= s.minRate && s.baseRate <= s.maxRate)) {
    c.fail("sampling.base_rate", s.baseRate, DocumentRule.baseRateBounds, `must be within [sampling.min_rate, sampling.max_rate] = [${s.minRate}, ${s.maxRate}]`);
  }
  if (c.finite("sampling.target_traces_per_second", s.targetTracesPerSecond)) c.nonNegative("sampling.target_traces_per_second", s.targetTracesPerSecond);
  if (c.uint32("sampling.adjust_interval_ms", s.adjustIntervalMs) && s.adjustIntervalMs < FORMAT_BOUNDS.minAdjustIntervalMs) {
    c.fail("sampling.adjust_interval_ms", s.adjustIntervalMs, DocumentRule.adjustInterval, `must be at least ${FORMAT_BOUNDS.minAdjustIntervalMs}`);
  }
  if (c.uint32("sampling.slow_threshold_ms", s.slowThresholdMs)) c.positive("sampling.slow_threshold_ms", s.slowThresholdMs);
  c.unit("sampling.slow_keep_share", s.slowKeepShare);
  c.boolean("sampling.allow_force_trace", s.allowForceTrace);
  c.boolean("sampling.allow_client_priority", s.allowClientPriority);
  c.boolean("sampling.allow_client_rate", s.allowClientRate);
}

function checkValidation(c: Checker, v: ConstitutionValidation): void {
  c.boolean("validation.strict", v.strict);
}
