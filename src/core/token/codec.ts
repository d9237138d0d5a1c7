/**
 * Single-token codec with decoded values, for APIs, tests and tools. Batch paths use
 * `batch.ts` and never build these objects.
 */
import type { FieldViolation } from "../errors.ts";
import { ValidationError } from "../errors.ts";
import { COORDS_PER_TOKEN } from "./columns.ts";
import { coordinateViolations, decodeCoordinate, roundCoordinate } from "./coords.ts";
import { RADIUS_SCALE, STRENGTH_SCALE, TOKEN_RECORD_SIZE, TokenOffset } from "./layout.ts";

export interface TokenFields {
  /** u32; 0 in a create request asks the store to allocate one. */
  readonly id: number;
  /** 24 decoded coordinates, space-major: space s, axis a at `s * 3 + a`. */
  readonly coords: ArrayLike<number>;
  /** u16: system flags, entity type (bits 8-11), hierarchy level (bits 12-15). */
  readonly flags: number;
  /** Stored as float32. */
  readonly weight: number;
  /** Decoded radius, raw / 100 (0 … 2.55). */
  readonly fieldRadius: number;
  /** Decoded strength, raw / 255 (0 … 1). */
  readonly fieldStrength: number;
  /** u32 unix seconds. */
  readonly timestamp: number;
}

/** Field values of a fresh token: origin, ACTIVE, weight 0. */
export function tokenFields(id: number, timestamp: number, overrides: Partial<TokenFields> = {}): TokenFields {
  return {
    id,
    coords: new Array<number>(COORDS_PER_TOKEN).fill(0),
    flags: 0x0001,
    weight: 0,
    fieldRadius: 0,
    fieldStrength: 0,
    timestamp,
    ...overrides,
  };
}

function uintViolation(v: number, bits: number, field: string, index: number): FieldViolation | undefined {
  if (Number.isInteger(v) && v >= 0 && v < 2 ** bits) return undefined;
  return { index, field, value: String(v), rule: `${field}_u${bits}`, description: `${field} must be an integer in 0..${2 ** bits - 1}` };
}

function scaledByteViolation(v: number, scale: number, field: string, index: number): FieldViolation | undefined {
  const raw = Math.round(v * scale);
  if (Number.isFinite(v) && raw >= 0 && raw <= 255) return undefined;
  return {
    index,
    field,
    value: String(v),
    rule: `${field}_range`,
    description: `${field} must be a finite number in 0..${255 / scale} (stored as round(value × ${scale}) in one byte)`,
  };
}

/** Every violation of one token's fields (index = `index`). */
export function tokenFieldViolations(t: TokenFields, index = 0): FieldViolation[] {
  const out: FieldViolation[] = [];
  const push = (v: FieldViolation | undefined): void => {
    if (v !== undefined) out.push(v);
  };
  push(uintViolation(t.id, 32, "id", index));
  if (t.coords.length !== COORDS_PER_TOKEN) {
    out.push({
      index,
      field: "coords",
      value: String(t.coords.length),
      rule: "coords_length",
      description: `a token has ${COORDS_PER_TOKEN} coordinates (8 spaces × x, y, z)`,
    });
  } else {
    out.push(...coordinateViolations(t.coords, index));
  }
  push(uintViolation(t.flags, 16, "flags", index));
  if (!Number.isFinite(Math.fround(t.weight))) {
    out.push({
      index,
      field: "weight",
      value: String(t.weight),
      rule: "weight_finite",
      description: "weight must be a finite number representable as float32",
    });
  }
  push(scaledByteViolation(t.fieldRadius, RADIUS_SCALE, "field_radius", index));
  push(scaledByteViolation(t.fieldStrength, STRENGTH_SCALE, "field_strength", index));
  push(uintViolation(t.timestamp, 32, "timestamp", index));
  return out;
}

/**
 * Encodes one token into `out` at record `index` (a fresh 64-byte array by default).
 * Throws a ValidationError listing every bad field; writes nothing then.
 */
export function encodeToken(t: TokenFields, out = new Uint8Array(TOKEN_RECORD_SIZE), index = 0): Uint8Array {
  const violations = tokenFieldViolations(t, index);
  if (violations.length > 0) throw ValidationError.of("token", violations);
  const base = index * TOKEN_RECORD_SIZE;
  const dv = new DataView(out.buffer, out.byteOffset + base, TOKEN_RECORD_SIZE);
  for (let k = 0; k < COORDS_PER_TOKEN; k++) dv.setInt16(k * 2, roundCoordinate(t.coords[k]!, Math.floor(k / 3)), true);
  dv.setUint32(TokenOffset.id, t.id, true);
  dv.setUint16(TokenOffset.flags, t.flags, true);
  dv.setFloat32(TokenOffset.weight, t.weight, true);
  dv.setUint8(TokenOffset.fieldRadius, Math.round(t.fieldRadius * RADIUS_SCALE));
  dv.setUint8(TokenOffset.fieldStrength, Math.round(t.fieldStrength * STRENGTH_SCALE));
  dv.setUint32(TokenOffset.timestamp, t.timestamp, true);
  return out;
}

/**
 * Decodes record `index` of `bytes`. Decoded values re-encode to the same bytes, except a NaN
 * weight's payload (JS numbers do not keep it; the batch codec does).
 */
export function decodeToken(bytes: Uint8Array, index = 0): TokenFields {
  const base = index * TOKEN_RECORD_SIZE;
  if (base < 0 || base + TOKEN_RECORD_SIZE > bytes.byteLength) {
    throw ValidationError.of("token record", [
      {
        field: "records",
        value: String(bytes.byteLength),
        rule: "record_size",
        description: `record ${index} needs bytes ${base}..${base + TOKEN_RECORD_SIZE - 1}; the buffer has ${bytes.byteLength}`,
      },
    ]);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset + base, TOKEN_RECORD_SIZE);
  const coords = new Array<number>(COORDS_PER_TOKEN);
  for (let k = 0; k < COORDS_PER_TOKEN; k++) coords[k] = decodeCoordinate(dv.getInt16(k * 2, true), Math.floor(k / 3));
  return {
    id: dv.getUint32(TokenOffset.id, true),
    coords,
    flags: dv.getUint16(TokenOffset.flags, true),
    weight: dv.getFloat32(TokenOffset.weight, true),
    fieldRadius: dv.getUint8(TokenOffset.fieldRadius) / RADIUS_SCALE,
    fieldStrength: dv.getUint8(TokenOffset.fieldStrength) / STRENGTH_SCALE,
    timestamp: dv.getUint32(TokenOffset.timestamp, true),
  };
}

/** Raw coordinates of record `index` (24 int16 values). */
export function rawCoordinates(bytes: Uint8Array, index = 0): Int16Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + index * TOKEN_RECORD_SIZE, TOKEN_RECORD_SIZE);
  const out = new Int16Array(COORDS_PER_TOKEN);
  for (let k = 0; k < COORDS_PER_TOKEN; k++) out[k] = dv.getInt16(k * 2, true);
  return out;
}
