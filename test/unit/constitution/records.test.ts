import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CONNECTION_RECORD_SIZE, ConnectionOffset as O } from "../../../src/core/connection/layout.ts";
import {
  compileConstitution,
  constitutionForProfile,
  defaultConstitution,
  nextVersion,
  splitValid,
  validateConnectionRecords,
} from "../../../src/core/constitution/index.ts";
import { ValidationError, type FieldViolation } from "../../../src/core/errors.ts";
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from "../../../src/core/limits.ts";

const limits = compileConstitution(defaultConstitution()).connections;

interface Rec {
  source: number;
  target: number;
  type: number;
  mutability: number;
  rigidity: number;
  pullStrength: number;
  preferredDistance: number;
  confidence: number;
  learningRate: number;
  decayRate: number;
  evidenceCount: number;
  successCount: number;
}

const VALID: Rec = {
  source: 1,
  target: 2,
  type: 0x10,
  mutability: 1,
  rigidity: 0.5,
  pullStrength: 1,
  preferredDistance: 1,
  confidence: 0.5,
  learningRate: 0.125,
  decayRate: 0.0625,
  evidenceCount: 3,
  successCount: 2,
};

function write(bytes: Uint8Array, i: number, r: Rec): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const o = i * CONNECTION_RECORD_SIZE;
  dv.setUint32(o + O.source, r.source, true);
  dv.setUint32(o + O.target, r.target, true);
  bytes[o + O.type] = r.type;
  bytes[o + O.mutability] = r.mutability;
  dv.setFloat32(o + O.rigidity, r.rigidity, true);
  dv.setFloat32(o + O.pullStrength, r.pullStrength, true);
  dv.setFloat32(o + O.preferredDistance, r.preferredDistance, true);
  dv.setFloat32(o + O.confidence, r.confidence, true);
  dv.setFloat32(o + O.learningRate, r.learningRate, true);
  dv.setFloat32(o + O.decayRate, r.decayRate, true);
  dv.setUint32(o + O.evidenceCount, r.evidenceCount, true);
  dv.setUint32(o + O.successCount, r.successCount, true);
}

function batch(...recs: Partial<Rec>[]): Uint8Array {
  const bytes = new Uint8Array(recs.length * CONNECTION_RECORD_SIZE);
  recs.forEach((r, i) => write(bytes, i, { ...VALID, ...r }));
  return bytes;
}

/** Violations of one record that differs from VALID by `change`, placed at index 1 of 3. */
function violationsOf(change: Partial<Rec>, l: ConnectionLimits = limits): FieldViolation[] {
  return validateConnectionRecords(batch({}, change, {}), l);
}

