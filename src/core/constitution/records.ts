/**
 * Vectorised batch validation of packed 64-byte connection records (src/core/connection/layout.ts)
 * against the compiled constitution, and the strict / non-strict verdict over a batch.
 *
 * One pass with a single combined test per record; only a record that fails it is examined
 * field by field to build its violations. Valid records allocate nothing.
 *
 * Self-loops (source = target) are rejected: the spring of a connection is undefined at distance
 * 0 ((d − d0)/d), and a token related to itself adds nothing a traversal or activation can use.
 */
import { ValidationError, type FieldViolation } from "../errors.ts";
import { CONNECTION_RECORD_SIZE, ConnectionOffset as O } from "../connection/layout.ts";
import type { ConnectionLimits } from "../limits.ts";

/** Stable rule identifiers of connection record validation. */
export const ConnectionRule = {
  sourceZero: "source_zero",
  targetZero: "target_zero",
  selfLoop: "self_loop",
  typeNotAllowed: "type_not_allowed",
  mutability: "mutability_invalid",
  notFinite: "not_finite",
  pullRange: "pull_range",
  rigidityRange: "rigidity_range",
  preferredDistanceRange: "preferred_distance_range",
  confidenceRange: "confidence_range",
  learningRateRange: "learning_rate_range",
  decayRateRange: "decay_rate_range",
  successCount: "success_count_exceeds_evidence",
} as const;
export type ConnectionRule = (typeof ConnectionRule)[keyof typeof ConnectionRule];

/** Highest valid mutability value (0 Immutable, 1 Learnable, 2 Hypothesis). */
const MAX_MUTABILITY = 2;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);
/** f32 bit pattern of 1.0: for x in [0, 1], bits(x) <= ONE_BITS as unsigned (negatives and NaN are above). */
const ONE_BITS = 0x3f800000;

/**
 * Order-preserving int32 key of the f32 `v`: key(a) < key(b) iff a < b for non-NaN floats, with
 * −0 just below +0 and NaNs outside [key(−Inf), key(+Inf)]. The loop below inlines the same
 * expression on raw bits (a shared helper would see both small and large ints and deoptimise).
 */
function keyOf(v: number): number {
  scratchF32[0] = v + 0; // f32 rounding, and +0 for −0
  const bits = scratchU32[0]!;
  return (bits ^ ((bits >> 31) & 0x7fffffff)) | 0;
}

/**
 * Every violation in a batch of connection records, in record order (empty = all valid). Float
 * fields are f32 in the record; the limits are applied at f32 precision (`Math.fround` of each
 * bound), so a value written as exactly a bound is accepted. Throws a ValidationError when the
 * buffer is not a whole number of records.
 *
 * The fast filter compares f32 bit patterns as integers (one unsigned compare per range); it
 * may send a valid record (e.g. a −0) to the exact float check, never let an invalid one pass.
 */
export function validateConnectionRecords(records: Uint8Array, limits: ConnectionLimits): FieldViolation[] {
  if (records.length % CONNECTION_RECORD_SIZE !== 0) {
    throw ValidationError.of("connection batch", [
      {
        field: "records",
        value: `${records.length} bytes`,
        rule: "record_size",
        description: `must be a whole number of ${CONNECTION_RECORD_SIZE}-byte connection records`,
      },
    ]);
  }
  const n = records.length / CONNECTION_RECORD_SIZE;
  const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const out: FieldViolation[] = [];
  if (!LITTLE_ENDIAN || !usableBounds(limits)) {
    // Exact path only: big-endian hosts, or limits that are not a valid range (all records fail).
    for (let i = 0; i < n; i++) diagnose(out, i, records, dv, i * CONNECTION_RECORD_SIZE, limits);
    return out;
  }
  let bytes = records;
  if (records.byteOffset % 4 !== 0) {
    bytes = new Uint8Array(records.length);
    bytes.set(records);
  }
  const u32 = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
  const bits = limits.allowedTypes;
  const pullLo = keyOf(limits.minPull);
  const pullSpan = (keyOf(limits.maxPull) - pullLo) >>> 0;
  const rigLo = keyOf(limits.minRigidity);
  const rigSpan = (keyOf(limits.maxRigidity) - rigLo) >>> 0;
  const pdLo = keyOf(limits.minPreferredDistance);
  const pdSpan = (keyOf(limits.maxPreferredDistance) - pdLo) >>> 0;
  for (let from = 0; ; ) {
    const i = nextSuspect(u32, bytes, bits, pullLo, pullSpan, rigLo, rigSpan, pdLo, pdSpan, from, n);
    if (i >= n) break;
    diagnose(out, i, records, dv, i * CONNECTION_RECORD_SIZE, limits);
    from = i + 1;
  }
  return out;
}

