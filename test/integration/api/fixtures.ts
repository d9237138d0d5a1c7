/**
 * Test data in both forms, the packed bytes written straight from the documented layouts (not
 * through src/api/records.ts), so comparing the two forms checks the server's conversion.
 */
import type { Token } from "../../../src/gen/neurograph/v1/token.ts";
import { Mutability, type Connection } from "../../../src/gen/neurograph/v1/connection.ts";

const SCALES = [100, 10000, 1000, 10000, 10000, 10000, 100, 10000];

export interface TokenSpec {
  id: number;
  /** L1 position (decoded units). */
  l1?: [number, number, number];
  l8?: [number, number, number];
  weight?: number;
  entityType?: number;
  level?: number;
  radius?: number;
  strength?: number;
  timestamp?: number;
}

export function structuredToken(s: TokenSpec): Token {
  const v = (p: [number, number, number] | undefined): { x: number; y: number; z: number } | undefined => (p === undefined ? undefined : { x: p[0], y: p[1], z: p[2] });
  return {
    id: s.id,
    coords: { l1: v(s.l1), l2: undefined, l3: undefined, l4: undefined, l5: undefined, l6: undefined, l7: undefined, l8: v(s.l8) },
    weight: s.weight ?? 0.5,
    fieldRadius: s.radius ?? 0,
    fieldStrength: s.strength ?? 0,
    timestamp: s.timestamp ?? 1_700_000_000,
    entityType: s.entityType ?? 0,
    level: s.level ?? 0,
    systemFlags: 1,
  };
}

export function packTokens(specs: readonly TokenSpec[]): Buffer {
  const b = Buffer.alloc(specs.length * 64);
  specs.forEach((s, i) => {
    const o = i * 64;
    const put = (space: number, p: [number, number, number] | undefined): void => {
      if (p === undefined) return;
      for (let a = 0; a < 3; a++) b.writeInt16LE(Math.round(p[a]! * SCALES[space]!), o + space * 6 + a * 2);
    };
    put(0, s.l1);
    put(7, s.l8);
    b.writeUInt32LE(s.id, o + 48);
    b.writeUInt16LE(1 | ((s.entityType ?? 0) << 8) | ((s.level ?? 0) << 12), o + 52);
    b.writeFloatLE(s.weight ?? 0.5, o + 54);
    b.writeUInt8(Math.round((s.radius ?? 0) * 100), o + 58);
    b.writeUInt8(Math.round((s.strength ?? 0) * 255), o + 59);
    b.writeUInt32LE(s.timestamp ?? 1_700_000_000, o + 60);
  });
  return b;
}

export interface EdgeSpec {
  source: number;
  target: number;
  type?: number;
  confidence?: number;
}

export function structuredConnection(e: EdgeSpec): Connection {
  return {
    source: e.source,
    target: e.target,
    type: e.type ?? 0x50,
    activeSpaces: 0,
    flags: undefined,
    mutability: Mutability.MUTABILITY_UNSPECIFIED,
    rigidity: undefined,
    pullStrength: undefined,
    preferredDistance: undefined,
    confidence: e.confidence,
    learningRate: undefined,
    decayRate: undefined,
    activationCount: 0,
    evidenceCount: 0,
    successCount: 0,
    createdAt: 1_700_000_000,
    updatedAt: undefined,
    lastActivation: 0,
  };
}

/** Packed records equal to `structuredConnection` with the documented defaults. */
export function packConnections(edges: readonly EdgeSpec[]): Buffer {
  const b = Buffer.alloc(edges.length * 64);
  edges.forEach((e, i) => {
    const o = i * 64;
    b.writeUInt32LE(e.source, o);
    b.writeUInt32LE(e.target, o + 4);
    b.writeUInt8(e.type ?? 0x50, o + 8);
    b.writeUInt16LE(1, o + 10); // ACTIVE
    b.writeUInt8(1, o + 12); // Learnable
    b.writeFloatLE(0.5, o + 16); // rigidity
    b.writeFloatLE(1, o + 20); // pull
    b.writeFloatLE(1, o + 24); // preferred distance
    b.writeFloatLE(e.confidence ?? 0.5, o + 28);
    b.writeFloatLE(0.125, o + 32);
    b.writeFloatLE(0.0625, o + 36);
    b.writeUInt32LE(1_700_000_000, o + 52);
    b.writeUInt32LE(1_700_000_000, o + 56);
  });
  return b;
}