describe("validateConnectionRecords: one test per rule", () => {
  it("accepts valid records, including values exactly on the bounds", () => {
    expect(validateConnectionRecords(batch({}, {}, {}), limits)).toEqual([]);
    expect(violationsOf({ pullStrength: -10, rigidity: 0, preferredDistance: 0.01, confidence: 0, learningRate: 0, decayRate: 0 })).toEqual([]);
    expect(violationsOf({ pullStrength: 10, rigidity: 1, preferredDistance: 100, confidence: 1, learningRate: 1, decayRate: 1, type: 0xaf, mutability: 2 })).toEqual([]);
    expect(violationsOf({ rigidity: -0, confidence: -0, pullStrength: -0, evidenceCount: 0, successCount: 0 })).toEqual([]);
    expect(validateConnectionRecords(new Uint8Array(0), limits)).toEqual([]);
  });

  it("source_zero", () => {
    expect(violationsOf({ source: 0 })).toEqual([{ index: 1, field: "source", value: "0", rule: "source_zero", description: "source token id must not be 0" }]);
  });

  it("target_zero", () => {
    expect(violationsOf({ target: 0 })).toEqual([{ index: 1, field: "target", value: "0", rule: "target_zero", description: "target token id must not be 0" }]);
  });

  it("self_loop", () => {
    expect(violationsOf({ source: 7, target: 7 })).toMatchObject([{ index: 1, field: "target", value: "7", rule: "self_loop" }]);
    // Two zero ids are reported as zero ids, not as a self-loop.
    expect(violationsOf({ source: 0, target: 0 }).map((v) => v.rule)).toEqual(["source_zero", "target_zero"]);
  });

  it("type_not_allowed: undefined types and types the constitution forbids", () => {
    expect(violationsOf({ type: 0xb0 })).toMatchObject([{ index: 1, field: "type", value: "0xb0", rule: "type_not_allowed" }]);
    const bits = Uint8Array.from(limits.allowedTypes);
    bits[0x10 >> 3] = 0;
    const forbidding = { ...limits, allowedTypes: bits };
    expect(validateConnectionRecords(batch({ type: 0x10 }, { type: 0x18 }), forbidding)).toMatchObject([{ index: 0, field: "type", value: "0x10", rule: "type_not_allowed" }]);
  });

  it("mutability_invalid", () => {
    expect(violationsOf({ mutability: 3 })).toMatchObject([{ index: 1, field: "mutability", value: "3", rule: "mutability_invalid" }]);
  });

  it("not_finite: NaN and infinities in any float field", () => {
    const v = violationsOf({ pullStrength: Number.NaN, rigidity: Infinity, confidence: -Infinity });
    expect(v.map((x) => [x.field, x.value, x.rule])).toEqual([
      ["pull_strength", "NaN", "not_finite"],
      ["rigidity", "Infinity", "not_finite"],
      ["confidence", "-Infinity", "not_finite"],
    ]);
  });

  it("pull_range", () => {
    expect(violationsOf({ pullStrength: 10.5 })).toEqual([
      { index: 1, field: "pull_strength", value: "10.5", rule: "pull_range", description: "must be within [-10, 10]" },
    ]);
  });

  it("rigidity_range", () => {
    expect(violationsOf({ rigidity: 1.25 })).toMatchObject([{ field: "rigidity", value: "1.25", rule: "rigidity_range", description: "must be within [0, 1]" }]);
    expect(violationsOf({ rigidity: 0.25 }, { ...limits, minRigidity: 0.5 })).toMatchObject([{ rule: "rigidity_range", description: "must be within [0.5, 1]" }]);
  });

  it("preferred_distance_range", () => {
    expect(violationsOf({ preferredDistance: 0.005 })).toMatchObject([
      { field: "preferred_distance", rule: "preferred_distance_range", description: "must be within [0.01, 100]" },
    ]);
  });

  it("confidence_range, learning_rate_range, decay_rate_range", () => {
    const v = violationsOf({ confidence: 1.5, learningRate: -0.25, decayRate: 2 });
    expect(v.map((x) => [x.field, x.value, x.rule])).toEqual([
      ["confidence", "1.5", "confidence_range"],
      ["learning_rate", "-0.25", "learning_rate_range"],
      ["decay_rate", "2", "decay_rate_range"],
    ]);
  });

  it("success_count_exceeds_evidence", () => {
    expect(violationsOf({ evidenceCount: 3, successCount: 4 })).toMatchObject([
      { index: 1, field: "success_count", value: "4", rule: "success_count_exceeds_evidence", description: "must not exceed evidence_count (3): successes are a subset of the observations" },
    ]);
  });

  it("lists every broken rule of every record, in record order", () => {
    const v = validateConnectionRecords(batch({ source: 0, pullStrength: 20 }, {}, { type: 0xff, mutability: 9, confidence: 3 }), limits);
    expect(v.map((x) => [x.index, x.rule])).toEqual([
      [0, "source_zero"],
      [0, "pull_range"],
      [2, "type_not_allowed"],
      [2, "mutability_invalid"],
      [2, "confidence_range"],
    ]);
  });

  it("applies limits at f32 precision: a value written as the bound passes", () => {
    const l = { ...limits, maxPull: 0.1, minPreferredDistance: 0.3 };
    expect(validateConnectionRecords(batch({ pullStrength: 0.1, preferredDistance: 0.3 }), l)).toEqual([]);
    expect(validateConnectionRecords(batch({ pullStrength: 0.1000001, preferredDistance: 0.3 }), l)).toMatchObject([{ index: 0, rule: "pull_range", description: "must be within [-10, 0.1]" }]);
  });

  it("rejects a buffer that is not whole records", () => {
    expect(() => validateConnectionRecords(new Uint8Array(65), limits)).toThrow(ValidationError);
  });

  it("gives the same answer for a buffer at an unaligned offset", () => {
    const b = batch({}, { pullStrength: 11 }, {}, { source: 0 });
    const shifted = new Uint8Array(b.length + 1);
    shifted.set(b, 1);
    expect(validateConnectionRecords(shifted.subarray(1), limits)).toEqual(validateConnectionRecords(b, limits));
  });

  it("follows a profile switch (the compiled view of the new version)", () => {
    const analyst = compileConstitution(constitutionForProfile("analyst")).connections;
    const narrowed = compileConstitution(nextVersion(constitutionForProfile("analyst"), { connections: { minPullStrength: 0 } }, { createdAtUnixMs: 0 })).connections;
    expect(violationsOf({ pullStrength: -1 }, analyst)).toEqual([]);
    expect(violationsOf({ pullStrength: -1 }, narrowed)).toMatchObject([{ rule: "pull_range", description: "must be within [0, 10]" }]);
  });
});

