/**
 * Head controls: per-request sampling hints from request metadata.
 *
 *   x-force-trace:        true | 1          → sample this trace (th:0); false | 0 → no effect
 *   x-sampling-priority:  high | normal | low → rate × highMultiplier | × 1 | × lowMultiplier
 *   x-sampling-rate:      a decimal in [0, 1] → replaces the root sampler's rate (priority still scales it)
 *
 * Values are case-insensitive and trimmed; malformed or out-of-range values (NaN, 1.5, "yes") are
 * ignored and counted as `header_invalid`. Precedence: force > rate > priority.
 *
 * The API layer attaches them to the request context with `withHeadControls(ctx, metadata,
 * authenticated)` before starting the server span; the samplers read them from there. They are
 * honoured only as the policy allows (default: authenticated callers only), so an anonymous client
 * cannot force 100 % tracing. Ignored headers are counted as `header_not_allowed`.
 */
import { createContextKey, type Attributes, type Context, type TraceState } from "@opentelemetry/api";
import type { SamplingResult } from "@opentelemetry/sdk-trace-base";
import { DEFAULT_HEAD_CONTROLS, HEAD_CONTROLS_SCHEMA, resolvePrecision, resolveSection, type HeadControlsConfig } from "./config.ts";
import { decideConsistent, isSampled, OWN_REASON, parentTraceState, sampledWith, type RootSampler } from "./decision.ts";
import { O, R, SamplingStats } from "./stats.ts";
import { DEFAULT_PRECISION, Threshold } from "./threshold.ts";

export const HEADER_FORCE_TRACE = "x-force-trace";
export const HEADER_SAMPLING_PRIORITY = "x-sampling-priority";
export const HEADER_SAMPLING_RATE = "x-sampling-rate";

export type SamplingPriority = "low" | "normal" | "high";

/**
 * Request metadata as the transports hand it over: gRPC `Metadata` and NATS `MsgHdrs` and `Map`
 * (anything with `get(name)`), or a plain object of lowercase header names (Node's
 * `IncomingHttpHeaders`). Array values use their first element; binary values are invalid.
 */
export type HeadMetadata = { get(name: string): unknown } | Readonly<Record<string, unknown>>;

/** Parsed head controls of one request (attached to its context). */
export class HeadControls {
  /** Set once a sampler has counted this request's header events, so children don't recount. */
  accounted = false;
  private cachedMultiplier = NaN;
  private cachedPrecision = 0;
  private cachedThreshold: Threshold = Threshold.NEVER;

  constructor(
    /** The API authenticated the caller. */
    readonly authenticated: boolean,
    readonly force: boolean,
    readonly priority: SamplingPriority,
    /** Requested rate, when valid. */
    readonly rate: number | undefined,
    /** Names of headers whose values were rejected. */
    readonly invalid: readonly string[],
    /** At least one head-control header was present (valid or not). */
    readonly present: boolean,
  ) {}

  /** Threshold for the requested rate × multiplier (computed once per request). */
  rateThreshold(multiplier: number, precision: number): Threshold {
    if (multiplier !== this.cachedMultiplier || precision !== this.cachedPrecision) {
      this.cachedThreshold = Threshold.fromProbability(Math.min(1, (this.rate ?? 0) * multiplier), precision);
      this.cachedMultiplier = multiplier;
      this.cachedPrecision = precision;
    }
    return this.cachedThreshold;
  }
}

const AUTHENTICATED_ONLY = new HeadControls(true, false, "normal", undefined, [], false);

export const HEAD_CONTROLS_KEY = createContextKey("neurograph.sampling.head_controls");

/** undefined = absent; null = present but not a string (binary); else the trimmed value. */
function readHeader(metadata: HeadMetadata, name: string): string | null | undefined {
  const getter = (metadata as { get?: unknown }).get;
  const raw: unknown = typeof getter === "function" ? (metadata as { get(n: string): unknown }).get(name) : (metadata as Readonly<Record<string, unknown>>)[name];
  const value: unknown = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" ? value.trim() : null;
}

const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Parses the head-control headers. Returns undefined when there is nothing to attach (no header,
 * anonymous caller), so ordinary requests cost nothing.
 */
export function parseHeadControls(metadata: HeadMetadata, authenticated: boolean): HeadControls | undefined {
  const f = readHeader(metadata, HEADER_FORCE_TRACE);
  const p = readHeader(metadata, HEADER_SAMPLING_PRIORITY);
  const r = readHeader(metadata, HEADER_SAMPLING_RATE);
  if (f === undefined && p === undefined && r === undefined) return authenticated ? AUTHENTICATED_ONLY : undefined;
  const invalid: string[] = [];
  let force = false;
  if (f !== undefined) {
    const v = f?.toLowerCase();
    if (v === "true" || v === "1") force = true;
    else if (v !== "false" && v !== "0") invalid.push(HEADER_FORCE_TRACE);
  }
  let priority: SamplingPriority = "normal";
  if (p !== undefined) {
    const v = p?.toLowerCase();
    if (v === "high" || v === "normal" || v === "low") priority = v;
    else invalid.push(HEADER_SAMPLING_PRIORITY);
  }
  let rate: number | undefined;
  if (r !== undefined) {
    const v = r !== null && DECIMAL.test(r) ? Number(r) : NaN;
    if (v >= 0 && v <= 1) rate = v;
    else invalid.push(HEADER_SAMPLING_RATE);
  }
  return new HeadControls(authenticated, force, priority, rate, invalid, true);
}

