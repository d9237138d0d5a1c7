/**
 * What every client subcommand shares: connection options (flags > `NG_*` environment >
 * defaults, validated by the runtime's config loader), the client's lifetime, `--json` output,
 * and errors printed with their violations and turned into exit codes:
 *
 *   0  success
 *   1  the request failed (rejected by the node or by client-side checks of the input data;
 *      also: partial writes with rejected items, a health status other than SERVING)
 *   2  usage or configuration error (unknown flag, bad flag value, unreadable input file)
 *   3  the node cannot be reached (connection refused or timed out, UNAVAILABLE after retries)
 */
import { readFileSync } from "node:fs";
import { CommanderError, InvalidArgumentError, Option, type Command } from "commander";
import { ErrorCode, NeuroGraphError, ValidationError, type FieldViolation } from "../../core/errors.ts";
import { loadConfig, option } from "../../runtime/config.ts";
import { boolean, duration, hostPort, optional, path, string } from "../../runtime/config-parsers.ts";
import { NeuroGraphClient, type ClientTlsOptions } from "../../client/index.ts";

export const ExitCode = { Ok: 0, RequestFailed: 1, Usage: 2, Unreachable: 3 } as const;

export const EXIT_CODES_HELP = `
Exit codes of the client commands:
  0  success
  1  the request failed (the node or the client rejected it; partial writes with rejected items;
     health other than SERVING)
  2  usage or configuration error (bad flag or value, unreadable input file)
  3  the node cannot be reached (refused, timed out, UNAVAILABLE after retries)`;

/** Connection options of the client commands (flag, environment variable). */
export const clientConfigSchema = {
  addr: option("addr", { env: "NG_GRPC_ADDR", key: "grpc.addr", default: "127.0.0.1:50051", description: "address of the node's gRPC API", parser: hostPort() }),
  token: option("token", { env: "NG_ADMIN_TOKEN", key: "admin.token", default: "", description: "admin bearer token", parser: optional(string()) }),
  tls: option("tls", { env: "NG_CLIENT_TLS", default: "false", description: "use TLS (system roots unless --tls-ca)", parser: boolean() }),
  tlsCa: option("tlsCa", { env: "NG_CLIENT_TLS_CA", default: "", description: "PEM CA bundle of the server certificate", parser: optional(path()) }),
  tlsCert: option("tlsCert", { env: "NG_CLIENT_TLS_CERT", default: "", description: "PEM client certificate (mTLS)", parser: optional(path()) }),
  tlsKey: option("tlsKey", { env: "NG_CLIENT_TLS_KEY", default: "", description: "PEM client key (mTLS)", parser: optional(path()) }),
  tlsServerName: option("tlsServerName", { env: "NG_CLIENT_TLS_SERVER_NAME", default: "", description: "name the server certificate must carry", parser: optional(string()) }),
  deadline: option("deadline", { env: "NG_CLIENT_DEADLINE", default: "30s", description: "deadline of each request", parser: duration({ maxMs: 24 * 3_600_000 }) }),
};

export interface CommandContext {
  readonly client: NeuroGraphClient;
  readonly json: boolean;
  readonly deadlineMs: number;
  /** The deadline was given (flag or environment), not the default: long streams use it then. */
  readonly deadlineGiven: boolean;
  out(text: string): void;
  err(text: string): void;
}

/** Adds the connection and output options to a command and maps its usage errors to exit 2. */
export function clientCommand(program: Command, spec: string, description: string): Command {
  const cmd = program
    .command(spec)
    .description(description)
    .option("--addr <host:port>", "node address [env NG_GRPC_ADDR, default 127.0.0.1:50051]")
    .option("--token <token>", "admin bearer token [env NG_ADMIN_TOKEN]")
    .option("--tls", "use TLS [env NG_CLIENT_TLS]")
    .option("--tls-ca <file>", "PEM CA bundle of the server [env NG_CLIENT_TLS_CA]")
    .option("--tls-cert <file>", "PEM client certificate for mTLS [env NG_CLIENT_TLS_CERT]")
    .option("--tls-key <file>", "PEM client key for mTLS [env NG_CLIENT_TLS_KEY]")
    .option("--tls-server-name <name>", "name on the server certificate [env NG_CLIENT_TLS_SERVER_NAME]")
    .option("--deadline <duration>", "deadline per request, e.g. 5s [env NG_CLIENT_DEADLINE, default 30s]")
    .option("--json", "print JSON instead of text");
  cmd.exitOverride(usageExit);
  cmd.showHelpAfterError(`(run "neurograph ${cmd.name()} --help" for usage)`);
  cmd.addHelpText("after", EXIT_CODES_HELP);
  return cmd;
}

