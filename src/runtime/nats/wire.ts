/**
 * The NATS wire form of actor envelopes (`proto/neurograph/v1/envelope.proto`): the body is a
 * protobuf `ActorEnvelope` (kind, type name, correlation id, sender, payload, error); the message
 * headers and the absolute deadline travel as NATS headers, so trace context is visible to NATS
 * tooling and to code that never decodes the body. Everything decoded from the wire is validated
 * here and rejected with a `ValidationError` that says what is wrong.
 */
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";
import { ErrorCode, InternalError, ValidationError, type FieldViolation } from "../../core/errors.ts";
import { ActorEnvelope, ActorEnvelopeKind, type ActorError } from "../../gen/neurograph/v1/envelope.ts";
import { isValidKey, isValidKind } from "../address.ts";
import { EMPTY_HEADERS, HeaderName, type Headers } from "../message.ts";
import type { Envelope, ReplyEnvelope, WireError } from "../transport.ts";

export { ActorEnvelopeKind };

const EMPTY_BYTES = Buffer.alloc(0);

/** A Buffer view of `bytes` (no copy): the generated code types `bytes` fields as Buffer. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
const TYPE_RE = /^[\x21-\x7e]{1,128}$/;
const CORRELATION_RE = /^[\x21-\x7e]{0,128}$/;
const DEADLINE_RE = /^\d{1,16}$/;
const ERROR_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));
/** NATS reserves `Nats-*` headers (message ids, status, tracing); they are not message headers. */
const RESERVED_PREFIX = "nats-";

function invalid(field: string, value: string, rule: string, description: string): ValidationError {
  return ValidationError.of("actor message from NATS", [{ field, value: value.slice(0, 64), rule, description }]);
}

// ---- outbound ---------------------------------------------------------------------------------

/** The body of a TELL or ASK. `envelope.payload` must be codec bytes. */
export function encodeRequest(envelope: Envelope, kind: ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_TELL | ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_ASK): Uint8Array {
  if (!(envelope.payload instanceof Uint8Array)) {
    throw new InternalError(`the NATS transport needs codec-encoded payloads; message "${envelope.typeName}" arrived as a live object`);
  }
  return ActorEnvelope.encode({
    kind,
    type: envelope.typeName,
    correlationId: envelope.correlationId,
    from: envelope.from ?? "",
    payload: asBuffer(envelope.payload),
    error: undefined,
  }).finish();
}

/** The NATS headers of a request: the message headers plus `deadline`; undefined when none. */
export function requestHeaders(envelope: Envelope): MsgHdrs | undefined {
  const names = Object.keys(envelope.headers);
  const hasDeadline = Number.isFinite(envelope.deadline);
  if (names.length === 0 && !hasDeadline) return undefined;
  const h = natsHeaders();
  for (const name of names) {
    if (name.toLowerCase().startsWith(RESERVED_PREFIX) || name === HeaderName.deadline) {
      throw ValidationError.of("message headers", [
        { field: `headers.${name}`, value: name, rule: "reserved_header", description: `header "${name}" is reserved for NATS or the runtime; use another name` },
      ]);
    }
    const value = envelope.headers[name] as string;
    try {
      h.set(name, value);
    } catch (err) {
      throw ValidationError.of("message headers", [
        {
          field: `headers.${name}`,
          value: value.slice(0, 64),
          rule: "header_syntax",
          description: `header names must be printable ASCII without ':' and values must not contain CR or LF (${err instanceof Error ? err.message : String(err)})`,
        },
      ]);
    }
  }
  if (hasDeadline) h.set(HeaderName.deadline, String(Math.max(0, Math.floor(envelope.deadline))));
  return h;
}

/** Encoded size of `h` on the wire (`NATS/1.0\r\n` + `name: value\r\n`… + `\r\n`). */
export function headerBytes(h: MsgHdrs | undefined): number {
  if (h === undefined) return 0;
  let n = 12;
  for (const [name, values] of h) for (const v of values) n += Buffer.byteLength(name) + Buffer.byteLength(v) + 4;
  return n;
}

/** The body of a REPLY to an ASK. */
export function encodeReply(reply: ReplyEnvelope): Uint8Array {
  return ActorEnvelope.encode({
    kind: ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_REPLY,
    type: reply.typeName,
    correlationId: reply.correlationId,
    from: "",
    payload: reply.error === undefined && reply.payload instanceof Uint8Array ? asBuffer(reply.payload) : EMPTY_BYTES,
    error: reply.error === undefined ? undefined : errorToProto(reply.error),
  }).finish();
}

/** The acknowledgement of a TELL (an error when it was not accepted). */
export function encodeAck(typeName: string, error: WireError | undefined): Uint8Array {
  return ActorEnvelope.encode({
    kind: ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_REPLY,
    type: typeName,
    correlationId: "",
    from: "",
    payload: EMPTY_BYTES,
    error: error === undefined ? undefined : errorToProto(error),
  }).finish();
}

function errorToProto(error: WireError): ActorError {
  return {
    code: error.code,
    message: error.message,
    retryable: error.retryable,
    violations: (error.violations ?? []).map((v) => ({
      index: v.index,
      field: v.field,
      value: v.value ?? "",
      rule: v.rule,
      description: v.description,
    })),
  };
}

// ---- inbound ----------------------------------------------------------------------------------

export interface InboundRequest {
  readonly kind: ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_TELL | ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_ASK;
  readonly envelope: Envelope;
}

