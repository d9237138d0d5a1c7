/**
 * TailSamplingProcessor: a SpanProcessor that buffers ended spans per trace and decides when the
 * trace's local root span ends (the first span of the trace in this process: no parent, or a
 * remote one), or after a timeout:
 *
 *   - error: any span with status ERROR keeps the whole trace (100 %). The decision is taken at
 *     once, so error traces leave the buffer immediately and can never be evicted; error spans
 *     that arrive after a "drop" decision flip it to "keep" for the rest of the trace;
 *   - head-sampled: traces whose spans carry the sampled flag are kept when `keepSampled`;
 *   - slow: root duration >= slowThresholdMs keeps `slowShare` of them (consistent: decided from
 *     the trace id's randomness, so every service keeps the same slow traces);
 *   - otherwise `normalShare` is kept and the rest dropped.
 *
 * The buffer is bounded by traces and by estimated bytes; when full, the oldest undecided traces
 * are evicted (dropped), counted as `evicted` and reported to `onEvict`. Kept spans go to the
 * downstream processor (e.g. a BatchSpanProcessor with an OTLP exporter); spans recorded without
 * the sampled flag are handed over as sampled, without `th` (their probability is not known).
 * When disabled, the processor passes every span straight through.
 */
import { SpanStatusCode, TraceFlags, type Context, type SpanContext } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { SYSTEM_CLOCK, type Clock } from "./clock.ts";
import { DEFAULT_TAIL, TAIL_SCHEMA, resolveSection, type TailSamplingConfig } from "./config.ts";
import { O, R, SamplingStats } from "./stats.ts";
import { Threshold } from "./threshold.ts";
import { eraseThreshold } from "./tracestate.ts";

export interface TailEviction {
  readonly traceId: string;
  readonly spans: number;
  readonly bytes: number;
  /** Which bound was exceeded. */
  readonly cause: "traces" | "bytes";
}

export interface TailSamplingOptions {
  /** Where kept spans go. */
  readonly downstream: SpanProcessor;
  readonly stats?: SamplingStats;
  readonly clock?: Clock;
  /** Called for every evicted trace (after it is counted). Must not throw. */
  readonly onEvict?: (eviction: TailEviction) => void;
  /** Period of the timeout sweep; default a quarter of the decision timeout (≤ 1 s); false = no timer. */
  readonly sweepIntervalMs?: number | false;
}

interface PendingTrace {
  readonly traceId: string;
  readonly spans: ReadableSpan[];
  bytes: number;
  /** Coarse clock value when the first span arrived. */
  readonly openedAt: number;
}

/** A rough, cheap estimate of a span's retained heap size in bytes. */
export function estimateSpanBytes(span: ReadableSpan): number {
  let n = 400 + span.name.length * 2;
  const attributes = span.attributes;
  for (const key in attributes) {
    const v = attributes[key];
    n += 48 + key.length * 2 + (typeof v === "string" ? v.length * 2 : Array.isArray(v) ? 16 * v.length : 8);
  }
  return n + span.events.length * 160 + span.links.length * 120;
}

function isLocalRoot(span: ReadableSpan): boolean {
  const parent = span.parentSpanContext;
  return parent === undefined || parent.isRemote === true;
}

function durationMs(span: ReadableSpan): number {
  return span.duration[0] * 1000 + span.duration[1] / 1e6;
}

/** The span as the downstream sees it when kept: sampled flag set, `th` erased if it was not sampled. */
export function asSampled(span: ReadableSpan): ReadableSpan {
  const sc = span.spanContext();
  if ((sc.traceFlags & TraceFlags.SAMPLED) !== 0) return span;
  const traceState = eraseThreshold(sc.traceState);
  const context: SpanContext = Object.freeze({ ...sc, traceFlags: sc.traceFlags | TraceFlags.SAMPLED, ...(traceState === undefined ? {} : { traceState }) });
  // A view over the original span (prototype chain), with only the span context replaced.
  const view = Object.create(span) as ReadableSpan;
  Object.defineProperty(view, "spanContext", { value: () => context });
  return view;
}

