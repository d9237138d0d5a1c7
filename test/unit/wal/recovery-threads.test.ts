/**
 * The recovery thread settings from the environment: unset means the default, a whole number is
 * taken, anything else is refused with a ValidationError naming the variable (never ignored).
 */
import { afterEach, describe, expect, it } from "vitest";
import { availableParallelism } from "node:os";
import { RECOVERY_THREADS_ENV, RECOVERY_THREAD_MIN_TOKENS_ENV, recoveryThreadMinTokens, recoveryThreads } from "../../../src/actors/wal/recovery-pool.ts";
import { ValidationError } from "../../../src/core/errors.ts";

const saved = { threads: process.env[RECOVERY_THREADS_ENV], min: process.env[RECOVERY_THREAD_MIN_TOKENS_ENV] };

afterEach(() => {
  for (const [name, value] of [[RECOVERY_THREADS_ENV, saved.threads], [RECOVERY_THREAD_MIN_TOKENS_ENV, saved.min]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe("recovery thread settings", () => {
  it("takes the option, else the NG_ variable, else one per core but one", () => {
    delete process.env[RECOVERY_THREADS_ENV];
    expect(recoveryThreads(undefined)).toBe(Math.max(0, availableParallelism() - 1));
    process.env[RECOVERY_THREADS_ENV] = "3";
    expect(recoveryThreads(undefined)).toBe(3);
    expect(recoveryThreads(0)).toBe(0);
    process.env[RECOVERY_THREAD_MIN_TOKENS_ENV] = "1";
    expect(recoveryThreadMinTokens(undefined)).toBe(1);
  });

  it("refuses a value that is not a whole number ≥ 0, naming the variable", () => {
    for (const bad of ["two", "-1", "1.5"]) {
      process.env[RECOVERY_THREADS_ENV] = bad;
      expect(() => recoveryThreads(undefined)).toThrow(ValidationError);
      expect(() => recoveryThreads(undefined)).toThrow(/NG_RECOVERY_THREADS must be a whole number/);
    }
    process.env[RECOVERY_THREAD_MIN_TOKENS_ENV] = "lots";
    expect(() => recoveryThreadMinTokens(undefined)).toThrow(/NG_RECOVERY_THREAD_MIN_TOKENS/);
  });
});
