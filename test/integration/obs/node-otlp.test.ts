/**
 * A node exporting its spans over real OTLP to receivers started by the test, configured only by
 * the standard OTEL_* variables: OTLP/HTTP (JSON) and OTLP/gRPC. A client's sampled `traceparent`
 * yields connected spans gRPC server → shard actors → WAL commits, flushed when the node stops.
 */
import { createServer, type Server as HttpServer } from "node:http";
import { Metadata, Server, ServerCredentials, type ServiceDefinition, type handleUnaryCall } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packTokens } from "../api/fixtures.ts";
import { call, startTestNode } from "../node/harness.ts";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: { stringValue?: string; intValue?: number | string } }[];
}
interface OtlpJson {
  resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

const TRACE = "5b8efff798038103d269b633813fc60c";
const PARENT = "eee19b7ec3c1b174";

function traced(traceId: string, parent: string): Metadata {
  const md = new Metadata();
  md.set("traceparent", `00-${traceId}-${parent}-01`);
  return md;
}

/** Runs a node with `env` as its OTEL_* environment, makes one traced and one untraced write, stops it. */
async function tracedWrite(env: Record<string, string>, traceId: string): Promise<string> {
  const t = await startTestNode(["--trace-sample-rate", "0"], { tracing: { env } });
  try {
    expect(t.node.observability.tracingEnabled).toBe(true);
    const create = (md: Metadata): Promise<unknown> =>
      call(t.tokens.createTokens.bind(t.tokens), { tokens: { payload: { $case: "packed", value: packTokens(Array.from({ length: 8 }, () => ({ id: 0 }))) } }, partial: false }, md);
    await create(traced(traceId, PARENT));
    await create(new Metadata());
    return t.node.nodeId;
  } finally {
    // Stopping flushes the batch processor: nothing was exported by hand.
    await t.close();
  }
}

describe("OTLP/HTTP export from a node", () => {
  let receiver: HttpServer;
  let endpoint: string;
  const bodies: { path: string; type: string; body: string; key: string | string[] | undefined }[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString("utf8")));
      req.on("end", () => {
        bodies.push({ path: req.url ?? "", type: req.headers["content-type"] ?? "", body, key: req.headers["x-api-key"] });
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end("{}");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const a = receiver.address();
    endpoint = `http://127.0.0.1:${typeof a === "object" && a !== null ? a.port : 0}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  it("exports one connected trace: client → gRPC server → shard actors → WAL commits", async () => {
    const nodeId = await tracedWrite({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_SERVICE_NAME: "ng-otlp-node", OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=s3cret%3D" }, TRACE);
    expect(bodies.length).toBeGreaterThan(0);
    expect(bodies.every((b) => b.path === "/v1/traces" && b.type.startsWith("application/json"))).toBe(true);
    expect(bodies.map((b) => b.key)).toEqual(bodies.map(() => "s3cret="));
    const docs = bodies.map((b) => JSON.parse(b.body) as OtlpJson);
    const resource = docs[0]?.resourceSpans[0]?.resource.attributes ?? [];
    expect(resource.find((a) => a.key === "service.name")?.value.stringValue).toBe("ng-otlp-node");
    expect(resource.find((a) => a.key === "service.instance.id")?.value.stringValue).toBe(nodeId);
    const spans = docs.flatMap((d) => d.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
    // Only the sampled request was exported (rate 0 for roots).
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([TRACE]));
    const server = spans.filter((s) => s.name === "neurograph.v1.TokenService/CreateTokens");
    expect(server).toHaveLength(1);
    expect(server[0]?.parentSpanId).toBe(PARENT);
    expect(server[0]?.kind).toBe(2); // SERVER
    const kind = (x: OtlpSpan): string | undefined => x.attributes?.find((a) => a.key === "actor.kind")?.value.stringValue;
    const actors = spans.filter((x) => kind(x) === "shard");
    expect(actors).toHaveLength(4);
    for (const a of actors) expect(a.parentSpanId).toBe(server[0]?.spanId);
    const actorIds = new Set(actors.map((a) => a.spanId));
    const walActors = spans.filter((x) => kind(x) === "wal");
    expect(walActors).toHaveLength(4);
    for (const w of walActors) expect(actorIds.has(w.parentSpanId ?? "")).toBe(true);
    const commits = spans.filter((x) => x.name === "wal.commit");
    expect(commits).toHaveLength(4);
    for (const c of commits) expect(actorIds.has(c.parentSpanId ?? "")).toBe(true);
    expect(spans).toHaveLength(1 + actors.length + walActors.length + commits.length);
  });
});

describe("OTLP/gRPC export from a node", () => {
  let server: Server;
  let endpoint: string;
  const requests: Buffer[] = [];

  beforeAll(async () => {
    // The collector's TraceService, bytes in and an empty ExportTraceServiceResponse out.
    const identity = (b: Buffer): Buffer => b;
    const service: ServiceDefinition = {
      export: {
        path: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    };
    const exportHandler: handleUnaryCall<Buffer, Buffer> = (callObj, done) => {
      requests.push(callObj.request);
      done(null, Buffer.alloc(0));
    };
    server = new Server();
    server.addService(service, { export: exportHandler });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) => (err === null ? resolve(p) : reject(err))),
    );
    endpoint = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  it("exports the trace's spans over gRPC", async () => {
    const traceId = "0123456789abcdef0123456789abcdef";
    await tracedWrite({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_SERVICE_NAME: "ng-otlp-grpc" }, traceId);
    expect(requests.length).toBeGreaterThan(0);
    const all = Buffer.concat(requests);
    // Protobuf carries ids as raw bytes and names as UTF-8.
    expect(all.includes(Buffer.from(traceId, "hex"))).toBe(true);
    expect(all.includes(Buffer.from(PARENT, "hex"))).toBe(true);
    for (const name of ["ng-otlp-grpc", "neurograph.v1.TokenService/CreateTokens", "actor ", "wal.commit"]) {
      expect(all.includes(Buffer.from(name)), name).toBe(true);
    }
  });
});