/** Decodes and validates a TELL or ASK addressed to `to`; throws `ValidationError`. */
export function decodeRequest(to: string, data: Uint8Array, hdrs: MsgHdrs | undefined, replyTo: string | undefined): InboundRequest {
  const body = decodeBody(data, "request");
  const kind = body.kind;
  if (kind !== ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_TELL && kind !== ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_ASK) {
    throw invalid("kind", String(kind), "envelope_kind", "an actor subject accepts envelopes of kind TELL (1) or ASK (2)");
  }
  if (!TYPE_RE.test(body.type)) {
    throw invalid("type", body.type, "message_type", "the message type must be 1-128 printable ASCII characters (the codec's type name)");
  }
  if (!CORRELATION_RE.test(body.correlationId) || (kind === ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_ASK && body.correlationId === "")) {
    throw invalid("correlation_id", body.correlationId, "correlation_id", "an ASK needs a correlation id of 1-128 printable ASCII characters");
  }
  if (kind === ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_ASK && replyTo === undefined) {
    throw invalid("reply", "", "reply_subject", "an ASK must be sent as a NATS request (with a reply subject)");
  }
  if (body.from !== "" && !isAddress(body.from)) {
    throw invalid("from", body.from, "sender_address", "the sender must be an actor address kind/key, or empty");
  }
  const { headers, deadline } = readHeaders(hdrs);
  return {
    kind,
    envelope: {
      to,
      from: body.from === "" ? undefined : body.from,
      replyTo,
      correlationId: body.correlationId,
      typeName: body.type,
      payload: body.payload,
      encoded: true,
      headers,
      deadline,
    },
  };
}

/** Decodes the REPLY to `request`; throws `InternalError` when the responder broke the protocol. */
export function decodeReply(request: Envelope, data: Uint8Array): ReplyEnvelope {
  let body: ActorEnvelope;
  try {
    body = decodeBody(data, "reply");
  } catch (err) {
    throw new InternalError(`the reply to "${request.typeName}" from ${request.to} is not an actor envelope: ${(err as Error).message}`);
  }
  if (body.kind !== ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_REPLY || body.correlationId !== request.correlationId) {
    throw new InternalError(
      `the reply to "${request.typeName}" from ${request.to} does not answer it (kind ${body.kind}, correlation "${body.correlationId}", expected "${request.correlationId}")`,
    );
  }
  return {
    correlationId: request.correlationId,
    typeName: request.typeName,
    payload: body.error === undefined ? body.payload : undefined,
    encoded: true,
    error: body.error === undefined ? undefined : errorFromProto(body.error),
    headers: EMPTY_HEADERS,
  };
}

/** The error of a TELL acknowledgement, undefined when the message was accepted. */
export function decodeAck(request: Envelope, data: Uint8Array): WireError | undefined {
  if (data.length === 0) return undefined;
  let body: ActorEnvelope;
  try {
    body = decodeBody(data, "acknowledgement");
  } catch (err) {
    throw new InternalError(`the acknowledgement of "${request.typeName}" from ${request.to} is not an actor envelope: ${(err as Error).message}`);
  }
  return body.error === undefined ? undefined : errorFromProto(body.error);
}

function decodeBody(data: Uint8Array, what: string): ActorEnvelope {
  if (data.length === 0) throw invalid("body", "", "envelope", `the ${what} body is empty; expected a protobuf neurograph.v1.ActorEnvelope`);
  try {
    return ActorEnvelope.decode(data);
  } catch (err) {
    throw invalid("body", `${data.length} bytes`, "envelope", `the ${what} body is not a protobuf neurograph.v1.ActorEnvelope (${err instanceof Error ? err.message : String(err)})`);
  }
}

function errorFromProto(e: ActorError): WireError {
  if (!ERROR_CODES.has(e.code)) {
    return { code: ErrorCode.Internal, message: `remote error with unknown code "${e.code.slice(0, 32)}": ${e.message}`, retryable: false };
  }
  const violations: FieldViolation[] = e.violations.map((v) => ({
    ...(v.index === undefined ? {} : { index: v.index }),
    field: v.field,
    ...(v.value === "" ? {} : { value: v.value }),
    rule: v.rule,
    description: v.description,
  }));
  return violations.length > 0
    ? { code: e.code as ErrorCode, message: e.message, retryable: e.retryable, violations }
    : { code: e.code as ErrorCode, message: e.message, retryable: e.retryable };
}

function isAddress(text: string): boolean {
  const slash = text.indexOf("/");
  return slash > 0 && isValidKind(text.slice(0, slash)) && isValidKey(text.slice(slash + 1));
}

/** Message headers (everything but `Nats-*` and `deadline`) and the deadline of an inbound message. */
export function readHeaders(hdrs: MsgHdrs | undefined): { headers: Headers; deadline: number } {
  if (hdrs === undefined) return { headers: EMPTY_HEADERS, deadline: Infinity };
  let deadline = Infinity;
  let out: Record<string, string> | undefined;
  for (const name of hdrs.keys()) {
    if (name.toLowerCase().startsWith(RESERVED_PREFIX)) continue;
    const value = hdrs.get(name);
    if (name === HeaderName.deadline) {
      if (!DEADLINE_RE.test(value)) {
        throw invalid("headers.deadline", value, "deadline", "the deadline header must be an absolute time in epoch milliseconds (decimal digits)");
      }
      deadline = Number(value);
      continue;
    }
    // fromEntries-style own properties: a hostile `__proto__` header stays a plain header.
    out ??= {};
    Object.defineProperty(out, name, { value, enumerable: true, writable: false, configurable: false });
  }
  return { headers: out === undefined ? EMPTY_HEADERS : out, deadline };
}
