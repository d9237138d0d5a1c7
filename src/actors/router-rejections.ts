/**
 * From shard violations to what the API reports: per-item rejections of a partial batch (with the
 * error code of each item) or, for a strict batch, one typed error naming every problem.
 */
import {
  AlreadyExistsError,
  ErrorCode,
  FailedPreconditionError,
  NotFoundError,
  QuotaExceededError,
  ValidationError,
  type FieldViolation,
  type NeuroGraphError,
} from "../core/errors.ts";
import { StoreRule } from "../core/store/index.ts";
import { DOMAIN_ZERO_LIMIT } from "../core/token/index.ts";

/** Quota name of a create refused because a shard has no id left to allocate. */
export const TOKEN_ID_QUOTA = "token_ids";

/** One item a partial batch did not apply (the API's ItemRejection). */
export interface ItemRejection extends FieldViolation {
  readonly index: number;
  readonly id: number;
  readonly code: ErrorCode;
}

/** Rule → the code of an item rejected by it; anything else is invalid input. */
const RULE_CODES: Readonly<Record<string, ErrorCode>> = {
  [StoreRule.alreadyExists]: ErrorCode.AlreadyExists,
  [StoreRule.notFound]: ErrorCode.NotFound,
  [StoreRule.maxOutDegree]: ErrorCode.FailedPrecondition,
  [StoreRule.maxInDegree]: ErrorCode.FailedPrecondition,
  [StoreRule.idSpaceExhausted]: ErrorCode.QuotaExceeded,
  overloaded: ErrorCode.Overloaded,
  unavailable: ErrorCode.Unavailable,
};

export function codeOfRule(rule: string): ErrorCode {
  return RULE_CODES[rule] ?? ErrorCode.InvalidArgument;
}

/** Collects violations mapped to request indices, without repeats (two shards may report the same). */
export class ViolationSet {
  readonly list: (FieldViolation & { readonly index: number })[] = [];
  private readonly seen = new Set<string>();

  /** Adds `v` with its index translated through `items` (part position → request index). */
  add(v: FieldViolation, items: Uint32Array | null): void {
    const local = v.index ?? 0;
    const index = items === null ? local : (items[local] ?? local);
    const key = `${index}\u0000${v.rule}\u0000${v.field}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push({ ...v, index });
  }

  addAll(vs: readonly FieldViolation[], items: Uint32Array | null): void {
    for (const v of vs) this.add(v, items);
  }

  get size(): number {
    return this.list.length;
  }

  /** 1 for every request item with a violation. */
  badItems(n: number): Uint8Array {
    const bad = new Uint8Array(n);
    for (const v of this.list) if (v.index < n) bad[v.index] = 1;
    return bad;
  }

  sorted(): (FieldViolation & { readonly index: number })[] {
    return [...this.list].sort((a, b) => a.index - b.index);
  }

  rejections(idOf: (index: number) => number): ItemRejection[] {
    return this.sorted().map((v) => ({ ...v, id: idOf(v.index), code: codeOfRule(v.rule) }));
  }
}

function describe(vs: readonly FieldViolation[], limit = 3): string {
  const shown = vs.slice(0, limit).map((v) => `${v.index === undefined ? "" : `item ${v.index}: `}${v.description}`);
  return shown.join("; ") + (vs.length > limit ? ` (and ${vs.length - limit} more)` : "");
}

/**
 * The error of a strict batch that had violations: invalid input first (listing every
 * violation, so one round trip fixes the batch), then constitution limits, missing items,
 * existing items.
 */
export function strictError(what: string, violations: readonly FieldViolation[], hint = ""): NeuroGraphError {
  const codes = violations.map((v) => codeOfRule(v.rule));
  const all = (code: ErrorCode): FieldViolation[] => violations.filter((_, i) => codes[i] === code);
  const suffix = hint === "" ? "" : `; ${hint}`;
  if (codes.includes(ErrorCode.InvalidArgument)) return ValidationError.of(what, violations);
  const limited = all(ErrorCode.FailedPrecondition);
  if (limited.length > 0) return new FailedPreconditionError(`${what} breaks a limit of the constitution: ${describe(limited)}; nothing was applied`, violations);
  // The only item-level quota: a shard with no id left to allocate below the domain bits.
  const exhausted = all(ErrorCode.QuotaExceeded);
  if (exhausted.length > 0) {
    return new QuotaExceededError(TOKEN_ID_QUOTA, DOMAIN_ZERO_LIMIT, DOMAIN_ZERO_LIMIT, {
      hint: `${describe(exhausted)} (${exhausted[0]!.rule}); nothing was applied; give those tokens explicit ids`,
    });
  }
  const missing = all(ErrorCode.NotFound);
  if (missing.length > 0) return new NotFoundError(`${what}: ${describe(missing)}; nothing was applied${suffix}`, { violations: missing });
  const existing = all(ErrorCode.AlreadyExists);
  if (existing.length > 0) return new AlreadyExistsError(`${what}: ${describe(existing)}; nothing was applied${suffix}`, { violations: existing });
  return ValidationError.of(what, violations);
}