/** The rules restated directly in float arithmetic: the reference for the bit-level fast path. */
function referenceValid(r: Rec, l: ConnectionLimits): boolean {
  const f = Math.fround;
  const inR = (v: number, lo: number, hi: number): boolean => v >= f(lo) && v <= f(hi);
  return (
    r.source !== 0 &&
    r.target !== 0 &&
    r.source !== r.target &&
    (l.allowedTypes[r.type >> 3]! & (1 << (r.type & 7))) !== 0 &&
    r.mutability <= 2 &&
    inR(f(r.pullStrength), l.minPull, l.maxPull) &&
    inR(f(r.rigidity), l.minRigidity, l.maxRigidity) &&
    inR(f(r.preferredDistance), l.minPreferredDistance, l.maxPreferredDistance) &&
    inR(f(r.confidence), 0, 1) &&
    inR(f(r.learningRate), 0, 1) &&
    inR(f(r.decayRate), 0, 1) &&
    r.successCount <= r.evidenceCount
  );
}

describe("validateConnectionRecords: fast path = reference", () => {
  const float = fc.oneof(
    fc.float({ noDefaultInfinity: false }),
    fc.constantFrom(0, -0, 1, -1, 10, -10, 0.01, 100, Math.fround(0.01), 1.0000001, -1e-45, 1e-45, Number.NaN, Infinity, -Infinity),
    fc.integer({ min: 0, max: 0xffffffff }).map((bits) => new Float32Array(new Uint32Array([bits]).buffer)[0]!),
  );
  const id = fc.oneof(fc.constantFrom(0, 1, 2), fc.integer({ min: 0, max: 0xffffffff }));
  const rec: fc.Arbitrary<Rec> = fc.record({
    source: id,
    target: id,
    type: fc.integer({ min: 0, max: 255 }),
    mutability: fc.integer({ min: 0, max: 255 }),
    rigidity: float,
    pullStrength: float,
    preferredDistance: float,
    confidence: float,
    learningRate: float,
    decayRate: float,
    evidenceCount: fc.integer({ min: 0, max: 0xffffffff }),
    successCount: fc.integer({ min: 0, max: 0xffffffff }),
  });
  const range = (lo: number, hi: number): fc.Arbitrary<[number, number]> =>
    fc.tuple(fc.double({ min: lo, max: hi, noNaN: true }), fc.double({ min: lo, max: hi, noNaN: true })).map(([a, b]) => (a <= b ? [a, b] : [b, a]));
  const anyLimits: fc.Arbitrary<ConnectionLimits> = fc
    .record({ types: fc.uint8Array({ minLength: 32, maxLength: 32 }), pull: range(-10, 10), rig: range(-1, 1), pd: range(0, 100) })
    .map(({ types, pull, rig, pd }) => ({
      ...DEFAULT_CONNECTION_LIMITS,
      allowedTypes: types,
      minPull: pull[0],
      maxPull: pull[1],
      minRigidity: rig[0],
      maxRigidity: rig[1],
      minPreferredDistance: pd[0],
      maxPreferredDistance: pd[1],
    }));

  it("a record gets violations exactly when the reference rejects it", () => {
    fc.assert(
      fc.property(fc.array(rec, { maxLength: 20 }), fc.oneof(fc.constant(limits), anyLimits), (recs, l) => {
        const bytes = new Uint8Array(recs.length * CONNECTION_RECORD_SIZE);
        recs.forEach((r, i) => write(bytes, i, r));
        const flagged = new Set(validateConnectionRecords(bytes, l).map((v) => v.index));
        recs.forEach((r, i) => expect(flagged.has(i), `record ${i}: ${JSON.stringify(r)}`).toBe(!referenceValid(r, l)));
      }),
      { numRuns: 300 },
    );
  });
});

describe("splitValid", () => {
  const bad = validateConnectionRecords(batch({}, { source: 0, pullStrength: 50 }, {}, { mutability: 7 }), limits);

  it("non-strict: rejects only the named items", () => {
    const v = splitValid(bad, 4, false);
    expect([...v.rejected]).toEqual([0, 1, 0, 1]);
    expect(v).toMatchObject({ rejectedCount: 2, acceptedCount: 2, wholeBatchRejected: false });
    expect(v.violations).toBe(bad);
  });

  it("strict: any violation rejects the whole batch", () => {
    const v = splitValid(bad, 4, true);
    expect([...v.rejected]).toEqual([1, 1, 1, 1]);
    expect(v).toMatchObject({ rejectedCount: 4, acceptedCount: 0, wholeBatchRejected: true });
  });

  it("no violations: everything accepted, in both modes", () => {
    for (const strict of [true, false]) {
      const v = splitValid([], 3, strict);
      expect([...v.rejected]).toEqual([0, 0, 0]);
      expect(v).toMatchObject({ rejectedCount: 0, acceptedCount: 3, wholeBatchRejected: false });
    }
  });

  it("a violation without an item index concerns the batch: all rejected", () => {
    const v = splitValid([{ field: "records", rule: "record_size", description: "x" }], 3, false);
    expect(v).toMatchObject({ rejectedCount: 3, wholeBatchRejected: true });
    expect(splitValid([{ index: 5, field: "f", rule: "r", description: "x" }], 3, false).wholeBatchRejected).toBe(true);
  });
});
