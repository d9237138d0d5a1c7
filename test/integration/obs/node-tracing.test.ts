/**
 * Tracing through a real node: a client's sampled `traceparent` yields connected spans gRPC server
 * span → coordinator asks → shard actor spans → WAL commit spans, captured with an in-memory exporter; unsampled
 * parents and untraced calls make nothing; head controls obey the admin token and the
 * constitution; the sampling configuration changes at run time through AdminService.
 */
import { Metadata, status } from "@grpc/grpc-js";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RecordFormat } from "../../../src/gen/neurograph/v1/common.ts";
import { packTokens } from "../api/fixtures.ts";
import { call, failure, startTestNode, type TestNode } from "../node/harness.ts";

const TOKEN = "obs-test-admin-token-0123456789";
const exporter = new InMemorySpanExporter();
let t: TestNode;
let seq = 0;

/** A fresh W3C trace context: 32 + 16 hex digits, sampled or not. */
function parentIds(): { traceId: string; spanId: string } {
  seq++;
  return { traceId: `4bf92f3577b34da6a3ce929d${seq.toString(16).padStart(8, "0")}`, spanId: `00f067aa0ba9${seq.toString(16).padStart(4, "0")}` };
}

function traced(sampled: boolean, extra: Record<string, string> = {}): { md: Metadata; traceId: string; spanId: string } {
  const { traceId, spanId } = parentIds();
  const md = new Metadata();
  md.set("traceparent", `00-${traceId}-${spanId}-${sampled ? "01" : "00"}`);
  for (const [k, v] of Object.entries(extra)) md.set(k, v);
  return { md, traceId, spanId };
}

function withHeaders(extra: Record<string, string>): Metadata {
  const md = new Metadata();
  for (const [k, v] of Object.entries(extra)) md.set(k, v);
  return md;
}

function admin(): Metadata {
  return withHeaders({ authorization: `Bearer ${TOKEN}` });
}

const create = (md: Metadata, n = 8): Promise<unknown> =>
  call(t.tokens.createTokens.bind(t.tokens), { tokens: { payload: { $case: "packed", value: packTokens(Array.from({ length: n }, () => ({ id: 0 }))) } }, partial: false }, md);

/** Every span exported so far (after the exports still in flight, e.g. waiting for resource detection). */
async function finished(): Promise<ReadableSpan[]> {
  await t.node.observability.flush();
  return exporter.getFinishedSpans();
}

async function spansOf(traceId: string): Promise<ReadableSpan[]> {
  return (await finished()).filter((s) => s.spanContext().traceId === traceId);
}

function parentId(s: ReadableSpan): string | undefined {
  return s.parentSpanContext?.spanId;
}

async function sampling(): Promise<{ config: { baseRate: number; dynamic: { enabled: boolean }; tail: { enabled: boolean } }; decisions: { reason: string; outcome: string; count: number }[] }> {
  const r = await call(t.admin.getSamplingConfig.bind(t.admin), {}, admin());
  expect(r.tracingEnabled).toBe(true);
  return { config: JSON.parse(r.configJson) as never, decisions: r.decisions };
}

beforeAll(async () => {
  t = await startTestNode(["--admin-token", TOKEN, "--trace-sample-rate", "0"], { tracing: { exporter, exportImmediately: true } });
});

afterAll(async () => {
  await t?.close();
});

beforeEach(() => {
  exporter.reset();
});

