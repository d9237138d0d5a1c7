/**
 * Vectorised validation of packed 64-byte connection records (src/core/connection/layout.ts):
 * the structural rules of the format and, when limits are given, the constitution's ranges and
 * allowed types (the compiled view's `connections`).
 *
 * One pass with a single combined test per record over 32-bit words; only a record that fails
 * it is examined field by field to build its violations. Valid records allocate nothing.
 *
 * Self-loops (source = target) are rejected: the spring of a connection is undefined at distance
 * 0 ((d − d0)/d), and a token related to itself adds nothing a traversal or activation can use.
 */
import { InternalError, type FieldViolation } from "../errors.ts";
import { CONNECTION_FLAGS, CONNECTION_RECORD_SIZE, ConnectionOffset as O } from "../connection/layout.ts";
import { isTypeAllowed, type ConnectionLimits } from "../limits.ts";

/** Stable rule identifiers of connection record validation (shared with token validation style). */
export const ConnectionRule = {
  recordSize: "record_size",
  idNonzero: "id_nonzero",
  selfLoop: "self_loop",
  typeDefined: "type_defined",
  typeAllowed: "type_allowed",
  flagsKnown: "flags_known",
  mutabilityDefined: "mutability_defined",
  reservedZero: "reserved_zero",
  rigidityFinite: "rigidity_finite",
  rigidityRange: "rigidity_range",
  pullFinite: "pull_strength_finite",
  pullRange: "pull_strength_range",
  distanceFinite: "preferred_distance_finite",
  distanceRange: "preferred_distance_range",
  confidenceFinite: "confidence_finite",
  confidenceRange: "confidence_range",
  learningRateFinite: "learning_rate_finite",
  learningRateRange: "learning_rate_range",
  decayRateFinite: "decay_rate_finite",
  decayRateRange: "decay_rate_range",
  successLeEvidence: "success_le_evidence",
} as const;
export type ConnectionRule = (typeof ConnectionRule)[keyof typeof ConnectionRule];

export interface ConnectionValidationOptions {
  /** Added to record positions in reported indices (when validating a slice of a batch). */
  readonly firstIndex?: number;
  /** When given (length >= record count), item i gets `invalid[i] = 1` if it has a violation. */
  readonly invalid?: Uint8Array;
  /** Items with `skip[i] !== 0` are not checked. */
  readonly skip?: Uint8Array;
  /** Stop collecting after this many violations (items are still marked). Default unlimited. */
  readonly maxViolations?: number;
}

/** Highest defined type and mutability; every defined flag bit. */
const MAX_TYPE = 0xaf;
const MAX_MUTABILITY = 2;
const KNOWN_FLAGS = Object.values(CONNECTION_FLAGS).reduce((a, b) => a | b, 0);
const F32_MAX = 3.4028234663852886e38;
/** f32 bit pattern of 1.0: for x in [0, 1], bits(x) <= ONE_BITS as unsigned (negatives and NaN are above). */
const ONE_BITS = 0x3f800000;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/**
 * Order-preserving int32 key of the f32 rounding of `v`: key(a) < key(b) iff a < b for non-NaN
 * floats, with −0 just below +0 and NaNs outside [key(−Inf), key(+Inf)]. The loop below inlines
 * the same expression on raw bits.
 */
function keyOf(v: number): number {
  scratchF32[0] = v + 0; // f32 rounding, and +0 for −0
  const bits = scratchU32[0]!;
  return (bits ^ ((bits >> 31) & 0x7fffffff)) | 0;
}

/**
 * Every violation in a batch of connection records, in record order (empty = all valid).
 * Without `limits` only the structural rules apply. Float fields are f32 in the record; limits
 * are applied at f32 precision (`Math.fround` of each bound), so a value written as exactly a
 * bound is accepted. A byte length that is not a multiple of 64 gives one `record_size`
 * violation (no index: it concerns the batch) and nothing else.
 *
 * The fast filter compares f32 bit patterns as integers (one unsigned compare per range); it
 * may send a valid record (e.g. a −0) to the exact check, never let an invalid one pass.
 */
