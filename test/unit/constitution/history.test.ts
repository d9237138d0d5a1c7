import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ConstitutionHistory,
  constitutionForProfile,
  decodeConstitution,
  defaultConstitution,
  encodeConstitution,
  nextVersion,
  switchProfile,
  validateConstitution,
} from "../../../src/core/constitution/index.ts";
import { FailedPreconditionError, ValidationError } from "../../../src/core/errors.ts";
import { sections } from "./helpers.ts";

describe("ConstitutionHistory", () => {
  it("Default → Explorer → Analyst, rollback gives Explorer (the original skipped to Default)", () => {
    const v1 = defaultConstitution();
    const v2 = switchProfile(v1, "explorer", { createdAtUnixMs: 1 });
    const v3 = switchProfile(v2, "analyst", { createdAtUnixMs: 2 });
    const h = new ConstitutionHistory(v1);
    h.push(v2);
    h.push(v3);
    expect(h.length).toBe(3);
    expect(h.previous()?.bytes).toEqual(encodeConstitution(v2));
    const restored = h.rollback();
    expect(restored.bytes).toEqual(encodeConstitution(v2));
    expect(restored.version).toBe(2);
    expect(restored.checksum).toBe(v2.checksum);
    expect(decodeConstitution(restored.bytes)).toEqual(v2);
    expect(h.current()).toBe(restored);
    expect(h.rollback().bytes).toEqual(encodeConstitution(v1));
  });

  it("refuses to roll back past the oldest kept version", () => {
    const h = new ConstitutionHistory(defaultConstitution());
    expect(() => h.rollback()).toThrow(FailedPreconditionError);
    expect(() => h.rollback()).toThrow(/version 1 is the oldest one kept/);
    expect(h.length).toBe(1);
  });

  it("keeps at most `capacity` versions, dropping the oldest", () => {
    let doc = defaultConstitution();
    const h = new ConstitutionHistory(doc, 3);
    for (let i = 0; i < 5; i++) {
      doc = nextVersion(doc, { connections: { maxOutDegree: 100 + i } }, { createdAtUnixMs: i });
      h.push(doc);
    }
    expect(h.list().map((e) => e.version)).toEqual([4, 5, 6]);
    h.rollback();
    h.rollback();
    expect(() => h.rollback()).toThrow(FailedPreconditionError);
    expect(h.current().version).toBe(4);
  });

  it("only accepts the next version in the chain", () => {
    const v1 = defaultConstitution();
    const h = new ConstitutionHistory(v1);
    expect(() => h.push(constitutionForProfile("explorer"))).toThrow(ValidationError); // version 1 again
    const v2 = nextVersion(v1, {}, { createdAtUnixMs: 0 });
    const v3 = nextVersion(v2, {}, { createdAtUnixMs: 0 });
    expect(() => h.push(v3)).toThrow(/must be version 2 with parent 1/);
    h.push(encodeConstitution(v2)); // bytes work too
    expect(h.current().version).toBe(2);
  });

  it("copies pushed bytes, so a caller reusing its buffer cannot change history", () => {
    const v1 = defaultConstitution();
    const v2 = nextVersion(v1, {}, { createdAtUnixMs: 0 });
    const buf = encodeConstitution(v2);
    const h = new ConstitutionHistory(v1);
    h.push(buf);
    buf.fill(0);
    expect(h.current().bytes).toEqual(encodeConstitution(v2));
  });

  it("rejects a capacity below 2", () => {
    expect(() => new ConstitutionHistory(defaultConstitution(), 1)).toThrow(ValidationError);
  });

  it("rollback returns byte-identical previous documents over random update/rollback sequences", () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant("update" as const), degree: fc.integer({ min: 0, max: 5000 }), strict: fc.boolean(), comment: fc.string({ maxLength: 8 }) }),
      fc.record({ kind: fc.constant("profile" as const), profile: fc.constantFrom("default" as const, "explorer" as const, "analyst" as const, "creative" as const) }),
      fc.record({ kind: fc.constant("rollback" as const) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), fc.array(step, { maxLength: 30 }), (capacity, steps) => {
        const first = defaultConstitution();
        const history = new ConstitutionHistory(first, capacity);
        const model: Uint8Array[] = [encodeConstitution(first)];
        let t = 0;
        for (const s of steps) {
          const current = decodeConstitution(model[model.length - 1]!);
          if (s.kind === "rollback") {
            if (model.length < 2) {
              expect(() => history.rollback()).toThrow(FailedPreconditionError);
              continue;
            }
            model.pop();
            const restored = history.rollback();
            expect(restored.bytes).toEqual(model[model.length - 1]);
            expect(validateConstitution(decodeConstitution(restored.bytes))).toEqual([]);
            continue;
          }
          const next =
            s.kind === "update"
              ? nextVersion(current, { connections: { maxOutDegree: s.degree }, validation: { strict: s.strict } }, { createdAtUnixMs: ++t, comment: s.comment })
              : switchProfile(current, s.profile, { createdAtUnixMs: ++t });
          expect(sections(next).metadata.version).toBe(sections(current).metadata.version + 1);
          history.push(next);
          model.push(encodeConstitution(next));
          if (model.length > capacity) model.shift();
          expect(history.list().map((e) => e.bytes)).toEqual(model);
        }
      }),
      { numRuns: 100 },
    );
  });
});
