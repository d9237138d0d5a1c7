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
import type { FieldViolation } from "../../../src/core/errors.ts";
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from "../../../src/core/limits.ts";

const limits = compileConstitution(defaultConstitution()).connections;

interface Rec {
  source: number;
  target: number;
  type: number;
  flags: number;
  mutability: number;
  reserved: number;
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
  flags: 0x0001,
  mutability: 1,
  reserved: 0,
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
  dv.setUint16(o + O.flags, r.flags, true);
  bytes[o + O.mutability] = r.mutability;
  bytes[o + 13] = r.reserved & 0xff;
  dv.setUint16(o + 14, r.reserved >>> 8, true);
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

  it("id_nonzero: source and target", () => {
    expect(violationsOf({ source: 0 })).toEqual([{ index: 1, field: "source", value: "0", rule: "id_nonzero", description: "source token id must not be 0" }]);
    expect(violationsOf({ target: 0 })).toEqual([{ index: 1, field: "target", value: "0", rule: "id_nonzero", description: "target token id must not be 0" }]);
  });

  it("self_loop", () => {
    expect(violationsOf({ source: 7, target: 7 })).toMatchObject([{ index: 1, field: "target", value: "7", rule: "self_loop" }]);
    // Two zero ids are reported as zero ids, not as a self-loop.
    expect(violationsOf({ source: 0, target: 0 }).map((v) => [v.field, v.rule])).toEqual([
      ["source", "id_nonzero"],
      ["target", "id_nonzero"],
    ]);
  });

  it("type_defined: types above 0xaf do not exist", () => {
    expect(violationsOf({ type: 0xb0 })).toMatchObject([{ index: 1, field: "type", value: "0xb0", rule: "type_defined" }]);
    expect(validateConnectionRecords(batch({ type: 0xff }), undefined)).toMatchObject([{ rule: "type_defined" }]);
  });

  it("type_allowed: types the constitution forbids", () => {
    const bits = Uint8Array.from(limits.allowedTypes);
    bits[0x10 >> 3] = 0;
    const forbidding = { ...limits, allowedTypes: bits };
    expect(validateConnectionRecords(batch({ type: 0x10 }, { type: 0x18 }), forbidding)).toMatchObject([{ index: 0, field: "type", value: "0x10", rule: "type_allowed" }]);
  });

  it("flags_known: only defined flag bits", () => {
    expect(violationsOf({ flags: 0x0081 })).toMatchObject([{ index: 1, field: "flags", value: "0x81", rule: "flags_known", description: "only flag bits 0x7f are defined" }]);
    expect(violationsOf({ flags: 0x007f })).toEqual([]);
  });

  it("mutability_defined", () => {
    expect(violationsOf({ mutability: 3 })).toMatchObject([{ index: 1, field: "mutability", value: "3", rule: "mutability_defined" }]);
  });

  it("reserved_zero: bytes 13..15", () => {
    expect(violationsOf({ reserved: 0x010000 })).toMatchObject([{ index: 1, field: "reserved", rule: "reserved_zero" }]);
    expect(violationsOf({ reserved: 1 })).toMatchObject([{ rule: "reserved_zero" }]);
  });

  it("<field>_finite: NaN and infinities in any float field", () => {
    const v = violationsOf({ pullStrength: Number.NaN, rigidity: Infinity, confidence: -Infinity, decayRate: Number.NaN });
    expect(v.map((x) => [x.field, x.value, x.rule])).toEqual([
      ["rigidity", "Infinity", "rigidity_finite"],
      ["pull_strength", "NaN", "pull_strength_finite"],
      ["confidence", "-Infinity", "confidence_finite"],
      ["decay_rate", "NaN", "decay_rate_finite"],
    ]);
    expect(v[0]!.description).toBe("must be a finite number within [0, 1]");
  });