export function validateConnectionRecords(
  records: Uint8Array,
  limits: ConnectionLimits | undefined,
  options: ConnectionValidationOptions = {},
): FieldViolation[] {
  const out: FieldViolation[] = [];
  if (records.length % CONNECTION_RECORD_SIZE !== 0) {
    out.push({
      field: "records",
      value: `${records.length} bytes`,
      rule: ConnectionRule.recordSize,
      description: `must be a whole number of ${CONNECTION_RECORD_SIZE}-byte connection records`,
    });
    return out;
  }
  const n = records.length / CONNECTION_RECORD_SIZE;
  const ranges = rangesOf(limits);
  const ctx: Diagnosis = {
    out,
    records,
    dv: new DataView(records.buffer, records.byteOffset, records.byteLength),
    limits,
    ranges,
    firstIndex: options.firstIndex ?? 0,
    invalid: options.invalid,
    max: options.maxViolations ?? Infinity,
  };
  const skip = options.skip;
  const usable = ranges.every(([lo, hi]) => Number.isFinite(Math.fround(lo)) && Number.isFinite(Math.fround(hi)) && Math.fround(lo) <= Math.fround(hi));
  if (!LITTLE_ENDIAN || !usable) {
    // Exact path only: big-endian hosts, or limits that are not a valid range (all records fail).
    for (let i = 0; i < n; i++) if (skip === undefined || !skip[i]) diagnose(ctx, i);
    return out;
  }
  let bytes = records;
  if (records.byteOffset % 4 !== 0) {
    bytes = new Uint8Array(records.length);
    bytes.set(records);
  }
  const u32 = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
  const bits = limits?.allowedTypes ?? ALL_DEFINED;
  const [[rLo, rHi], [pLo, pHi], [dLo, dHi]] = ranges;
  const rigLo = keyOf(rLo);
  const rigSpan = (keyOf(rHi) - rigLo) >>> 0;
  const pullLo = keyOf(pLo);
  const pullSpan = (keyOf(pHi) - pullLo) >>> 0;
  const pdLo = keyOf(dLo);
  const pdSpan = (keyOf(dHi) - pdLo) >>> 0;
  for (let from = 0; ; ) {
    const i = nextSuspect(u32, bits, pullLo, pullSpan, rigLo, rigSpan, pdLo, pdSpan, from, n);
    if (i >= n) break;
    if (skip === undefined || !skip[i]) diagnose(ctx, i);
    from = i + 1;
  }
  return out;
}

const ALL_DEFINED = (() => {
  const b = new Uint8Array(32);
  for (let t = 0; t <= MAX_TYPE; t++) b[t >> 3]! |= 1 << (t & 7);
  return b;
})();

/** [lo, hi] of rigidity, pull, preferred distance; without limits: any finite f32. */
type Ranges = readonly [readonly [number, number], readonly [number, number], readonly [number, number]];

function rangesOf(l: ConnectionLimits | undefined): Ranges {
  if (l === undefined) return [[-F32_MAX, F32_MAX], [-F32_MAX, F32_MAX], [-F32_MAX, F32_MAX]];
  return [
    [l.minRigidity, l.maxRigidity],
    [l.minPull, l.maxPull],
    [l.minPreferredDistance, l.maxPreferredDistance],
  ];
}

/**
 * The hot loop, small and monomorphic so it stays optimised: the index of the first record at
 * or after `from` that fails the combined test (n when none). Bounds come as order keys of the
 * lower bounds and unsigned spans to the upper bounds. Word 2 = type | active_spaces << 8 |
 * flags << 16; word 3 = mutability | reserved << 8. Everything is an argument: loads in the
 * prologue of a first, long call would run before V8 allocates feedback and make the optimised
 * code deoptimise on the next call. Constants are literals (module constants are context loads
 * in Node 20, ~15 % slower here); the layout assertion below keeps them honest.
 */
