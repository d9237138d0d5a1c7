/**
 * Friendly token and connection objects ⇄ packed 64-byte records, built on the core codecs
 * (`src/core/token`, `src/core/connection`). Objects are for small calls and tools; bulk paths
 * pass packed `Uint8Array` records straight through.
 *
 * Encoding validates the whole batch first and throws one ValidationError listing every bad
 * field (index = position in the batch), so nothing is sent when anything is wrong.
 */
import { ValidationError, type FieldViolation } from "../core/errors.ts";
import { COORDS_PER_TOKEN, SPACES } from "../core/token/columns.ts";
import { decodeToken, encodeToken, tokenFieldViolations, type TokenFields } from "../core/token/codec.ts";
import { EntityType, ENTITY_TYPE_SHIFT, HIERARCHY_LEVEL_SHIFT, MAX_HIERARCHY_LEVEL, TOKEN_FLAGS } from "../core/token/flags.ts";
import { MAX_RAW_COORD, MIN_RAW_COORD, RADIUS_SCALE, SPACE_NAMES, STRENGTH_SCALE, TOKEN_RECORD_SIZE, TokenOffset } from "../core/token/layout.ts";
import { roundCoordinate } from "../core/token/coords.ts";
import { connectionFields, decodeConnection, encodeConnection, type ConnectionFields } from "../core/connection/fields.ts";
import { CONNECTION_RECORD_SIZE, Mutability } from "../core/connection/layout.ts";
import { isValidConnectionType } from "../core/connection/types.ts";
import { validateConnectionRecords } from "../core/constitution/records.ts";

export { TOKEN_RECORD_SIZE, CONNECTION_RECORD_SIZE };

export type SpaceName = "l1" | "l2" | "l3" | "l4" | "l5" | "l6" | "l7" | "l8";
export type Vec3 = readonly [number, number, number];
export type Point = Vec3 | { readonly x: number; readonly y: number; readonly z: number };

/** A token to write. Absent fields take the defaults noted. */
export interface TokenInput {
  /** 0 or absent in a create: the server allocates an id. */
  readonly id?: number;
  /**
   * Decoded positions per space (absent spaces are the origin), or all 24 values space-major
   * (space s, axis a at `s * 3 + a`).
   */
  readonly coords?: Partial<Record<SpaceName, Point>> | ArrayLike<number>;
  /** Default 0. */
  readonly weight?: number;
  /** Default 0; 0..2.55 in steps of 0.01. */
  readonly fieldRadius?: number;
  /** Default 0; 0..1 in steps of 1/255. */
  readonly fieldStrength?: number;
  /** Unix seconds; default now. */
  readonly timestamp?: number;
  /** A number 0..15 or a name (`"concept"`, case-insensitive); default Undefined (0). */
  readonly entityType?: number | string;
  /** Hierarchy level 0..15; default 0. */
  readonly level?: number;
  /** Flag bits 0-7 (ACTIVE 0x1, PERSISTENT 0x2, MUTABLE 0x4, LOCKED 0x80); default ACTIVE. */
  readonly systemFlags?: number;
}

/** A token as read from the server. */
export interface Token {
  readonly id: number;
  readonly coords: Readonly<Record<SpaceName, Vec3>>;
  readonly weight: number;
  readonly fieldRadius: number;
  readonly fieldStrength: number;
  readonly timestamp: number;
  readonly entityType: number;
  readonly level: number;
  readonly systemFlags: number;
  /** The raw u16 flags (system | entity type << 8 | level << 12). */
  readonly flags: number;
}

/** A connection to write. Absent fields take the defaults of `connectionFields` (core). */
export interface ConnectionInput {
  readonly source: number;
  readonly target: number;
  /** 0x00..0xAF; default 0 (semantic). */
  readonly type?: number;
  readonly activeSpaces?: number;
  readonly flags?: number;
  /** Default: the type's default (facts Immutable, experience Learnable). */
  readonly mutability?: Mutability | "immutable" | "learnable" | "hypothesis";
  readonly rigidity?: number;
  readonly pullStrength?: number;
  readonly preferredDistance?: number;
  readonly confidence?: number;
  readonly learningRate?: number;
  readonly decayRate?: number;
  /** Unix seconds; default now. */
  readonly createdAt?: number;
}

/** A connection as read from the server (`mutability`: 0 Immutable, 1 Learnable, 2 Hypothesis). */
export type Connection = ConnectionFields;

