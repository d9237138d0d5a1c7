/**
 * The constitution (CDNA): defaults, profiles, canonical encoding and checksum, whole-document
 * validation, versioned updates, bounded history, the compiled view for hot paths, and batch
 * validation of connection records. Reference: docs/constitution.md.
 */
export {
  Constitution,
  ConstitutionProfile,
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
export {
  SPACE_SCALE,
  defaultConnectionLimits,
  defaultFields,
  defaultLearning,
  defaultMetadata,
  defaultPhysics,
  defaultQuotas,
  defaultSampling,
  defaultSections,
  defaultTokenLimits,
  defaultValidation,
} from "./defaults.ts";
export {
  canonicalBytes,
  cloneConstitution,
  computeChecksum,
  decodeConstitution,
  defaultConstitution,
  encodeConstitution,
  sealConstitution,
} from "./canonical.ts";
export { DocumentRule } from "./checks.ts";
export {
  FORMAT_BOUNDS,
  assertValidConstitution,
  validateConstitution,
  validateConstitutionBytes,
  validateConstitutionUpdate,
  type ConstitutionValidationOptions,
} from "./validate.ts";
export {
  PATCH_SECTIONS,
  applyPatch,
  draftNextVersion,
  nextVersion,
  type ConstitutionChange,
  type ConstitutionPatch,
} from "./update.ts";
export {
  PROFILE_BY_NAME,
  PROFILE_OVERRIDES,
  constitutionForProfile,
  profileName,
  profilePatch,
  switchProfile,
  type ProfileName,
} from "./profiles.ts";
export { ConstitutionHistory, type HistoryEntry } from "./history.ts";
export {
  compileConstitution,
  type CompiledConstitution,
  type FieldParams,
  type LearningParams,
  type PhysicsParams,
  type QuotaParams,
  type SamplingParams,
} from "./compiled.ts";
export { ConnectionRule, validateConnectionRecords, type ConnectionValidationOptions } from "./records.ts";
export { splitValid, type BatchVerdict } from "./verdict.ts";
