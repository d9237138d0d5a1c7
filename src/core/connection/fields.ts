/**
 * Single-connection object API (tools, tests, clients). Batch paths use `codec.ts`.
 */
import { ValidationError } from "../errors.ts";
import { CONNECTION_FLAGS, CONNECTION_RECORD_SIZE, ConnectionOffset } from "./layout.ts";
import type { Mutability } from "./layout.ts";
import { defaultMutability, isValidConnectionType } from "./types.ts";
import { Mutability as M } from "./layout.ts";

export interface ConnectionFields {
  readonly source: number;
  readonly target: number;
  readonly type: number;
  readonly activeSpaces: number;
  readonly flags: number;
  readonly mutability: Mutability;
  readonly rigidity: number;
  readonly pullStrength: number;
  readonly preferredDistance: number;
  readonly confidence: number;
  readonly learningRate: number;
  readonly decayRate: number;
  readonly activationCount: number;
  readonly evidenceCount: number;
  readonly successCount: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly lastActivation: number;
}

/**
 * A new connection a → b with the defaults: the type's default mutability, confidence 1 for
 * Immutable and 0.5 otherwise, rigidity 0.5, pull 1, preferred distance 1, learning rate 0.125,
 * decay rate 0.0625 per hour, ACTIVE, created/updated = now.
 */
export function connectionFields(
  source: number,
  target: number,
  type: number,
  now: number,
  overrides: Partial<ConnectionFields> = {},
): ConnectionFields {
  if (!isValidConnectionType(type)) {
    throw ValidationError.of("connection", [
      { field: "type", value: String(type), rule: "type_defined", description: "connection types are 0x00..0xAF (11 categories of 16)" },
    ]);
  }
  const mutability = overrides.mutability ?? defaultMutability(type);
  return {
    source,
    target,
    type,
    activeSpaces: 0,
    flags: CONNECTION_FLAGS.ACTIVE,
    mutability,
    rigidity: 0.5,
    pullStrength: 1,
    preferredDistance: 1,
    confidence: mutability === M.Immutable ? 1 : 0.5,
    learningRate: 0.125,
    decayRate: 0.0625,
    activationCount: 0,
    evidenceCount: 0,
    successCount: 0,
    createdAt: now,
    updatedAt: now,
    lastActivation: 0,
    ...overrides,
  };
}

/** Writes one connection at record `index` of `out` (fresh 64 bytes by default). No validation. */
export function encodeConnection(c: ConnectionFields, out = new Uint8Array(CONNECTION_RECORD_SIZE), index = 0): Uint8Array {
  const dv = new DataView(out.buffer, out.byteOffset + index * CONNECTION_RECORD_SIZE, CONNECTION_RECORD_SIZE);
  const O = ConnectionOffset;
  dv.setUint32(O.source, c.source, true);
  dv.setUint32(O.target, c.target, true);
  dv.setUint8(O.type, c.type);
  dv.setUint8(O.activeSpaces, c.activeSpaces);
  dv.setUint16(O.flags, c.flags, true);
  dv.setUint8(O.mutability, c.mutability);
  dv.setUint8(13, 0);
  dv.setUint16(14, 0, true);
  dv.setFloat32(O.rigidity, c.rigidity, true);
  dv.setFloat32(O.pullStrength, c.pullStrength, true);
  dv.setFloat32(O.preferredDistance, c.preferredDistance, true);
  dv.setFloat32(O.confidence, c.confidence, true);
  dv.setFloat32(O.learningRate, c.learningRate, true);
  dv.setFloat32(O.decayRate, c.decayRate, true);
  dv.setUint32(O.activationCount, c.activationCount, true);
  dv.setUint32(O.evidenceCount, c.evidenceCount, true);
  dv.setUint32(O.successCount, c.successCount, true);
  dv.setUint32(O.createdAt, c.createdAt, true);
  dv.setUint32(O.updatedAt, c.updatedAt, true);
  dv.setUint32(O.lastActivation, c.lastActivation, true);
  return out;
}

export function decodeConnection(bytes: Uint8Array, index = 0): ConnectionFields {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + index * CONNECTION_RECORD_SIZE, CONNECTION_RECORD_SIZE);
  const O = ConnectionOffset;
  return {
    source: dv.getUint32(O.source, true),
    target: dv.getUint32(O.target, true),
    type: dv.getUint8(O.type),
    activeSpaces: dv.getUint8(O.activeSpaces),
    flags: dv.getUint16(O.flags, true),
    mutability: dv.getUint8(O.mutability) as Mutability,
    rigidity: dv.getFloat32(O.rigidity, true),
    pullStrength: dv.getFloat32(O.pullStrength, true),
    preferredDistance: dv.getFloat32(O.preferredDistance, true),
    confidence: dv.getFloat32(O.confidence, true),
    learningRate: dv.getFloat32(O.learningRate, true),
    decayRate: dv.getFloat32(O.decayRate, true),
    activationCount: dv.getUint32(O.activationCount, true),
    evidenceCount: dv.getUint32(O.evidenceCount, true),
    successCount: dv.getUint32(O.successCount, true),
    createdAt: dv.getUint32(O.createdAt, true),
    updatedAt: dv.getUint32(O.updatedAt, true),
    lastActivation: dv.getUint32(O.lastActivation, true),
  };
}
