/**
 * Value parsers for configuration options. Each parser turns the text of a flag or environment
 * variable (or a JSON value from the config file) into a typed value, or throws
 * `ConfigValueError` with what is wrong; the loader adds where the value came from and what a
 * valid value looks like (`expected`).
 */
import { isAbsolute, resolve } from "node:path";

/** Where the value being parsed came from; paths in a config file resolve against its folder. */
export interface ParseContext {
  readonly source: "flag" | "env" | "file" | "default";
  readonly baseDir: string;
}

export interface ValueParser<T> {
  /** What a valid value looks like, e.g. `host:port, e.g. 127.0.0.1:50051`. */
  readonly expected: string;
  parse(text: string, ctx: ParseContext): T;
  /** Config-file values; the default accepts strings, and numbers/booleans as their text. */
  fromJson?(value: unknown, ctx: ParseContext): T;
  /** Renders a value for help and diagnostics (default `String`). */
  format?(value: T): string;
  /** A boolean switch: as a flag it needs no value (`--tls`, `--no-tls`). */
  readonly isSwitch?: boolean;
}

/** A value was rejected; `detail` says why (the loader adds `expected`). */
export class ConfigValueError extends Error {
  constructor(readonly detail: string | undefined) {
    super(detail ?? "invalid value");
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = "ConfigValueError";
  }
}

function fail(detail?: string): never {
  throw new ConfigValueError(detail);
}

/** The text a JSON value stands for, for parsers without their own `fromJson`. */
export function jsonText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return fail(`expected a string, got ${JSON.stringify(value) ?? typeof value}`);
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
  /** `host:port` (IPv6 hosts in brackets), ready for `bindAsync`/`listen`. */
  readonly address: string;
}

const HOST_PORT_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):(\d{1,5})$/;

/** `host:port`; port 0 (any free port) is allowed. */
export function hostPort(example = "127.0.0.1:50051"): ValueParser<HostPort> {
  return {
    expected: `host:port, e.g. ${example}`,
    parse(text) {
      const m = HOST_PORT_RE.exec(text.trim());
      if (m === null) return fail();
      const port = Number(m[2]);
      if (port > 65_535) return fail(`port ${port} is out of range 0..65535`);
      const host = m[1] as string;
      return { host: host.startsWith("[") ? host.slice(1, -1) : host, port, address: `${host}:${port}` };
    },
    format: (v) => v.address,
  };
}

/** A filesystem path, resolved to absolute (against the config file's folder for file values). */
export function path(): ValueParser<string> {
  return {
    expected: "a filesystem path, e.g. ./data",
    parse(text, ctx) {
      if (text.trim() === "") return fail("the path is empty");
      if (text.includes("\0")) return fail("the path contains a NUL character");
      return isAbsolute(text) ? text : resolve(ctx.baseDir, text);
    },
  };
}