/**
 * Returns `ctx` carrying the request's head controls and whether its caller is authenticated.
 * Call it in the API layer before starting the server span (after extracting `traceparent`).
 */
export function withHeadControls(ctx: Context, metadata: HeadMetadata, authenticated: boolean): Context {
  const controls = parseHeadControls(metadata, authenticated);
  return controls === undefined ? ctx : ctx.setValue(HEAD_CONTROLS_KEY, controls);
}

export function getHeadControls(ctx: Context): HeadControls | undefined {
  const v = ctx.getValue(HEAD_CONTROLS_KEY);
  return v instanceof HeadControls ? v : undefined;
}

export interface HeadControlOptions {
  readonly stats?: SamplingStats;
  /** `th` precision for thresholds of requested rates. */
  readonly precision?: number;
}

/**
 * Applies head controls in front of a root sampler (ConsistentProbabilitySampler or
 * DynamicRateSampler). Alone it ignores the parent's sampled flag; use it inside
 * ParentBasedSampler, which also asks it whether an unsampled parent is overridden by force.
 */
export class HeadControlSampler implements RootSampler {
  readonly stats: SamplingStats;
  private settings: HeadControlsConfig;
  private precision: number;

  constructor(
    private root: RootSampler,
    config: Partial<HeadControlsConfig> = {},
    options: HeadControlOptions = {},
  ) {
    this.stats = options.stats ?? new SamplingStats();
    this.settings = resolveSection("head-control configuration", DEFAULT_HEAD_CONTROLS, config, HEAD_CONTROLS_SCHEMA);
    this.precision = resolvePrecision("head-control precision", options.precision ?? DEFAULT_PRECISION);
  }

  configure(patch: Partial<HeadControlsConfig>, precision?: number): void {
    const next = resolveSection("head-control configuration", this.settings, patch, HEAD_CONTROLS_SCHEMA);
    const p = resolvePrecision("head-control precision", precision ?? this.precision);
    this.settings = next;
    this.precision = p;
  }

  get config(): HeadControlsConfig {
    return this.settings;
  }

  /** Replaces the root sampler (the stack swaps probability ↔ dynamic at run time). */
  setRoot(root: RootSampler): void {
    this.root = root;
  }

  /** True when the context's request forces tracing and the policy honours it (counts header events once). */
  forced(context: Context): boolean {
    const c = context.getValue(HEAD_CONTROLS_KEY);
    if (!(c instanceof HeadControls) || !c.present) return false;
    return this.admit(c) && c.force;
  }

  shouldSample(context: Context, traceId: string, spanName: string, _kind: unknown, attributes: Attributes): SamplingResult {
    return this.decideRoot(context, traceId, spanName, attributes, parentTraceState(context, traceId), 1, OWN_REASON);
  }

  decideRoot(
    context: Context,
    traceId: string,
    spanName: string,
    attributes: Attributes,
    parentTs: TraceState | undefined,
    multiplier: number,
    reason: number,
  ): SamplingResult {
    const c = context.getValue(HEAD_CONTROLS_KEY);
    if (!(c instanceof HeadControls) || !c.present || !this.admit(c)) {
      return this.root.decideRoot(context, traceId, spanName, attributes, parentTs, multiplier, reason);
    }
    if (c.force) {
      this.stats.add(R.forced, O.sampled);
      return sampledWith(Threshold.ALWAYS, parentTs);
    }
    const scaled = c.priority === "high" ? multiplier * this.settings.highMultiplier : c.priority === "low" ? multiplier * this.settings.lowMultiplier : multiplier;
    if (c.rate !== undefined) {
      const result = decideConsistent(c.rateThreshold(scaled, this.precision), traceId, parentTs);
      this.stats.add(R.rate_header, isSampled(result) ? O.sampled : O.dropped);
      return result;
    }
    if (c.priority !== "normal") return this.root.decideRoot(context, traceId, spanName, attributes, parentTs, scaled, R.priority);
    return this.root.decideRoot(context, traceId, spanName, attributes, parentTs, multiplier, reason);
  }

  /** Whether the policy honours this request's headers; counts its header events once. */
  private admit(c: HeadControls): boolean {
    const policy = this.settings.policy;
    const allowed = policy === "always" || (policy === "authenticated" && c.authenticated);
    if (!c.accounted) {
      c.accounted = true;
      if (!allowed) this.stats.add(R.header_not_allowed, O.ignored);
      else if (c.invalid.length > 0) this.stats.add(R.header_invalid, O.ignored, c.invalid.length);
    }
    return allowed;
  }

  toString(): string {
    return `HeadControls{policy=${this.settings.policy}, root=${this.root.toString()}}`;
  }
}
