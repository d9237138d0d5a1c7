/**
 * Server spans for gRPC calls. The W3C `traceparent`/`tracestate` of the call's metadata is the
 * parent; the head-control headers (`x-force-trace`, `x-sampling-priority`, `x-sampling-rate`)
 * are attached with `withHeadControls`, marked authenticated when the caller presents the admin
 * bearer token. Anonymous callers keep only the headers the constitution allows them
 * (`sampling.allow_force_trace`, `allow_client_priority`, `allow_client_rate`); the others are
 * ignored and counted as `header_not_allowed`. The span is active while the handler runs, so the
 * coordinator's asks carry it to the shard actors.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { context, trace, type Context } from "@opentelemetry/api";
import { NeuroGraphError } from "../core/errors.ts";
import { GRPC_CODE_OF, type CallInfo, type CallInterceptor } from "../api/index.ts";
import {
  HEADER_FORCE_TRACE, HEADER_SAMPLING_PRIORITY, HEADER_SAMPLING_RATE, SAMPLING_REASONS, SAMPLING_OUTCOMES, withHeadControls,
  type HeadControlPolicy, type SamplingStats,
} from "../sampling/index.ts";
import { GRPC_CODE_NAMES, SpanKind, extractGrpcMetadata, isTracingActive, recordSpanError, startSpan, type Span } from "../telemetry/index.ts";
import type { AnonymousHeaderRights } from "./obs-config.ts";

const HEADERS = [HEADER_FORCE_TRACE, HEADER_SAMPLING_PRIORITY, HEADER_SAMPLING_RATE] as const;
const NOT_ALLOWED = SAMPLING_REASONS.indexOf("header_not_allowed");
const IGNORED = SAMPLING_OUTCOMES.indexOf("ignored");
const UNKNOWN = 2;

/** Status codes that mean the server failed (OpenTelemetry semantic conventions for gRPC servers). */
const SERVER_FAULTS: ReadonlySet<number> = new Set([2, 4, 12, 13, 14, 15]);

/** gRPC status code of what a handler threw. */
export function statusCodeOf(err: unknown): number {
  if (err instanceof NeuroGraphError) return GRPC_CODE_OF[err.code];
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : UNKNOWN;
}

/**
 * Ends `span` after a failure with gRPC status `code`: server faults get status ERROR (so tail
 * sampling keeps them), client errors (invalid argument, not found, …) only `error.type`.
 */
export function endFailed(span: Span, code: number, err: unknown): void {
  if (span.isRecording()) {
    if (SERVER_FAULTS.has(code)) recordSpanError(span, err);
    else span.setAttribute("error.type", err instanceof NeuroGraphError ? err.code : (GRPC_CODE_NAMES[code] ?? "UNKNOWN"));
  }
  span.end();
}

function endCall(span: Span, code: number, err?: unknown): void {
  if (span.isRecording()) span.setAttribute("rpc.grpc.status_code", code);
  if (err === undefined) span.end();
  else endFailed(span, code, err);
}

export interface TracingInterceptorOptions {
  /** Callers presenting `authorization: Bearer <this>` are authenticated. */
  readonly adminToken?: string;
  /** The sampling stack's counters (for headers stripped from anonymous calls). */
  readonly stats: SamplingStats;
  /** Who may use the head-control headers (the stack's `headControls.policy`), read per call. */
  readonly policy: () => HeadControlPolicy;
  /** What the constitution in force lets anonymous callers do, read per call. */
  readonly rights: () => AnonymousHeaderRights;
}

function firstString(values: readonly (string | Buffer)[]): string | undefined {
  const v = values[0];
  return typeof v === "string" ? v : undefined;
}

export class TracingInterceptor implements CallInterceptor {
  private readonly tokenDigest: Buffer | undefined;

  constructor(private readonly options: TracingInterceptorOptions) {
    this.tokenDigest = options.adminToken === undefined ? undefined : createHash("sha256").update(options.adminToken, "utf8").digest();
  }

  /** Whether the call carries the admin bearer token (constant-time comparison). */
  authenticated(call: Pick<CallInfo, "metadata">): boolean {
    if (this.tokenDigest === undefined) return false;
    const header = firstString(call.metadata.get("authorization"));
    const match = header === undefined ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (match === null) return false;
    return timingSafeEqual(createHash("sha256").update(match[1]!, "utf8").digest(), this.tokenDigest);
  }

  /** The call's parent context with its head controls, as policy and constitution allow. */
  requestContext(call: Pick<CallInfo, "metadata">): Context {
    const parent = extractGrpcMetadata(call.metadata);
    const md = call.metadata;
    if (this.options.policy() !== "authenticated") return withHeadControls(parent, md, false);
    if (this.authenticated(call)) return withHeadControls(parent, md, true);
    let allowed: Record<string, string> | undefined;
    let denied = false;
    const rights = this.options.rights();
    for (const name of HEADERS) {
      const value = firstString(md.get(name));
      if (value === undefined) continue;
      if (rights[name]) (allowed ??= {})[name] = value;
      else denied = true;
    }
    // Nothing the constitution allows: the sampler sees an anonymous request (and counts it).
    if (allowed === undefined) return withHeadControls(parent, md, false);
    if (denied) this.options.stats.add(NOT_ALLOWED, IGNORED);
    return withHeadControls(parent, allowed, true);
  }

  intercept<T>(call: CallInfo, next: () => Promise<T>): Promise<T> {
    if (!isTracingActive()) return next();
    const parent = this.requestContext(call);
    const span = startSpan(
      call.path.startsWith("/") ? call.path.slice(1) : call.path,
      { "rpc.system": "grpc", "rpc.service": call.service, "rpc.method": call.method, "rpc.grpc.call_kind": call.kind },
      { kind: SpanKind.SERVER, parent },
    );
    let running: Promise<T>;
    try {
      running = context.with(trace.setSpan(parent, span), next);
    } catch (err) {
      endCall(span, statusCodeOf(err), err);
      throw err;
    }
    return running.then(
      (result) => {
        endCall(span, 0);
        return result;
      },
      (err: unknown) => {
        endCall(span, statusCodeOf(err), err);
        throw err;
      },
    );
  }
}
