/**
 * The value limits that write validation checks. The constitution (CDNA) is the source of these
 * numbers at run time; core code takes them as plain data so it stays independent of how the
 * constitution is stored. Defaults here are the constitution's documented defaults.
 */

export interface TokenLimits {
  /** Inclusive weight range. */
  readonly minWeight: number;
  readonly maxWeight: number;
  /** Inclusive range of the raw field_radius byte (radius = raw / 100). */
  readonly minRadiusRaw: number;
  readonly maxRadiusRaw: number;
  /** Inclusive range of the raw field_strength byte (strength = raw / 255). */
  readonly minStrengthRaw: number;
  readonly maxStrengthRaw: number;
  /** Timestamps more than this many seconds after "now" are rejected. */
  readonly maxFutureSeconds: number;
}

export interface ConnectionLimits {
  /** 256 bits, bit t set = connection type t allowed (byte t >> 3, bit t & 7). */
  readonly allowedTypes: Uint8Array;
  /** Inclusive pull_strength range (negative pulls repel). */
  readonly minPull: number;
  readonly maxPull: number;
  /** Inclusive rigidity range, 0..1. */
  readonly minRigidity: number;
  readonly maxRigidity: number;
  /** Inclusive preferred_distance range. */
  readonly minPreferredDistance: number;
  readonly maxPreferredDistance: number;
  /** Maximum out- and in-degree per token (0 = unlimited). */
  readonly maxOutDegree: number;
  readonly maxInDegree: number;
}

/** Bit set with the 11 defined categories (0x00-0xAF) allowed. */
export function definedConnectionTypes(): Uint8Array {
  const bits = new Uint8Array(32);
  for (let t = 0; t < 0xb0; t++) bits[t >> 3]! |= 1 << (t & 7);
  return bits;
}

export function isTypeAllowed(bits: Uint8Array, type: number): boolean {
  return ((bits[type >> 3] ?? 0) & (1 << (type & 7))) !== 0;
}

export const DEFAULT_TOKEN_LIMITS: TokenLimits = Object.freeze({
  minWeight: 0,
  maxWeight: 1,
  minRadiusRaw: 0,
  maxRadiusRaw: 255,
  minStrengthRaw: 0,
  maxStrengthRaw: 255,
  maxFutureSeconds: 3600,
});

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = Object.freeze({
  allowedTypes: definedConnectionTypes(),
  minPull: -10,
  maxPull: 10,
  minRigidity: 0,
  maxRigidity: 1,
  minPreferredDistance: 0.01,
  maxPreferredDistance: 100,
  maxOutDegree: 1000,
  maxInDegree: 1000,
});
