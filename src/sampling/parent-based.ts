/**
 * ParentBasedSampler: follow the parent. A sampled parent (local or remote) keeps the trace and its
 * threshold; an unsampled parent drops the span unless the request forces tracing (a head control
 * honoured by policy); a span without a parent goes to the root sampler.
 *
 * Threshold handling follows the specification's parent-based rules: a remote parent's `th` is
 * propagated unchanged when it is consistent with the trace's randomness (R >= T) and erased when
 * it is not (or malformed); a sampled parent without `th` yields no `th`. Local parents are not
 * re-checked: their `th` was written or checked when the trace entered this process.
 *
 * Remote parents are followed per policy: `follow` (OpenTelemetry's default), `authenticated`
 * (only for requests whose context says the caller is authenticated, see withHeadControls) or
 * `ignore` (the root sampler decides, consistently, from the same trace randomness).
 */
import { INVALID_SPANID, INVALID_TRACEID, TraceFlags, trace, type Attributes, type Context, type Link, type SpanContext, type SpanKind, type TraceState } from "@opentelemetry/api";
import type { Sampler, SamplingResult } from "@opentelemetry/sdk-trace-base";
import { DEFAULT_PARENT, PARENT_SCHEMA, resolveSection, type ParentConfig } from "./config.ts";
import { droppedWith, isRootSampler, OWN_REASON, RECORD_ONLY, SAMPLE_KEEP_STATE, SamplingDecision, sampledWith } from "./decision.ts";
import { getHeadControls } from "./head-controls.ts";
import { O, R, SamplingStats } from "./stats.ts";
import { Threshold } from "./threshold.ts";
import { eraseThreshold, otInfo } from "./tracestate.ts";

export interface ParentBasedOptions {
  readonly stats?: SamplingStats;
  /**
   * Record (without the sampled flag) spans that head sampling drops, where a tail processor can
   * still keep them: root spans, and children of a local parent that is itself recording.
   */
  readonly recordUnsampled?: boolean;
}

/** A root sampler that can override an unsampled parent (HeadControlSampler). */
interface ForcingSampler {
  forced(context: Context): boolean;
}

function canForce(s: Sampler): s is Sampler & ForcingSampler {
  return typeof (s as Partial<ForcingSampler>).forced === "function";
}

/** The Tracer already turned an invalid parent into a new trace id; this re-checks it cheaply. */
function isValidParent(pc: SpanContext, traceId: string): boolean {
  return pc.traceId === traceId && traceId !== INVALID_TRACEID && pc.spanId !== INVALID_SPANID;
}

export class ParentBasedSampler implements Sampler {
  readonly stats: SamplingStats;
  private settings: ParentConfig;
  private recordUnsampled: boolean;

  constructor(
    private root: Sampler,
    config: Partial<ParentConfig> = {},
    options: ParentBasedOptions = {},
  ) {
    this.stats = options.stats ?? new SamplingStats();
    this.settings = resolveSection("parent-based configuration", DEFAULT_PARENT, config, PARENT_SCHEMA);
    this.recordUnsampled = options.recordUnsampled ?? false;
  }

  configure(patch: Partial<ParentConfig>, recordUnsampled?: boolean): void {
    this.settings = resolveSection("parent-based configuration", this.settings, patch, PARENT_SCHEMA);
    if (recordUnsampled !== undefined) this.recordUnsampled = recordUnsampled;
  }

  get config(): ParentConfig {
    return this.settings;
  }

  setRoot(root: Sampler): void {
    this.root = root;
  }

  shouldSample(context: Context, traceId: string, spanName: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    const span = trace.getSpan(context);
    if (span !== undefined) {
      const pc = span.spanContext();
      if (isValidParent(pc, traceId)) {
        if (!pc.isRemote || this.followsRemote(context)) return this.fromParent(context, pc, traceId, span.isRecording());
        this.stats.add(R.parent_ignored, O.ignored);
        return this.fromRoot(context, traceId, spanName, kind, attributes, links, pc.traceState);
      }
    }
    return this.fromRoot(context, traceId, spanName, kind, attributes, links, undefined);
  }

  private followsRemote(context: Context): boolean {
    const policy = this.settings.remote;
    if (policy === "follow") return true;
    return policy === "authenticated" && getHeadControls(context)?.authenticated === true;
  }

  private fromParent(context: Context, pc: SpanContext, traceId: string, parentRecording: boolean): SamplingResult {
    const ts = pc.traceState;
    if ((pc.traceFlags & TraceFlags.SAMPLED) !== 0) {
      this.stats.add(R.parent_sampled, O.sampled);
      // A local parent's th was written or checked when its trace entered this process, so only
      // remote parents need the consistency check (this keeps the common child path parse-free).
      if (ts === undefined || !pc.isRemote) return SAMPLE_KEEP_STATE;
      const info = otInfo(ts);
      if (!info.hasTh) return SAMPLE_KEEP_STATE;
      const th = info.threshold;
      const consistent = th !== undefined && (info.rv !== undefined ? th.sampledHex(info.rv, 0) : th.sampledTraceId(traceId));
      if (consistent) return SAMPLE_KEEP_STATE;
      this.stats.add(R.inconsistent_threshold, O.ignored);
      return Object.freeze({ decision: SamplingDecision.RECORD_AND_SAMPLED, traceState: eraseThreshold(ts) });
    }
    if (canForce(this.root) && this.root.forced(context)) {
      this.stats.add(R.forced, O.sampled);
      return sampledWith(Threshold.ALWAYS, ts);
    }
    this.stats.add(R.parent_unsampled, O.dropped);
    if (this.recordUnsampled && !pc.isRemote && parentRecording) return ts === undefined ? RECORD_ONLY : recordOnly(ts);
    return droppedWith(ts);
  }

  private fromRoot(
    context: Context,
    traceId: string,
    spanName: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[],
    parentTs: TraceState | undefined,
  ): SamplingResult {
    const result = isRootSampler(this.root)
      ? this.root.decideRoot(context, traceId, spanName, attributes, parentTs, 1, OWN_REASON)
      : this.root.shouldSample(context, traceId, spanName, kind, attributes, links);
    if (this.recordUnsampled && result.decision === SamplingDecision.NOT_RECORD) {
      return result.traceState === undefined ? RECORD_ONLY : recordOnly(result.traceState);
    }
    return result;
  }

  toString(): string {
    return `ParentBased{remote=${this.settings.remote}, root=${this.root.toString()}}`;
  }
}

function recordOnly(ts: TraceState): SamplingResult {
  return Object.freeze({ decision: SamplingDecision.RECORD, traceState: eraseThreshold(ts) });
}
