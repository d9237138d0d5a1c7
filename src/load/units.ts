/**
 * Units of the load harness: parsing of flag values (durations, latencies, rates, fractions)
 * and formatting of figures for people. Latencies are kept in microseconds (integers, as the
 * HDR histograms record them); durations in milliseconds; rates in operations per second.
 * A parser returns the value or a string saying what was expected (the caller turns it into a
 * FieldViolation, so every bad flag is reported at once).
 */

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly expected: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(expected: string): Parsed<T> => ({ ok: false, expected });

const DURATION_MS: Readonly<Record<string, number>> = { us: 0.001, µs: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `30s`, `1.5m`, `500ms`, `2h` → milliseconds (> 0 unless `allowZero`). */
export function parseDurationMs(text: string, options: { allowZero?: boolean; maxMs?: number } = {}): Parsed<number> {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(text.trim());
  const expected = `a duration with a unit (ms, s, m, h), e.g. 30s or 500ms${options.allowZero === true ? " (0s for none)" : ""}`;
  if (m === null) return text.trim() === "0" && options.allowZero === true ? ok(0) : bad(expected);
  const ms = Number(m[1]) * DURATION_MS[m[2]!]!;
  if (ms === 0 && options.allowZero !== true) return bad(`${expected}; it must be positive`);
  if (options.maxMs !== undefined && ms > options.maxMs) return bad(`${expected}, at most ${formatDurationMs(options.maxMs)}`);
  return ok(Math.round(ms));
}

/** `5ms`, `250us`, `1.5s` → microseconds (a latency threshold; a unit is required). */
export function parseLatencyUs(text: string): Parsed<number> {
  const m = /^(\d+(?:\.\d+)?)\s*(us|µs|ms|s)$/.exec(text.trim());
  if (m === null) return bad("a latency with a unit (us, ms, s), e.g. 5ms or 750us");
  const us = Number(m[1]) * DURATION_MS[m[2]!]! * 1000;
  if (!(us > 0) || us > 3.6e9) return bad("a latency above 0 and at most 1h, e.g. 5ms");
  return ok(us);
}

/** `4500`, `4.5k`, `2M` → a positive number (operations or tokens per second). */
export function parseRate(text: string): Parsed<number> {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmM]?)(?:\/s)?$/.exec(text.trim());
  if (m === null) return bad("a rate per second, e.g. 5000, 4.5k or 2M");
  const factor = m[2] === "" ? 1 : m[2]!.toLowerCase() === "k" ? 1e3 : 1e6;
  const n = Number(m[1]) * factor;
  if (!(n > 0) || n > 1e9) return bad("a rate above 0 and at most 1G per second");
  return ok(n);
}

/** `0.01` or `1%` → a fraction in [0, 1]. */
export function parseFraction(text: string): Parsed<number> {
  const t = text.trim();
  const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(t);
  const n = pct !== null ? Number(pct[1]) / 100 : /^(?:\d+(?:\.\d*)?|\.\d+)$/.test(t) ? Number(t) : NaN;
  if (!(n >= 0 && n <= 1)) return bad("a fraction from 0 to 1 or a percentage, e.g. 0.001 or 0.1%");
  return ok(n);
}

/** A whole number in [min, max]; `10k`/`1M`/`9.5M` suffixes and `_` separators allowed. */
export function parseCount(text: string, min: number, max: number): Parsed<number> {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmM]?)$/.exec(text.trim().replaceAll("_", ""));
  const expected = `a whole number from ${min} to ${formatCount(max)}, e.g. 1000, 50k or 9.5M`;
  if (m === null) return bad(expected);
  const factor = m[2] === "" ? 1 : m[2]!.toLowerCase() === "k" ? 1e3 : 1e6;
  const n = Number(m[1]) * factor;
  if (!Number.isSafeInteger(n) || n < min || n > max) return bad(expected);
  return ok(n);
}

// ---------------------------------------------------------------------------------------------
// Formatting

/** A latency in µs for people: `812us`, `3.42ms`, `1.205s`. */
export function formatLatency(us: number): string {
  if (!Number.isFinite(us)) return "-";
  if (us < 1000) return `${Math.round(us)}us`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)}ms`;
  return `${(us / 1e6).toFixed(3)}s`;
}

/** `12.3k`, `4.56M`, `850`. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return "-";
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return abs >= 100 || Number.isInteger(n) ? String(Math.round(n)) : n.toFixed(1);
}

/** `512 B`, `1.5 MiB`, `2.03 GiB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

/** `45s`, `2m05s`, `850ms`. */
export function formatDurationMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return Number.isInteger(s) ? `${s}s` : `${s.toFixed(1)}s`;
  const whole = Math.round(s);
  return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, "0")}s`;
}

/** `0.12%`. */
export function formatPercent(fraction: number, digits = 2): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(digits)}%` : "-";
}
