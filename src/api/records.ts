/**
 * Conversions between the structured messages (Token, Connection, ConnectionKey) and the packed
 * 64-byte records the backend takes. A small local codec written against the documented layouts
 * (DESIGN §3.1, `src/core/connection/layout.ts`); it moves to the core token/connection codec
 * once that lands, which is why every conversion lives in this one file.
 *
 * Encoding validates what the packed form can represent (finite numbers, integer ranges, known
 * enum values) and collects one violation per bad field, so a batch is rejected with all of its
 * problems at once. Domain rules (weight range, allowed connection types, …) are the backend's.
 */
import type { FieldViolation } from "../core/errors.ts";
import { SPACES } from "../core/token/columns.ts";
import { roundCoordinate } from "../core/token/coords.ts";
import { SCALES, TOKEN_RECORD_SIZE } from "../core/token/layout.ts";
import { CONNECTION_FLAGS, CONNECTION_RECORD_SIZE, ConnectionOffset } from "../core/connection/layout.ts";
import type { Vec3 } from "../gen/neurograph/v1/common.ts";
import type { Coordinates, Token } from "../gen/neurograph/v1/token.ts";
import type { Connection, ConnectionKey } from "../gen/neurograph/v1/connection.ts";
import { Mutability as MutabilityProto } from "../gen/neurograph/v1/connection.ts";
import type { ConnectionKeys } from "./backend.ts";

export { TOKEN_RECORD_SIZE };
/** Fixed-point scale per space (decoded = raw / scale), DESIGN §3.1: the core codec's table. */
export const SPACE_SCALES: readonly number[] = SCALES;
export const TOKEN_FLAG_ACTIVE = 0x0001;
/** Highest entity type number (Buffer); 15 is reserved. */
export const MAX_ENTITY_TYPE = 14;

const SPACE_KEYS = ["l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8"] as const satisfies readonly (keyof Coordinates)[];
const AXES = ["x", "y", "z"] as const satisfies readonly (keyof Vec3)[];

/** Defaults of optional Connection fields in a write (documented in connection.proto). */
export const CONNECTION_DEFAULTS = Object.freeze({
  flags: CONNECTION_FLAGS.ACTIVE,
  rigidity: 0.5,
  pullStrength: 1,
  preferredDistance: 1,
  confidence: 0.5,
  learningRate: 0.125,
  decayRate: 0.0625,
});

export interface Encoded {
  readonly records: Uint8Array;
  readonly violations: readonly FieldViolation[];
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

class ViolationList {
  readonly items: FieldViolation[] = [];
  constructor(private index: number) {}
  at(index: number): this {
    this.index = index;
    return this;
  }
  add(field: string, value: unknown, rule: string, description: string): void {
    this.items.push({ index: this.index, field, value: String(value), rule, description });
  }
  /** Checks an integer field and reports it when out of [min, max]. */
  int(field: string, value: number, min: number, max: number): number {
    if (!Number.isInteger(value) || value < min || value > max) {
      this.add(field, value, "integer_range", `${field} must be an integer in [${min}, ${max}]`);
      return 0;
    }
    return value;
  }
  finite(field: string, value: number): number {
    if (!Number.isFinite(value)) {
      this.add(field, value, "finite", `${field} must be a finite number`);
      return 0;
    }
    return value;
  }
}

// ---------------------------------------------------------------------------------------------
// Tokens

/** Structured tokens → packed records. `now` stamps tokens without a timestamp. */
export function encodeTokens(tokens: readonly Token[], now: number = nowSeconds()): Encoded {
  const records = new Uint8Array(tokens.length * TOKEN_RECORD_SIZE);
  const view = new DataView(records.buffer);
  const v = new ViolationList(0);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    v.at(i);
    const o = i * TOKEN_RECORD_SIZE;
    for (let s = 0; s < SPACES; s++) {
      const key = SPACE_KEYS[s]!;
      const point = t.coords?.[key];
      if (point === undefined) continue;
      const scale = SPACE_SCALES[s]!;
      for (let a = 0; a < 3; a++) {
        const axis = AXES[a]!;
        const value = point[axis];
        const field = `coords.${key}.${axis}`;
        if (!Number.isFinite(value)) {
          v.add(field, value, "coord_finite", `${field} must be a finite number`);
          continue;
        }
        // The core codec's rounding (ties away from zero), so both write paths agree bit for bit.
        const raw = roundCoordinate(value, s);
        if (raw < -32768 || raw > 32767) {
          const limit = 32767 / scale;
          v.add(field, value, "coord_range", `${field} must be within ±${limit} in space ${key} (int16 / ${scale})`);
          continue;
        }
        view.setInt16(o + (s * 3 + a) * 2, raw, true);
      }
    }
    view.setUint32(o + 48, t.id, true);
    const system = t.systemFlags === undefined ? TOKEN_FLAG_ACTIVE : v.int("system_flags", t.systemFlags, 0, 0xff);
    const entity = v.int("entity_type", t.entityType, 0, MAX_ENTITY_TYPE);
    const level = v.int("level", t.level, 0, 15);
    view.setUint16(o + 52, system | (entity << 8) | (level << 12), true);
    view.setFloat32(o + 54, v.finite("weight", t.weight), true);
    records[o + 58] = scaledByte(v, "field_radius", t.fieldRadius, 100);
    records[o + 59] = scaledByte(v, "field_strength", t.fieldStrength, 255);
    view.setUint32(o + 60, t.timestamp ?? now, true);
  }
  return { records, violations: v.items };
}