const W = CONNECTION_RECORD_SIZE >> 2;
const W_TARGET = O.target >> 2;
const W_PULL = O.pullStrength >> 2;
const W_RIGIDITY = O.rigidity >> 2;
const W_DISTANCE = O.preferredDistance >> 2;
const W_CONFIDENCE = O.confidence >> 2;
const W_LEARNING = O.learningRate >> 2;
const W_DECAY = O.decayRate >> 2;
const W_EVIDENCE = O.evidenceCount >> 2;
const W_SUCCESS = O.successCount >> 2;
const B_TYPE = O.type;
const B_MUTABILITY = O.mutability;

/**
 * The hot loop, kept small and monomorphic so it stays optimised: the index of the first record
 * at or after `from` that fails the combined test (n when none). The bounds come as order keys
 * of the lower bounds and unsigned spans up to the upper bounds. Everything is an argument: a
 * first call runs its prologue before V8 has allocated feedback, and loads there would make the
 * optimised code deoptimise on the next call.
 */
function nextSuspect(
  u32: Uint32Array,
  bytes: Uint8Array,
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
  for (let i = from, w = from * W, o = from * CONNECTION_RECORD_SIZE; i < n; i++, w += W, o += CONNECTION_RECORD_SIZE) {
    const src = u32[w]!;
    const dst = u32[w + W_TARGET]!;
    const type = bytes[o + B_TYPE]!;
    const pull = u32[w + W_PULL]!;
    const rig = u32[w + W_RIGIDITY]!;
    const pd = u32[w + W_DISTANCE]!;
    if (
      src === 0 ||
      dst === 0 ||
      src === dst ||
      (bits[type >> 3]! & (1 << (type & 7))) === 0 ||
      bytes[o + B_MUTABILITY]! > MAX_MUTABILITY ||
      (((pull ^ ((pull >> 31) & 0x7fffffff)) - pullLo) >>> 0) > pullSpan ||
      (((rig ^ ((rig >> 31) & 0x7fffffff)) - rigLo) >>> 0) > rigSpan ||
      (((pd ^ ((pd >> 31) & 0x7fffffff)) - pdLo) >>> 0) > pdSpan ||
      u32[w + W_CONFIDENCE]! > ONE_BITS ||
      u32[w + W_LEARNING]! > ONE_BITS ||
      u32[w + W_DECAY]! > ONE_BITS ||
      u32[w + W_SUCCESS]! > u32[w + W_EVIDENCE]!
    ) {
      return i;
    }
  }
  return n;
}

// Warm-up: V8 allocates a function's feedback only after several calls, so the prologue of a
// first call that runs a long batch records no type feedback; the optimised code compiled from
// that call then deoptimises on the next call and may stay unoptimised for many batches. A few
// calls on one zero record at load give every operation feedback first (~microseconds).
{
  const rec = new Uint32Array(CONNECTION_RECORD_SIZE >> 2);
  const b = new Uint8Array(rec.buffer);
  for (let k = 0; k < 32; k++) nextSuspect(rec, b, b, 0, 0, 0, 0, 0, 0, 0, 1);
}

/** Finite bounds with min <= max at f32 precision: what the integer filter needs. */
function usableBounds(l: ConnectionLimits): boolean {
  const ok = (lo: number, hi: number): boolean => Number.isFinite(Math.fround(lo)) && Number.isFinite(Math.fround(hi)) && Math.fround(lo) <= Math.fround(hi);
  return ok(l.minPull, l.maxPull) && ok(l.minRigidity, l.maxRigidity) && ok(l.minPreferredDistance, l.maxPreferredDistance);
}

