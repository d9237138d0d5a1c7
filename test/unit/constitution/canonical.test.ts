import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  canonicalBytes,
  cloneConstitution,
  computeChecksum,
  decodeConstitution,
  defaultConstitution,
  encodeConstitution,
  sealConstitution,
  validateConstitution,
  validateConstitutionBytes,
  type Constitution,
} from "../../../src/core/constitution/index.ts";
import { ValidationError } from "../../../src/core/errors.ts";
import { anyConstitution, sections } from "./helpers.ts";

/** The same document with every object's keys inserted in reverse order. */
function reversedKeys<T>(v: T): T {
  if (Buffer.isBuffer(v)) return Buffer.from(v) as T;
  if (Array.isArray(v)) return [...(v as unknown[])] as T;
  if (typeof v !== "object" || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).reverse()) out[k] = reversedKeys((v as Record<string, unknown>)[k]);
  return out as T;
}

describe("canonical encoding", () => {
  it("decode ∘ encode is the identity", () => {
    fc.assert(
      fc.property(anyConstitution, (doc) => {
        expect(decodeConstitution(encodeConstitution(doc))).toEqual(doc);
      }),
      { numRuns: 150 },
    );
  });

  it("is a function of the values: equal documents give equal bytes, whatever their key order", () => {
    fc.assert(
      fc.property(anyConstitution, (doc) => {
        const bytes = encodeConstitution(doc);
        expect(encodeConstitution(reversedKeys(doc))).toEqual(bytes);
        expect(encodeConstitution(cloneConstitution(doc))).toEqual(bytes);
        expect(encodeConstitution(decodeConstitution(bytes))).toEqual(bytes);
      }),
      { numRuns: 150 },
    );
  });

  it("writes −0 cell sizes as +0, so == documents encode alike", () => {
    const a = defaultConstitution();
    const b = cloneConstitution(a);
    sections(a).physics.cellSize[0] = 0;
    sections(b).physics.cellSize[0] = -0;
    expect(encodeConstitution(b)).toEqual(encodeConstitution(a));
  });

  it("excludes the checksum from the canonical bytes and puts it first in the stored form", () => {
    const doc = defaultConstitution();
    const canonical = canonicalBytes(doc);
    expect(canonicalBytes({ ...doc, checksum: 12345 })).toEqual(canonical);
    const stored = encodeConstitution(doc);
    // Field 1, wire type 5 (fixed32), then the checksum little-endian, then the canonical bytes.
    expect(stored[0]).toBe(0x0d);
    expect(Buffer.from(stored.subarray(1, 5)).readUInt32LE(0)).toBe(doc.checksum);
    expect(stored.subarray(5)).toEqual(canonical);
  });

  it("changes the checksum when any single parameter changes", () => {
    const base = defaultConstitution();
    const edits: ((d: Constitution) => void)[] = [
      (d) => (sections(d).tokens.maxWeight = 2),
      (d) => (sections(d).connections.maxOutDegree = 999),
      (d) => (sections(d).physics.cellSize[7] = 0.2),
      (d) => (sections(d).fields.stabilitySteps = 11),
      (d) => (sections(d).learning.hypothesisType = 0x51),
      (d) => (sections(d).quotas.softThreshold = 0.9),
      (d) => (sections(d).sampling.allowClientRate = true),
      (d) => (sections(d).validation.strict = true),
      (d) => (sections(d).metadata.comment = "x"),
    ];
    const seen = new Set([base.checksum]);
    for (const edit of edits) {
      const d = cloneConstitution(base);
      edit(d);
      const sum = computeChecksum(d);
      expect(seen.has(sum)).toBe(false);
      seen.add(sum);
      // The unsealed edit is caught by validation.
      expect(validateConstitution(d).map((v) => v.rule)).toEqual(["checksum_mismatch"]);
      expect(validateConstitution(sealConstitution(d))).toEqual([]);
    }
  });

  it("rejects bytes that are not a Constitution message with a ValidationError", () => {
    const bytes = Uint8Array.from([0x12, 0xff, 0x01]); // field 2, length 255, truncated
    expect(() => decodeConstitution(bytes)).toThrow(ValidationError);
    try {
      decodeConstitution(bytes);
    } catch (err: unknown) {
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).violations).toMatchObject([{ field: "constitution", rule: "malformed", value: "3 bytes" }]);
    }
  });

  it("a damaged stored document fails its checksum", () => {
    const stored = encodeConstitution(defaultConstitution());
    // Flip a bit inside the tokens section's max_weight double.
    const damaged = Uint8Array.from(stored);
    const i = Buffer.from(damaged).indexOf(Buffer.from([0x11, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f])); // max_weight = 1.0
    expect(i).toBeGreaterThan(0);
    damaged[i + 7] = 0xe0; // 1.0 → 0.5
    const violations = validateConstitution(decodeConstitution(damaged));
    expect(violations).toMatchObject([{ field: "checksum", rule: "checksum_mismatch" }]);
  });
});

describe("validateConstitutionBytes", () => {
  it("accepts the stored form of a valid document and returns it decoded", () => {
    const doc = defaultConstitution();
    expect(validateConstitutionBytes(encodeConstitution(doc))).toEqual({ doc, violations: [] });
  });

  it("non_canonical: bytes with an unknown field decode but are refused", () => {
    const stored = encodeConstitution(defaultConstitution());
    const withUnknown = Uint8Array.from([...stored, 0x98, 0x06, 0x01]); // field 99 = 1
    const r = validateConstitutionBytes(withUnknown);
    expect(r.doc).toBeUndefined();
    expect(r.violations).toMatchObject([{ field: "constitution", rule: "non_canonical" }]);
  });

  it("malformed: undecodable bytes", () => {
    expect(validateConstitutionBytes(Uint8Array.from([0x12, 0xff, 0x01])).violations).toMatchObject([{ rule: "malformed" }]);
  });

  it("reports content violations of decodable canonical bytes", () => {
    const d = cloneConstitution(defaultConstitution());
    sections(d).quotas.softThreshold = 2;
    expect(validateConstitutionBytes(encodeConstitution(sealConstitution(d))).violations).toMatchObject([{ rule: "soft_threshold_range" }]);
  });
});