/** Names the connection(s) to remove; without `type`, every type from source to target. */
export interface ConnectionKey {
  readonly source: number;
  readonly target: number;
  readonly type?: number;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

const ENTITY_BY_NAME = new Map<string, number>(Object.entries(EntityType).map(([k, v]) => [k.toLowerCase(), v]));
const ENTITY_NAMES = Object.keys(EntityType).filter((k) => k !== "Reserved");

/** The name of an entity type number (`Concept`), or the number as text. */
export function entityTypeName(type: number): string {
  return Object.entries(EntityType).find(([, v]) => v === type)?.[0] ?? String(type);
}

function isArrayLike(v: unknown): v is ArrayLike<number> {
  return typeof v === "object" && v !== null && typeof (v as { length?: unknown }).length === "number";
}

function pointValues(p: Point): readonly number[] {
  if (isArrayLike(p)) return [p[0], p[1], p[2]];
  return [p.x, p.y, p.z];
}

class Violations {
  readonly items: FieldViolation[] = [];
  add(index: number, field: string, value: unknown, rule: string, description: string): void {
    this.items.push({ index, field, value: typeof value === "string" ? value : JSON.stringify(value) ?? String(value), rule, description });
  }
  int(index: number, field: string, value: number, min: number, max: number): number {
    if (Number.isInteger(value) && value >= min && value <= max) return value;
    this.add(index, field, value, `${field}_range`, `${field} must be an integer in ${min}..${max}`);
    return 0;
  }
}

function coordsOf(input: TokenInput["coords"], index: number, v: Violations): number[] {
  const out = new Array<number>(COORDS_PER_TOKEN).fill(0);
  if (input === undefined) return out;
  if (isArrayLike(input)) {
    if (input.length !== COORDS_PER_TOKEN) {
      v.add(index, "coords", input.length, "coords_length", `give all ${COORDS_PER_TOKEN} coordinates (8 spaces × x, y, z) or an object like {"l1": [x, y, z]}`);
      return out;
    }
    for (let k = 0; k < COORDS_PER_TOKEN; k++) out[k] = Number(input[k]);
    return out;
  }
  for (const [key, point] of Object.entries(input)) {
    const s = SPACE_NAMES.indexOf(key.toLowerCase());
    if (s < 0) {
      v.add(index, `coords.${key}`, key, "space_known", "spaces are l1 … l8");
      continue;
    }
    if (point === undefined) continue;
    const values = pointValues(point);
    for (let a = 0; a < 3; a++) out[s * 3 + a] = Number(values[a]);
  }
  return out;
}

function entityTypeOf(input: TokenInput["entityType"], index: number, v: Violations): number {
  if (input === undefined) return 0;
  if (typeof input === "string") {
    const t = ENTITY_BY_NAME.get(input.toLowerCase());
    if (t === undefined || t === EntityType.Reserved) {
      v.add(index, "entity_type", input, "entity_type_known", `entity types are ${ENTITY_NAMES.join(", ")} (or 0..14)`);
      return 0;
    }
    return t;
  }
  return v.int(index, "entity_type", input, 0, 14);
}

/** The core codec's fields of a token input, or undefined when a field cannot be represented. */
function tokenFieldsOf(t: TokenInput, index: number, now: number, v: Violations = new Violations()): TokenFields {
  const entity = entityTypeOf(t.entityType, index, v);
  const level = v.int(index, "level", t.level ?? 0, 0, MAX_HIERARCHY_LEVEL);
  const system = v.int(index, "system_flags", t.systemFlags ?? TOKEN_FLAGS.ACTIVE, 0, 0xff);
  return {
    id: t.id ?? 0,
    coords: coordsOf(t.coords, index, v),
    flags: system | (entity << ENTITY_TYPE_SHIFT) | (level << HIERARCHY_LEVEL_SHIFT),
    weight: t.weight ?? 0,
    fieldRadius: t.fieldRadius ?? 0,
    fieldStrength: t.fieldStrength ?? 0,
    timestamp: t.timestamp ?? now,
  };
}

const SPACE_INDEX: Readonly<Record<string, number>> = Object.fromEntries(SPACE_NAMES.flatMap((n, s) => [[n, s], [n.toUpperCase(), s]]));

function isU32(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff;
}

function smallInt(n: unknown, max: number): number {
  return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= max ? n : -1;
}

/** Rounded raw coordinate, or NaN when it does not fit int16 (NaN and ±∞ included). */
function rawCoordinate(value: unknown, space: number): number {
  const raw = roundCoordinate(Number(value), space);
  return raw >= MIN_RAW_COORD && raw <= MAX_RAW_COORD ? raw : Number.NaN;
}

/**
 * The hot path of `encodeTokenInputs`: writes one valid token straight into the records with
 * the core's rounding rules; returns false (leaving garbage to be discarded) at the first field
 * it cannot represent, and the slow path then lists every problem.
 */
function encodeFast(t: TokenInput, dv: DataView, o: number, now: number): boolean {
  const id = t.id ?? 0;
  const ts = t.timestamp ?? now;
  const weight = t.weight ?? 0;
  const radius = Math.round((t.fieldRadius ?? 0) * RADIUS_SCALE);
  const strength = Math.round((t.fieldStrength ?? 0) * STRENGTH_SCALE);
  const entity = typeof t.entityType === "string" ? (ENTITY_BY_NAME.get(t.entityType.toLowerCase()) ?? -1) : smallInt(t.entityType ?? 0, 14);
  const level = smallInt(t.level ?? 0, MAX_HIERARCHY_LEVEL);
  const system = smallInt(t.systemFlags ?? TOKEN_FLAGS.ACTIVE, 0xff);
  if (!isU32(id) || !isU32(ts) || typeof weight !== "number" || !Number.isFinite(Math.fround(weight))) return false;
  if (!(radius >= 0 && radius <= 255 && strength >= 0 && strength <= 255) || entity < 0 || entity > 14 || level < 0 || system < 0) return false;
  const c = t.coords;
  if (c !== undefined) {
    if (isArrayLike(c)) {
      if (c.length !== COORDS_PER_TOKEN) return false;
      for (let k = 0; k < COORDS_PER_TOKEN; k++) {
        const raw = rawCoordinate(c[k], (k / 3) | 0);
        if (Number.isNaN(raw)) return false;
        dv.setInt16(o + k * 2, raw, true);
      }
    } else {
      for (const key of Object.keys(c)) {
        const s = SPACE_INDEX[key];
        if (s === undefined) return false;
        const p = (c as Record<string, Point | undefined>)[key];
        if (p === undefined) continue;
        const xyz = pointValues(p);
        for (let a = 0; a < 3; a++) {
          const raw = rawCoordinate(xyz[a], s);
          if (Number.isNaN(raw)) return false;
          dv.setInt16(o + (s * 3 + a) * 2, raw, true);
        }
      }
    }
  }
  dv.setUint32(o + TokenOffset.id, id, true);
  dv.setUint16(o + TokenOffset.flags, system | (entity << ENTITY_TYPE_SHIFT) | (level << HIERARCHY_LEVEL_SHIFT), true);
  dv.setFloat32(o + TokenOffset.weight, weight, true);
  dv.setUint8(o + TokenOffset.fieldRadius, radius);
  dv.setUint8(o + TokenOffset.fieldStrength, strength);
  dv.setUint32(o + TokenOffset.timestamp, ts, true);
  return true;
}

/**
 * Token objects → packed records. Throws one ValidationError with every bad field (index =
 * `firstIndex` + position) and encodes nothing then.
 */
export function encodeTokenInputs(tokens: readonly TokenInput[], now: number = nowSeconds(), firstIndex = 0): Uint8Array {
  const out = new Uint8Array(tokens.length * TOKEN_RECORD_SIZE);
  const dv = new DataView(out.buffer);
  const v = new Violations();
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (encodeFast(t, dv, i * TOKEN_RECORD_SIZE, now)) continue;
    const before = v.items.length;
    const fields = tokenFieldsOf(t, firstIndex + i, now, v);
    v.items.push(...tokenFieldViolations(fields, firstIndex + i));
    // Same rules as the fast path; should they ever differ, the core codec decides.
    if (v.items.length === before) {
      out.fill(0, i * TOKEN_RECORD_SIZE, (i + 1) * TOKEN_RECORD_SIZE);
      encodeToken(fields, out, i);
    }
  }
  if (v.items.length > 0) throw ValidationError.of(tokens.length === 1 ? "token" : "tokens", v.items);
  return out;
}

