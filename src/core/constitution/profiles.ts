/**
 * The four profiles: each is the default document plus the overrides below (docs/constitution.md
 * explains them). A profile switch is an ordinary update whose patch sets every field that any
 * profile overrides, so switching from Explorer to Analyst also undoes Explorer's changes.
 */
import { ConstitutionProfile, type Constitution } from "../../gen/neurograph/v1/constitution.ts";
import { sealConstitution } from "./canonical.ts";
import { defaultSections } from "./defaults.ts";
import { applyPatch, nextVersion, PATCH_SECTIONS, type ConstitutionChange, type ConstitutionPatch } from "./update.ts";

export type ProfileName = "default" | "explorer" | "analyst" | "creative";

export const PROFILE_BY_NAME: Readonly<Record<ProfileName, ConstitutionProfile>> = Object.freeze({
  default: ConstitutionProfile.CONSTITUTION_PROFILE_DEFAULT,
  explorer: ConstitutionProfile.CONSTITUTION_PROFILE_EXPLORER,
  analyst: ConstitutionProfile.CONSTITUTION_PROFILE_ANALYST,
  creative: ConstitutionProfile.CONSTITUTION_PROFILE_CREATIVE,
});

type Overrides = Omit<ConstitutionPatch, "metadata">;

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** What each profile changes relative to the defaults (deeply frozen). */
export const PROFILE_OVERRIDES: Readonly<Record<ProfileName, Overrides>> = deepFreeze({
  /** The documented defaults, unchanged. */
  default: {},
  /**
   * For discovering structure in new data: tokens may link twice as widely (degree 2000 each
   * way), the guardian accepts 5× the learning proposals, and a hypothesis is proposed after 3
   * co-activations instead of 5.
   */
  explorer: {
    connections: { maxOutDegree: 2000, maxInDegree: 2000 },
    learning: { maxMutationsPerInterval: 5000, coactivationMinCount: 3 },
  },
  /**
   * For curated knowledge: a batch with one invalid item is rejected whole (strict), degrees are
   * halved (500), learning is slowed to a tenth, and a hypothesis needs 50 observations and an
   * 80 % success rate to be promoted.
   */
  analyst: {
    validation: { strict: true },
    connections: { maxOutDegree: 500, maxInDegree: 500 },
    learning: { maxMutationsPerInterval: 100, promotionMinEvidence: 50, promotionMinSuccessRate: 0.8 },
  },
  /**
   * For free association: 10× the learning proposals, hypotheses after 2 co-activations, living
   * longer (half the decay per hour, 40 observations before deletion), and a looser layout: springs
   * half as stiff and twice the initial temperature. Looser rigidity is done in the physics
   * (spring constant), not by narrowing the rigidity range, which would reject existing data.
   */
  creative: {
    learning: { maxMutationsPerInterval: 10_000, coactivationMinCount: 2, hypothesisDecayRatePerHour: 0.025, deletionMinEvidence: 40 },
    physics: { springConstant: 0.05, temperature: 1 },
  },
});

export function profileName(profile: ConstitutionProfile): ProfileName | undefined {
  for (const [name, value] of Object.entries(PROFILE_BY_NAME) as [ProfileName, ConstitutionProfile][]) if (value === profile) return name;
  return undefined;
}

/**
 * The patch that turns any document into `profile`: every field any profile overrides, set to
 * this profile's value (or the default where this profile does not override it).
 */
export function profilePatch(profile: ProfileName): ConstitutionPatch {
  const defaults = defaultSections() as unknown as Record<string, Record<string, unknown>>;
  const mine = PROFILE_OVERRIDES[profile] as Record<string, Record<string, unknown> | undefined>;
  const patch: Record<string, Record<string, unknown>> = {};
  for (const overrides of Object.values(PROFILE_OVERRIDES) as Record<string, Record<string, unknown> | undefined>[]) {
    for (const section of PATCH_SECTIONS) {
      for (const key of Object.keys(overrides[section] ?? {})) {
        const own = mine[section];
        (patch[section] ??= {})[key] = own !== undefined && Object.hasOwn(own, key) ? own[key] : defaults[section]?.[key];
      }
    }
  }
  return { ...(patch as ConstitutionPatch), metadata: { profile: PROFILE_BY_NAME[profile] } };
}

/** The sealed version-1 document of a profile. */
export function constitutionForProfile(profile: ProfileName, createdAtUnixMs = 0): Constitution {
  const { doc } = applyPatch(defaultSections(createdAtUnixMs), { ...PROFILE_OVERRIDES[profile], metadata: { profile: PROFILE_BY_NAME[profile] } });
  return sealConstitution(doc);
}

/** Version n + 1 of `current` with the parameters of `profile` (throws ValidationError if invalid). */
export function switchProfile(current: Constitution, profile: ProfileName, change: ConstitutionChange): Constitution {
  return nextVersion(current, profilePatch(profile), change);
}
