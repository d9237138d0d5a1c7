/**
 * Versioned updates: a patch (the sections and fields to change) applied to the current
 * document gives a draft with version n + 1, which is sealed and validated as a whole.
 */
import type {
  Constitution,
  ConstitutionConnectionLimits,
  ConstitutionFields,
  ConstitutionLearning,
  ConstitutionMetadata,
  ConstitutionPhysics,
  ConstitutionQuotas,
  ConstitutionSampling,
  ConstitutionTokenLimits,
  ConstitutionValidation,
} from "../../gen/neurograph/v1/constitution.ts";
import { ValidationError, type FieldViolation } from "../errors.ts";
import { cloneConstitution, computeChecksum } from "./canonical.ts";
import { DocumentRule, snake } from "./checks.ts";
import { validateConstitutionUpdate } from "./validate.ts";

/**
 * Fields to change, by section. Arrays (`physics.cellSize`) and bytes
 * (`connections.allowedTypes`) are replaced whole. Fields left out (or undefined) keep their
 * current value. Version fields are not patchable: `nextVersion` sets them.
 */
export interface ConstitutionPatch {
  readonly metadata?: Partial<Pick<ConstitutionMetadata, "profile">>;
  readonly tokens?: Partial<ConstitutionTokenLimits>;
  readonly connections?: Partial<ConstitutionConnectionLimits>;
  readonly physics?: Partial<ConstitutionPhysics>;
  readonly fields?: Partial<ConstitutionFields>;
  readonly learning?: Partial<ConstitutionLearning>;
  readonly quotas?: Partial<ConstitutionQuotas>;
  readonly sampling?: Partial<ConstitutionSampling>;
  readonly validation?: Partial<ConstitutionValidation>;
}

/** Who makes a change, when and why (recorded in the new document's metadata). */
export interface ConstitutionChange {
  readonly createdAtUnixMs: number;
  readonly author?: string;
  readonly comment?: string;
}

export const PATCH_SECTIONS = ["metadata", "tokens", "connections", "physics", "fields", "learning", "quotas", "sampling", "validation"] as const;
type Section = (typeof PATCH_SECTIONS)[number];
const PATCHABLE_METADATA: ReadonlySet<string> = new Set(["profile"]);

/**
 * Applies `patch` to a copy of `base`. Unknown sections or fields are violations (the value is
 * then ignored), so a typo never passes as a no-op.
 */
export function applyPatch(base: Constitution, patch: ConstitutionPatch): { doc: Constitution; violations: FieldViolation[] } {
  const doc = cloneConstitution(base);
  const violations: FieldViolation[] = [];
  const unknown = (field: string, description: string): void => {
    violations.push({ field, rule: DocumentRule.unknownField, description });
  };
  for (const [name, sectionPatch] of Object.entries(patch) as [string, unknown][]) {
    if (sectionPatch === undefined) continue;
    if (!(PATCH_SECTIONS as readonly string[]).includes(name)) {
      unknown(snake(name), `no such constitution section; sections are ${PATCH_SECTIONS.join(", ")}`);
      continue;
    }
    const section = name as Section;
    const target = doc[section] as Record<string, unknown> | undefined;
    if (target === undefined || typeof sectionPatch !== "object" || sectionPatch === null) {
      violations.push({ field: section, rule: DocumentRule.sectionMissing, description: `cannot patch the ${section} section: it is missing from the current document or the patch value is not an object` });
      continue;
    }
    for (const [key, value] of Object.entries(sectionPatch)) {
      if (value === undefined) continue;
      const known = section === "metadata" ? PATCHABLE_METADATA.has(key) : Object.hasOwn(target, key);
      if (!known) {
        unknown(`${section}.${snake(key)}`, section === "metadata" ? "only metadata.profile can be patched; version, parent and time are set by the update" : `no such field in ${section}`);
        continue;
      }
      target[key] = copyValue(value);
    }
  }
  return { doc, violations };
}

function copyValue(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (Array.isArray(v)) return [...(v as unknown[])];
  return v;
}

/**
 * The draft of version n + 1 and every violation it has (empty = acceptable). This is the dry
 * run behind "validate only"; `nextVersion` is the same with a throw.
 */
export function draftNextVersion(current: Constitution, patch: ConstitutionPatch, change: ConstitutionChange): { doc: Constitution; violations: FieldViolation[] } {
  const { doc, violations } = applyPatch(current, patch);
  const version = current.metadata?.version ?? 0;
  if (doc.metadata !== undefined) {
    doc.metadata.version = version + 1;
    doc.metadata.parentVersion = version;
    doc.metadata.createdAtUnixMs = change.createdAtUnixMs;
    doc.metadata.author = change.author ?? "";
    doc.metadata.comment = change.comment ?? "";
  }
  let sealed = true;
  try {
    doc.checksum = computeChecksum(doc);
  } catch {
    // A value the encoder refuses (e.g. a negative uint): validation below names it.
    sealed = false;
  }
  violations.push(...validateConstitutionUpdate(current, doc, { checksum: sealed }));
  return { doc, violations };
}

/**
 * Version n + 1 of `current` with `patch` applied and a new checksum. Throws a ValidationError
 * listing every violation when the result would not be a valid update.
 */
export function nextVersion(current: Constitution, patch: ConstitutionPatch, change: ConstitutionChange): Constitution {
  const { doc, violations } = draftNextVersion(current, patch, change);
  if (violations.length > 0) throw ValidationError.of("constitution update", violations);
  return doc;
}