function scaledByte(v: ViolationList, field: string, value: number, scale: number): number {
  const raw = Math.round(value * scale);
  if (!Number.isFinite(value) || raw < 0 || raw > 255) {
    v.add(field, value, `${field}_range`, `${field} must be within [0, ${255 / scale}] (steps of 1/${scale})`);
    return 0;
  }
  return raw;
}

/** Packed records → structured tokens. */
export function decodeTokens(records: Uint8Array): Token[] {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const n = Math.floor(records.byteLength / TOKEN_RECORD_SIZE);
  const out: Token[] = new Array<Token>(n);
  for (let i = 0; i < n; i++) {
    const o = i * TOKEN_RECORD_SIZE;
    const coords: Coordinates = {
      l1: undefined, l2: undefined, l3: undefined, l4: undefined,
      l5: undefined, l6: undefined, l7: undefined, l8: undefined,
    };
    for (let s = 0; s < SPACES; s++) {
      const scale = SPACE_SCALES[s]!;
      const base = o + s * 6;
      coords[SPACE_KEYS[s]!] = {
        x: view.getInt16(base, true) / scale,
        y: view.getInt16(base + 2, true) / scale,
        z: view.getInt16(base + 4, true) / scale,
      };
    }
    const flags = view.getUint16(o + 52, true);
    out[i] = {
      id: view.getUint32(o + 48, true),
      coords,
      weight: view.getFloat32(o + 54, true),
      fieldRadius: records[o + 58]! / 100,
      fieldStrength: records[o + 59]! / 255,
      timestamp: view.getUint32(o + 60, true),
      entityType: (flags >> 8) & 0xf,
      level: (flags >> 12) & 0xf,
      systemFlags: flags & 0xff,
    };
  }
  return out;
}

