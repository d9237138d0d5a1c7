import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ValidationError } from "../../../src/core/errors.ts";
import {
  COORDS_PER_TOKEN,
  EntityType,
  MAX_HIERARCHY_LEVEL,
  SCALES,
  TOKEN_FLAGS,
  coordinateField,
  coordinateRange,
  decodeToken,
  encodeCoordinates,
  encodeToken,
  entityTypeOf,
  hierarchyLevelOf,
  rawCoordinates,
  roundCoordinate,
  tokenFields,
  withEntityType,
  withHierarchyLevel,
} from "../../../src/core/token/index.ts";

const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

function thrown(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error("expected a ValidationError");
}

describe("token record golden vector (original-core §1.1)", () => {
  const coords = new Array<number>(COORDS_PER_TOKEN).fill(0);
  coords[0] = 1;
  coords[1] = -2;
  coords[2] = 3;
  const fields = tokenFields(0x01020304, 0x11223344, {
    coords,
    flags: 0x0501,
    weight: 0.5,
    fieldRadius: 1.5,
    fieldStrength: 0.8,
  });

  it("encodes to the verified bytes", () => {
    const b = encodeToken(fields);
    expect(b.byteLength).toBe(64);
    expect(hex(b.subarray(0, 6))).toBe("64 00 38 ff 2c 01");
    expect(hex(b.subarray(6, 48))).toBe(new Array(42).fill("00").join(" "));
    expect(hex(b.subarray(48, 64))).toBe("04 03 02 01 01 05 00 00 00 3f 96 cc 44 33 22 11");
  });

  it("decodes back to the same fields", () => {
    const t = decodeToken(encodeToken(fields));
    expect(t.id).toBe(0x01020304);
    expect(t.flags).toBe(0x0501);
    expect(entityTypeOf(t.flags)).toBe(EntityType.Concept);
    expect(t.weight).toBe(0.5);
    expect(t.fieldRadius).toBe(1.5);
    expect(t.fieldStrength).toBe(0.8);
    expect(t.timestamp).toBe(0x11223344);
    expect(Array.from(t.coords).slice(0, 3)).toEqual([1, -2, 3]);
  });
});

describe("coordinate rounding", () => {
  it("rounds to nearest where the original truncated", () => {
    // original: 0.53→52, 0.59→58, 1.05→104, 2.1→209 (f32 product truncated)
    expect(roundCoordinate(0.53, 0)).toBe(53);
    expect(roundCoordinate(0.59, 0)).toBe(59);
    expect(roundCoordinate(1.05, 0)).toBe(105);
    expect(roundCoordinate(2.1, 0)).toBe(210);
    expect(roundCoordinate(0.29, 0)).toBe(29);
    expect(roundCoordinate(10.5, 0)).toBe(1050);
    expect(roundCoordinate(-1.005, 0)).toBe(-100); // 1.005 is 1.00499999… in binary
    expect(roundCoordinate(0.0007, 7)).toBe(7); // original: 6
    expect(roundCoordinate(0.1, 2)).toBe(100);
  });

  it("breaks exact ties away from zero, symmetrically", () => {
    expect(roundCoordinate(0.125, 0)).toBe(13); // 12.5 exactly
    expect(roundCoordinate(-0.125, 0)).toBe(-13);
    expect(roundCoordinate(0.005, 6)).toBe(1); // 0.5 in L7 (scale 100)
    expect(roundCoordinate(-0.005, 6)).toBe(-1);
    // Not a tie: the double nearest 0.00015 is slightly below it, so the product is 1.4999999999999998.
    expect(roundCoordinate(0.00015, 1)).toBe(1);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 }), fc.double({ min: -300, max: 300, noNaN: true }), (s, v) => {
        expect(roundCoordinate(-v, s)).toBe(-roundCoordinate(v, s) + 0);
        expect(Object.is(roundCoordinate(v, s), -0)).toBe(false);
      }),
    );
  });

  it("has the scale table of DESIGN §3.1 and inverse decoding", () => {
    expect(SCALES).toEqual([100, 10000, 1000, 10000, 10000, 10000, 100, 10000]);
    expect(coordinateRange(0)).toEqual({ min: -327.68, max: 327.67 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 }), fc.integer({ min: -32768, max: 32767 }), (s, raw) => {
        expect(roundCoordinate(raw / SCALES[s]!, s)).toBe(raw + 0);
      }),
    );
  });

  it("rejects NaN, Infinity and out-of-range values naming index and field", () => {
    const values = new Array<number>(2 * COORDS_PER_TOKEN).fill(0);
    values[2 * 3 + 1] = NaN; // token 0, L3.y
    values[COORDS_PER_TOKEN + 0] = Infinity; // token 1, L1.x
    values[COORDS_PER_TOKEN + 7 * 3 + 2] = 5; // token 1, L8.z: max 3.2767
    values[COORDS_PER_TOKEN + 3] = 327.675; // token 1, L2.x: way out
    const out = new Int16Array(2 * COORDS_PER_TOKEN).fill(7);
    const err = thrown(() => encodeCoordinates(values, out));
    expect(err.violations.map((v) => [v.index, v.field, v.rule])).toEqual([
      [0, "coords.l3.y", "coord_finite"],
      [1, "coords.l1.x", "coord_finite"],
      [1, "coords.l2.x", "coord_range"],
      [1, "coords.l8.z", "coord_range"],
    ]);
    expect(out.every((x) => x === 7)).toBe(true);
  });

  it("accepts the exact int16 bounds and rejects one past them after rounding", () => {
    const out = new Int16Array(COORDS_PER_TOKEN);
    const v = new Array<number>(COORDS_PER_TOKEN).fill(0);
    v[0] = 327.67;
    v[1] = -327.68;
    v[2] = 327.674; // rounds to 32767
    encodeCoordinates(v, out);
    expect(Array.from(out.subarray(0, 3))).toEqual([32767, -32768, 32767]);
    v[2] = 327.675; // rounds to 32768
    expect(thrown(() => encodeCoordinates(v, out)).violations[0]!.field).toBe("coords.l1.z");
    v[2] = 0;
    v[1] = -327.685; // rounds to -32769
    expect(thrown(() => encodeCoordinates(v, out)).violations[0]!.field).toBe("coords.l1.y");
  });

  it("names every coordinate field", () => {
    expect(coordinateField(0)).toBe("coords.l1.x");
    expect(coordinateField(23)).toBe("coords.l8.z");
  });
});