/** The slow path: one violation per broken rule of record `i`. */
function diagnose(
  out: FieldViolation[],
  i: number,
  records: Uint8Array,
  dv: DataView,
  o: number,
  limits: ConnectionLimits,
): void {
  const push = (field: string, value: number | string, rule: ConnectionRule, description: string): void => {
    out.push({ index: i, field, value: String(value), rule, description });
  };
  const src = dv.getUint32(o + O.source, true);
  const dst = dv.getUint32(o + O.target, true);
  if (src === 0) push("source", 0, ConnectionRule.sourceZero, "source token id must not be 0");
  if (dst === 0) push("target", 0, ConnectionRule.targetZero, "target token id must not be 0");
  if (src !== 0 && src === dst) push("target", dst, ConnectionRule.selfLoop, "a connection must join two different tokens (self-loops are not allowed)");
  const type = records[o + O.type]!;
  if ((limits.allowedTypes[type >> 3]! & (1 << (type & 7))) === 0) {
    push("type", `0x${type.toString(16).padStart(2, "0")}`, ConnectionRule.typeNotAllowed, "connection type is not allowed by the constitution (connections.allowed_types)");
  }
  const mut = records[o + O.mutability]!;
  if (mut > MAX_MUTABILITY) push("mutability", mut, ConnectionRule.mutability, "must be 0 (Immutable), 1 (Learnable) or 2 (Hypothesis)");
  // Bounds at f32 precision, shown to the user as configured.
  const range = (field: string, off: number, lo: number, hi: number, rule: ConnectionRule): void => {
    const v = dv.getFloat32(o + off, true);
    if (!Number.isFinite(v)) push(field, v, ConnectionRule.notFinite, `must be a finite number within [${lo}, ${hi}]`);
    else if (!(v >= Math.fround(lo) && v <= Math.fround(hi))) push(field, v, rule, `must be within [${lo}, ${hi}]`);
  };
  range("pull_strength", O.pullStrength, limits.minPull, limits.maxPull, ConnectionRule.pullRange);
  range("rigidity", O.rigidity, limits.minRigidity, limits.maxRigidity, ConnectionRule.rigidityRange);
  range("preferred_distance", O.preferredDistance, limits.minPreferredDistance, limits.maxPreferredDistance, ConnectionRule.preferredDistanceRange);
  range("confidence", O.confidence, 0, 1, ConnectionRule.confidenceRange);
  range("learning_rate", O.learningRate, 0, 1, ConnectionRule.learningRateRange);
  range("decay_rate", O.decayRate, 0, 1, ConnectionRule.decayRateRange);
  const successes = dv.getUint32(o + O.successCount, true);
  const evidence = dv.getUint32(o + O.evidenceCount, true);
  if (successes > evidence) {
    push("success_count", successes, ConnectionRule.successCount, `must not exceed evidence_count (${evidence}): successes are a subset of the observations`);
  }
}

/** Which items of a batch are rejected, and why. */
export interface BatchVerdict {
  /** rejected[i] = 1 when item i must not be applied. */
  readonly rejected: Uint8Array;
  readonly rejectedCount: number;
  readonly acceptedCount: number;
  /** True when nothing may be applied (strict mode with any violation, or a batch-level problem). */
  readonly wholeBatchRejected: boolean;
  readonly violations: readonly FieldViolation[];
}

/**
 * The verdict over a batch of `count` items from its violations (token and connection
 * validators report the same way). Strict: any violation rejects the whole batch. Otherwise only
 * the items named by a violation are rejected; a violation without a valid item index concerns
 * the batch itself and rejects all of it.
 */
export function splitValid(violations: readonly FieldViolation[], count: number, strict: boolean): BatchVerdict {
  const rejected = new Uint8Array(count);
  let whole = strict && violations.length > 0;
  if (!whole) {
    for (const v of violations) {
      const i = v.index;
      if (i === undefined || !Number.isInteger(i) || i < 0 || i >= count) {
        whole = true;
        break;
      }
      rejected[i] = 1;
    }
  }
  if (whole) rejected.fill(1);
  let rejectedCount = 0;
  if (whole) rejectedCount = count;
  else for (let i = 0; i < count; i++) rejectedCount += rejected[i]!;
  return { rejected, rejectedCount, acceptedCount: count - rejectedCount, wholeBatchRejected: whole, violations };
}
