/**
 * What a load run does (`LoadPlan`), resolved from the flags of `neurograph load` with every
 * bad or contradictory value reported at once (one ValidationError, one violation per flag).
 * The plan is plain data: it is sent to the worker processes as JSON.
 */
import { ValidationError, type FieldViolation } from "../core/errors.ts";
import { parseCount, parseDurationMs, parseFraction, parseLatencyUs, parseRate, type Parsed } from "./units.ts";

export const GRPC_OPS = ["ingest", "create", "get", "neighbors", "traverse"] as const;
export const NATS_OPS = ["nats", "jetstream"] as const;
export type GrpcOp = (typeof GRPC_OPS)[number];
export type NatsOp = (typeof NATS_OPS)[number];
export type OpKind = GrpcOp | NatsOp;
export const OP_KINDS: readonly OpKind[] = [...GRPC_OPS, ...NATS_OPS];
/** Scenarios of `neurograph load <scenario>` besides `stress` (which has its own runner). */
export const SCENARIOS = [...GRPC_OPS, "mix", ...NATS_OPS] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Ops that read existing tokens and so need an id range (`--preload` or `--ids`). */
const READ_OPS: readonly OpKind[] = ["get", "neighbors", "traverse"];
/** Ops that carry `batch` tokens each. */
export const TOKEN_OPS: readonly OpKind[] = ["ingest", "create", "nats", "jetstream"];

export interface MixEntry {
  readonly op: OpKind;
  readonly weight: number;
}

export interface GrpcTarget {
  readonly address: string;
  /** TLS: "system" roots, or files (read by each worker). */
  readonly tls?: "system" | { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string; readonly serverName?: string };
  readonly token?: string;
}

export interface NatsTarget {
  readonly servers: readonly string[];
  readonly cluster: string;
  readonly user?: string;
  readonly password?: string;
  readonly token?: string;
  readonly credsFile?: string;
}

/** Service-level objectives; a missed one makes the run fail (exit code 4). Latencies in µs. */
export interface Slo {
  readonly maxP50Us?: number;
  readonly maxP90Us?: number;
  readonly maxP99Us?: number;
  readonly maxP999Us?: number;
  readonly maxLatencyUs?: number;
  /** Operations per second. */
  readonly minRate?: number;
  /** Tokens per second (ops that carry tokens). */
  readonly minTokenRate?: number;
  /** Failed operations / operations. */
  readonly maxErrorRate?: number;
}

export interface LoadPlan {
  readonly scenario: Scenario;
  /** The ops and their weights (one entry unless the scenario is `mix`). */
  readonly mix: readonly MixEntry[];
  /** open: constant arrival rate, latency from the intended send time; closed: N clients in a loop. */
  readonly mode: "open" | "closed";
  /** Open loop: operations per second, all workers together. */
  readonly rate: number;
  /** Closed loop: clients, all workers together. */
  readonly concurrency: number;
  /** Open loop: operations in flight at most, all workers together. */
  readonly maxInFlight: number;
  /** Length of the measured phase, or null when `count` decides. */
  readonly durationMs: number | null;
  /** Measured operations, or null when `durationMs` decides. */
  readonly count: number | null;
  /** Before the measured phase: the rate (open) or the clients (closed) ramp up; not recorded. */
  readonly rampUpMs: number;
  readonly workers: number;
  /** gRPC channels (TCP connections) per worker. */
  readonly connections: number;
  /** Tokens per operation (ingest message, create batch, NATS batch) or ids per get. */
  readonly batch: number;
  /** Ingest: messages per IngestTokens stream (one operation = one stream). */
  readonly streamMessages: number;
  readonly timeoutMs: number;
  /** Token ids that reads pick from (inclusive), or null when no op reads. */
  readonly ids: { readonly min: number; readonly max: number } | null;
  readonly neighbors: { readonly space: number; readonly radius: number; readonly limit: number };
  readonly traverse: { readonly depth: number; readonly maxNodes: number };
  /** Before the run: tokens with ids 1..tokens, and `degree` connections each. */
  readonly preload: { readonly tokens: number; readonly degree: number };
  readonly grpc: GrpcTarget;
  readonly nats: NatsTarget | null;
  readonly seed: number;
  readonly slo: Slo;
}