function nextSuspect(
  u32: Uint32Array,
  bits: Uint8Array,
  pullLo: number,
  pullSpan: number,
  rigLo: number,
  rigSpan: number,
  pdLo: number,
  pdSpan: number,
  from: number,
  n: number,
): number {
  for (let i = from, w = from * 16; i < n; i++, w += 16) {
    const src = u32[w]!;
    const dst = u32[w + 1]!;
    const w2 = u32[w + 2]!;
    const type = w2 & 0xff;
    const rig = u32[w + 4]!;
    const pull = u32[w + 5]!;
    const pd = u32[w + 6]!;
    if (
      src === 0 ||
      dst === 0 ||
      src === dst ||
      (bits[type >> 3]! & (1 << (type & 7))) === 0 ||
      ((w2 >>> 16) & ~0x7f) !== 0 ||
      u32[w + 3]! > 2 ||
      (((rig ^ ((rig >> 31) & 0x7fffffff)) - rigLo) >>> 0) > rigSpan ||
      (((pull ^ ((pull >> 31) & 0x7fffffff)) - pullLo) >>> 0) > pullSpan ||
      (((pd ^ ((pd >> 31) & 0x7fffffff)) - pdLo) >>> 0) > pdSpan ||
      u32[w + 7]! > 0x3f800000 ||
      u32[w + 8]! > 0x3f800000 ||
      u32[w + 9]! > 0x3f800000 ||
      u32[w + 12]! > u32[w + 11]!
    ) {
      return i;
    }
  }
  return n;
}

// The literals in nextSuspect follow the record layout, the flag set and the [0, 1] bit pattern.
if (
  CONNECTION_RECORD_SIZE !== 64 ||
  O.target !== 4 ||
  O.type !== 8 ||
  O.flags !== 10 ||
  O.mutability !== 12 ||
  O.rigidity !== 16 ||
  O.pullStrength !== 20 ||
  O.preferredDistance !== 24 ||
  O.confidence !== 28 ||
  O.learningRate !== 32 ||
  O.decayRate !== 36 ||
  O.evidenceCount !== 44 ||
  O.successCount !== 48 ||
  KNOWN_FLAGS !== 0x7f ||
  MAX_MUTABILITY !== 2 ||
  ONE_BITS !== 0x3f800000
) {
  throw new InternalError("connection record layout changed: update nextSuspect in src/core/constitution/records.ts");
}

// Warm-up: V8 allocates a function's feedback only after several calls, so a first call on a
// long batch would optimise the loop without feedback for the rest and then deoptimise, staying
// slow for many batches. A few calls on one zero record at load avoid that (~microseconds).
{
  const rec = new Uint32Array(CONNECTION_RECORD_SIZE >> 2);
  for (let k = 0; k < 32; k++) nextSuspect(rec, ALL_DEFINED, 0, 0, 0, 0, 0, 0, 0, 1);
}

interface Diagnosis {
  readonly out: FieldViolation[];
  readonly records: Uint8Array;
  readonly dv: DataView;
  readonly limits: ConnectionLimits | undefined;
  readonly ranges: Ranges;
  readonly firstIndex: number;
  readonly invalid: Uint8Array | undefined;
  readonly max: number;
}

const FLOATS = [
  ["rigidity", O.rigidity, ConnectionRule.rigidityFinite, ConnectionRule.rigidityRange],
  ["pull_strength", O.pullStrength, ConnectionRule.pullFinite, ConnectionRule.pullRange],
  ["preferred_distance", O.preferredDistance, ConnectionRule.distanceFinite, ConnectionRule.distanceRange],
  ["confidence", O.confidence, ConnectionRule.confidenceFinite, ConnectionRule.confidenceRange],
  ["learning_rate", O.learningRate, ConnectionRule.learningRateFinite, ConnectionRule.learningRateRange],
  ["decay_rate", O.decayRate, ConnectionRule.decayRateFinite, ConnectionRule.decayRateRange],
] as const;