/** Packed records → token objects. */
export function decodeTokenRecords(records: Uint8Array): Token[] {
  const n = Math.floor(records.byteLength / TOKEN_RECORD_SIZE);
  const out = new Array<Token>(n);
  for (let i = 0; i < n; i++) {
    const f = decodeToken(records, i);
    const coords = {} as Record<SpaceName, Vec3>;
    for (let s = 0; s < SPACES; s++) coords[SPACE_NAMES[s] as SpaceName] = [f.coords[s * 3]!, f.coords[s * 3 + 1]!, f.coords[s * 3 + 2]!];
    out[i] = {
      id: f.id,
      coords,
      weight: f.weight,
      fieldRadius: f.fieldRadius,
      fieldStrength: f.fieldStrength,
      timestamp: f.timestamp,
      entityType: (f.flags >>> ENTITY_TYPE_SHIFT) & 0xf,
      level: (f.flags >>> HIERARCHY_LEVEL_SHIFT) & 0xf,
      systemFlags: f.flags & 0xff,
      flags: f.flags,
    };
  }
  return out;
}

/** The ids of packed token records. */
export function tokenRecordIds(records: Uint8Array): Uint32Array {
  const n = Math.floor(records.byteLength / TOKEN_RECORD_SIZE);
  const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const ids = new Uint32Array(n);
  for (let i = 0; i < n; i++) ids[i] = dv.getUint32(i * TOKEN_RECORD_SIZE + TokenOffset.id, true);
  return ids;
}

