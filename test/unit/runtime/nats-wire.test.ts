/** NATS wire form of actor envelopes and subjects (no server needed). */
import { headers as natsHeaders } from "@nats-io/transport-node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ErrorCode, InternalError, OverloadedError, QuotaExceededError, ValidationError } from "../../../src/core/errors.ts";
import { errorFromWire, errorToWire, type Envelope } from "../../../src/runtime/index.ts";
import {
  ActorEnvelopeKind,
  ClusterSubjects,
  decodeAck,
  decodeReply,
  decodeRequest,
  encodeAck,
  encodeReply,
  encodeRequest,
  requestHeaders,
} from "../../../src/runtime/nats/index.ts";

const KIND = fc.stringMatching(/^[a-z][a-z0-9_-]{0,63}$/);
const KEY = fc.stringMatching(/^[A-Za-z0-9_\-:~@+=]{1,128}$/);
const HEADER_NAME = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/).filter((n) => n !== "deadline" && !n.startsWith("nats-"));
const HEADER_VALUE = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,30}[\x21-\x7e])?$/);

function envelope(over: Partial<Envelope> = {}): Envelope {
  return {
    to: "shard/7",
    from: "api/1",
    replyTo: undefined,
    correlationId: "n1:1",
    typeName: "shard.get",
    payload: new Uint8Array([1, 2, 3]),
    encoded: true,
    headers: {},
    deadline: Infinity,
    ...over,
  };
}

describe("actor subjects", () => {
  it("map every valid address to one subject token pair and back", () => {
    const subjects = new ClusterSubjects("c-1");
    fc.assert(
      fc.property(KIND, KEY, (kind, key) => {
        const subject = subjects.actor(`${kind}/${key}`);
        expect(subject).toBe(`ng.c-1.actor.${kind}.${key}`);
        expect(subject.split(".")).toHaveLength(5);
        expect(subjects.addressOf(subject)).toBe(`${kind}/${key}`);
      }),
    );
  });

  it("reject addresses and cluster names that cannot be subject tokens", () => {
    const subjects = new ClusterSubjects();
    for (const bad of ["shard", "shard/a.b", "shard/*", "shard/>", "Shard/1", "shard/a b", "/1", "shard/"]) {
      expect(() => subjects.actor(bad)).toThrow(ValidationError);
    }
    for (const bad of ["", "a.b", "a*", "a b", "x".repeat(65)]) expect(() => new ClusterSubjects(bad)).toThrow(ValidationError);
    expect(subjects.addressOf("ng.other.actor.shard.1")).toBeUndefined();
    expect(subjects.ingest("tokens")).toBe("ng.neurograph.ingest.tokens");
    expect(subjects.events("field_born")).toBe("ng.neurograph.events.field_born");
  });
});

describe("actor envelopes", () => {
  it("round-trip a request with its headers and deadline", () => {
    fc.assert(
      fc.property(
        fc.dictionary(HEADER_NAME, HEADER_VALUE, { maxKeys: 5 }),
        fc.option(fc.integer({ min: 0, max: 2 ** 50 }), { nil: undefined }),
        fc.uint8Array({ maxLength: 64 }),
        fc.boolean(),
        (headers, deadline, payload, ask) => {
          const env = envelope({ headers, deadline: deadline ?? Infinity, payload, correlationId: ask ? "n1:9" : "" });
          const kind = ask ? ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_ASK : ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_TELL;
          const back = decodeRequest("shard/7", encodeRequest(env, kind), requestHeaders(env), "_INBOX.x");
          expect(back.kind).toBe(kind);
          expect(back.envelope.headers).toEqual(headers);
          expect(back.envelope.deadline).toBe(deadline ?? Infinity);
          expect(Array.from(back.envelope.payload as Uint8Array)).toEqual(Array.from(payload));
          expect(back.envelope).toMatchObject({ to: "shard/7", from: "api/1", typeName: "shard.get", correlationId: env.correlationId, encoded: true });
        },
      ),
    );
  });

  it("round-trip replies and typed errors", () => {
    const req = envelope();
    const ok = decodeReply(req, encodeReply({ correlationId: "n1:1", typeName: "shard.get", payload: new Uint8Array([9]), encoded: true, error: undefined, headers: {} }));
    expect(Array.from(ok.payload as Uint8Array)).toEqual([9]);
    for (const e of [
      ValidationError.of("x", [{ field: "f", rule: "r", description: "d", index: 3, value: "v" }, { field: "g", rule: "s", description: "e" }]),
      new OverloadedError("full"),
      new QuotaExceededError("max_tokens", 5, 5),
      new InternalError("bug"),
    ]) {
      const reply = decodeReply(req, encodeReply({ correlationId: "n1:1", typeName: "shard.get", payload: undefined, encoded: true, error: errorToWire(e), headers: {} }));
      const back = errorFromWire(reply.error ?? { code: ErrorCode.Internal, message: "missing", retryable: false });
      if (!(e instanceof QuotaExceededError)) expect(back).toBeInstanceOf(e.constructor);
      expect(back.code).toBe(e.code);
      expect(back.message).toBe(e.message);
      expect(back.retryable).toBe(e.retryable);
      expect((back as { violations?: unknown }).violations).toEqual((e as { violations?: unknown }).violations);
    }
    expect(decodeAck(req, encodeAck("shard.get", undefined))).toBeUndefined();
    expect(decodeAck(req, encodeAck("shard.get", errorToWire(new OverloadedError("full"))))?.code).toBe(ErrorCode.Overloaded);
  });

  it("treat a reply that answers another request, or is garbage, as a protocol error", () => {
    const req = envelope();
    const other = encodeReply({ correlationId: "n1:2", typeName: "shard.get", payload: new Uint8Array(0), encoded: true, error: undefined, headers: {} });
    expect(() => decodeReply(req, other)).toThrow(InternalError);
    expect(() => decodeReply(req, new Uint8Array([0xff, 0xff, 0xff]))).toThrow(InternalError);
    const wire = encodeReply({ correlationId: "n1:1", typeName: "t", payload: undefined, encoded: true, error: { code: "BOGUS" as ErrorCode, message: "m", retryable: true }, headers: {} });
    expect(decodeReply(req, wire).error?.code).toBe(ErrorCode.Internal);
  });

  it("refuse headers NATS reserves or cannot carry", () => {
    expect(() => requestHeaders(envelope({ headers: { "Nats-Msg-Id": "1" } }))).toThrow(ValidationError);
    expect(() => requestHeaders(envelope({ headers: { deadline: "1" } }))).toThrow(ValidationError);
    expect(() => requestHeaders(envelope({ headers: { "bad:name": "1" } }))).toThrow(ValidationError);
    expect(() => requestHeaders(envelope({ headers: { ok: "line\r\nbreak" } }))).toThrow(ValidationError);
    expect(requestHeaders(envelope())).toBeUndefined();
  });

  it("never lets a hostile header name reach the prototype", () => {
    const h = natsHeaders();
    h.set("__proto__", "x");
    const env = envelope();
    const back = decodeRequest("shard/7", encodeRequest(env, ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_TELL), h, undefined);
    expect(Object.getPrototypeOf(back.envelope.headers)).toBe(Object.prototype);
    expect(Object.keys(back.envelope.headers)).toEqual(["__proto__"]);
  });
});
