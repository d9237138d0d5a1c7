/**
 * The strict / non-strict verdict over a validated batch: which items may be applied.
 */
import type { FieldViolation } from "../errors.ts";

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
 * the batch itself and rejects all of it. Pass the validator's `invalid` mask when the violation
 * list was capped (`maxViolations`), so items past the cap are rejected too.
 */
export function splitValid(violations: readonly FieldViolation[], count: number, strict: boolean, invalid?: Uint8Array): BatchVerdict {
  const rejected = new Uint8Array(count);
  if (invalid !== undefined) rejected.set(invalid.subarray(0, count));
  let whole = false;
  for (const v of violations) {
    const i = v.index;
    if (i === undefined || !Number.isInteger(i) || i < 0 || i >= count) {
      whole = true;
      break;
    }
    rejected[i] = 1;
  }
  let rejectedCount = 0;
  for (let i = 0; i < count; i++) rejectedCount += rejected[i]!;
  if (whole || (strict && (rejectedCount > 0 || violations.length > 0))) {
    whole = true;
    rejected.fill(1);
    rejectedCount = count;
  }
  return { rejected, rejectedCount, acceptedCount: count - rejectedCount, wholeBatchRejected: whole, violations };
}
