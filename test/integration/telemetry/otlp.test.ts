/**
 * Spans exported over real OTLP/HTTP to a receiver started by the test, configured only through
 * the standard OTEL_* environment variables, as an operator would.
 */
import { createServer, type Server } from "node:http";
import { SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SpanKind, injectHeaders, extractHeaders, startTracing, withSpan, type TracingHandle } from "../../../src/telemetry/index.ts";

interface Received {
  readonly path: string;
  readonly contentType: string;
  readonly body: Buffer;
}

interface OtlpJsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  status?: { code?: number; message?: string };
  events?: { name: string }[];
}
interface OtlpJson {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { scope: { name: string }; spans: OtlpJsonSpan[] }[];
  }[];
}

describe("OTLP/HTTP export to a real receiver", () => {
  let receiver: Server;
  let endpoint: string;
  const received: Received[] = [];
  const saved = new Map<string, string | undefined>();
  let handle: TracingHandle | undefined;

  const setEnv = (vars: Record<string, string>): void => {
    for (const [k, v] of Object.entries(vars)) {
      if (!saved.has(k)) saved.set(k, process.env[k]);
      process.env[k] = v;
    }
  };

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const contentType = req.headers["content-type"] ?? "";
        received.push({ path: req.url ?? "", contentType, body: Buffer.concat(chunks) });
        if (contentType.includes("json")) {
          res.writeHead(200, { "Content-Type": "application/json" });
          res.end("{}");
        } else {
          // An empty ExportTraceServiceResponse.
          res.writeHead(200, { "Content-Type": "application/x-protobuf" });
          res.end();
        }
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const a = receiver.address();
    endpoint = `http://127.0.0.1:${typeof a === "object" && a !== null ? a.port : 0}`;
  });

  afterEach(async () => {
    await handle?.shutdown();
    handle = undefined;
    received.length = 0;
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    saved.clear();
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  it("exports connected spans as OTLP JSON, flushed by shutdown", async () => {
    setEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "neurograph-otlp-test",
      OTEL_TRACES_SAMPLER: "always_on",
    });
    handle = await startTracing({ serviceName: "overridden-by-env", serviceVersion: "0.1.0" });
    expect(handle.enabled).toBe(true);
    expect(handle.reason).toContain("http/json");
    // A client span, an envelope crossing to an "actor", and a failing WAL commit below it.
    const envelope = withSpan("client.call", undefined, () => {
      const h: Record<string, string> = {};
      injectHeaders(h);
      return h;
    }, { kind: SpanKind.CLIENT });
    await withSpan("shard.receive", { shard: 2 }, async () => {
      await withSpan("wal.commit", undefined, () => Promise.reject(new Error("disk full"))).catch(() => undefined);
    }, { parent: extractHeaders(envelope), kind: SpanKind.SERVER });
    await handle.shutdown();

    expect(received.length).toBeGreaterThan(0);
    expect(received.every((r) => r.path === "/v1/traces" && r.contentType.startsWith("application/json"))).toBe(true);
    const docs = received.map((r) => JSON.parse(r.body.toString("utf8")) as OtlpJson);
    const spans = docs.flatMap((d) => d.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)));
    const service = docs[0]?.resourceSpans[0]?.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue;
    expect(service).toBe("neurograph-otlp-test");
    const get = (name: string): OtlpJsonSpan => {
      const s = spans.find((x) => x.name === name);
      if (s === undefined) throw new Error(`span ${name} not received; got ${spans.map((x) => x.name).join(", ")}`);
      return s;
    };
    const client = get("client.call");
    const receive = get("shard.receive");
    const commit = get("wal.commit");
    expect(receive.traceId).toBe(client.traceId);
    expect(commit.traceId).toBe(client.traceId);
    expect(receive.parentSpanId).toBe(client.spanId);
    expect(commit.parentSpanId).toBe(receive.spanId);
    expect(commit.status?.code).toBe(2);
    expect(commit.status?.message).toContain("disk full");
    expect(commit.events?.map((e) => e.name)).toContain("exception");
  });

  it("exports OTLP protobuf by default protocol, through a caller-chosen processor", async () => {
    setEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${endpoint}/v1/traces`, OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf", OTEL_TRACES_SAMPLER: "always_on" });
    handle = await startTracing({ serviceName: "ng-proto", wrapExporter: (e) => new SimpleSpanProcessor(e) });
    const ids = withSpan("proto.span", undefined, (span) => span.spanContext());
    await handle.forceFlush();
    expect(received.length).toBe(1);
    const r = received[0];
    expect(r?.contentType).toBe("application/x-protobuf");
    // Protobuf carries the ids as raw bytes and the name as UTF-8.
    expect(r?.body.includes(Buffer.from(ids.traceId, "hex"))).toBe(true);
    expect(r?.body.includes(Buffer.from(ids.spanId, "hex"))).toBe(true);
    expect(r?.body.includes(Buffer.from("proto.span"))).toBe(true);
    expect(r?.body.includes(Buffer.from("ng-proto"))).toBe(true);
  });

  it("exports nothing with the kill switch set", async () => {
    setEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: "true" });
    handle = await startTracing({ serviceName: "ng-off" });
    expect(handle.enabled).toBe(false);
    withSpan("invisible", undefined, () => undefined);
    await handle.shutdown();
    expect(received).toEqual([]);
  });
});
