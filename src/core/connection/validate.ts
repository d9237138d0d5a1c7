/**
 * Vectorised validation of packed connection records. Structural rules (ids, type, mutability,
 * flags, reserved bytes, finite floats, 0..1 learning fields, counters) always apply; the
 * constitution's ranges and allowed-type set apply when `limits` are given.
 */
import type { FieldViolation } from "../errors.ts";
import type { ConnectionLimits } from "../limits.ts";
import { isTypeAllowed } from "../limits.ts";
import { CONNECTION_RECORD_SIZE, ConnectionOffset } from "./layout.ts";
import { MAX_CONNECTION_TYPE } from "./types.ts";

/** Every flag bit defined in CONNECTION_FLAGS. */
export const KNOWN_CONNECTION_FLAGS = 0x007f;

export interface ConnectionValidationOptions {
  readonly firstIndex?: number;
  /** Item i gets `invalid[i] = 1` when it has a violation. */
  readonly invalid?: Uint8Array;
  /** Items with `skip[i] !== 0` are not checked. */
  readonly skip?: Uint8Array;
  readonly maxViolations?: number;
}

export function validateConnectionRecords(
  records: Uint8Array,
  limits: ConnectionLimits | undefined,
  options: ConnectionValidationOptions = {},
): FieldViolation[] {
  const violations: FieldViolation[] = [];
  if (records.byteLength % CONNECTION_RECORD_SIZE !== 0) {
    violations.push({
      field: "records",
      value: String(records.byteLength),
      rule: "record_size",
      description: `connection records are ${CONNECTION_RECORD_SIZE} bytes each; ${records.byteLength} is not a multiple of ${CONNECTION_RECORD_SIZE}`,
    });
    return violations;
  }
  const n = records.byteLength / CONNECTION_RECORD_SIZE;
  const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const firstIndex = options.firstIndex ?? 0;
  const { invalid, skip } = options;
  const max = options.maxViolations ?? Infinity;
  const O = ConnectionOffset;
  const floats: readonly (readonly [string, number, number, number])[] = [
    ["rigidity", O.rigidity, limits?.minRigidity ?? -Infinity, limits?.maxRigidity ?? Infinity],
    ["pull_strength", O.pullStrength, limits?.minPull ?? -Infinity, limits?.maxPull ?? Infinity],
    ["preferred_distance", O.preferredDistance, limits?.minPreferredDistance ?? -Infinity, limits?.maxPreferredDistance ?? Infinity],
    ["confidence", O.confidence, 0, 1],
    ["learning_rate", O.learningRate, 0, 1],
    ["decay_rate", O.decayRate, 0, 1],
  ];
  const [rigLo, rigHi, pullLo, pullHi, prefLo, prefHi] = [floats[0]![2], floats[0]![3], floats[1]![2], floats[1]![3], floats[2]![2], floats[2]![3]];
  let index = 0;
  let item = 0;
  const add = (field: string, value: number | string, rule: string, description: string): void => {
    if (invalid !== undefined) invalid[item] = 1;
    if (violations.length < max) violations.push({ index, field, value: String(value), rule, description });
  };
  for (let i = 0; i < n; i++) {
    if (skip !== undefined && (skip[i] ?? 0) !== 0) continue;
    const b = i * CONNECTION_RECORD_SIZE;
    index = firstIndex + i;
    item = i;
    const source = dv.getUint32(b + O.source, true);
    const target = dv.getUint32(b + O.target, true);
    const type = dv.getUint8(b + O.type);
    const flags = dv.getUint16(b + O.flags, true);
    const mutability = dv.getUint8(b + O.mutability);
    if (source === 0) add("source", 0, "id_nonzero", "source token id must not be 0");
    if (target === 0) add("target", 0, "id_nonzero", "target token id must not be 0");
    if (type > MAX_CONNECTION_TYPE) {
      add("type", type, "type_defined", "connection types are 0x00..0xAF (11 categories of 16)");
    } else if (limits !== undefined && !isTypeAllowed(limits.allowedTypes, type)) {
      add("type", type, "type_allowed", "the constitution does not allow this connection type");
    }
    if ((flags & ~KNOWN_CONNECTION_FLAGS) !== 0) {
      add("flags", flags, "flags_known", `only flag bits 0x${KNOWN_CONNECTION_FLAGS.toString(16)} are defined`);
    }
    if (mutability > 2) add("mutability", mutability, "mutability_defined", "mutability is 0 Immutable, 1 Learnable or 2 Hypothesis");
    if (dv.getUint8(b + 13) !== 0 || dv.getUint16(b + 14, true) !== 0) {
      add("reserved", "bytes 13..15", "reserved_zero", "reserved bytes 13..15 must be zero");
    }
    // Fast path: one combined test per float (NaN fails every comparison); details only on failure.
    const rig = dv.getFloat32(b + O.rigidity, true);
    const pull = dv.getFloat32(b + O.pullStrength, true);
    const pref = dv.getFloat32(b + O.preferredDistance, true);
    const conf = dv.getFloat32(b + O.confidence, true);
    const lr = dv.getFloat32(b + O.learningRate, true);
    const dr = dv.getFloat32(b + O.decayRate, true);
    if (
      !(rig >= rigLo && rig <= rigHi && pull >= pullLo && pull <= pullHi && pref >= prefLo && pref <= prefHi) ||
      !(conf >= 0 && conf <= 1 && lr >= 0 && lr <= 1 && dr >= 0 && dr <= 1) ||
      !(Number.isFinite(rig) && Number.isFinite(pull) && Number.isFinite(pref))
    ) {
      for (const [field, off, lo, hi] of floats) {
        const v = dv.getFloat32(b + off, true);
        if (!Number.isFinite(v)) add(field, v, `${field}_finite`, `${field} must be a finite number`);
        else if (v < lo || v > hi) add(field, v, `${field}_range`, `${field} must be in [${lo}, ${hi}]`);
      }
    }
    const evidence = dv.getUint32(b + O.evidenceCount, true);
    const success = dv.getUint32(b + O.successCount, true);
    if (success > evidence) {
      add("success_count", success, "success_le_evidence", `success_count (${success}) cannot exceed evidence_count (${evidence})`);
    }
  }
  return violations;
}
