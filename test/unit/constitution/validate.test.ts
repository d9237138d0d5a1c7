import { describe, expect, it } from "vitest";
import {
  assertValidConstitution,
  cloneConstitution,
  defaultConstitution,
  defaultSections,
  sealConstitution,
  validateConstitution,
  validateConstitutionUpdate,
  type Constitution,
  type ConstitutionProfile,
} from "../../../src/core/constitution/index.ts";
import { ValidationError } from "../../../src/core/errors.ts";
import { sections, violationsAfter } from "./helpers.ts";

const S = sections;

describe("whole-document validation: defaults", () => {
  it("the default document is valid", () => {
    expect(validateConstitution(defaultConstitution())).toEqual([]);
    expect(() => assertValidConstitution(defaultConstitution())).not.toThrow();
  });
});

describe("whole-document validation: one test per rule", () => {
  it("section_missing: every section is required", () => {
    const v = violationsAfter((d) => {
      d.physics = undefined;
      d.sampling = undefined;
    });
    expect(v).toMatchObject([
      { field: "physics", rule: "section_missing", value: "unset" },
      { field: "sampling", rule: "section_missing", value: "unset" },
    ]);
  });

  it("checksum_mismatch: a change without resealing", () => {
    const d = cloneConstitution(defaultConstitution());
    S(d).tokens.maxWeight = 2;
    const v = validateConstitution(d);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ field: "checksum", rule: "checksum_mismatch" });
    expect(v[0]!.description).toContain(`0x${sealConstitution(d).checksum.toString(16).padStart(8, "0")}`);
  });

  it("finite: NaN and infinities, and f32 range for record-compared bounds", () => {
    const v = violationsAfter((d) => {
      S(d).tokens.minWeight = Number.NaN;
      S(d).physics.gravity = Infinity;
      S(d).connections.maxPullStrength = 1e39;
    });
    expect(v).toMatchObject([
      { field: "tokens.min_weight", rule: "finite", value: "NaN" },
      { field: "connections.max_pull_strength", rule: "finite", value: "1e+39", description: "must be a finite number within the f32 range" },
      { field: "physics.gravity", rule: "finite", value: "Infinity" },
    ]);
  });

  it("integer: counts must be integers in their protobuf range", () => {
    const v = violationsAfter((d) => {
      S(d).connections.maxOutDegree = -1;
      S(d).fields.stabilitySteps = 2.5;
      S(d).quotas.maxTokens = 2 ** 60;
    });
    expect(v).toMatchObject([
      { field: "connections.max_out_degree", rule: "integer", value: "-1", description: "must be an integer in [0, 4294967295]" },
      { field: "fields.stability_steps", rule: "integer", value: "2.5" },
      { field: "quotas.max_tokens", rule: "integer", description: `must be an integer in [0, ${Number.MAX_SAFE_INTEGER}]` },
    ]);
  });

  it("boolean: switches must be true or false", () => {
    const v = violationsAfter((d) => {
      (S(d).validation as { strict: unknown }).strict = "yes";
    });
    expect(v).toMatchObject([{ field: "validation.strict", rule: "boolean", value: '"yes"' }]);
  });

  it("range_order: every min <= max", () => {
    const v = violationsAfter((d) => {
      S(d).tokens.minWeight = 2;
      S(d).tokens.minRadiusRaw = 200;
      S(d).tokens.maxRadiusRaw = 100;
      S(d).tokens.minStrengthRaw = 9;
      S(d).tokens.maxStrengthRaw = 8;
      S(d).connections.minPullStrength = 5;
      S(d).connections.maxPullStrength = -5;
      S(d).connections.minRigidity = 0.9;
      S(d).connections.maxRigidity = 0.1;
      S(d).connections.minPreferredDistance = 50;
      S(d).connections.maxPreferredDistance = 5;
      S(d).physics.minTemperature = 0.6;
      S(d).sampling.minRate = 0.5;
      S(d).sampling.maxRate = 0.1;
      S(d).sampling.baseRate = 0.2;
    });
    expect(v.map((x) => [x.field, x.rule])).toEqual([
      ["tokens.min_weight", "range_order"],
      ["tokens.min_radius_raw", "range_order"],
      ["tokens.min_strength_raw", "range_order"],
      ["connections.min_pull_strength", "range_order"],
      ["connections.min_rigidity", "range_order"],
      ["connections.min_preferred_distance", "range_order"],
      ["physics.min_temperature", "range_order"],
      ["sampling.min_rate", "range_order"],
    ]);
    expect(v[0]!.description).toBe("must not exceed tokens.max_weight (1)");
  });

  it("bounds: connection ranges stay inside the record format's ranges", () => {
    const v = violationsAfter((d) => {
      S(d).connections.minPullStrength = -11;
      S(d).connections.maxRigidity = 1.5;
      S(d).connections.minPreferredDistance = 0.001;
      S(d).connections.maxPreferredDistance = 1000;
    });
    expect(v).toMatchObject([
      { field: "connections.min_pull_strength", rule: "bounds", value: "-11", description: "must be within [-10, 10]" },
      { field: "connections.max_rigidity", rule: "bounds", description: "must be within [0, 1]" },
      { field: "connections.min_preferred_distance", rule: "bounds", description: "must be within [0.01, 100]" },
      { field: "connections.max_preferred_distance", rule: "bounds" },
    ]);
  });

  it("byte_range: raw radius/strength bytes and the hypothesis type are 0..255", () => {
    const v = violationsAfter((d) => {
      S(d).tokens.maxRadiusRaw = 256;
      S(d).tokens.minStrengthRaw = -1;
      S(d).learning.hypothesisType = 300;
    });
    expect(v.map((x) => [x.field, x.rule])).toEqual([
      ["tokens.max_radius_raw", "byte_range"],
      ["tokens.min_strength_raw", "byte_range"],
      ["learning.hypothesis_type", "byte_range"],
    ]);
  });

  it("positive: thresholds, steps and intervals are > 0", () => {
    const v = violationsAfter((d) => {
      S(d).physics.timeStep = 0;
      S(d).physics.temperature = -1;
      S(d).fields.densityThresholdTokens = 0;
      S(d).fields.minFieldTokens = 0;
      S(d).fields.stabilitySteps = 0;
      S(d).learning.mutationIntervalMs = 0;
      S(d).learning.promotionMinEvidence = 0;
      S(d).learning.deletionMinEvidence = 0;
      S(d).learning.coactivationWindowMs = 0;
      S(d).learning.coactivationMinCount = 0;
      S(d).sampling.slowThresholdMs = 0;
    });
    expect(v.every((x) => x.rule === "positive")).toBe(true);
    expect(v.map((x) => x.field)).toEqual([
      "physics.time_step",
      "physics.temperature",
      "fields.density_threshold_tokens",
      "fields.min_field_tokens",
      "fields.stability_steps",
      "learning.mutation_interval_ms",
      "learning.promotion_min_evidence",
      "learning.deletion_min_evidence",
      "learning.coactivation_window_ms",
      "learning.coactivation_min_count",
      "sampling.slow_threshold_ms",
    ]);
  });

  it("non_negative: force constants, the temperature floor and the trace target", () => {
    const v = violationsAfter((d) => {
      S(d).physics.springConstant = -0.1;
      S(d).physics.repulsionConstant = -1;
      S(d).physics.gravity = -0.001;
      S(d).physics.minTemperature = -0.01;
      S(d).sampling.targetTracesPerSecond = -5;
    });
    expect(v.map((x) => [x.field, x.rule])).toEqual([
      ["physics.spring_constant", "non_negative"],
      ["physics.repulsion_constant", "non_negative"],
      ["physics.gravity", "non_negative"],
      ["physics.min_temperature", "non_negative"],
      ["sampling.target_traces_per_second", "non_negative"],
    ]);
  });

  it("unit_interval: rates and shares are in [0, 1]", () => {
    const v = violationsAfter((d) => {
      const l = S(d).learning;
      l.promotionMinSuccessRate = 1.1;
      l.deletionMaxSuccessRate = -0.1;
      l.hypothesisInitialConfidence = 2;
      l.hypothesisMinConfidence = -1;
      l.hypothesisLearningRate = 1.5;
      l.hypothesisDecayRatePerHour = -0.5;
      l.promotedLearningRate = 3;
      S(d).quotas.cleanupWeakHypothesisConfidence = 1.01;
      S(d).sampling.baseRate = 1.5;
      S(d).sampling.minRate = -0.1;
      S(d).sampling.maxRate = 1.1;
      S(d).sampling.slowKeepShare = 7;
    });
    expect(v.every((x) => x.rule === "unit_interval" && x.description === "must be within [0, 1]")).toBe(true);
    expect(v).toHaveLength(12);
  });

  it("version_positive: versions start at 1", () => {
    const v = violationsAfter((d) => {
      S(d).metadata.version = 0;
    });
    expect(v).toMatchObject([{ field: "metadata.version", rule: "version_positive", value: "0" }]);
  });

  it("parent_version: the parent is version − 1", () => {
    const v = violationsAfter((d) => {
      S(d).metadata.version = 5;
      S(d).metadata.parentVersion = 3;
    });
    expect(v).toMatchObject([{ field: "metadata.parent_version", rule: "parent_version", value: "3", description: "must be version − 1 (4)" }]);
  });

  it("version_sequence: an update is the current version + 1", () => {
    const current = defaultConstitution();
    const next = cloneConstitution(current);
    S(next).metadata.version = 3;
    S(next).metadata.parentVersion = 2;
    const v = validateConstitutionUpdate(current, sealConstitution(next));
    expect(v).toMatchObject([{ field: "metadata.version", rule: "version_sequence", value: "3", description: "must be 2: an update gets the current version (1) + 1" }]);
  });

  it("profile_unknown: one of the four profiles", () => {
    const v = violationsAfter((d) => {
      S(d).metadata.profile = 0;
    });
    expect(v).toMatchObject([{ field: "metadata.profile", rule: "profile_unknown", value: "0" }]);
    expect(violationsAfter((d) => (S(d).metadata.profile = 9 as ConstitutionProfile))).toMatchObject([{ rule: "profile_unknown" }]);
  });

  it("text_length: author <= 256 and comment <= 1024 bytes of UTF-8", () => {
    const v = violationsAfter((d) => {
      S(d).metadata.author = "é".repeat(129); // 258 bytes
      S(d).metadata.comment = "x".repeat(1025);
    });
    expect(v).toMatchObject([
      { field: "metadata.author", rule: "text_length", description: "must be at most 256 bytes of UTF-8 (is 258)" },
      { field: "metadata.comment", rule: "text_length" },
    ]);
  });

  it("text_encoding: well-formed Unicode only", () => {
    const v = violationsAfter((d) => {
      S(d).metadata.author = "ok \ud800";
    });
    expect(v).toMatchObject([{ field: "metadata.author", rule: "text_encoding" }]);
  });

  it("allowed_types_size: exactly 32 bytes", () => {
    const v = violationsAfter((d) => {
      S(d).connections.allowedTypes = Buffer.alloc(8, 0xff);
    });
    expect(v).toMatchObject([{ field: "connections.allowed_types", rule: "allowed_types_size", value: "8 bytes" }]);
  });

  it("allowed_types_undefined: only the defined types 0x00..0xaf", () => {
    const v = violationsAfter((d) => {
      S(d).connections.allowedTypes = Buffer.alloc(32, 0xff);
    });
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ field: "connections.allowed_types", rule: "allowed_types_undefined" });
    expect(v[0]!.description).toContain("0xb0, 0xb1, 0xb2, 0xb3, …");
  });

  it("space_mask: an 8-bit mask", () => {
    const v = violationsAfter((d) => {
      S(d).physics.activeSpaces = 0x100;
    });
    expect(v).toMatchObject([{ field: "physics.active_spaces", rule: "space_mask", value: "256" }]);
  });

  it("cell_size_count: one cell size per space", () => {
    const v = violationsAfter((d) => {
      S(d).physics.cellSize = [1, 1, 1];
    });
    expect(v).toMatchObject([{ field: "physics.cell_size", rule: "cell_size_count", value: "3 values" }]);
  });

  it("cell_size_resolution: > 0 and at least one raw unit of the space", () => {
    const v = violationsAfter((d) => {
      S(d).physics.cellSize[0] = 0; // L1: 1 raw unit = 0.01
      S(d).physics.cellSize[1] = 0.00005; // L2: 1 raw unit = 0.0001
      S(d).physics.cellSize[2] = -1;
      S(d).physics.cellSize[3] = Number.NaN;
    });
    expect(v.map((x) => [x.field, x.rule])).toEqual([
      ["physics.cell_size[0]", "cell_size_resolution"],
      ["physics.cell_size[1]", "cell_size_resolution"],
      ["physics.cell_size[2]", "cell_size_resolution"],
      ["physics.cell_size[3]", "finite"],
    ]);
    expect(v[0]!.description).toBe("must be at least one raw unit of the space (0.01 decoded units)");
  });

  it("cooling_range: (0, 1]", () => {
    expect(violationsAfter((d) => (S(d).physics.cooling = 0))).toMatchObject([{ field: "physics.cooling", rule: "cooling_range" }]);
    expect(violationsAfter((d) => (S(d).physics.cooling = 1.01))).toMatchObject([{ rule: "cooling_range" }]);
    expect(violationsAfter((d) => (S(d).physics.cooling = 1))).toEqual([]);
  });

  it("hierarchy_levels: at most 15 (4-bit level field)", () => {
    expect(violationsAfter((d) => (S(d).fields.hierarchyMaxLevels = 16))).toMatchObject([
      { field: "fields.hierarchy_max_levels", rule: "hierarchy_levels", value: "16" },
    ]);
    expect(violationsAfter((d) => (S(d).fields.hierarchyMaxLevels = 15))).toEqual([]);
    expect(violationsAfter((d) => (S(d).fields.hierarchyMaxLevels = 0))).toEqual([]);
  });

  it("promotion_deletion_overlap: deletion rate below promotion rate", () => {
    const v = violationsAfter((d) => {
      S(d).learning.deletionMaxSuccessRate = 0.7;
    });
    expect(v).toMatchObject([{ field: "learning.deletion_max_success_rate", rule: "promotion_deletion_overlap", value: "0.7" }]);
  });

  it("hypothesis_confidence_order: new hypotheses start above the deletion confidence", () => {
    const v = violationsAfter((d) => {
      S(d).learning.hypothesisInitialConfidence = 0.1;
    });
    expect(v).toMatchObject([{ field: "learning.hypothesis_initial_confidence", rule: "hypothesis_confidence_order" }]);
  });

  it("hypothesis_type_not_allowed: proposed hypotheses must have an allowed type", () => {
    const v = violationsAfter((d) => {
      const bits = S(d).connections.allowedTypes;
      bits[0x50 >> 3] = 0; // forbid 0x50..0x57
    });
    expect(v).toMatchObject([{ field: "learning.hypothesis_type", rule: "hypothesis_type_not_allowed", value: "80" }]);
  });

  it("hypothesis_out_of_limits: proposed pull and distance inside the connection limits", () => {
    const v = violationsAfter((d) => {
      S(d).connections.maxPullStrength = 0.5;
      S(d).connections.minPreferredDistance = 2;
    });
    expect(v).toMatchObject([
      { field: "learning.hypothesis_pull_strength", rule: "hypothesis_out_of_limits", description: "must be within the connection pull range [-10, 0.5]" },
      { field: "learning.hypothesis_preferred_distance", rule: "hypothesis_out_of_limits" },
    ]);
  });

  it("soft_threshold_range: (0, 1]", () => {
    expect(violationsAfter((d) => (S(d).quotas.softThreshold = 0))).toMatchObject([{ field: "quotas.soft_threshold", rule: "soft_threshold_range" }]);
    expect(violationsAfter((d) => (S(d).quotas.softThreshold = 1.2))).toMatchObject([{ rule: "soft_threshold_range" }]);
    expect(violationsAfter((d) => (S(d).quotas.softThreshold = 1))).toEqual([]);
  });

  it("rss_sample_interval: RSS is sampled at most once a second", () => {
    expect(violationsAfter((d) => (S(d).quotas.rssSampleIntervalMs = 999))).toMatchObject([
      { field: "quotas.rss_sample_interval_ms", rule: "rss_sample_interval", value: "999" },
    ]);
  });

  it("adjust_interval: the dynamic sampling interval is at least 100 ms", () => {
    expect(violationsAfter((d) => (S(d).sampling.adjustIntervalMs = 50))).toMatchObject([{ field: "sampling.adjust_interval_ms", rule: "adjust_interval" }]);
  });

  it("base_rate_bounds: the base rate lies within [min_rate, max_rate]", () => {
    expect(violationsAfter((d) => (S(d).sampling.minRate = 0.05))).toMatchObject([
      { field: "sampling.base_rate", rule: "base_rate_bounds", value: "0.01", description: "must be within [sampling.min_rate, sampling.max_rate] = [0.05, 1]" },
    ]);
  });
});

