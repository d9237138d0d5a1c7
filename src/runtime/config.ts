/**
 * Typed configuration. A schema is a plain object of options; each option has a flag, an `NG_*`
 * environment variable, a key in the JSON config file (dotted keys are nested objects), a default
 * (as text, parsed like any other value) and a parser. Precedence: flags > environment > config
 * file > defaults. Every value given in any source is validated, and all problems are reported
 * together in one `ValidationError`, each naming its source:
 *
 *   invalid configuration (2 problems):
 *     NG_GRPC_ADDR="abc": expected host:port, e.g. 127.0.0.1:50051
 *     --shards="0": 0 is out of range 1..4096; expected an integer in 1..4096
 *
 * Extend a schema by spreading it: `{ ...nodeConfigSchema, natsUrl: option({...}) }`.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { InternalError, ValidationError, type FieldViolation } from "../core/errors.ts";
import { ConfigValueError, jsonText, type ParseContext, type ValueParser } from "./config-parsers.ts";

export type ConfigSource = "flag" | "env" | "file" | "default";

export interface OptionSpec<T> {
  /** Command-line flag without dashes, e.g. `grpc-addr` (→ `--grpc-addr`). */
  readonly flag: string;
  /** Environment variable, e.g. `NG_GRPC_ADDR`. */
  readonly env: string;
  /** Key in the config file; dots are nesting: `grpc.addr` = `{"grpc":{"addr":…}}`. */
  readonly key: string;
  /** Default as text, parsed like a flag value ("" with an `optional` parser = unset). */
  readonly default: string;
  readonly description: string;
  readonly parser: ValueParser<T>;
}

export interface OptionInit<T> {
  readonly default: string;
  readonly description: string;
  readonly parser: ValueParser<T>;
  readonly flag?: string;
  readonly env?: string;
  readonly key?: string;
}

/** An option named by its schema key `name`; flag, env and file key derive from it unless given. */
export function option<T>(name: string, init: OptionInit<T>): OptionSpec<T> {
  const words = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().split(" ");
  return {
    flag: init.flag ?? words.join("-"),
    env: init.env ?? `NG_${words.join("_").toUpperCase()}`,
    key: init.key ?? words.join("."),
    default: init.default,
    description: init.description,
    parser: init.parser,
  };
}

export type ConfigSchema = Readonly<Record<string, OptionSpec<unknown>>>;
export type ConfigOf<S extends ConfigSchema> = { readonly [K in keyof S]: S[K] extends OptionSpec<infer T> ? T : never };

export interface LoadedConfig<S extends ConfigSchema> {
  readonly values: ConfigOf<S>;
  /** Which source each value came from. */
  readonly sources: { readonly [K in keyof S]: ConfigSource };
  /** The config file that was read, if any. */
  readonly configFile: string | undefined;
  /** Arguments that are not flags (e.g. a subcommand's operands). */
  readonly positionals: readonly string[];
}

export interface LoadOptions {
  /** Raw arguments, e.g. `process.argv.slice(3)`: `--name value`, `--name=value`, `--flag`, `--no-flag`. */
  readonly argv?: readonly string[];
  /** Flags already parsed (e.g. by commander), keyed by schema name or flag; strings or `true`. */
  readonly flags?: Readonly<Record<string, string | boolean | undefined>>;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Config file path; otherwise `--config` / `NG_CONFIG`; otherwise none. */
  readonly configFile?: string;
  readonly cwd?: string;
  readonly readFile?: (path: string) => string;
}

export const CONFIG_FLAG = "config";
export const CONFIG_ENV = "NG_CONFIG";

interface Candidate {
  readonly source: ConfigSource;
  readonly where: string;
  readonly raw: unknown;
  readonly ctx: ParseContext;
}

/** Loads and validates configuration; throws one `ValidationError` listing every problem. */
export function loadConfig<S extends ConfigSchema>(schema: S, options: LoadOptions = {}): LoadedConfig<S> {
  checkSchema(schema);
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const problems: FieldViolation[] = [];
  const problem = (field: string, where: string, raw: string, description: string): void => {
    problems.push({ field, value: raw, rule: "config", description: `${where}=${JSON.stringify(raw)}: ${description}` });
  };

  const { flags, positionals } = collectFlags(schema, options, problem);
  const fileName = options.configFile ?? flagText(flags.get(CONFIG_FLAG)) ?? env[CONFIG_ENV];
  let file: Readonly<Record<string, unknown>> = {};
  let configFile: string | undefined;
  if (fileName !== undefined && fileName !== "") {
    configFile = resolve(cwd, fileName);
    const loaded = readConfigFile(configFile, options.readFile ?? ((p) => readFileSync(p, "utf8")));
    if (typeof loaded === "string") problem(CONFIG_FLAG, "config file", configFile, loaded);
    else file = loaded;
  }
  const fileValues = flattenFile(file);
  const known = new Set(Object.values(schema).map((o) => o.key));
  for (const key of fileValues.keys()) {
    if (!known.has(key)) {
      problem(key, `${key} (in ${configFile ?? "config file"})`, JSON.stringify(fileValues.get(key)), `unknown option; known keys: ${[...known].sort().join(", ")}`);
    }
  }

  const values: Record<string, unknown> = {};
  const sources: Record<string, ConfigSource> = {};
  for (const [name, spec] of Object.entries(schema)) {
    const candidates: Candidate[] = [];
    const flag = flags.get(spec.flag) ?? flags.get(name);
    if (flag !== undefined) candidates.push({ source: "flag", where: `--${spec.flag}`, raw: flag, ctx: { source: "flag", baseDir: cwd } });
    const envValue = env[spec.env];
    if (envValue !== undefined) candidates.push({ source: "env", where: spec.env, raw: envValue, ctx: { source: "env", baseDir: cwd } });
    if (fileValues.has(spec.key)) {
      const where = `${spec.key} (in ${configFile ?? "config file"})`;
      candidates.push({ source: "file", where, raw: fileValues.get(spec.key), ctx: { source: "file", baseDir: dirname(configFile ?? cwd) } });
    }
    let chosen = false;
    for (const c of candidates) {
      const parsed = parseCandidate(spec, c);
      if (!parsed.ok) {
        problem(name, c.where, typeof c.raw === "string" ? c.raw : JSON.stringify(c.raw), parsed.message);
      } else if (!chosen) {
        chosen = true;
        values[name] = parsed.value;
        sources[name] = c.source;
      }
    }
    if (!chosen) {
      const parsed = parseCandidate(spec, { source: "default", where: `default of ${name}`, raw: spec.default, ctx: { source: "default", baseDir: cwd } });
      if (!parsed.ok) throw new InternalError(`the default of option ${name} ("${spec.default}") is invalid: ${parsed.message}`);
      values[name] = parsed.value;
      sources[name] = "default";
    }
  }

  if (problems.length > 0) {
    const lines = problems.map((p) => `  ${p.description}`).join("\n");
    throw new ValidationError(`invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${lines}`, problems);
  }
  return { values: values as ConfigOf<S>, sources: sources as { [K in keyof S]: ConfigSource }, configFile, positionals };
}

