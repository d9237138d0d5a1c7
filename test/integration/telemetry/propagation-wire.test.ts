/**
 * Trace context across real transports: a gRPC call over loopback (grpc-js) and a NATS
 * request/reply through a real nats-server. The server/consumer span must be the child of the
 * client/producer span, in the same trace.
 */
import { spawn, type ChildProcess } from "node:child_process";
import {
  Metadata, Server, ServerCredentials, credentials, makeGenericClientConstructor,
  type ServiceDefinition, type ServiceError, type handleUnaryCall,
} from "@grpc/grpc-js";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { AlwaysOnSampler, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  SpanKind, extractGrpcMetadata, extractNatsHeaders, injectGrpcMetadata, injectNatsHeaders, startTracing, withSpan,
  type TracingHandle,
} from "../../../src/telemetry/index.ts";
import { freePort, stop, waitFor } from "./support.ts";

const echoService: ServiceDefinition = {
  echo: {
    path: "/test.Echo/Echo",
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
    originalName: "echo",
  },
};

describe("trace context over real transports", () => {
  const exporter = new InMemorySpanExporter();
  let tracing: TracingHandle;
  let grpcServer: Server;
  let grpcAddress: string;
  let nats: ChildProcess | undefined;
  let nc: NatsConnection | undefined;

  const finished = async (): Promise<ReadableSpan[]> => {
    await tracing.forceFlush();
    return exporter.getFinishedSpans();
  };
  const span = (spans: ReadableSpan[], name: string): ReadableSpan => {
    const s = spans.find((x) => x.name === name);
    if (s === undefined) throw new Error(`no span ${name}`);
    return s;
  };

  beforeAll(async () => {
    tracing = await startTracing({ serviceName: "wire-test", sampler: new AlwaysOnSampler(), spanProcessors: [new SimpleSpanProcessor(exporter)], env: {} });

    grpcServer = new Server();
    const echo: handleUnaryCall<Buffer, Buffer> = (call, callback) => {
      withSpan("grpc.server Echo", { "rpc.method": "Echo" }, () => callback(null, call.request), {
        parent: extractGrpcMetadata(call.metadata),
        kind: SpanKind.SERVER,
      });
    };
    grpcServer.addService(echoService, { echo });
    const port = await new Promise<number>((resolve, reject) => {
      grpcServer.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err === null ? resolve(p) : reject(err)));
    });
    grpcAddress = `127.0.0.1:${port}`;

    const natsPort = await freePort();
    nats = spawn("nats-server", ["-a", "127.0.0.1", "-p", String(natsPort)], { stdio: "ignore" });
    nc = await waitFor("nats-server to accept connections", 60_000, async () => connect({ servers: `127.0.0.1:${natsPort}`, reconnect: false }));
  });

  afterAll(async () => {
    await nc?.close();
    if (nats !== undefined) await stop(nats);
    grpcServer?.forceShutdown();
    await tracing?.shutdown();
  });

  it("links the gRPC server span to the client span through metadata", async () => {
    const Client = makeGenericClientConstructor(echoService, "Echo");
    const client = new Client(grpcAddress, credentials.createInsecure());
    try {
      const reply = await withSpan("grpc.client Echo", undefined, () => new Promise<Buffer>((resolve, reject) => {
        const md = new Metadata();
        injectGrpcMetadata(md);
        const call = client as unknown as { echo: (req: Buffer, md: Metadata, cb: (err: ServiceError | null, res?: Buffer) => void) => void };
        call.echo(Buffer.from("ping"), md, (err, res) => (err === null && res !== undefined ? resolve(res) : reject(err ?? new Error("no reply"))));
      }), { kind: SpanKind.CLIENT });
      expect(reply.toString()).toBe("ping");
    } finally {
      client.close();
    }
    const spans = await finished();
    const c = span(spans, "grpc.client Echo");
    const s = span(spans, "grpc.server Echo");
    expect(s.spanContext().traceId).toBe(c.spanContext().traceId);
    expect(s.parentSpanContext?.spanId).toBe(c.spanContext().spanId);
    expect(s.parentSpanContext?.isRemote).toBe(true);
  });

  it("links the NATS consumer span to the producer span through message headers", async () => {
    const conn = nc;
    if (conn === undefined) throw new Error("not connected");
    const sub = conn.subscribe("ng.test.actor.shard.1", {
      callback: (_err, msg) => {
        withSpan("nats.consume shard/1", undefined, () => msg.respond(msg.data), {
          parent: extractNatsHeaders(msg.headers),
          kind: SpanKind.CONSUMER,
        });
      },
    });
    await conn.flush();
    const reply = await withSpan("nats.request shard/1", undefined, () => {
      const h = natsHeaders();
      injectNatsHeaders(h);
      return conn.request("ng.test.actor.shard.1", new TextEncoder().encode("ask"), { headers: h, timeout: 10_000 });
    }, { kind: SpanKind.PRODUCER });
    sub.unsubscribe();
    expect(new TextDecoder().decode(reply.data)).toBe("ask");
    const spans = await finished();
    const producer = span(spans, "nats.request shard/1");
    const consumer = span(spans, "nats.consume shard/1");
    expect(consumer.spanContext().traceId).toBe(producer.spanContext().traceId);
    expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
  });
});