/** Throws when `records` is not a whole number of 64-byte records. */
export function checkPacked(records: Uint8Array, what: string, size = TOKEN_RECORD_SIZE): number {
  if (records.byteLength % size !== 0) {
    throw ValidationError.of(what, [
      {
        field: "records",
        value: String(records.byteLength),
        rule: "record_size",
        description: `records are ${size} bytes each; ${records.byteLength} bytes is not a multiple of ${size}`,
      },
    ]);
  }
  return records.byteLength / size;
}

const MUTABILITY_BY_NAME: Readonly<Record<string, Mutability>> = {
  immutable: Mutability.Immutable,
  learnable: Mutability.Learnable,
  hypothesis: Mutability.Hypothesis,
};

function idViolation(v: Violations, index: number, field: string, id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > 0xffff_ffff) v.add(index, field, id, "id_range", `${field} must be a token id in 1..4294967295`);
}

/** Connection objects → packed records; one ValidationError with every bad field. */
export function encodeConnectionInputs(connections: readonly ConnectionInput[], now: number = nowSeconds(), firstIndex = 0): Uint8Array {
  const v = new Violations();
  const out = new Uint8Array(connections.length * CONNECTION_RECORD_SIZE);
  connections.forEach((c, i) => {
    const index = firstIndex + i;
    const before = v.items.length;
    idViolation(v, index, "source", c.source);
    idViolation(v, index, "target", c.target);
    const type = c.type ?? 0;
    if (!isValidConnectionType(type)) v.add(index, "type", type, "type_defined", "connection types are 0x00..0xAF (11 categories of 16)");
    let mutability: Mutability | undefined;
    if (typeof c.mutability === "string") {
      mutability = MUTABILITY_BY_NAME[c.mutability.toLowerCase()];
      if (mutability === undefined) v.add(index, "mutability", c.mutability, "mutability_defined", "mutability is immutable, learnable or hypothesis");
    } else if (c.mutability !== undefined) {
      mutability = v.int(index, "mutability", c.mutability, 0, 2) as Mutability;
    }
    const activeSpaces = v.int(index, "active_spaces", c.activeSpaces ?? 0, 0, 0xff);
    const flags = c.flags === undefined ? undefined : v.int(index, "flags", c.flags, 0, 0xffff);
    const createdAt = v.int(index, "created_at", c.createdAt ?? now, 0, 0xffff_ffff);
    if (v.items.length > before) return;
    const fields = connectionFields(c.source, c.target, type, createdAt, {
      activeSpaces,
      ...(flags === undefined ? {} : { flags }),
      ...(mutability === undefined ? {} : { mutability }),
      ...(c.rigidity === undefined ? {} : { rigidity: c.rigidity }),
      ...(c.pullStrength === undefined ? {} : { pullStrength: c.pullStrength }),
      ...(c.preferredDistance === undefined ? {} : { preferredDistance: c.preferredDistance }),
      ...(c.confidence === undefined ? {} : { confidence: c.confidence }),
      ...(c.learningRate === undefined ? {} : { learningRate: c.learningRate }),
      ...(c.decayRate === undefined ? {} : { decayRate: c.decayRate }),
    });
    encodeConnection(fields, out, i);
    for (const p of validateConnectionRecords(out.subarray(i * CONNECTION_RECORD_SIZE, (i + 1) * CONNECTION_RECORD_SIZE), undefined, { firstIndex: index })) {
      v.items.push(p);
    }
  });
  if (v.items.length > 0) throw ValidationError.of(connections.length === 1 ? "connection" : "connections", v.items);
  return out;
}

/** Packed connection records → objects. */
export function decodeConnectionRecords(records: Uint8Array): Connection[] {
  const n = Math.floor(records.byteLength / CONNECTION_RECORD_SIZE);
  const out = new Array<Connection>(n);
  for (let i = 0; i < n; i++) out[i] = decodeConnection(records, i);
  return out;
}
