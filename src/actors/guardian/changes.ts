/**
 * Constitution change requests (a patch, a whole document or a profile) turned into the draft of
 * version n + 1 with every violation. Pure: the guardian actor logs and installs the result.
 */
import {
  PATCH_SECTIONS,
  PROFILE_BY_NAME,
  draftNextVersion,
  profilePatch,
  type Constitution,
  type ConstitutionPatch,
  type ProfileName,
} from "../../core/constitution/index.ts";
import { FailedPreconditionError, type FieldViolation } from "../../core/errors.ts";

export interface ConstitutionChangeRequest {
  /** The fields to change. Exactly one of `patch`, `document` and `profile`. */
  readonly patch?: ConstitutionPatch;
  /**
   * A whole document: every section replaces the active one (all sections are required); its
   * version, parent, time, author, comment and checksum are ignored (the update sets them).
   */
  readonly document?: Constitution;
  /** Switch to a profile: sets every field any profile overrides. */
  readonly profile?: ProfileName;
  readonly author?: string;
  readonly comment?: string;
  /** Refuse the change unless the active version is this one (optimistic concurrency). */
  readonly expectedVersion?: number;
}

export interface ConstitutionDraft {
  /** The document the change would make active (version n + 1, sealed). */
  readonly doc: Constitution;
  /** Every violation; empty = the change is acceptable. */
  readonly violations: readonly FieldViolation[];
}

/** Throws FailedPreconditionError when `expected` is given and is not the active version. */
export function checkExpectedVersion(active: number, expected: number | undefined): void {
  if (expected === undefined || expected === active) return;
  throw new FailedPreconditionError(
    `the active constitution is version ${active}, not ${expected}; read it again and redo the change against version ${active}`,
    [{ field: "expected_version", value: String(expected), rule: "version_mismatch", description: `the active version is ${active}` }],
  );
}

/** The patch that turns the active document into `doc` (every section, every field). */
export function documentPatch(doc: Constitution): { patch: ConstitutionPatch; violations: FieldViolation[] } {
  const violations: FieldViolation[] = [];
  const patch: Record<string, unknown> = {};
  for (const section of PATCH_SECTIONS) {
    if (section === "metadata") {
      patch.metadata = { profile: doc.metadata?.profile };
      continue;
    }
    const value = doc[section];
    if (value === undefined) {
      violations.push({
        field: section,
        rule: "section_missing",
        description: `a whole-document update needs every section; ${section} is missing (send a patch to change only some fields)`,
      });
      continue;
    }
    patch[section] = { ...value };
  }
  return { patch, violations };
}

/** The draft of version n + 1 for `request` against `current`, with every violation. */
export function draftChange(current: Constitution, request: ConstitutionChangeRequest, nowMs: number): ConstitutionDraft {
  const given = (request.patch === undefined ? 0 : 1) + (request.document === undefined ? 0 : 1) + (request.profile === undefined ? 0 : 1);
  const change = { createdAtUnixMs: nowMs, author: request.author, comment: request.comment };
  if (given !== 1) {
    const { doc } = draftNextVersion(current, {}, change);
    return {
      doc,
      violations: [{ field: "change", value: `${given} given`, rule: "change_kind", description: "give exactly one of: a patch, a whole document, a profile" }],
    };
  }
  let patch: ConstitutionPatch;
  const violations: FieldViolation[] = [];
  if (request.document !== undefined) {
    const converted = documentPatch(request.document);
    patch = converted.patch;
    violations.push(...converted.violations);
  } else if (request.profile !== undefined) {
    if (!Object.hasOwn(PROFILE_BY_NAME, request.profile)) {
      const { doc } = draftNextVersion(current, {}, change);
      const names = Object.keys(PROFILE_BY_NAME).join(", ");
      return { doc, violations: [{ field: "profile", value: String(request.profile), rule: "profile_unknown", description: `profiles are ${names}` }] };
    }
    patch = profilePatch(request.profile);
  } else {
    patch = request.patch ?? {};
  }
  const draft = draftNextVersion(current, patch, change);
  return { doc: draft.doc, violations: [...violations, ...draft.violations] };
}