export function integer(options: { min?: number; max?: number } = {}): ValueParser<number> {
  const min = options.min ?? Number.MIN_SAFE_INTEGER;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  const range = `${options.min ?? "-∞"}..${options.max ?? "∞"}`;
  const check = (n: number): number => {
    if (!Number.isSafeInteger(n)) return fail();
    if (n < min || n > max) return fail(`${n} is out of range ${range}`);
    return n;
  };
  return {
    expected: `an integer in ${range}`,
    parse(text) {
      const t = text.trim().replaceAll("_", "");
      if (!/^[+-]?\d+$/.test(t)) return fail();
      return check(Number(t));
    },
    fromJson(value) {
      if (typeof value === "number") return check(value);
      return this.parse(jsonText(value), { source: "file", baseDir: "" });
    },
  };
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `250ms`, `5s`, `1.5m`, `2h` → milliseconds; must be > 0 unless `min` says otherwise. */
export function duration(options: { minMs?: number; maxMs?: number } = {}): ValueParser<number> {
  const minMs = options.minMs;
  const maxMs = options.maxMs ?? Number.MAX_SAFE_INTEGER;
  return {
    expected: "a duration with a unit (ms, s, m, h), e.g. 250ms or 5s",
    parse(text) {
      const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(text.trim());
      if (m === null) return fail();
      const ms = Math.round(Number(m[1]) * (DURATION_UNITS[m[2] as string] as number));
      if (minMs === undefined ? ms <= 0 : ms < minMs) return fail(minMs === undefined ? "the duration must be positive" : `must be at least ${minMs} ms`);
      if (ms > maxMs) return fail(`must be at most ${maxMs} ms`);
      return ms;
    },
    fromJson(value) {
      if (typeof value !== "string") return fail("give the duration as a string with a unit, e.g. \"5s\"");
      return this.parse(value, { source: "file", baseDir: "" });
    },
    format: (ms) => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`),
  };
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** `512MiB`, `2GB`, `1048576` (bytes) → bytes. */
export function byteSize(options: { min?: number; max?: number } = {}): ValueParser<number> {
  const min = options.min ?? 0;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  return {
    expected: "a size like 512MiB, 2GB or 1048576 (bytes)",
    parse(text) {
      const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(text.trim());
      if (m === null) return fail();
      const unit = (m[2] as string).toLowerCase();
      const factor = unit === "" ? 1 : SIZE_UNITS[unit];
      if (factor === undefined) return fail(`unknown unit "${m[2]}" (use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)`);
      const bytes = Math.round(Number(m[1]) * factor);
      if (bytes < min || bytes > max) return fail(`${bytes} bytes is out of range ${min}..${max}`);
      return bytes;
    },
    fromJson(value) {
      return this.parse(jsonText(value), { source: "file", baseDir: "" });
    },
  };
}

const TRUE_WORDS = new Set(["true", "1", "yes", "on"]);
const FALSE_WORDS = new Set(["false", "0", "no", "off"]);

export function boolean(): ValueParser<boolean> {
  return {
    expected: "true or false",
    isSwitch: true,
    parse(text) {
      const t = text.trim().toLowerCase();
      if (TRUE_WORDS.has(t)) return true;
      if (FALSE_WORDS.has(t)) return false;
      return fail();
    },
    fromJson(value) {
      if (typeof value === "boolean") return value;
      return this.parse(jsonText(value), { source: "file", baseDir: "" });
    },
  };
}

export function oneOf<const V extends string>(values: readonly V[]): ValueParser<V> {
  return {
    expected: `one of ${values.join(", ")}`,
    parse(text) {
      const t = text.trim();
      return (values as readonly string[]).includes(t) ? (t as V) : fail();
    },
  };
}

export function string(options: { pattern?: RegExp; allowEmpty?: boolean; expected?: string } = {}): ValueParser<string> {
  return {
    expected: options.expected ?? (options.pattern === undefined ? "a non-empty string" : `text matching ${String(options.pattern)}`),
    parse(text) {
      if (options.allowEmpty !== true && text === "") return fail("the value is empty");
      if (options.pattern !== undefined && !options.pattern.test(text)) return fail();
      return text;
    },
  };
}

/** A URL with one of the given protocols, e.g. `url(["nats:", "tls:"])`. */
export function url(protocols: readonly string[]): ValueParser<string> {
  return {
    expected: `a URL (${protocols.map((p) => `${p}//…`).join(" or ")})`,
    parse(text) {
      let u: URL;
      try {
        u = new URL(text.trim());
      } catch {
        return fail();
      }
      if (!protocols.includes(u.protocol)) return fail(`protocol ${u.protocol} is not supported`);
      return u.toString();
    },
  };
}

/** Comma-separated items (or a JSON array in the config file), each checked by `item`. */
export function list<T>(item: ValueParser<T>, options: { separator?: string; minItems?: number } = {}): ValueParser<readonly T[]> {
  const sep = options.separator ?? ",";
  const minItems = options.minItems ?? 0;
  const each = (raw: readonly unknown[], ctx: ParseContext, fromJson: boolean): readonly T[] => {
    if (raw.length < minItems) return fail(`at least ${minItems} item(s) needed`);
    return raw.map((r, i) => {
      try {
        return fromJson && item.fromJson !== undefined ? item.fromJson(r, ctx) : item.parse(jsonText(r), ctx);
      } catch (err) {
        const detail = err instanceof ConfigValueError && err.detail !== undefined ? `${err.detail}; ` : "";
        return fail(`item ${i + 1} (${JSON.stringify(r)}): ${detail}expected ${item.expected}`);
      }
    });
  };
  return {
    expected: `a list separated by "${sep}" of ${item.expected}`,
    parse(text, ctx) {
      const parts = text.split(sep).map((p) => p.trim()).filter((p) => p !== "");
      return each(parts, ctx, false);
    },
    fromJson(value, ctx) {
      if (Array.isArray(value)) return each(value, ctx, true);
      return this.parse(jsonText(value), ctx);
    },
    format: (v) => v.map((x) => (item.format === undefined ? String(x) : item.format(x))).join(sep),
  };
}

/** Makes an option optional: the empty string (the usual default) means "not set". */
export function optional<T>(inner: ValueParser<T>): ValueParser<T | undefined> {
  return {
    expected: inner.expected,
    parse: (text, ctx) => (text.trim() === "" ? undefined : inner.parse(text, ctx)),
    fromJson: (value, ctx) =>
      value === null || value === "" ? undefined : inner.fromJson !== undefined ? inner.fromJson(value, ctx) : inner.parse(jsonText(value), ctx),
    format: (v) => (v === undefined ? "" : inner.format !== undefined ? inner.format(v) : String(v)),
  };
}