/** Commander usage errors exit with 2 (help and version stay 0). */
export function usageExit(err: CommanderError): never {
  throw new CommanderError(err.exitCode === 0 ? 0 : ExitCode.Usage, err.code, err.message);
}

/** Prints the message and ends the command with `code` (main.ts returns it as the exit code). */
export function exitWith(code: number, message?: string): never {
  if (message !== undefined) process.stderr.write(`neurograph: ${message}\n`);
  throw new CommanderError(code, "neurograph.exit", message ?? "");
}

function violationLine(v: FieldViolation, locate?: (index: number) => string): string {
  const where = v.index === undefined ? "" : `${locate?.(v.index) ?? `item ${v.index}`}: `;
  const value = v.value === undefined || v.value === "" ? "" : v.field === "" ? v.value : ` = ${v.value}`;
  return `  ${where}${v.field}${value}  [${v.rule}] ${v.description}`;
}

/** Violations of an error, one line each: `item 3: weight = 1.5  [weight_range] …`. */
export function formatViolations(violations: readonly FieldViolation[], locate?: (index: number) => string, max = 20): string[] {
  const lines = violations.slice(0, max).map((v) => violationLine(v, locate));
  if (violations.length > max) lines.push(`  … and ${violations.length - max} more`);
  return lines;
}

const HINTS: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.Unauthenticated]: "pass the admin token with --token or NG_ADMIN_TOKEN",
  [ErrorCode.PermissionDenied]: "check the admin token (--token / NG_ADMIN_TOKEN)",
};

/**
 * `invalid token batch: item 1: weight: …; item 2: … (note)` → `invalid token batch, 2 problems
 * (note)`: the violations follow on their own lines, with input positions the user knows.
 */
function headline(message: string, violations: readonly FieldViolation[]): string {
  const m = /^(invalid [^:]+): /.exec(message);
  if (m === null) return message;
  const n = violations.length;
  const note = /\s(\((?!and \d)[^()]*\))$/.exec(message)?.[1];
  const own = note !== undefined && !violations.some((v) => v.description.includes(note));
  return `${m[1]}, ${n} problem${n === 1 ? "" : "s"}${own ? ` ${note}` : ""}:`;
}

/** The exit code of an error: 3 when the node cannot be reached, 1 otherwise. */
export function exitCodeOf(err: unknown): number {
  return err instanceof NeuroGraphError && err.code === ErrorCode.Unavailable ? ExitCode.Unreachable : ExitCode.RequestFailed;
}

/** Prints an error (message, code, violations, hint) to stderr and exits with its code. */
export function failWith(err: unknown, locate?: (index: number) => string): never {
  if (err instanceof CommanderError) throw err;
  if (!(err instanceof NeuroGraphError)) {
    exitWith(ExitCode.RequestFailed, err instanceof Error ? (err.stack ?? err.message) : String(err));
  }
  const violations = "violations" in err ? ((err as { violations?: readonly FieldViolation[] }).violations ?? []) : [];
  const lines = [`neurograph: ${violations.length > 0 ? headline(err.message, violations) : err.message} [${err.code}]`];
  lines.push(...formatViolations(violations, locate));
  const hint = HINTS[err.code];
  if (hint !== undefined) lines.push(`  hint: ${hint}`);
  process.stderr.write(`${lines.join("\n")}\n`);
  throw new CommanderError(exitCodeOf(err), "neurograph.request", err.message);
}

interface ConnectionFlags {
  readonly json?: boolean;
  readonly [key: string]: unknown;
}