/** The flags as given (strings; absent = undefined). Connection targets are resolved by the caller. */
export interface LoadFlags {
  readonly rate?: string;
  readonly concurrency?: string;
  readonly maxInFlight?: string;
  readonly duration?: string;
  readonly count?: string;
  readonly rampUp?: string;
  readonly workers?: string;
  readonly connections?: string;
  readonly batch?: string;
  readonly streamMessages?: string;
  readonly timeout?: string;
  readonly mix?: string;
  readonly ids?: string;
  readonly preload?: string;
  readonly preloadDegree?: string;
  readonly space?: string;
  readonly radius?: string;
  readonly limit?: string;
  readonly depth?: string;
  readonly maxNodes?: string;
  readonly seed?: string;
  readonly maxP50?: string;
  readonly maxP90?: string;
  readonly maxP99?: string;
  readonly maxP999?: string;
  readonly maxLatency?: string;
  readonly minRate?: string;
  readonly minTokenRate?: string;
  readonly maxErrorRate?: string;
}

const DEFAULT_BATCH: Readonly<Record<OpKind, number>> = { ingest: 1000, create: 100, get: 1, neighbors: 1, traverse: 1, nats: 1000, jetstream: 1000 };
const MAX_BATCH = 100_000;

function flagName(key: string): string {
  return `--${key.replace(/[A-Z0-9]+/g, (m) => `-${m.toLowerCase()}`)}`;
}

class Collector {
  readonly violations: FieldViolation[] = [];
  constructor(private readonly flags: LoadFlags) {}

  add(key: string, value: string | undefined, description: string, rule = "flag"): void {
    this.violations.push({ field: flagName(key), ...(value === undefined ? {} : { value }), rule, description });
  }

  /** The parsed value of a flag, its default when absent, undefined (and a violation) when bad. */
  get<T>(key: keyof LoadFlags, parse: (text: string) => Parsed<T>, fallback: T): T;
  get<T>(key: keyof LoadFlags, parse: (text: string) => Parsed<T>): T | undefined;
  get<T>(key: keyof LoadFlags, parse: (text: string) => Parsed<T>, fallback?: T): T | undefined {
    const text = this.flags[key];
    if (text === undefined) return fallback;
    const r = parse(text);
    if (r.ok) return r.value;
    this.add(key, text, `expected ${r.expected}`);
    return fallback;
  }
}

function parseNumber(min: number, max: number): (text: string) => Parsed<number> {
  return (text) => {
    const n = Number(text.trim());
    return text.trim() !== "" && Number.isFinite(n) && n >= min && n <= max ? { ok: true, value: n } : { ok: false, expected: `a number from ${min} to ${max}` };
  };
}

function parseSpace(text: string): Parsed<number> {
  const m = /^[lL]?([1-8])$/.exec(text.trim());
  return m === null ? { ok: false, expected: "a space L1 … L8" } : { ok: true, value: Number(m[1]) - 1 };
}

function parseIdRange(text: string): Parsed<{ min: number; max: number }> {
  const m = /^(\d+)\s*(?:-|\.\.)\s*(\d+)$/.exec(text.trim());
  const min = m === null ? NaN : Number(m[1]);
  const max = m === null ? NaN : Number(m[2]);
  if (!(min >= 1 && max >= min && max <= 0xffff_ffff)) return { ok: false, expected: "an id range MIN-MAX of tokens that exist, e.g. 1-100000" };
  return { ok: true, value: { min, max } };
}

/** `get=70,create=20,traverse=10` → entries; weights are positive numbers (relative). */
export function parseMix(text: string): Parsed<MixEntry[]> {
  const entries: MixEntry[] = [];
  const expected = `op=weight pairs separated by commas, ops from ${OP_KINDS.join(", ")}, e.g. get=80,create=15,traverse=5`;
  for (const part of text.split(",")) {
    const m = /^\s*([a-z]+)\s*[=:]\s*(\d+(?:\.\d+)?)\s*$/.exec(part);
    const op = m?.[1] as OpKind | undefined;
    const weight = Number(m?.[2]);
    if (op === undefined || !OP_KINDS.includes(op) || !(weight > 0)) return { ok: false, expected };
    if (entries.some((e) => e.op === op)) return { ok: false, expected: `${expected} (each op once; ${op} is repeated)` };
    entries.push({ op, weight });
  }
  return entries.length === 0 ? { ok: false, expected } : { ok: true, value: entries };
}