export class TailSamplingProcessor implements SpanProcessor {
  readonly stats: SamplingStats;
  private settings: TailSamplingConfig;
  private slow: Threshold;
  private normal: Threshold;
  private readonly downstream: SpanProcessor;
  private readonly clock: Clock;
  private readonly onEvict: ((e: TailEviction) => void) | undefined;
  private readonly sweepOption: number | false | undefined;
  private readonly pending = new Map<string, PendingTrace>();
  /** Decided trace ids → kept?, insertion-ordered so the oldest is forgotten first. */
  private readonly decided = new Map<string, boolean>();
  private bytes = 0;
  private coarseNow: number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(config: Partial<TailSamplingConfig>, options: TailSamplingOptions) {
    this.stats = options.stats ?? new SamplingStats();
    this.downstream = options.downstream;
    this.clock = options.clock ?? SYSTEM_CLOCK;
    this.onEvict = options.onEvict;
    this.sweepOption = options.sweepIntervalMs;
    this.settings = resolveSection("tail sampling configuration", DEFAULT_TAIL, config, TAIL_SCHEMA);
    this.slow = Threshold.fromProbability(this.settings.slowShare);
    this.normal = Threshold.fromProbability(this.settings.normalShare);
    this.coarseNow = this.clock.now();
    this.startTimer();
  }

  /**
   * Validates and applies a partial configuration atomically. Disabling decides every buffered
   * trace now; smaller bounds evict at once.
   */
  configure(patch: Partial<TailSamplingConfig>): void {
    const next = resolveSection("tail sampling configuration", this.settings, patch, TAIL_SCHEMA);
    const wasEnabled = this.settings.enabled;
    this.settings = next;
    this.slow = Threshold.fromProbability(next.slowShare);
    this.normal = Threshold.fromProbability(next.normalShare);
    if (wasEnabled && !next.enabled) this.decideAll();
    this.trimDecided();
    this.enforceBounds();
    this.startTimer();
  }

  get config(): TailSamplingConfig {
    return this.settings;
  }

  /** Undecided traces currently buffered. */
  get pendingTraces(): number {
    return this.pending.size;
  }

  /** Estimated bytes of buffered spans. */
  get pendingBytes(): number {
    return this.bytes;
  }

  onStart(span: Span, parentContext: Context): void {
    // Downstream gets onStart only in pass-through mode: when buffering, it sees kept spans only.
    if (!this.settings.enabled && !this.closed) this.downstream.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    if (this.closed) return;
    if (!this.settings.enabled) {
      this.downstream.onEnd(span);
      return;
    }
    const sc = span.spanContext();
    const traceId = sc.traceId;
    const error = span.status.code === SpanStatusCode.ERROR;
    const headSampled = (sc.traceFlags & TraceFlags.SAMPLED) !== 0;
    const pending = this.pending.get(traceId);
    if (pending === undefined) {
      const kept = this.decided.get(traceId);
      if (kept === true) {
        this.downstream.onEnd(asSampled(span));
      } else if (kept === false) {
        if (error) {
          this.remember(traceId, true);
          this.stats.add(R.tail_error, O.sampled);
          this.downstream.onEnd(asSampled(span));
        }
      } else if (error) {
        this.finish(traceId, [span], true, R.tail_error, O.sampled);
      } else if (headSampled && this.settings.keepSampled) {
        this.finish(traceId, [span], true, R.tail_head_sampled, O.sampled);
      } else if (isLocalRoot(span)) {
        this.decideAtRoot(traceId, [span], span);
      } else {
        const bytes = estimateSpanBytes(span);
        this.pending.set(traceId, { traceId, spans: [span], bytes, openedAt: this.coarseNow });
        this.bytes += bytes;
        this.enforceBounds();
      }
      return;
    }
    pending.spans.push(span);
    const bytes = estimateSpanBytes(span);
    pending.bytes += bytes;
    this.bytes += bytes;
    if (error) this.settle(pending, true, R.tail_error, O.sampled);
    else if (headSampled && this.settings.keepSampled) this.settle(pending, true, R.tail_head_sampled, O.sampled);
    else if (isLocalRoot(span)) {
      this.release(pending);
      this.decideAtRoot(traceId, pending.spans, span);
    } else this.enforceBounds();
  }

