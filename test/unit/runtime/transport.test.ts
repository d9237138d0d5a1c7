import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import {
  DeadlineExceededError,
  ErrorCode,
  InternalError,
  NotFoundError,
  OverloadedError,
  QuotaExceededError,
  ValidationError,
} from "../../../src/core/errors.ts";
import {
  Actor,
  ActorSystem,
  CodecRegistry,
  LocalTransportHub,
  ManualClock,
  errorFromWire,
  errorToWire,
  fromWireHeaders,
  jsonCodec,
  wireHeaders,
  type ActorContext,
  type Ask,
  type Envelope,
  type Headers,
} from "../../../src/runtime/index.ts";
import { Gate, flush, settle } from "./helpers.ts";

type KvMsg =
  | { type: "kv.put"; key: string; value: number }
  | Ask<{ type: "kv.get"; key: string }, number | null>
  | Ask<{ type: "kv.hdr" }, Headers>
  | Ask<{ type: "kv.fail"; how: "validation" | "quota" | "bug" }, number>
  | Ask<{ type: "kv.block" }, number>;

const KV_TYPES: KvMsg["type"][] = ["kv.put", "kv.get", "kv.hdr", "kv.fail", "kv.block"];

class KvActor extends Actor<KvMsg> {
  private readonly data = new Map<string, number>();
  constructor(private readonly gate: Gate) {
    super();
  }
  receive(m: KvMsg, ctx: ActorContext<KvMsg>): number | null | Headers | void | Promise<number> {
    switch (m.type) {
      case "kv.put":
        this.data.set(m.key, m.value);
        return;
      case "kv.get":
        return this.data.get(m.key) ?? null;
      case "kv.hdr":
        return ctx.headers;
      case "kv.block":
        return this.gate.wait().then(() => 1);
      case "kv.fail":
        if (m.how === "validation") throw ValidationError.of("kv", [{ field: "key", rule: "r", description: "bad key" }]);
        if (m.how === "quota") throw new QuotaExceededError("max_tokens", 10, 10);
        throw new Error("bug");
    }
  }
}

function codecs(): CodecRegistry {
  const r = new CodecRegistry();
  for (const t of KV_TYPES) r.register(jsonCodec<KvMsg>(t));
  return r;
}

const systems: ActorSystem[] = [];
afterEach(async () => {
  for (const s of systems.splice(0)) await s.shutdown({ force: true });
});

function twoNodes(payloads: "live" | "bytes", clock = new ManualClock()) {
  const hub = new LocalTransportHub();
  const a = new ActorSystem({ nodeId: "a", clock, transport: hub.connect({ payloads }), codecs: codecs(), onFatal: () => undefined });
  const b = new ActorSystem({ nodeId: "b", clock, transport: hub.connect({ payloads }), codecs: codecs(), onFatal: () => undefined });
  systems.push(a, b);
  return { a, b, clock, hub };
}