describe("single-token codec", () => {
  const fieldsArb = fc.record({
    id: fc.integer({ min: 0, max: 0xffffffff }),
    raw: fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 24, maxLength: 24 }),
    flags: fc.integer({ min: 0, max: 0xffff }),
    weight: fc.float({ noNaN: true, noDefaultInfinity: true }),
    radius: fc.integer({ min: 0, max: 255 }),
    strength: fc.integer({ min: 0, max: 255 }),
    timestamp: fc.integer({ min: 0, max: 0xffffffff }),
  });

  it("round-trips decoded fields to identical bytes", () => {
    fc.assert(
      fc.property(fieldsArb, (f) => {
        const t = tokenFields(f.id, f.timestamp, {
          coords: f.raw.map((r, k) => r / SCALES[Math.floor(k / 3)]!),
          flags: f.flags,
          weight: f.weight,
          fieldRadius: f.radius / 100,
          fieldStrength: f.strength / 255,
        });
        const bytes = encodeToken(t);
        expect(Array.from(rawCoordinates(bytes))).toEqual(f.raw.map((r) => r + 0));
        expect(encodeToken(decodeToken(bytes))).toEqual(bytes);
        const d = decodeToken(bytes);
        expect([d.id, d.flags, d.timestamp]).toEqual([f.id, f.flags, f.timestamp]);
        expect(Object.is(d.weight, f.weight)).toBe(true);
      }),
    );
  });

  it("reports every bad field and writes nothing", () => {
    const out = new Uint8Array(128).fill(9);
    const err = thrown(() =>
      encodeToken(
        tokenFields(-1, 2 ** 32, { weight: NaN, fieldRadius: 2.56, fieldStrength: -0.1, flags: 0x10000, coords: [1, 2] }),
        out,
        1,
      ),
    );
    expect(err.violations.map((v) => [v.index, v.field])).toEqual([
      [1, "id"],
      [1, "coords"],
      [1, "flags"],
      [1, "weight"],
      [1, "field_radius"],
      [1, "field_strength"],
      [1, "timestamp"],
    ]);
    expect(out.every((b) => b === 9)).toBe(true);
  });
});

describe("flags", () => {
  it("keeps entity type and hierarchy level in their bits", () => {
    let f = TOKEN_FLAGS.ACTIVE | TOKEN_FLAGS.LOCKED;
    f = withEntityType(f, EntityType.Buffer);
    f = withHierarchyLevel(f, 3);
    expect(f).toBe(0x3e81);
    expect(entityTypeOf(f)).toBe(EntityType.Buffer);
    expect(hierarchyLevelOf(f)).toBe(3);
    f = withEntityType(f, EntityType.Object);
    expect(f).toBe(0x3181);
    expect(entityTypeOf(0x0f00)).toBe(EntityType.Reserved);
    expect(hierarchyLevelOf(withHierarchyLevel(0xffff, MAX_HIERARCHY_LEVEL))).toBe(15);
    expect(thrown(() => withHierarchyLevel(0, 16)).violations[0]!.rule).toBe("level_range");
  });
});
