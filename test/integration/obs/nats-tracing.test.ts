/**
 * Trace context across two actor systems ("nodes") connected through a real nats-server, with the
 * node's tracing observer installed on both: a client span → an actor on node A → an actor on
 * node B (over NATS, `traceparent` in the NATS headers) form one trace; sends through `ctx.ask`
 * and through a plain ref inside a turn both carry the turn's span; the turn's log lines carry its
 * ids; NATS message counters equal the messages sent.
 */
import { Writable } from "node:stream";
import { ROOT_CONTEXT, context, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tracingObserver } from "../../../src/node/index.ts";
import { Actor, ActorSystem, CodecRegistry, combineObservers, jsonCodec, type ActorContext, type ActorRef, type Ask } from "../../../src/runtime/index.ts";
import { NatsTransport } from "../../../src/runtime/nats/index.ts";
import { createSamplingStack } from "../../../src/sampling/index.ts";
import { MetricsRegistry, SpanKind, createLogger, startTracing, withSpan, type Logger, type TracingHandle } from "../../../src/telemetry/index.ts";
import { startNatsServer, type NatsServer } from "../../support/nats-server.ts";
import { closeAll, rawClient, record } from "../nats/support.ts";

type StoreMsg = Ask<{ type: "store.get"; key: string }, number>;
type RelayMsg = Ask<{ type: "relay.ctx"; key: string }, number> | Ask<{ type: "relay.ref"; key: string }, number>;

class StoreActor extends Actor<StoreMsg> {
  receive(m: StoreMsg): number {
    return m.key.length;
  }
}

class RelayActor extends Actor<RelayMsg> {
  constructor(
    private readonly store: ActorRef<StoreMsg>,
    private readonly log: Logger,
  ) {
    super();
  }

  async receive(m: RelayMsg, ctx: ActorContext<RelayMsg>): Promise<number> {
    this.log.info({ key: m.key }, "relaying");
    const n = m.type === "relay.ctx" ? await ctx.ask(this.store, { type: "store.get", key: m.key }) : await this.store.ask({ type: "store.get", key: m.key });
    return n + 1;
  }
}

function codecs(): CodecRegistry {
  const r = new CodecRegistry();
  for (const t of ["store.get", "relay.ctx", "relay.ref"]) r.register(jsonCodec(t));
  return r;
}

let server: NatsServer;
let tracing: TracingHandle;
const exporter = new InMemorySpanExporter();
const stack = createSamplingStack({ baseRate: 1 }, { downstream: new SimpleSpanProcessor(exporter), timers: false });
const lines: Record<string, unknown>[] = [];
const log = createLogger({
  level: "info",
  destination: new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split("\n")) if (l.trim() !== "") lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  }),
});
const systems: { system: ActorSystem; transport: NatsTransport; metrics: MetricsRegistry }[] = [];

async function node(nodeId: string) {
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const transport = await NatsTransport.connect({ servers: server.url }, { nodeId, cluster: "obs", metrics });
  const system = new ActorSystem({ nodeId, transport, codecs: codecs(), observer: combineObservers(tracingObserver()), onFatal: () => undefined });
  const n = { system, transport, metrics };
  systems.push(n);
  return n;
}

beforeAll(async () => {
  server = await startNatsServer({ jetstream: false });
  tracing = await startTracing({ serviceName: "obs-nats-test", sampler: stack.sampler, spanProcessors: [stack.processor] });
});

afterEach(async () => {
  for (const n of systems.splice(0)) await n.system.shutdown({ force: true });
  await closeAll(); // the raw recording clients
  exporter.reset();
  lines.length = 0;
});

afterAll(async () => {
  await tracing?.shutdown();
  await server?.dispose();
});

async function finished(): Promise<ReadableSpan[]> {
  await tracing.forceFlush();
  return exporter.getFinishedSpans();
}