describe("tracing through a node", () => {
  it("connects the client's span, the gRPC server span and the shard actors' spans", async () => {
    const { md, traceId, spanId } = traced(true);
    await create(md);
    const spans = await spansOf(traceId);
    const server = spans.find((s) => s.name === "neurograph.v1.TokenService/CreateTokens");
    expect(server).toBeDefined();
    expect(parentId(server!)).toBe(spanId);
    expect(server!.attributes["rpc.grpc.status_code"]).toBe(0);
    const actors = spans.filter((s) => s.name.startsWith("actor ") && s.attributes["actor.kind"] === "shard");
    // 8 tokens dealt over 4 shards: every shard took part, each span a child of the server span.
    expect(new Set(actors.map((s) => s.attributes["actor.key"]))).toEqual(new Set(["0", "1", "2", "3"]));
    for (const a of actors) expect(parentId(a)).toBe(server!.spanContext().spanId);
    const shardIds = new Set(actors.map((a) => a.spanContext().spanId));
    // Each shard's write went to its WAL actor (a child of the shard's turn) ...
    const walActors = spans.filter((s) => s.attributes["actor.kind"] === "wal");
    expect(walActors.length).toBe(4);
    for (const w of walActors) expect(shardIds.has(parentId(w) ?? "")).toBe(true);
    // ... and waited for the durable commit: a `wal.commit` span, child of that shard's turn.
    const commits = spans.filter((s) => s.name === "wal.commit");
    expect(new Set(commits.map((c) => c.attributes["wal.shard"]))).toEqual(new Set([0, 1, 2, 3]));
    for (const c of commits) {
      const turn = actors.find((a) => a.spanContext().spanId === parentId(c));
      expect(turn?.attributes["actor.key"]).toBe(String(c.attributes["wal.shard"]));
      expect(c.attributes["wal.mutation"]).toBe("tokens.insert");
      expect(c.attributes["wal.records"]).toBe(1);
    }
    // Nothing else in the trace: every span hangs off the client's span through the server span.
    expect(spans.length).toBe(1 + actors.length + walActors.length + commits.length);
  });

  it("makes no spans for an unsampled parent or an untraced call at rate 0", async () => {
    const { md, traceId } = traced(false);
    await create(md);
    await create(new Metadata());
    expect(await spansOf(traceId)).toEqual([]);
    expect(await finished()).toEqual([]);
  });

  it("records client errors without marking the span failed", async () => {
    const { md, traceId } = traced(true);
    const err = await failure(call(t.tokens.getTokens.bind(t.tokens), { ids: [987_654], format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: false }, md));
    expect(err.code).toBe(status.NOT_FOUND);
    const server = (await spansOf(traceId)).find((s) => s.name === "neurograph.v1.TokenService/GetTokens");
    expect(server?.attributes["rpc.grpc.status_code"]).toBe(status.NOT_FOUND);
    expect(server?.attributes["error.type"]).toBe("NOT_FOUND");
    expect(server?.status.code).toBe(0);
  });

  it("ignores x-force-trace from anonymous callers and honours it with the admin token", async () => {
    const before = (await sampling()).decisions.find((d) => d.reason === "header_not_allowed")?.count ?? 0;
    await create(withHeaders({ "x-force-trace": "true" }));
    expect(await finished()).toEqual([]);
    const after = (await sampling()).decisions.find((d) => d.reason === "header_not_allowed")?.count ?? 0;
    expect(after).toBe(before + 1);

    const md = withHeaders({ "x-force-trace": "true", authorization: `Bearer ${TOKEN}` });
    await create(md);
    const servers = (await finished()).filter((s) => s.name === "neurograph.v1.TokenService/CreateTokens");
    expect(servers).toHaveLength(1);
    expect(parentId(servers[0]!)).toBeUndefined();
    expect(servers[0]!.spanContext().traceState?.get("ot")).toBe("th:0");
    expect((await spansOf(servers[0]!.spanContext().traceId)).filter((s) => s.name.startsWith("actor ")).length).toBeGreaterThan(0);
  });

  it("honours the priority header from anonymous callers, as the default constitution allows", async () => {
    await call(t.admin.updateSamplingConfig.bind(t.admin), { patchJson: JSON.stringify({ baseRate: 0.1, headControls: { highMultiplier: 10 } }) }, admin());
    try {
      await create(withHeaders({ "x-sampling-priority": "high" }));
      expect((await finished()).some((s) => s.name === "neurograph.v1.TokenService/CreateTokens")).toBe(true);
    } finally {
      await call(t.admin.updateSamplingConfig.bind(t.admin), { patchJson: JSON.stringify({ baseRate: 0 }) }, admin());
    }
  });

  it("changes the sampling configuration at run time, and refuses a bad change whole", async () => {
    const start = await sampling();
    expect(start.config.baseRate).toBe(0);
    expect(start.config.dynamic.enabled).toBe(false);

    const bad = await failure(call(t.admin.updateSamplingConfig.bind(t.admin), { patchJson: JSON.stringify({ baseRate: 1, tail: { slowShare: 2 }, bogus: 1 }) }, admin()));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toContain("tail.slowShare");
    expect(bad.details).toContain("bogus");
    expect((await sampling()).config.baseRate).toBe(0);
    const notJson = await failure(call(t.admin.updateSamplingConfig.bind(t.admin), { patchJson: "{baseRate" }, admin()));
    expect(notJson.code).toBe(status.INVALID_ARGUMENT);

    const changed = await call(t.admin.updateSamplingConfig.bind(t.admin), { patchJson: JSON.stringify({ baseRate: 1 }) }, admin());
    expect((JSON.parse(changed.configJson) as { baseRate: number }).baseRate).toBe(1);
    try {
      await create(new Metadata());
      const roots = (await finished()).filter((s) => s.name === "neurograph.v1.TokenService/CreateTokens");
      expect(roots).toHaveLength(1);
      expect(parentId(roots[0]!)).toBeUndefined();
      const probability = (await sampling()).decisions.find((d) => d.reason === "probability" && d.outcome === "sampled");
      expect(probability?.count).toBeGreaterThan(0);
    } finally {
      await call(t.admin.updateSamplingConfig.bind(t.admin), { patchJson: JSON.stringify({ baseRate: 0 }) }, admin());
    }
  });

  it("needs the admin token for the sampling configuration", async () => {
    const err = await failure(call(t.admin.getSamplingConfig.bind(t.admin), {}, new Metadata()));
    expect(err.code).toBe(status.UNAUTHENTICATED);
  });
});