function report(ctx: Diagnosis, i: number, field: string, value: number | string, rule: ConnectionRule, description: string): void {
  if (ctx.invalid !== undefined) ctx.invalid[i] = 1;
  if (ctx.out.length < ctx.max) ctx.out.push({ index: ctx.firstIndex + i, field, value: String(value), rule, description });
}

/**
 * The slow path: one violation per broken rule of record `i` (possibly none: a false alarm of
 * the filter). No closures: under tsx every closure creation also names the function.
 */
function diagnose(ctx: Diagnosis, i: number): void {
  const { dv, records, limits } = ctx;
  const o = i * CONNECTION_RECORD_SIZE;
  const src = dv.getUint32(o + O.source, true);
  const dst = dv.getUint32(o + O.target, true);
  if (src === 0) report(ctx, i, "source", 0, ConnectionRule.idNonzero, "source token id must not be 0");
  if (dst === 0) report(ctx, i, "target", 0, ConnectionRule.idNonzero, "target token id must not be 0");
  if (src !== 0 && src === dst) report(ctx, i, "target", dst, ConnectionRule.selfLoop, "a connection must join two different tokens (self-loops are not allowed)");
  const type = records[o + O.type]!;
  if (type > MAX_TYPE) report(ctx, i, "type", hexByte(type), ConnectionRule.typeDefined, "connection types are 0x00..0xaf (11 categories of 16)");
  else if (limits !== undefined && !isTypeAllowed(limits.allowedTypes, type)) {
    report(ctx, i, "type", hexByte(type), ConnectionRule.typeAllowed, "the constitution does not allow this connection type (connections.allowed_types)");
  }
  const flags = dv.getUint16(o + O.flags, true);
  if ((flags & ~KNOWN_FLAGS) !== 0) report(ctx, i, "flags", `0x${flags.toString(16)}`, ConnectionRule.flagsKnown, `only flag bits 0x${KNOWN_FLAGS.toString(16)} are defined`);
  const mut = records[o + O.mutability]!;
  if (mut > MAX_MUTABILITY) report(ctx, i, "mutability", mut, ConnectionRule.mutabilityDefined, "must be 0 (Immutable), 1 (Learnable) or 2 (Hypothesis)");
  if (records[o + 13] !== 0 || records[o + 14] !== 0 || records[o + 15] !== 0) {
    report(ctx, i, "reserved", "bytes 13..15", ConnectionRule.reservedZero, "reserved bytes 13..15 must be zero");
  }
  for (let k = 0; k < FLOATS.length; k++) {
    const [field, off, finiteRule, rangeRule] = FLOATS[k]!;
    const v = dv.getFloat32(o + off, true);
    // Rigidity, pull and distance use the limits; the learning fields are always within [0, 1].
    const lo = k < 3 ? ctx.ranges[k]![0] : 0;
    const hi = k < 3 ? ctx.ranges[k]![1] : 1;
    const allowed = limits === undefined && k < 3 ? "" : ` within [${lo}, ${hi}]`;
    if (!Number.isFinite(v)) report(ctx, i, field, v, finiteRule, `must be a finite number${allowed}`);
    else if (!(v >= Math.fround(lo) && v <= Math.fround(hi))) report(ctx, i, field, v, rangeRule, `must be${allowed}`);
  }
  const successes = dv.getUint32(o + O.successCount, true);
  const evidence = dv.getUint32(o + O.evidenceCount, true);
  if (successes > evidence) {
    report(ctx, i, "success_count", successes, ConnectionRule.successLeEvidence, `must not exceed evidence_count (${evidence}): successes are a subset of the observations`);
  }
}

function hexByte(b: number): string {
  return `0x${b.toString(16).padStart(2, "0")}`;
}