describe("whole-document validation: coverage and collection", () => {
  const sectionNames = ["metadata", "tokens", "connections", "physics", "fields", "learning", "quotas", "sampling", "validation"] as const;
  const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

  it("checks every parameter: a wrong type in any field gives exactly one violation naming it", () => {
    const base = defaultSections() as unknown as Record<string, Record<string, unknown>>;
    let checked = 0;
    for (const section of sectionNames) {
      for (const key of Object.keys(base[section]!)) {
        const v = violationsAfter((d) => {
          const s = (d as unknown as Record<string, Record<string, unknown>>)[section]!;
          s[key] = Number.isNaN(s[key]) ? 0 : typeof s[key] === "number" ? Number.NaN : 42;
        });
        const field = `${section}.${snake(key)}`;
        expect(v.map((x) => x.field), field).toEqual([field]);
        checked++;
      }
    }
    expect(checked).toBe(70);
  });

  it("collects every violation of a document instead of stopping at the first", () => {
    const v = violationsAfter((d) => {
      S(d).tokens.minWeight = 5;
      S(d).connections.maxRigidity = 2;
      S(d).fields.hierarchyMaxLevels = 20;
      S(d).quotas.softThreshold = 0;
      S(d).sampling.slowKeepShare = -1;
    });
    expect(v.map((x) => x.rule)).toEqual(["range_order", "bounds", "hierarchy_levels", "soft_threshold_range", "unit_interval"]);
    const err = ValidationError.of("constitution", v);
    expect(err.violations).toHaveLength(5);
    expect(err.message).toContain("(and 2 more)");
  });

  it("assertValidConstitution throws a ValidationError with all violations", () => {
    const d: Constitution = cloneConstitution(defaultConstitution());
    S(d).physics.cooling = 0;
    S(d).fields.minFieldTokens = 0;
    expect(() => assertValidConstitution(sealConstitution(d))).toThrow(ValidationError);
    try {
      assertValidConstitution(sealConstitution(d));
    } catch (err: unknown) {
      expect((err as ValidationError).violations.map((x) => x.rule)).toEqual(["cooling_range", "positive"]);
    }
  });
});