describe.each(["live", "bytes"] as const)("a remote ref behaves like a local one (%s payloads)", (payloads) => {
  it("tells and asks across nodes, with headers", async () => {
    const { a, b } = twoNodes(payloads);
    b.spawn("kv/1", () => new KvActor(new Gate()));
    const remote = a.ref<KvMsg>("kv/1");
    remote.tell({ type: "kv.put", key: "x", value: 42 });
    expect(await remote.ask({ type: "kv.get", key: "x" })).toBe(42);
    expect(await remote.ask({ type: "kv.get", key: "y" })).toBeNull();
    expect(await remote.ask({ type: "kv.hdr" }, { headers: { traceparent: "00-1-2-01" } })).toEqual({ traceparent: "00-1-2-01" });
  });

  it("maps errors to the same typed errors", async () => {
    const { a, b } = twoNodes(payloads);
    b.spawn("kv/1", () => new KvActor(new Gate()));
    const remote = a.ref<KvMsg>("kv/1");
    const v = await settle(remote.ask({ type: "kv.fail", how: "validation" }));
    expect(!v.ok && v.error).toBeInstanceOf(ValidationError);
    expect(!v.ok && (v.error as ValidationError).violations).toHaveLength(1);
    const q = await settle(remote.ask({ type: "kv.fail", how: "quota" }));
    expect(!q.ok && (q.error as { code: string }).code).toBe(ErrorCode.QuotaExceeded);
    const bug = await settle(remote.ask({ type: "kv.fail", how: "bug" }));
    expect(!bug.ok && (bug.error as { code: string }).code).toBe(ErrorCode.Internal);
    const missing = await settle(a.ref<KvMsg>("kv/2").ask({ type: "kv.get", key: "x" }));
    expect(!missing.ok && missing.error).toBeInstanceOf(NotFoundError);
    expect(() => a.ref<KvMsg>("kv/2").tell({ type: "kv.put", key: "x", value: 1 })).toThrow(NotFoundError);
  });

  it("reports overload of a remote mailbox to the sender", async () => {
    const { a, b } = twoNodes(payloads);
    const gate = new Gate();
    const local = b.spawn("kv/1", () => new KvActor(gate), { mailboxCapacity: 2 });
    await b.started(local);
    const remote = a.ref<KvMsg>("kv/1");
    const blocked = settle(remote.ask({ type: "kv.block" }, { timeoutMs: Infinity }));
    await flush();
    remote.tell({ type: "kv.put", key: "a", value: 1 });
    remote.tell({ type: "kv.put", key: "b", value: 2 });
    expect(() => remote.tell({ type: "kv.put", key: "c", value: 3 })).toThrow(OverloadedError);
    const refused = await settle(remote.ask({ type: "kv.get", key: "a" }));
    expect(!refused.ok && refused.error).toBeInstanceOf(OverloadedError);
    gate.open();
    expect(await blocked).toEqual({ ok: true, value: 1 });
    expect(await remote.ask({ type: "kv.get", key: "b" })).toBe(2);
  });

  it("times out a remote ask with DeadlineExceededError naming the address", async () => {
    const { a, b, clock } = twoNodes(payloads);
    b.spawn("kv/1", () => new KvActor(new Gate()));
    const remote = a.ref<KvMsg>("kv/1");
    const r = settle(remote.ask({ type: "kv.block" }, { timeoutMs: 250 }));
    await flush();
    clock.advance(250);
    const out = await r;
    expect(!out.ok && out.error).toBeInstanceOf(DeadlineExceededError);
    expect(!out.ok && (out.error as Error).message).toContain("kv/1");
  });

  it("routes to a local actor when the address becomes local", async () => {
    const { a, b } = twoNodes(payloads);
    const ref = a.ref<KvMsg>("kv/9");
    const onB = b.spawn("kv/9", () => new KvActor(new Gate()));
    ref.tell({ type: "kv.put", key: "k", value: 1 });
    expect(await ref.ask({ type: "kv.get", key: "k" })).toBe(1);
    await b.stop(onB);
    a.spawn("kv/9", () => new KvActor(new Gate()));
    expect(await ref.ask({ type: "kv.get", key: "k" })).toBeNull(); // now the fresh local one
  });
});

describe("codecs and wire helpers", () => {
  it("rejects an undecodable payload with a ValidationError reply, and a missing codec with NotFoundError", async () => {
    const { b, hub } = twoNodes("bytes");
    b.spawn("kv/1", () => new KvActor(new Gate()));
    const envelope: Envelope = {
      to: "kv/1",
      from: undefined,
      replyTo: undefined,
      correlationId: "x:1",
      typeName: "kv.get",
      payload: new TextEncoder().encode("{not json"),
      encoded: true,
      headers: {},
      deadline: Infinity,
    };
    const reply = await hub.connect({ payloads: "bytes" }).request(envelope);
    expect(reply.error?.code).toBe(ErrorCode.InvalidArgument);
    expect(() => new CodecRegistry().encode("nope", {})).toThrow(NotFoundError);
  });

  it("round-trips errors through their wire form", () => {
    const errors = [
      ValidationError.of("x", [{ field: "f", rule: "r", description: "d", index: 3, value: "v" }]),
      new OverloadedError("full"),
      new InternalError("bug"),
    ];
    for (const e of errors) {
      const back = errorFromWire(JSON.parse(JSON.stringify(errorToWire(e))) as ReturnType<typeof errorToWire>);
      expect(back.code).toBe(e.code);
      expect(back.message).toBe(e.message);
      expect(back.retryable).toBe(e.retryable);
    }
  });

  it("round-trips envelope headers through their wire form", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1 }).filter((k) => !["ng-type", "ng-corr", "ng-from", "deadline"].includes(k)), fc.string()),
        fc.option(fc.integer({ min: 0, max: 2 ** 50 }), { nil: undefined }),
        (headers, deadline) => {
          const env: Envelope = {
            to: "shard/1",
            from: "api/1",
            replyTo: undefined,
            correlationId: "n:1",
            typeName: "shard.get",
            payload: undefined,
            encoded: true,
            headers,
            deadline: deadline ?? Infinity,
          };
          const back = fromWireHeaders(wireHeaders(env));
          expect(back.headers).toEqual(headers);
          expect(back.deadline).toBe(deadline ?? Infinity);
          expect(back.typeName).toBe("shard.get");
          expect(back.correlationId).toBe("n:1");
          expect(back.from).toBe("api/1");
        },
      ),
    );
  });
});