describe("trace context over the NATS transport", () => {
  for (const via of ["ctx", "ref"] as const) {
    it(`connects client → actor on node A → actor on node B (send through ${via === "ctx" ? "ctx.ask" : "a plain ref"})`, async () => {
      const a = await node("node-a");
      const b = await node("node-b");
      b.system.spawn("store/1", () => new StoreActor());
      await b.transport.flush();
      a.system.spawn<RelayMsg>("relay/1", () => new RelayActor(a.system.ref<StoreMsg>("store/1"), log));
      const raw = await rawClient(server.url);
      const wire = record(raw, "ng.obs.actor.store.>");
      await raw.flush(); // the server knows the subscription before anything is sent

      const { reply, client } = await withSpan("client.call", undefined, async (span) => {
        const r = await a.system.ref<RelayMsg>("relay/1").ask({ type: via === "ctx" ? "relay.ctx" : "relay.ref", key: "abcd" });
        return { reply: r, client: span.spanContext() };
      }, { kind: SpanKind.CLIENT });
      expect(reply).toBe(5);

      const spans = (await finished()).filter((s) => s.spanContext().traceId === client.traceId);
      const relay = spans.find((s) => s.name === `actor relay.${via}`);
      const store = spans.find((s) => s.name === "actor store.get");
      expect(relay?.parentSpanContext?.spanId).toBe(client.spanId);
      expect(relay?.attributes["actor.kind"]).toBe("relay");
      expect(store?.parentSpanContext?.spanId).toBe(relay?.spanContext().spanId);
      expect(store?.attributes["actor.key"]).toBe("1");

      // The trace context crossed in the NATS headers of the request (delivered before the flush's reply).
      await raw.flush();
      const sent = wire.find((m) => m.headers?.get("traceparent") !== undefined && m.headers.get("traceparent") !== "");
      expect(sent?.headers?.get("traceparent")).toBe(`00-${client.traceId}-${relay?.spanContext().spanId}-01`);

      // The relay's log line carries its span.
      const line = lines.find((l) => l.msg === "relaying");
      expect(line?.trace_id).toBe(client.traceId);
      expect(line?.span_id).toBe(relay?.spanContext().spanId);

      // One request out of A, one in on B (the reply travels on A's inbox, not an actor subject).
      expect(a.metrics.renderOwn()).toContain('neurograph_nats_messages_total{subject_kind="actor",direction="out"} 1\n');
      expect(b.metrics.renderOwn()).toContain('neurograph_nats_messages_total{subject_kind="actor",direction="in"} 1\n');
    });
  }

  it("carries an unsampled trace across nodes without making spans", async () => {
    const a = await node("node-a");
    const b = await node("node-b");
    b.system.spawn("store/1", () => new StoreActor());
    await b.transport.flush();
    a.system.spawn<RelayMsg>("relay/1", () => new RelayActor(a.system.ref<StoreMsg>("store/1"), log));
    const raw = await rawClient(server.url);
    const wire = record(raw, "ng.obs.actor.store.>");
    await raw.flush();
    const parent = { traceId: "6e0c63257de34c92bf9efcd03927272e", spanId: "9a1b2c3d4e5f6071", traceFlags: 0, isRemote: true };
    const reply = await context.with(trace.setSpanContext(ROOT_CONTEXT, parent), () =>
      a.system.ref<RelayMsg>("relay/1").ask({ type: "relay.ctx", key: "abc" }),
    );
    expect(reply).toBe(4);
    expect(await finished()).toEqual([]);
    // The unsampled decision travelled with the message: node B must not start a trace of its own.
    await raw.flush();
    expect(wire.map((m) => m.headers?.get("traceparent"))).toEqual([`00-${parent.traceId}-${parent.spanId}-00`]);
  });

  it("makes no actor spans for messages outside a trace", async () => {
    const a = await node("node-a");
    const b = await node("node-b");
    b.system.spawn("store/1", () => new StoreActor());
    await b.transport.flush();
    expect(await a.system.ref<StoreMsg>("store/1").ask({ type: "store.get", key: "xy" })).toBe(2);
    expect(await finished()).toEqual([]);
  });
});
