import { describe, expect, it } from "vitest";
import {
  ConstitutionProfile,
  PROFILE_OVERRIDES,
  compileConstitution,
  constitutionForProfile,
  defaultConstitution,
  profileName,
  profilePatch,
  switchProfile,
  validateConstitution,
  type Constitution,
  type ProfileName,
} from "../../../src/core/constitution/index.ts";
import { sections } from "./helpers.ts";

/** Every parameter as "section.field" → value, metadata and checksum left out. */
function flat(doc: Constitution): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const s = sections(doc) as unknown as Record<string, unknown>;
  for (const [section, value] of Object.entries(s)) {
    if (section === "metadata" || section === "checksum") continue;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out.set(`${section}.${k}`, v instanceof Uint8Array ? [...v] : v);
  }
  return out;
}

function differences(a: Constitution, b: Constitution): Record<string, unknown> {
  const fa = flat(a);
  const diff: Record<string, unknown> = {};
  for (const [k, v] of flat(b)) if (JSON.stringify(fa.get(k)) !== JSON.stringify(v)) diff[k] = v;
  return diff;
}

const PROFILES: ProfileName[] = ["default", "explorer", "analyst", "creative"];

describe("profiles", () => {
  it("are valid documents labelled with their profile", () => {
    for (const p of PROFILES) {
      const doc = constitutionForProfile(p);
      expect(validateConstitution(doc)).toEqual([]);
      expect(profileName(sections(doc).metadata.profile)).toBe(p);
    }
    expect(profileName(ConstitutionProfile.CONSTITUTION_PROFILE_UNSPECIFIED)).toBeUndefined();
  });

  it("default is the default document", () => {
    expect(constitutionForProfile("default")).toEqual(defaultConstitution());
  });

  it("differ from the defaults exactly as documented", () => {
    const base = defaultConstitution();
    expect(differences(base, constitutionForProfile("explorer"))).toEqual({
      "connections.maxOutDegree": 2000,
      "connections.maxInDegree": 2000,
      "learning.maxMutationsPerInterval": 5000,
      "learning.coactivationMinCount": 3,
    });
    expect(differences(base, constitutionForProfile("analyst"))).toEqual({
      "validation.strict": true,
      "connections.maxOutDegree": 500,
      "connections.maxInDegree": 500,
      "learning.maxMutationsPerInterval": 100,
      "learning.promotionMinEvidence": 50,
      "learning.promotionMinSuccessRate": 0.8,
    });
    expect(differences(base, constitutionForProfile("creative"))).toEqual({
      "learning.maxMutationsPerInterval": 10_000,
      "learning.coactivationMinCount": 2,
      "learning.hypothesisDecayRatePerHour": 0.025,
      "learning.deletionMinEvidence": 40,
      "physics.springConstant": 0.05,
      "physics.temperature": 1,
    });
    expect(PROFILE_OVERRIDES.default).toEqual({});
  });

  it("a switch is version n + 1 and also undoes the previous profile's overrides", () => {
    const explorer = constitutionForProfile("explorer");
    const analyst = switchProfile(explorer, "analyst", { createdAtUnixMs: 5, author: "ops", comment: "curate" });
    expect(sections(analyst).metadata).toMatchObject({ version: 2, parentVersion: 1, createdAtUnixMs: 5, author: "ops", comment: "curate" });
    // Same parameters as a fresh analyst document: nothing of explorer is left.
    expect(differences(constitutionForProfile("analyst"), analyst)).toEqual({});
    expect(compileConstitution(analyst).connections.maxOutDegree).toBe(500);
    const back = switchProfile(analyst, "default", { createdAtUnixMs: 6 });
    expect(differences(defaultConstitution(), back)).toEqual({});
    expect(sections(back).metadata.profile).toBe(ConstitutionProfile.CONSTITUTION_PROFILE_DEFAULT);
  });

  it("profilePatch sets every field that any profile overrides", () => {
    const keys = (p: ProfileName): string[] =>
      Object.entries(profilePatch(p))
        .filter(([s]) => s !== "metadata")
        .flatMap(([s, fields]) => Object.keys(fields as object).map((k) => `${s}.${k}`))
        .sort();
    const all = keys("default");
    expect(all).toHaveLength(11);
    for (const p of PROFILES) expect(keys(p)).toEqual(all);
  });
});