function readPem(file: string | undefined, what: string): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    return exitWith(ExitCode.Usage, `cannot read the ${what} ${file} (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** Loads the connection configuration; bad values exit with 2 listing every problem. */
export function loadClientConfig(flags: ConnectionFlags, env: Readonly<Record<string, string | undefined>> = process.env) {
  const given: Record<string, string | boolean | undefined> = {};
  for (const name of Object.keys(clientConfigSchema)) {
    const v = flags[name];
    if (typeof v === "string" || typeof v === "boolean") given[name] = v;
  }
  try {
    return loadConfig(clientConfigSchema, { flags: given, env, configFile: "" });
  } catch (err) {
    if (err instanceof ValidationError) exitWith(ExitCode.Usage, err.message);
    throw err;
  }
}

/**
 * Runs a command body with a connected client; prints errors and exits with their code.
 * `locate` renders a violation index for the user (e.g. as a line of the input file).
 */
export async function withClient(cmd: Command, body: (ctx: CommandContext) => Promise<number | void>, locate?: () => ((index: number) => string) | undefined): Promise<void> {
  const flags = cmd.optsWithGlobals<ConnectionFlags>();
  const loaded = loadClientConfig(flags);
  const config = loaded.values;
  let tls: ClientTlsOptions | true | undefined;
  if (config.tls || config.tlsCa !== undefined || config.tlsCert !== undefined) {
    const ca = readPem(config.tlsCa, "CA file");
    const cert = readPem(config.tlsCert, "client certificate");
    const key = readPem(config.tlsKey, "client key");
    if ((cert === undefined) !== (key === undefined)) exitWith(ExitCode.Usage, "--tls-cert and --tls-key go together (mTLS needs both)");
    tls = { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }), ...(config.tlsServerName === undefined ? {} : { serverName: config.tlsServerName }) };
  }
  let client: NeuroGraphClient | undefined;
  try {
    client = await NeuroGraphClient.connect({ address: config.addr.address, tls, token: config.token, deadlineMs: config.deadline, env: {} });
    const c = client;
    const code = await body({
      client: c,
      json: flags.json === true,
      deadlineMs: config.deadline,
      deadlineGiven: loaded.sources.deadline !== "default",
      out: (text) => process.stdout.write(`${text}\n`),
      err: (text) => process.stderr.write(`${text}\n`),
    });
    if (typeof code === "number" && code !== 0) exitWith(code);
  } catch (err) {
    failWith(err, locate?.());
  } finally {
    client?.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Argument parsers (commander): invalid values are usage errors.

export function intArg(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const t = value.trim().toLowerCase();
    const n = /^0x[0-9a-f]+$/.test(t) ? Number.parseInt(t, 16) : /^[+-]?\d+$/.test(t) ? Number(t) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer in ${min}..${max}`);
    return n;
  };
}

export function numberArg(min = -Infinity, max = Infinity): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected a number in [${min}, ${max}]`);
    return n;
  };
}

export function pointArg(value: string): [number, number, number] {
  const parts = value.split(",").map((p) => Number(p.trim()));
  if (parts.length !== 3 || parts.some((n) => !Number.isFinite(n))) throw new InvalidArgumentError("expected x,y,z, e.g. 1.5,0,-2");
  return [parts[0]!, parts[1]!, parts[2]!];
}

export function listArg(item: (value: string) => number): (value: string) => number[] {
  return (value) => value.split(",").filter((p) => p.trim() !== "").map((p) => item(p));
}

export const idArg = intArg(1, 0xffff_ffff);

export function spaceArg(value: string): string {
  if (!/^[lL]?[1-8]$/.test(value.trim())) throw new InvalidArgumentError("expected a space L1 … L8");
  return value.trim();
}

/** Token ids given as positional arguments. */
export function parseIds(values: readonly string[]): number[] {
  try {
    return values.map(idArg);
  } catch (err) {
    return exitWith(ExitCode.Usage, `invalid token id among ${values.join(" ")}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function choice<const V extends string>(flags: string, description: string, values: readonly V[]): Option {
  return new Option(flags, description).choices(values);
}

/** JSON with typed arrays as plain arrays. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<number>) : v));
}
