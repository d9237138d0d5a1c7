/**
 * Bad input arriving from NATS on an actor subject (garbage, unknown types, undecodable payloads,
 * oversized bodies, bad headers) gets a clear error reply and changes nothing.
 */
import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../../src/core/errors.ts";
import { ActorEnvelope, ActorEnvelopeKind } from "../../../src/gen/neurograph/v1/envelope.ts";
import { startNatsServer, type NatsServer } from "../../support/nats-server.ts";
import { KvActor, type KvMsg } from "./fixtures/kv.ts";
import { closeAll, eventually, rawClient, startNode, type TestNode } from "./support.ts";

const SUBJECT = "ng.test.actor.kv.1";
const enc = new TextEncoder();

let server: NatsServer;
let a: TestNode;
let b: TestNode;
let raw: NatsConnection;

beforeAll(async () => {
  server = await startNatsServer({ jetstream: false, maxPayload: 256 * 1024 });
  a = await startNode(server.url, "node-a");
  b = await startNode(server.url, "node-b", { transport: { maxMessageBytes: 64 * 1024 } });
  b.system.spawn("kv/1", () => new KvActor());
  await b.transport.flush();
  raw = await rawClient(server.url);
});
afterAll(async () => {
  await closeAll();
  await server.dispose();
});

function envelope(fields: Partial<ActorEnvelope>): Uint8Array {
  const type = fields.type ?? "kv.size";
  return ActorEnvelope.encode({
    kind: ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_ASK,
    type,
    correlationId: "raw:1",
    from: "",
    payload: Buffer.from(JSON.stringify({ type })),
    error: undefined,
    ...fields,
  }).finish();
}

async function requestRaw(data: Uint8Array, hdrs?: ReturnType<typeof natsHeaders>): Promise<ActorEnvelope> {
  const msg = await raw.request(SUBJECT, data, { timeout: 5000, ...(hdrs === undefined ? {} : { headers: hdrs }) });
  const reply = ActorEnvelope.decode(msg.data);
  expect(reply.kind).toBe(ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_REPLY);
  return reply;
}

async function expectUntouched(): Promise<void> {
  const remote = a.system.ref<KvMsg>("kv/1");
  expect(await remote.ask({ type: "kv.size" })).toBe(0);
}

describe("bad input from NATS on an actor subject", () => {
  it("answers a well-formed raw request like any node would (the protocol is usable without our client)", async () => {
    const reply = await requestRaw(envelope({}));
    expect(reply.error).toBeUndefined();
    expect(reply.correlationId).toBe("raw:1");
    expect(JSON.parse(Buffer.from(reply.payload).toString())).toBe(0);
  });

  it.each([
    ["garbage bytes", new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff]), "not a protobuf neurograph.v1.ActorEnvelope"],
    ["an empty body", new Uint8Array(0), "body is empty"],
    ["an envelope of kind REPLY", envelope({ kind: ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_REPLY }), "TELL (1) or ASK (2)"],
    ["an envelope of unknown kind", envelope({ kind: 9 as ActorEnvelopeKind }), "TELL (1) or ASK (2)"],
    ["an ASK without correlation id", envelope({ correlationId: "" }), "correlation id"],
    ["an unknown message type", envelope({ type: "kv.drop_everything" }), "unknown to this node"],
    ["a type with spaces", envelope({ type: "kv put" }), "printable ASCII"],
    ["an undecodable payload", envelope({ type: "kv.put", kind: ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_TELL, correlationId: "", payload: Buffer.from("{not json") }), "could not decode"],
    ["a sender that is not an address", envelope({ from: "not an address" }), "sender"],
    ["a payload of another type than the envelope says", envelope({ type: "kv.size", payload: Buffer.from(JSON.stringify({ type: "kv.put", key: "k", value: 1 })) }), "declares type"],
  ])("rejects %s with INVALID_ARGUMENT", async (_what, data, text) => {
    const reply = await requestRaw(data);
    expect(reply.error?.code).toBe(ErrorCode.InvalidArgument);
    expect(reply.error?.message).toContain(text);
    expect(reply.error?.violations.length).toBeGreaterThan(0);
    expect(reply.payload.length).toBe(0);
    await expectUntouched();
  });

  it("keeps the correlation id in the error reply when the envelope itself was readable", async () => {
    const reply = await requestRaw(envelope({ type: "kv.unknown", correlationId: "raw:42" }));
    expect(reply.correlationId).toBe("raw:42");
    expect(reply.error?.violations[0]?.rule).toBe("known_message_type");
  });

  it("rejects a body larger than the node accepts, without decoding it", async () => {
    const big = new Uint8Array(100 * 1024).fill(7);
    const reply = await requestRaw(big);
    expect(reply.error?.code).toBe(ErrorCode.InvalidArgument);
    expect(reply.error?.violations[0]?.rule).toBe("max_message_bytes");
    await expectUntouched();
  });

  it("rejects a malformed deadline header and ignores NATS-reserved headers", async () => {
    const h = natsHeaders();
    h.set("deadline", "tomorrow");
    const bad = await requestRaw(envelope({ type: "kv.hdr" }), h);
    expect(bad.error?.code).toBe(ErrorCode.InvalidArgument);
    expect(bad.error?.violations[0]?.field).toBe("headers.deadline");

    const ok = natsHeaders();
    ok.set("Nats-Msg-Id", "dedup-1");
    ok.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    const seen = await requestRaw(envelope({ type: "kv.hdr" }), ok);
    expect(seen.error).toBeUndefined();
    const body = JSON.parse(Buffer.from(seen.payload).toString()) as { headers: Record<string, string> };
    expect(body.headers).toEqual({ traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" });
  });

  it("counts bad one-way messages (no reply subject) and changes nothing", async () => {
    const before = b.transport.stats().rejected;
    raw.publish(SUBJECT, new Uint8Array([1, 2, 3]));
    raw.publish(SUBJECT, envelope({ kind: ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_TELL, type: "kv.put", correlationId: "", payload: Buffer.from("[") }));
    raw.publish(SUBJECT, envelope({})); // an ASK without reply subject
    await raw.flush();
    await eventually("node b rejects the three messages", () => b.transport.stats().rejected === before + 3);
    await expectUntouched();
  });

  it("acknowledges a raw TELL sent as a request once it is in the mailbox", async () => {
    const msg = await raw.request(
      SUBJECT,
      envelope({ kind: ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_TELL, type: "kv.put", correlationId: "", payload: Buffer.from(enc.encode(JSON.stringify({ type: "kv.put", key: "t", value: 5 }))) }),
      { timeout: 5000 },
    );
    const ack = ActorEnvelope.decode(msg.data);
    expect(ack.kind).toBe(ActorEnvelopeKind.ACTOR_ENVELOPE_KIND_REPLY);
    expect(ack.error).toBeUndefined();
    expect(await a.system.ref<KvMsg>("kv/1").ask({ type: "kv.get", key: "t" })).toBe(5);
    a.system.ref<KvMsg>("kv/1").tell({ type: "kv.put", key: "t", value: 0 });
  });
});
