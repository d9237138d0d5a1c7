import { describe, expect, it } from "vitest";
import {
  defaultConstitution,
  draftNextVersion,
  nextVersion,
  validateConstitution,
  type ConstitutionPatch,
} from "../../../src/core/constitution/index.ts";
import { ValidationError } from "../../../src/core/errors.ts";
import { sections } from "./helpers.ts";

const change = { createdAtUnixMs: 1_700_000_000_000, author: "alice", comment: "raise degrees" };

describe("nextVersion", () => {
  it("applies the patch and gives version n + 1 with parent n, metadata and a new checksum", () => {
    const v1 = defaultConstitution();
    const v2 = nextVersion(v1, { connections: { maxOutDegree: 1500 } }, change);
    expect(sections(v2).metadata).toMatchObject({ version: 2, parentVersion: 1, createdAtUnixMs: change.createdAtUnixMs, author: "alice", comment: "raise degrees" });
    expect(sections(v2).connections.maxOutDegree).toBe(1500);
    expect(v2.checksum).not.toBe(v1.checksum);
    expect(validateConstitution(v2)).toEqual([]);
    // The current document is untouched.
    expect(sections(v1).connections.maxOutDegree).toBe(1000);
    expect(sections(v1).metadata.version).toBe(1);
  });

  it("replaces arrays and bytes whole and copies them", () => {
    const cells = [1, 0.01, 1, 0.01, 0.01, 0.01, 1, 0.01];
    const v2 = nextVersion(defaultConstitution(), { physics: { cellSize: cells } }, change);
    cells[0] = 99;
    expect(sections(v2).physics.cellSize[0]).toBe(1);
  });

  it("author and comment describe this change only", () => {
    const v2 = nextVersion(defaultConstitution(), {}, change);
    const v3 = nextVersion(v2, {}, { createdAtUnixMs: 2 });
    expect(sections(v3).metadata).toMatchObject({ version: 3, parentVersion: 2, author: "", comment: "" });
  });

  it("rejects an invalid update whole, listing every violation", () => {
    const v1 = defaultConstitution();
    const patch: ConstitutionPatch = {
      tokens: { minWeight: 3 },
      connections: { minRigidity: -0.5, maxOutDegree: -1 },
      fields: { hierarchyMaxLevels: 16 },
      quotas: { softThreshold: 1.5 },
      sampling: { baseRate: 2 },
    };
    let caught: unknown;
    try {
      nextVersion(v1, patch, change);
    } catch (err: unknown) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    const violations = (caught as ValidationError).violations;
    expect(violations.map((v) => [v.field, v.rule])).toEqual([
      ["tokens.min_weight", "range_order"],
      ["connections.min_rigidity", "bounds"],
      ["connections.max_out_degree", "integer"],
      ["fields.hierarchy_max_levels", "hierarchy_levels"],
      ["quotas.soft_threshold", "soft_threshold_range"],
      ["sampling.base_rate", "unit_interval"],
    ]);
    expect((caught as ValidationError).message).toMatch(/^invalid constitution update: tokens\.min_weight: must not exceed/);
    expect(sections(v1).tokens.minWeight).toBe(0);
  });

  it("draftNextVersion is the dry run: the draft and its violations, nothing thrown", () => {
    const { doc, violations } = draftNextVersion(defaultConstitution(), { physics: { cooling: 2 } }, change);
    expect(sections(doc).metadata.version).toBe(2);
    expect(violations).toMatchObject([{ field: "physics.cooling", rule: "cooling_range" }]);
    expect(draftNextVersion(defaultConstitution(), { physics: { cooling: 0.5 } }, change).violations).toEqual([]);
  });

  it("unknown_field: unknown sections and fields, and version fields, are violations, not no-ops", () => {
    const patch = {
      tokens: { maxWieght: 5 },
      colours: { red: 1 },
      metadata: { version: 9 },
    } as unknown as ConstitutionPatch;
    const { violations } = draftNextVersion(defaultConstitution(), patch, change);
    expect(violations).toMatchObject([
      { field: "tokens.max_wieght", rule: "unknown_field", description: "no such field in tokens" },
      { field: "colours", rule: "unknown_field" },
      { field: "metadata.version", rule: "unknown_field" },
    ]);
    expect(() => nextVersion(defaultConstitution(), patch, change)).toThrow(ValidationError);
  });

  it("reports values the encoder cannot take instead of failing on them", () => {
    const { violations } = draftNextVersion(defaultConstitution(), { quotas: { maxTokens: -5 }, learning: { mutationIntervalMs: 1.5 } }, change);
    expect(violations.map((v) => [v.field, v.rule])).toEqual([
      ["learning.mutation_interval_ms", "integer"],
      ["quotas.max_tokens", "integer"],
    ]);
  });
});