  it("pull_strength_range", () => {
    expect(violationsOf({ pullStrength: 10.5 })).toEqual([
      { index: 1, field: "pull_strength", value: "10.5", rule: "pull_strength_range", description: "must be within [-10, 10]" },
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

  it("success_le_evidence", () => {
    expect(violationsOf({ evidenceCount: 3, successCount: 4 })).toMatchObject([
      { index: 1, field: "success_count", value: "4", rule: "success_le_evidence", description: "must not exceed evidence_count (3): successes are a subset of the observations" },
    ]);
  });

  it("record_size: a buffer that is not whole records is one batch-level violation", () => {
    expect(validateConnectionRecords(new Uint8Array(65), limits)).toEqual([
      { field: "records", value: "65 bytes", rule: "record_size", description: "must be a whole number of 64-byte connection records" },
    ]);
  });

  it("lists every broken rule of every record, in record order", () => {
    const v = validateConnectionRecords(batch({ source: 0, pullStrength: 20 }, {}, { type: 0xff, mutability: 9, confidence: 3 }), limits);
    expect(v.map((x) => [x.index, x.rule])).toEqual([
      [0, "id_nonzero"],
      [0, "pull_strength_range"],
      [2, "type_defined"],
      [2, "mutability_defined"],
      [2, "confidence_range"],
    ]);
  });

  it("without limits applies only the structural rules", () => {
    const b = batch({ pullStrength: 1e30, rigidity: -5, preferredDistance: 1e-9, type: 0xaf }, { rigidity: Number.NaN });
    expect(validateConnectionRecords(b, undefined).map((x) => [x.index, x.rule, x.description])).toEqual([[1, "rigidity_finite", "must be a finite number"]]);
  });

  it("options: firstIndex, invalid mask, skip and maxViolations", () => {
    const b = batch({ source: 0 }, {}, { mutability: 5, confidence: 2 }, { target: 0 });
    const invalid = new Uint8Array(4);
    const v = validateConnectionRecords(b, limits, { firstIndex: 100, invalid, maxViolations: 2 });
    expect(v.map((x) => [x.index, x.rule])).toEqual([
      [100, "id_nonzero"],
      [102, "mutability_defined"],
    ]);
    expect([...invalid]).toEqual([1, 0, 1, 1]);
    const skipped = validateConnectionRecords(b, limits, { skip: Uint8Array.from([1, 0, 1, 0]) });
    expect(skipped.map((x) => x.index)).toEqual([3]);
  });

  it("applies limits at f32 precision: a value written as the bound passes", () => {
    const l = { ...limits, maxPull: 0.1, minPreferredDistance: 0.3 };
    expect(validateConnectionRecords(batch({ pullStrength: 0.1, preferredDistance: 0.3 }), l)).toEqual([]);
    expect(validateConnectionRecords(batch({ pullStrength: 0.1000001, preferredDistance: 0.3 }), l)).toMatchObject([{ index: 0, rule: "pull_strength_range", description: "must be within [-10, 0.1]" }]);
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
    expect(violationsOf({ pullStrength: -1 }, narrowed)).toMatchObject([{ rule: "pull_strength_range", description: "must be within [0, 10]" }]);
  });
});

/** The rules restated directly in float arithmetic: the reference for the bit-level fast path. */
function referenceValid(r: Rec, l: ConnectionLimits | undefined): boolean {
  const f = Math.fround;
  const inR = (v: number, lo: number, hi: number): boolean => v >= f(lo) && v <= f(hi);
  const any = { minPull: -Infinity, maxPull: Infinity, minRigidity: -Infinity, maxRigidity: Infinity, minPreferredDistance: -Infinity, maxPreferredDistance: Infinity };
  const b = l ?? any;
  const finite = [r.pullStrength, r.rigidity, r.preferredDistance].every((v) => Number.isFinite(f(v)));
  return (
    r.source !== 0 &&
    r.target !== 0 &&
    r.source !== r.target &&
    r.type <= 0xaf &&
    (l === undefined || (l.allowedTypes[r.type >> 3]! & (1 << (r.type & 7))) !== 0) &&
    (r.flags & ~0x7f) === 0 &&
    r.mutability <= 2 &&
    r.reserved === 0 &&
    finite &&
    inR(f(r.pullStrength), b.minPull, b.maxPull) &&
    inR(f(r.rigidity), b.minRigidity, b.maxRigidity) &&
    inR(f(r.preferredDistance), b.minPreferredDistance, b.maxPreferredDistance) &&
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
    flags: fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0, max: 0xffff })),
    mutability: fc.integer({ min: 0, max: 255 }),
    reserved: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffffff })),
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
      fc.property(fc.array(rec, { maxLength: 20 }), fc.oneof(fc.constant(limits), fc.constant(undefined), anyLimits), (recs, l) => {
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

  it("uses the validator's invalid mask when the violation list was capped", () => {
    const b = batch({ source: 0 }, {}, { target: 0 });
    const invalid = new Uint8Array(3);
    const v = validateConnectionRecords(b, limits, { invalid, maxViolations: 1 });
    expect(v).toHaveLength(1);
    expect([...splitValid(v, 3, false, invalid).rejected]).toEqual([1, 0, 1]);
    expect(splitValid(v, 3, false).rejectedCount).toBe(1);
  });

  it("a violation without an item index concerns the batch: all rejected", () => {
    const v = splitValid(validateConnectionRecords(new Uint8Array(65), limits), 3, false);
    expect(v).toMatchObject({ rejectedCount: 3, wholeBatchRejected: true });
    expect(splitValid([{ index: 5, field: "f", rule: "r", description: "x" }], 3, false).wholeBatchRejected).toBe(true);
  });
});
