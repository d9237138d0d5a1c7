/**
 * Vectorised validation of packed token records against the constitution's token limits.
 * One pass over typed views; objects are built only for the violations found.
 */
import type { FieldViolation } from "../errors.ts";
import type { TokenLimits } from "../limits.ts";
import { TOKEN_RECORD_SIZE, TokenOffset } from "./layout.ts";

/** Stable rule identifiers of token record validation (clients and tests branch on them). */
export const TokenRule = {
  recordSize: "record_size",
  idNonzero: "id_nonzero",
  weightFinite: "weight_finite",
  weightRange: "weight_range",
  radiusRange: "radius_range",
  strengthRange: "strength_range",
  timestampFuture: "timestamp_future",
} as const;
export type TokenRule = (typeof TokenRule)[keyof typeof TokenRule];

export interface TokenValidationOptions {
  /** Accept id 0 (a create request asking for an allocated id). Default false. */
  readonly allowZeroId?: boolean;
  /** Added to record positions in reported indices (when validating a slice of a batch). */
  readonly firstIndex?: number;
  /** When given (length ≥ record count), item i gets `invalid[i] = 1` if it has a violation. */
  readonly invalid?: Uint8Array;
  /** Items with `skip[i] !== 0` are not checked. */
  readonly skip?: Uint8Array;
  /** Stop collecting after this many violations (items are still marked). Default unlimited. */
  readonly maxViolations?: number;
}

/**
 * Checks every record: id ≠ 0 (unless allowed), weight finite and in [minWeight, maxWeight],
 * radius and strength raw bytes in range, timestamp ≤ now + maxFutureSeconds. A byte length that
 * is not a multiple of 64 gives one `record_size` violation and nothing else.
 */
export function validateTokenRecords(
  records: Uint8Array,
  limits: TokenLimits,
  nowSeconds: number,
  options: TokenValidationOptions = {},
): FieldViolation[] {
  const violations: FieldViolation[] = [];
  if (records.byteLength % TOKEN_RECORD_SIZE !== 0) {
    violations.push({
      field: "records",
      value: String(records.byteLength),
      rule: TokenRule.recordSize,
      description: `records are ${TOKEN_RECORD_SIZE} bytes each; ${records.byteLength} bytes is not a multiple of ${TOKEN_RECORD_SIZE}`,
    });
    return violations;
  }
  const n = records.byteLength / TOKEN_RECORD_SIZE;
  const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const allowZeroId = options.allowZeroId ?? false;
  const firstIndex = options.firstIndex ?? 0;
  const { invalid, skip } = options;
  const max = options.maxViolations ?? Infinity;
  const { minWeight, maxWeight, minRadiusRaw, maxRadiusRaw, minStrengthRaw, maxStrengthRaw } = limits;
  const latest = nowSeconds + limits.maxFutureSeconds;
  const add = (i: number, v: FieldViolation): void => {
    if (invalid !== undefined) invalid[i] = 1;
    if (violations.length < max) violations.push(v);
  };
  for (let i = 0; i < n; i++) {
    if (skip !== undefined && skip[i] !== 0 && skip[i] !== undefined) continue;
    const base = i * TOKEN_RECORD_SIZE;
    const index = firstIndex + i;
    const id = dv.getUint32(base + TokenOffset.id, true);
    const weight = dv.getFloat32(base + TokenOffset.weight, true);
    const radius = dv.getUint8(base + TokenOffset.fieldRadius);
    const strength = dv.getUint8(base + TokenOffset.fieldStrength);
    const ts = dv.getUint32(base + TokenOffset.timestamp, true);
    // One combined test keeps the common (valid) path to a single branch.
    if (
      (id !== 0 || allowZeroId) &&
      weight >= minWeight &&
      weight <= maxWeight &&
      radius >= minRadiusRaw &&
      radius <= maxRadiusRaw &&
      strength >= minStrengthRaw &&
      strength <= maxStrengthRaw &&
      ts <= latest
    ) {
      continue;
    }
    if (id === 0 && !allowZeroId) {
      add(i, { index, field: "id", value: "0", rule: TokenRule.idNonzero, description: "id must not be 0 (0 only asks for an allocated id in a create)" });
    }
    if (!Number.isFinite(weight)) {
      add(i, { index, field: "weight", value: String(weight), rule: TokenRule.weightFinite, description: "weight must be a finite number" });
    } else if (weight < minWeight || weight > maxWeight) {
      add(i, {
        index,
        field: "weight",
        value: String(weight),
        rule: TokenRule.weightRange,
        description: `weight must be in [${minWeight}, ${maxWeight}]`,
      });
    }
    if (radius < minRadiusRaw || radius > maxRadiusRaw) {
      add(i, {
        index,
        field: "field_radius",
        value: String(radius),
        rule: TokenRule.radiusRange,
        description: `field_radius raw byte must be in [${minRadiusRaw}, ${maxRadiusRaw}] (radius ${minRadiusRaw / 100} … ${maxRadiusRaw / 100})`,
      });
    }
    if (strength < minStrengthRaw || strength > maxStrengthRaw) {
      add(i, {
        index,
        field: "field_strength",
        value: String(strength),
        rule: TokenRule.strengthRange,
        description: `field_strength raw byte must be in [${minStrengthRaw}, ${maxStrengthRaw}]`,
      });
    }
    if (ts > latest) {
      add(i, {
        index,
        field: "timestamp",
        value: String(ts),
        rule: TokenRule.timestampFuture,
        description: `timestamp is more than ${limits.maxFutureSeconds} s in the future (now ${nowSeconds}); send unix seconds`,
      });
    }
  }
  return violations;
}
