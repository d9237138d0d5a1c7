import { describe, expect, it } from "vitest";
import {
  ConstitutionProfile,
  compileConstitution,
  constitutionForProfile,
  defaultConstitution,
  encodeConstitution,
  sealConstitution,
  SPACE_SCALE,
  type Constitution,
  type ConstitutionQuotas,
} from "../../../src/core/constitution/index.ts";
import { DEFAULT_CONNECTION_LIMITS, DEFAULT_TOKEN_LIMITS } from "../../../src/core/limits.ts";
import { ValidationError } from "../../../src/core/errors.ts";
import { sections } from "./helpers.ts";

describe("default constitution", () => {
  it("is version 1 of profile Default, created at 0 unless told otherwise", () => {
    const m = sections(defaultConstitution()).metadata;
    expect(m).toEqual({ version: 1, parentVersion: 0, createdAtUnixMs: 0, author: "", comment: "", profile: ConstitutionProfile.CONSTITUTION_PROFILE_DEFAULT });
    expect(sections(defaultConstitution(1_700_000_000_000)).metadata.createdAtUnixMs).toBe(1_700_000_000_000);
  });

  it("has a pinned checksum and size (change them only on purpose, with docs/constitution.md)", () => {
    const doc = defaultConstitution();
    expect(doc.checksum.toString(16)).toBe("f5decdbc");
    expect(encodeConstitution(doc).length).toBe(465);
  });

  it("uses 1000 raw units per cell in every space", () => {
    expect(sections(defaultConstitution()).physics.cellSize).toEqual(SPACE_SCALE.map((s) => 1000 / s));
    expect(sections(defaultConstitution()).physics.cellSize).toEqual([10, 0.1, 1, 0.1, 0.1, 0.1, 10, 0.1]);
  });

  it("compiles to exactly the shared default limits of src/core/limits.ts", () => {
    const compiled = compileConstitution(defaultConstitution());
    expect(compiled.tokens).toEqual(DEFAULT_TOKEN_LIMITS);
    expect(compiled.connections).toEqual(DEFAULT_CONNECTION_LIMITS);
  });
});

describe("compiled view", () => {
  it("is frozen, with private typed-array copies", () => {
    const doc = defaultConstitution();
    const c = compileConstitution(doc);
    expect(Object.isFrozen(c)).toBe(true);
    for (const part of [c.tokens, c.connections, c.physics, c.fields, c.learning, c.quotas, c.sampling]) expect(Object.isFrozen(part)).toBe(true);
    expect(c.physics.cellSize).toBeInstanceOf(Float64Array);
    expect(c.connections.allowedTypes).toBeInstanceOf(Uint8Array);
    c.connections.allowedTypes[0] = 0;
    expect(sections(doc).connections.allowedTypes[0]).toBe(0xff);
  });

  it("carries version, checksum, profile, strict mode and every section's values", () => {
    const doc = constitutionForProfile("analyst");
    const c = compileConstitution(doc);
    expect(c.version).toBe(1);
    expect(c.checksum).toBe(doc.checksum);
    expect(c.profile).toBe(ConstitutionProfile.CONSTITUTION_PROFILE_ANALYST);
    expect(c.strict).toBe(true);
    expect(c.connections.maxOutDegree).toBe(500);
    expect(c.fields).toEqual(sections(doc).fields);
    expect(c.learning).toEqual(sections(doc).learning);
    expect(c.sampling).toEqual(sections(doc).sampling);
    const p = sections(doc).physics;
    expect({ ...c.physics, cellSize: [...c.physics.cellSize] }).toEqual(p);
  });

  it("turns unlimited (0) quotas into Infinity and precomputes the soft limits", () => {
    const doc = defaultConstitution();
    const q = compileConstitution(doc).quotas;
    expect(q.maxTokens).toBe(10_000_000);
    expect(q.softTokens).toBe(9_500_000);
    expect(q.softConnections).toBe(19_000_000);
    expect(q.softMemoryBytes).toBeCloseTo(4 * 2 ** 30 * 0.95, 0);
    const unlimited = structuredClone(sections(doc).quotas);
    unlimited.maxTokens = 0;
    const c = compileConstitution(constitutionWithQuotas(unlimited));
    expect(c.quotas.maxTokens).toBe(Infinity);
    expect(c.quotas.softTokens).toBe(Infinity);
  });

  it("refuses an invalid document with all of its violations", () => {
    const doc = defaultConstitution();
    sections(doc).fields.hierarchyMaxLevels = 99;
    expect(() => compileConstitution(doc)).toThrow(ValidationError);
  });
});

function constitutionWithQuotas(quotas: ConstitutionQuotas): Constitution {
  return sealConstitution({ ...defaultConstitution(), quotas });
}
