/**
 * W3C `traceparent` / `tracestate` (and `baggage`) across process boundaries: gRPC metadata,
 * NATS headers and the plain string headers of actor envelopes. Extraction starts from the root
 * context, so a message's parent is exactly what its headers say. With tracing off every helper
 * returns at once (nothing parsed, nothing written).
 */
import { ROOT_CONTEXT, context, propagation, type Context, type TextMapGetter, type TextMapSetter } from "@opentelemetry/api";
import { tracingState } from "./tracing-state.ts";

/** The part of grpc-js `Metadata` the helpers use. */
export interface GrpcMetadataLike {
  get(key: string): readonly (string | Buffer)[];
  set(key: string, value: string): void;
}

/** The part of NATS `MsgHdrs` the helpers use (`headers()` of `@nats-io/nats-core`). */
export interface NatsHeadersLike {
  /** Returns "" when absent (the NATS client's convention). */
  get(key: string): string;
  set(key: string, value: string): void;
}

export type HeaderRecord = Record<string, string>;

const recordGetter: TextMapGetter<Readonly<Record<string, string | undefined>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};
const recordSetter: TextMapSetter<HeaderRecord> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

const grpcGetter: TextMapGetter<GrpcMetadataLike> = {
  keys: () => [],
  get: (md, key) => {
    const values = md.get(key);
    const strings: string[] = [];
    for (const v of values) if (typeof v === "string") strings.push(v);
    return strings.length === 0 ? undefined : strings.length === 1 ? strings[0] : strings;
  },
};
const grpcSetter: TextMapSetter<GrpcMetadataLike> = { set: (md, key, value) => md.set(key, value) };

const natsGetter: TextMapGetter<NatsHeadersLike> = {
  keys: () => [],
  get: (h, key) => {
    const v = h.get(key);
    return v === "" ? undefined : v;
  },
};
const natsSetter: TextMapSetter<NatsHeadersLike> = { set: (h, key, value) => h.set(key, value) };

/** Writes the trace context of `ctx` (default: active) into an envelope's header record. */
export function injectHeaders(headers: HeaderRecord, ctx?: Context): void {
  if (!tracingState.active) return;
  propagation.inject(ctx ?? context.active(), headers, recordSetter);
}

/**
 * The trace headers of `ctx` (default: active) as a new record, or undefined when tracing is off
 * or there is nothing to propagate, so envelopes without a trace carry nothing.
 */
export function traceHeaders(ctx?: Context): HeaderRecord | undefined {
  if (!tracingState.active) return undefined;
  const from = ctx ?? context.active();
  // Most actor turns run in the root context: nothing to write, no record to allocate.
  if (from === ROOT_CONTEXT) return undefined;
  const headers: HeaderRecord = {};
  propagation.inject(from, headers, recordSetter);
  return Object.keys(headers).length === 0 ? undefined : headers;
}

let lastContext: Context | undefined;
let lastHeaders: Readonly<HeaderRecord> | undefined;

/**
 * `traceHeaders()` of the active context as a frozen record, reused while the active context
 * stays the same object: the many sends of one request (a gRPC call fanning out to every shard)
 * share one record instead of formatting a `traceparent` each. For envelopes that never change
 * their headers (actor messages).
 */
export function activeTraceHeaders(): Readonly<HeaderRecord> | undefined {
  if (!tracingState.active) return undefined;
  const ctx = context.active();
  if (ctx === ROOT_CONTEXT) return undefined;
  if (ctx !== lastContext) {
    const headers = traceHeaders(ctx);
    lastHeaders = headers === undefined ? undefined : Object.freeze(headers);
    lastContext = ctx;
  }
  return lastHeaders;
}

/** The context described by an envelope's headers (root context when they carry none). */
export function extractHeaders(headers: Readonly<Record<string, string | undefined>> | undefined, base: Context = ROOT_CONTEXT): Context {
  if (!tracingState.active || headers === undefined) return base;
  return propagation.extract(base, headers, recordGetter);
}

export function injectGrpcMetadata(metadata: GrpcMetadataLike, ctx?: Context): void {
  if (!tracingState.active) return;
  propagation.inject(ctx ?? context.active(), metadata, grpcSetter);
}

export function extractGrpcMetadata(metadata: GrpcMetadataLike, base: Context = ROOT_CONTEXT): Context {
  if (!tracingState.active) return base;
  return propagation.extract(base, metadata, grpcGetter);
}

export function injectNatsHeaders(headers: NatsHeadersLike, ctx?: Context): void {
  if (!tracingState.active) return;
  propagation.inject(ctx ?? context.active(), headers, natsSetter);
}

export function extractNatsHeaders(headers: NatsHeadersLike | undefined, base: Context = ROOT_CONTEXT): Context {
  if (!tracingState.active || headers === undefined) return base;
  return propagation.extract(base, headers, natsGetter);
}