  /**
   * Decides every trace open longer than the decision timeout. Such a trace is slow (its root
   * has run at least the timeout), so the slow rule applies when the timeout reaches the slow
   * threshold. Runs from the sweep timer; tests call it after advancing their clock.
   */
  sweep(): void {
    this.coarseNow = this.clock.now();
    const deadline = this.coarseNow - this.settings.decisionTimeoutMs;
    for (const p of this.pending.values()) {
      if (p.openedAt > deadline) break; // insertion order = opening order
      this.decideOpen(p);
    }
  }

  /** Exports what is decided; buffered traces stay until their root ends or they time out. */
  forceFlush(): Promise<void> {
    return this.downstream.forceFlush();
  }

  /** Decides every buffered trace with what is known, then shuts the downstream down. */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.coarseNow = this.clock.now();
    this.decideAll();
    this.closed = true;
    this.stopTimer();
    await this.downstream.shutdown();
  }

  private decideAll(): void {
    for (const p of [...this.pending.values()]) this.decideOpen(p);
  }

  /** Decision for a trace whose root has not ended: slow if it has been open that long. */
  private decideOpen(p: PendingTrace): void {
    this.release(p);
    const openMs = this.coarseNow - p.openedAt;
    if (openMs >= this.settings.slowThresholdMs) {
      const keep = this.slow.sampledTraceId(p.traceId);
      this.finish(p.traceId, p.spans, keep, R.tail_slow, keep ? O.sampled : O.dropped);
    } else {
      this.finishOrdinary(p.traceId, p.spans);
    }
  }

  private decideAtRoot(traceId: string, spans: ReadableSpan[], root: ReadableSpan): void {
    if (durationMs(root) >= this.settings.slowThresholdMs) {
      const keep = this.slow.sampledTraceId(traceId);
      this.finish(traceId, spans, keep, R.tail_slow, keep ? O.sampled : O.dropped);
    } else {
      this.finishOrdinary(traceId, spans);
    }
  }

  private finishOrdinary(traceId: string, spans: ReadableSpan[]): void {
    if (this.normal.sampledTraceId(traceId)) this.finish(traceId, spans, true, R.tail_normal, O.sampled);
    else this.finish(traceId, spans, false, R.tail_dropped, O.dropped);
  }

  private settle(p: PendingTrace, keep: boolean, reason: number, outcome: number): void {
    this.release(p);
    this.finish(p.traceId, p.spans, keep, reason, outcome);
  }

  /** Removes a trace from the buffer (its decision follows). */
  private release(p: PendingTrace): void {
    this.pending.delete(p.traceId);
    this.bytes -= p.bytes;
  }

  private finish(traceId: string, spans: readonly ReadableSpan[], keep: boolean, reason: number, outcome: number): void {
    this.stats.add(reason, outcome);
    this.remember(traceId, keep);
    if (keep) for (const s of spans) this.downstream.onEnd(asSampled(s));
  }

  private remember(traceId: string, keep: boolean): void {
    if (this.settings.decidedCacheSize === 0) return;
    // A flipped decision keeps its place in the eviction order; that is fine for a cache.
    this.decided.set(traceId, keep);
    if (this.decided.size > this.settings.decidedCacheSize) this.trimDecided();
  }

  private trimDecided(): void {
    const cap = this.settings.decidedCacheSize;
    while (this.decided.size > cap) {
      const oldest = this.decided.keys().next();
      if (oldest.done === true) break;
      this.decided.delete(oldest.value);
    }
  }

  private enforceBounds(): void {
    const s = this.settings;
    while (this.pending.size > s.maxTraces || (this.bytes > s.maxBytes && this.pending.size > 0)) {
      const cause = this.pending.size > s.maxTraces ? "traces" : "bytes";
      const oldest = this.pending.values().next();
      if (oldest.done === true) break;
      const p = oldest.value;
      this.release(p);
      this.stats.add(R.evicted, O.dropped);
      this.remember(p.traceId, false);
      if (this.onEvict !== undefined) {
        try {
          this.onEvict({ traceId: p.traceId, spans: p.spans.length, bytes: p.bytes, cause });
        } catch {
          // Reporting must not break span processing.
        }
      }
    }
  }

  private startTimer(): void {
    this.stopTimer();
    if (this.closed || !this.settings.enabled || this.sweepOption === false) return;
    const period = this.sweepOption ?? Math.max(10, Math.min(1000, Math.floor(this.settings.decisionTimeoutMs / 4)));
    this.timer = setInterval(() => this.sweep(), period);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
