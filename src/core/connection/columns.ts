/**
 * Connection columns (structure of arrays), one entry per connection, mirroring the 64-byte
 * record of `layout.ts` field by field. Float columns have u32 aliases so copies keep every bit.
 */
import { wordsOf } from "../token/views.ts";

export interface ConnectionColumns {
  /** Number of entries (for an arena: the high-water mark; check its `state`). */
  readonly size: number;
  readonly sources: Uint32Array;
  readonly targets: Uint32Array;
  readonly types: Uint8Array;
  readonly activeSpaces: Uint8Array;
  readonly flags: Uint16Array;
  readonly mutability: Uint8Array;
  readonly rigidity: Float32Array;
  readonly pullStrength: Float32Array;
  readonly preferredDistance: Float32Array;
  readonly confidence: Float32Array;
  readonly learningRate: Float32Array;
  readonly decayRate: Float32Array;
  readonly activationCount: Uint32Array;
  readonly evidenceCount: Uint32Array;
  readonly successCount: Uint32Array;
  readonly createdAt: Uint32Array;
  readonly updatedAt: Uint32Array;
  readonly lastActivation: Uint32Array;
}

export type ConnectionBatch = ConnectionColumns;

/** u32 aliases of the six float columns, in record order (record words 4..9). */
export type FloatWordAliases = readonly [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];

export function floatWordAliases(c: ConnectionColumns): FloatWordAliases {
  return [
    wordsOf(c.rigidity),
    wordsOf(c.pullStrength),
    wordsOf(c.preferredDistance),
    wordsOf(c.confidence),
    wordsOf(c.learningRate),
    wordsOf(c.decayRate),
  ];
}

export function allocateConnectionColumns(capacity: number, size = 0): ConnectionColumns {
  return {
    size,
    sources: new Uint32Array(capacity),
    targets: new Uint32Array(capacity),
    types: new Uint8Array(capacity),
    activeSpaces: new Uint8Array(capacity),
    flags: new Uint16Array(capacity),
    mutability: new Uint8Array(capacity),
    rigidity: new Float32Array(capacity),
    pullStrength: new Float32Array(capacity),
    preferredDistance: new Float32Array(capacity),
    confidence: new Float32Array(capacity),
    learningRate: new Float32Array(capacity),
    decayRate: new Float32Array(capacity),
    activationCount: new Uint32Array(capacity),
    evidenceCount: new Uint32Array(capacity),
    successCount: new Uint32Array(capacity),
    createdAt: new Uint32Array(capacity),
    updatedAt: new Uint32Array(capacity),
    lastActivation: new Uint32Array(capacity),
  };
}

/** Copies of the columns with room for `capacity` entries (same size; bits preserved). */
export function growConnectionColumns(c: ConnectionColumns, capacity: number): ConnectionColumns {
  const g = allocateConnectionColumns(capacity, c.size);
  const n = Math.min(c.sources.length, capacity);
  g.sources.set(c.sources.subarray(0, n));
  g.targets.set(c.targets.subarray(0, n));
  g.types.set(c.types.subarray(0, n));
  g.activeSpaces.set(c.activeSpaces.subarray(0, n));
  g.flags.set(c.flags.subarray(0, n));
  g.mutability.set(c.mutability.subarray(0, n));
  // Same-type typed-array copies preserve bit patterns (ECMA-262 TypedArray.prototype.set).
  g.rigidity.set(c.rigidity.subarray(0, n));
  g.pullStrength.set(c.pullStrength.subarray(0, n));
  g.preferredDistance.set(c.preferredDistance.subarray(0, n));
  g.confidence.set(c.confidence.subarray(0, n));
  g.learningRate.set(c.learningRate.subarray(0, n));
  g.decayRate.set(c.decayRate.subarray(0, n));
  g.activationCount.set(c.activationCount.subarray(0, n));
  g.evidenceCount.set(c.evidenceCount.subarray(0, n));
  g.successCount.set(c.successCount.subarray(0, n));
  g.createdAt.set(c.createdAt.subarray(0, n));
  g.updatedAt.set(c.updatedAt.subarray(0, n));
  g.lastActivation.set(c.lastActivation.subarray(0, n));
  return g;
}

/** Sum of the byteLength of every column. */
export function connectionColumnsByteSize(c: ConnectionColumns): number {
  return (
    c.sources.byteLength +
    c.targets.byteLength +
    c.types.byteLength +
    c.activeSpaces.byteLength +
    c.flags.byteLength +
    c.mutability.byteLength +
    c.rigidity.byteLength +
    c.pullStrength.byteLength +
    c.preferredDistance.byteLength +
    c.confidence.byteLength +
    c.learningRate.byteLength +
    c.decayRate.byteLength +
    c.activationCount.byteLength +
    c.evidenceCount.byteLength +
    c.successCount.byteLength +
    c.createdAt.byteLength +
    c.updatedAt.byteLength +
    c.lastActivation.byteLength
  );
}