/**
 * Resolves and checks the flags of a run; throws one ValidationError naming every bad flag.
 * `grpc` and `nats` are the connection targets (already validated by the caller).
 */
export function resolveLoadPlan(scenario: string, flags: LoadFlags, grpc: GrpcTarget, nats: NatsTarget | null): LoadPlan {
  const c = new Collector(flags);
  if (!(SCENARIOS as readonly string[]).includes(scenario)) {
    c.add("scenario", scenario, `unknown scenario; choose one of ${[...SCENARIOS, "stress"].join(", ")}`, "scenario");
  }
  const sc = scenario as Scenario;
  let mix: readonly MixEntry[] = [{ op: sc === "mix" ? "get" : sc, weight: 1 }];
  if (sc === "mix") {
    if (flags.mix === undefined) c.add("mix", undefined, "the mix scenario needs --mix, e.g. --mix get=80,create=15,traverse=5", "required");
    mix = c.get("mix", parseMix, mix);
  } else if (flags.mix !== undefined) {
    c.add("mix", flags.mix, "--mix is for the mix scenario (neurograph load mix --mix …)", "scenario_only");
  }
  const ops = mix.map((m) => m.op);

  const rate = c.get("rate", parseRate);
  const concurrency = c.get("concurrency", (t) => parseCount(t, 1, 100_000));
  if (flags.rate !== undefined && flags.concurrency !== undefined) {
    c.add("concurrency", flags.concurrency, "--concurrency is the number of clients of a closed-loop run; with --rate (open loop) cap the requests in flight with --max-in-flight", "exclusive");
  }
  if (flags.rate === undefined && flags.concurrency === undefined) {
    c.add("rate", undefined, "give --rate N (open loop: constant arrival rate, latency corrected for coordinated omission) or --concurrency N (closed loop: N clients)", "required");
  }
  const mode = flags.rate !== undefined ? "open" : "closed";
  if (mode === "closed" && flags.maxInFlight !== undefined) c.add("maxInFlight", flags.maxInFlight, "--max-in-flight applies to open-loop runs (--rate)", "mode_only");
  const maxInFlight = c.get("maxInFlight", (t) => parseCount(t, 1, 1_000_000), 10_000);

  if (flags.duration !== undefined && flags.count !== undefined) c.add("count", flags.count, "give --duration or --count, not both", "exclusive");
  const count = c.get("count", (t) => parseCount(t, 1, 1e12));
  const durationMs = flags.count !== undefined ? null : c.get("duration", (t) => parseDurationMs(t, { maxMs: 7 * 86_400_000 }), 10_000);
  const rampUpMs = c.get("rampUp", (t) => parseDurationMs(t, { allowZero: true, maxMs: 86_400_000 }), 0);
  const workers = c.get("workers", (t) => parseCount(t, 1, 64), 1);
  const connections = c.get("connections", (t) => parseCount(t, 1, 64), 1);
  if (mode === "closed" && concurrency !== undefined && workers > concurrency) {
    c.add("workers", flags.workers, `a closed-loop run needs at least one client per worker: --workers ${workers} > --concurrency ${concurrency}`, "range");
  }
  if (rate !== undefined && rate < workers) c.add("rate", flags.rate, `with --workers ${workers} the rate must be at least ${workers}/s (each worker sends at rate/workers)`, "range");

  const defaultBatch = Math.max(...ops.map((op) => DEFAULT_BATCH[op]));
  const batch = c.get("batch", (t) => parseCount(t, 1, MAX_BATCH), defaultBatch);
  const streamMessages = c.get("streamMessages", (t) => parseCount(t, 1, 1_000_000), 1);
  if (flags.streamMessages !== undefined && !ops.includes("ingest")) c.add("streamMessages", flags.streamMessages, "--stream-messages applies to the ingest op", "scenario_only");
  const timeoutMs = c.get("timeout", (t) => parseDurationMs(t, { maxMs: 3_600_000 }), 10_000);

  const preloadTokens = c.get("preload", (t) => parseCount(t, 0, 100_000_000), 0);
  const degree = c.get("preloadDegree", (t) => parseCount(t, 0, 64), ops.includes("traverse") ? 4 : 0);
  let ids = c.get("ids", parseIdRange) ?? null;
  if (ids === null && preloadTokens > 0) ids = { min: 1, max: preloadTokens };
  const reads = ops.filter((op) => READ_OPS.includes(op));
  if (reads.length > 0 && ids === null && flags.ids === undefined) {
    c.add("preload", undefined, `${reads.join(", ")} read existing tokens: give --preload N (creates ids 1..N first) or --ids MIN-MAX (tokens that exist)`, "required");
  }

  const natsOps = ops.filter((op) => (NATS_OPS as readonly string[]).includes(op));
  if (natsOps.length > 0 && nats === null) c.add("nats", undefined, `${natsOps.join(", ")} publish to NATS: give --nats nats://host:4222 (and --cluster if not "neurograph")`, "required");

  const slo: Slo = {
    ...optional("maxP50Us", c.get("maxP50", parseLatencyUs)),
    ...optional("maxP90Us", c.get("maxP90", parseLatencyUs)),
    ...optional("maxP99Us", c.get("maxP99", parseLatencyUs)),
    ...optional("maxP999Us", c.get("maxP999", parseLatencyUs)),
    ...optional("maxLatencyUs", c.get("maxLatency", parseLatencyUs)),
    ...optional("minRate", c.get("minRate", parseRate)),
    ...optional("minTokenRate", c.get("minTokenRate", parseRate)),
    ...optional("maxErrorRate", c.get("maxErrorRate", parseFraction)),
  };
  if (slo.minRate !== undefined && rate !== undefined && slo.minRate > rate) {
    c.add("minRate", flags.minRate, `--min-rate ${slo.minRate}/s can never be met at --rate ${rate}/s`, "range");
  }
  if (slo.minTokenRate !== undefined && !ops.some((op) => TOKEN_OPS.includes(op))) {
    c.add("minTokenRate", flags.minTokenRate, "--min-token-rate needs an op that writes tokens (ingest, create, nats, jetstream)", "scenario_only");
  }

  const plan: LoadPlan = {
    scenario: sc,
    mix,
    mode,
    rate: rate ?? 0,
    concurrency: concurrency ?? 0,
    maxInFlight,
    durationMs,
    count: count ?? null,
    rampUpMs,
    workers,
    connections,
    batch,
    streamMessages,
    timeoutMs,
    ids,
    neighbors: {
      space: c.get("space", parseSpace, 0),
      radius: c.get("radius", parseNumber(0, 1e6), 1),
      limit: c.get("limit", (t) => parseCount(t, 0, 1_000_000), 100),
    },
    traverse: { depth: c.get("depth", (t) => parseCount(t, 0, 64), 2), maxNodes: c.get("maxNodes", (t) => parseCount(t, 0, 10_000_000), 1000) },
    preload: { tokens: preloadTokens, degree },
    grpc,
    nats,
    seed: c.get("seed", (t) => parseCount(t, 0, 2 ** 31 - 1), 1),
    slo,
  };
  if (c.violations.length > 0) {
    const lines = c.violations.map((v) => `  ${v.field}${v.value === undefined ? "" : ` ${v.value}`}: ${v.description}`);
    throw new ValidationError(`invalid load options (${c.violations.length} problem${c.violations.length === 1 ? "" : "s"}):\n${lines.join("\n")}`, c.violations);
  }
  return plan;
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** Operations each worker runs in a closed loop, or clients: `total` split over `workers`. */
export function shareOf(total: number, workers: number, worker: number): number {
  return Math.floor(total / workers) + (worker < total % workers ? 1 : 0);
}