/** The id of packed token record i. */
export function tokenIdAt(records: Uint8Array, i: number): number {
  const o = i * TOKEN_RECORD_SIZE + 48;
  return (records[o]! | (records[o + 1]! << 8) | (records[o + 2]! << 16) | (records[o + 3]! << 24)) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Connections

const MUTABILITY_TO_BYTE: Readonly<Record<number, number>> = {
  [MutabilityProto.MUTABILITY_UNSPECIFIED]: 1,
  [MutabilityProto.MUTABILITY_IMMUTABLE]: 0,
  [MutabilityProto.MUTABILITY_LEARNABLE]: 1,
  [MutabilityProto.MUTABILITY_HYPOTHESIS]: 2,
};

/** Structured connections → packed records. `now` stamps connections without created_at. */
export function encodeConnections(connections: readonly Connection[], now: number = nowSeconds()): Encoded {
  const records = new Uint8Array(connections.length * CONNECTION_RECORD_SIZE);
  const view = new DataView(records.buffer);
  const v = new ViolationList(0);
  const O = ConnectionOffset;
  for (let i = 0; i < connections.length; i++) {
    const c = connections[i]!;
    v.at(i);
    const o = i * CONNECTION_RECORD_SIZE;
    view.setUint32(o + O.source, c.source, true);
    view.setUint32(o + O.target, c.target, true);
    records[o + O.type] = v.int("type", c.type, 0, 0xff);
    records[o + O.activeSpaces] = v.int("active_spaces", c.activeSpaces, 0, 0xff);
    view.setUint16(o + O.flags, v.int("flags", c.flags ?? CONNECTION_DEFAULTS.flags, 0, 0xffff), true);
    const mutability = MUTABILITY_TO_BYTE[c.mutability];
    if (mutability === undefined) v.add("mutability", c.mutability, "mutability_known", "mutability must be IMMUTABLE, LEARNABLE or HYPOTHESIS");
    records[o + O.mutability] = mutability ?? 0;
    const f32 = (off: number, field: string, value: number): void => view.setFloat32(o + off, v.finite(field, value), true);
    f32(O.rigidity, "rigidity", c.rigidity ?? CONNECTION_DEFAULTS.rigidity);
    f32(O.pullStrength, "pull_strength", c.pullStrength ?? CONNECTION_DEFAULTS.pullStrength);
    f32(O.preferredDistance, "preferred_distance", c.preferredDistance ?? CONNECTION_DEFAULTS.preferredDistance);
    f32(O.confidence, "confidence", c.confidence ?? CONNECTION_DEFAULTS.confidence);
    f32(O.learningRate, "learning_rate", c.learningRate ?? CONNECTION_DEFAULTS.learningRate);
    f32(O.decayRate, "decay_rate", c.decayRate ?? CONNECTION_DEFAULTS.decayRate);
    view.setUint32(o + O.activationCount, c.activationCount, true);
    view.setUint32(o + O.evidenceCount, c.evidenceCount, true);
    view.setUint32(o + O.successCount, c.successCount, true);
    const created = c.createdAt ?? now;
    view.setUint32(o + O.createdAt, created, true);
    view.setUint32(o + O.updatedAt, c.updatedAt ?? created, true);
    view.setUint32(o + O.lastActivation, c.lastActivation, true);
  }
  return { records, violations: v.items };
}

/** Packed records → structured connections. */
export function decodeConnections(records: Uint8Array): Connection[] {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const n = Math.floor(records.byteLength / CONNECTION_RECORD_SIZE);
  const O = ConnectionOffset;
  const out: Connection[] = new Array<Connection>(n);
  for (let i = 0; i < n; i++) {
    const o = i * CONNECTION_RECORD_SIZE;
    const f32 = (off: number): number => view.getFloat32(o + off, true);
    const u32 = (off: number): number => view.getUint32(o + off, true);
    out[i] = {
      source: u32(O.source),
      target: u32(O.target),
      type: records[o + O.type]!,
      activeSpaces: records[o + O.activeSpaces]!,
      flags: view.getUint16(o + O.flags, true),
      mutability: records[o + O.mutability]! + 1,
      rigidity: f32(O.rigidity),
      pullStrength: f32(O.pullStrength),
      preferredDistance: f32(O.preferredDistance),
      confidence: f32(O.confidence),
      learningRate: f32(O.learningRate),
      decayRate: f32(O.decayRate),
      activationCount: u32(O.activationCount),
      evidenceCount: u32(O.evidenceCount),
      successCount: u32(O.successCount),
      createdAt: u32(O.createdAt),
      updatedAt: u32(O.updatedAt),
      lastActivation: u32(O.lastActivation),
    };
  }
  return out;
}

/** Structured keys → typed arrays (type -1 = every type). */
export function encodeConnectionKeys(keys: readonly ConnectionKey[]): { keys: ConnectionKeys; violations: readonly FieldViolation[] } {
  const n = keys.length;
  const sources = new Uint32Array(n);
  const targets = new Uint32Array(n);
  const types = new Int16Array(n);
  const v = new ViolationList(0);
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    v.at(i);
    sources[i] = k.source;
    targets[i] = k.target;
    types[i] = k.type === undefined ? -1 : v.int("type", k.type, 0, 0xff);
  }
  return { keys: { sources, targets, types }, violations: v.items };
}