function parseCandidate<T>(spec: OptionSpec<T>, c: Candidate): { ok: true; value: T } | { ok: false; message: string } {
  try {
    const p = spec.parser;
    const value = c.source === "file" ? (p.fromJson !== undefined ? p.fromJson(c.raw, c.ctx) : p.parse(jsonText(c.raw), c.ctx)) : p.parse(String(c.raw), c.ctx);
    return { ok: true, value };
  } catch (err) {
    if (!(err instanceof ConfigValueError)) throw err;
    return { ok: false, message: err.detail === undefined ? `expected ${spec.parser.expected}` : `${err.detail}; expected ${spec.parser.expected}` };
  }
}

function flagText(v: string | boolean | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function isBooleanOption(spec: OptionSpec<unknown>): boolean {
  return spec.parser.isSwitch === true;
}

function collectFlags(
  schema: ConfigSchema,
  options: LoadOptions,
  problem: (field: string, where: string, raw: string, description: string) => void,
): { flags: Map<string, string>; positionals: string[] } {
  const flags = new Map<string, string>();
  const byFlag = new Map<string, OptionSpec<unknown>>();
  for (const spec of Object.values(schema)) byFlag.set(spec.flag, spec);
  for (const [k, v] of Object.entries(options.flags ?? {})) {
    if (v === undefined || v === false) continue;
    flags.set(k, v === true ? "true" : v);
  }
  const positionals: string[] = [];
  const argv = options.argv ?? [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("--")) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    let name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (value === undefined && name.startsWith("no-") && byFlag.get(name.slice(3)) !== undefined && isBooleanOption(byFlag.get(name.slice(3)) as OptionSpec<unknown>)) {
      name = name.slice(3);
      value = "false";
    }
    const spec = byFlag.get(name);
    if (spec === undefined && name !== CONFIG_FLAG) {
      problem(name, `--${name}`, value ?? "", `unknown flag; known flags: ${[...byFlag.keys(), CONFIG_FLAG].sort().map((f) => `--${f}`).join(", ")}`);
      continue;
    }
    if (value === undefined) {
      if (spec !== undefined && isBooleanOption(spec)) value = "true";
      else if (i + 1 < argv.length) value = argv[++i] ?? "";
      else {
        problem(name, `--${name}`, "", "the flag needs a value");
        continue;
      }
    }
    flags.set(name, value);
  }
  return { flags, positionals };
}

function readConfigFile(path: string, read: (p: string) => string): Readonly<Record<string, unknown>> | string {
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    return code === "ENOENT" ? "the file does not exist" : `cannot read the file (${code ?? String(err)})`;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return `not valid JSON: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return "the file must hold a JSON object";
  return parsed as Record<string, unknown>;
}

/** Leaves of the file's object tree by dotted key (arrays and scalars are leaves). */
function flattenFile(obj: Readonly<Record<string, unknown>>, prefix = "", out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix === "" ? k : `${prefix}.${k}`;
    if (typeof v === "object" && v !== null && !Array.isArray(v)) flattenFile(v as Record<string, unknown>, key, out);
    else out.set(key, v);
  }
  return out;
}

/** Programmer errors in a schema (duplicate flags, env vars or keys) fail loudly at load time. */
function checkSchema(schema: ConfigSchema): void {
  const seen = new Map<string, string>();
  for (const [name, spec] of Object.entries(schema)) {
    for (const id of [`flag --${spec.flag}`, `env ${spec.env}`, `key ${spec.key}`]) {
      const other = seen.get(id);
      if (other !== undefined) throw new InternalError(`configuration options ${other} and ${name} share the ${id}`);
      seen.set(id, name);
    }
  }
}

/** One line per option for `--help`: flag, env, default, description. */
export function describeOptions(schema: ConfigSchema): string[] {
  return Object.values(schema).map(
    (o) => `--${o.flag} <value>  ${o.description} [env ${o.env}, file key ${o.key}${o.default === "" ? "" : `, default ${o.default}`}]`,
  );
}
