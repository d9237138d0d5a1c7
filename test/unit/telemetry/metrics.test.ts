import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../src/core/errors.ts";
import { MetricsRegistry } from "../../../src/telemetry/index.ts";
import { EXPECTED_FAMILIES, parseExposition, valueOf, type Exposition } from "./exposition.ts";

async function scrape(m: MetricsRegistry): Promise<Exposition> {
  return parseExposition(await m.metrics());
}

describe("MetricsRegistry", () => {
  it("lists every family with its type on a fresh registry", async () => {
    const e = await scrape(new MetricsRegistry({ version: "1.2.3" }));
    for (const [name, type] of Object.entries(EXPECTED_FAMILIES)) {
      expect(e.types.get(name), name).toBe(type);
      expect(e.help.get(name)?.length ?? 0, `${name} has help`).toBeGreaterThan(0);
    }
    expect(valueOf(e, "neurograph_build_info", { version: "1.2.3", node_version: process.version })).toBe(1);
    // Every neurograph family has at least one series at start, so dashboards see zeros, not gaps.
    for (const name of Object.keys(EXPECTED_FAMILIES).filter((n) => n.startsWith("neurograph_") && n !== "neurograph_grpc_server_handled_total" && n !== "neurograph_grpc_server_handling_seconds" && n !== "neurograph_sampling_decisions_total")) {
      const type = EXPECTED_FAMILIES[name];
      const sampleName = type === "histogram" ? `${name}_count` : name;
      expect(e.samples.some((s) => s.name === sampleName), `${name} has a series`).toBe(true);
    }
  });

  it("pre-initialises one series per shard and per space", async () => {
    const e = await scrape(new MetricsRegistry({ shards: 5 }));
    expect(e.samples.filter((s) => s.name === "neurograph_tokens").map((s) => s.labels.shard)).toEqual(["0", "1", "2", "3", "4"]);
    expect(e.samples.filter((s) => s.name === "neurograph_fields").map((s) => s.labels.space)).toEqual(["L1", "L2", "L3", "L4", "L5", "L6", "L7", "L8"]);
  });

  it("keeps every histogram at 12 buckets or fewer", async () => {
    const e = await scrape(new MetricsRegistry());
    for (const [name, type] of Object.entries(EXPECTED_FAMILIES)) {
      if (type !== "histogram" || !name.startsWith("neurograph_")) continue;
      const m = new MetricsRegistry();
      m.walCommit(0.01, 1, 1);
      m.fieldStep(0.01);
      m.grpcHandled("S/M", 0, 0.01);
      m.walReplay(1, 1);
      const buckets = (await scrape(m)).samples.filter((s) => s.name === `${name}_bucket`);
      expect(buckets.length, name).toBeGreaterThan(1);
      expect(buckets.length - 1, `${name} finite buckets`).toBeLessThanOrEqual(12);
    }
    expect(e.samples.length).toBeGreaterThan(0);
  });

  it("exposes histogram buckets cumulatively with inclusive upper bounds", async () => {
    const m = new MetricsRegistry({ defaultMetrics: false });
    for (const s of [0.0005, 0.0006, 0.001, 0.003, 2]) m.walCommit(s, 10, 100);
    const e = await scrape(m);
    const b = (le: string): number | undefined => valueOf(e, "neurograph_wal_commit_duration_seconds_bucket", { le });
    expect(b("0.0005")).toBe(1);
    expect(b("0.001")).toBe(3);
    expect(b("0.005")).toBe(4);
    expect(b("1")).toBe(4);
    expect(b("+Inf")).toBe(5);
    expect(valueOf(e, "neurograph_wal_commit_duration_seconds_count")).toBe(5);
    expect(valueOf(e, "neurograph_wal_commit_duration_seconds_sum")).toBeCloseTo(2.0051, 9);
    expect(valueOf(e, "neurograph_wal_batch_records_bucket", { le: "10" })).toBe(5);
  });

  it("counters equal the calls made (model-based)", async () => {
    type Op =
      | { t: "wal"; records: number; bytes: number }
      | { t: "grpc"; method: number; code: number }
      | { t: "reject"; rule: number; n: number }
      | { t: "validate"; kind: number; n: number }
      | { t: "restart"; kind: number }
      | { t: "nats"; kind: number; dir: number; n: number; bytes: number }
      | { t: "sample"; reason: number; outcome: "sampled" | "dropped" | "ignored" };
    const methods = ["neurograph.v1.TokenService/Get", "neurograph.v1.TokenService/Create", "neurograph.v1.GraphService/Traverse"];
    const rules = ["weight_range", "coordinate_range", "forbidden_type"];
    const kinds = ["token", "connection", "constitution"];
    const actorKinds = ["shard", "wal", "guardian"];
    const subjects = ["ingest_tokens", "actor", "events"] as const;
    const reasons = ["parent_sampled", "forced", "ratio"];
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ t: fc.constant("wal" as const), records: fc.integer({ min: 0, max: 5000 }), bytes: fc.integer({ min: 0, max: 1e6 }) }),
      fc.record({ t: fc.constant("grpc" as const), method: fc.integer({ min: 0, max: 2 }), code: fc.integer({ min: 0, max: 16 }) }),
      fc.record({ t: fc.constant("reject" as const), rule: fc.integer({ min: 0, max: 2 }), n: fc.integer({ min: 1, max: 100 }) }),
      fc.record({ t: fc.constant("validate" as const), kind: fc.integer({ min: 0, max: 2 }), n: fc.integer({ min: 1, max: 1000 }) }),
      fc.record({ t: fc.constant("restart" as const), kind: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ t: fc.constant("nats" as const), kind: fc.integer({ min: 0, max: 2 }), dir: fc.integer({ min: 0, max: 1 }), n: fc.integer({ min: 1, max: 50 }), bytes: fc.integer({ min: 0, max: 5000 }) }),
      fc.record({ t: fc.constant("sample" as const), reason: fc.integer({ min: 0, max: 2 }), outcome: fc.constantFrom("sampled" as const, "dropped" as const, "ignored" as const) }),
    );
    const codeNames = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"];
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const m = new MetricsRegistry({ defaultMetrics: false });
        const model = new Map<string, number>();
        const bump = (key: string, n: number): void => {
          model.set(key, (model.get(key) ?? 0) + n);
        };
        for (const o of ops) {
          switch (o.t) {
            case "wal":
              m.walCommit(0.001, o.records, o.bytes);
              bump("neurograph_wal_appends_total", o.records);
              bump("neurograph_wal_bytes_total", o.bytes);
              bump("neurograph_wal_commit_duration_seconds_count", 1);
              break;
            case "grpc":
              m.grpcHandled(`/${methods[o.method] ?? ""}`, o.code, 0.002);
              bump(`neurograph_grpc_server_handled_total|method=${methods[o.method]}|code=${codeNames[o.code]}`, 1);
              bump(`neurograph_grpc_server_handling_seconds_count|method=${methods[o.method]}`, 1);
              break;
            case "reject":
              m.guardianRejected(rules[o.rule] ?? "", o.n);
              bump(`neurograph_guardian_rejections_total|rule=${rules[o.rule]}`, o.n);
              break;
            case "validate":
              m.guardianValidated(kinds[o.kind] ?? "", o.n);
              bump(`neurograph_guardian_validations_total|kind=${kinds[o.kind]}`, o.n);
              break;
            case "restart":
              m.actorKindMetrics(actorKinds[o.kind] ?? "").restarted();
              bump(`neurograph_actor_restarts_total|kind=${actorKinds[o.kind]}`, 1);
              break;
            case "nats": {
              const dir = o.dir === 0 ? "in" : "out";
              m.natsMessages(subjects[o.kind] ?? "actor", dir, o.n, o.bytes);
              bump(`neurograph_nats_messages_total|subject_kind=${subjects[o.kind]}|direction=${dir}`, o.n);
              bump(`neurograph_nats_bytes_total|subject_kind=${subjects[o.kind]}|direction=${dir}`, o.bytes);
              break;
            }
            case "sample":
              m.samplingDecision(reasons[o.reason] ?? "", o.outcome);
              bump(`neurograph_sampling_decisions_total|reason=${reasons[o.reason]}|outcome=${o.outcome}`, 1);
              break;
          }
        }
        const e = await scrape(m);
        for (const [key, expected] of model) {
          const [name = "", ...pairs] = key.split("|");
          const labels = Object.fromEntries(pairs.map((p) => p.split("=") as [string, string]));
          expect(valueOf(e, name, labels), key).toBe(expected);
        }
        // Nothing counted that was not done.
        const totalHandled = e.samples.filter((s) => s.name === "neurograph_grpc_server_handled_total").reduce((a, s) => a + s.value, 0);
        expect(totalHandled).toBe(ops.filter((o) => o.t === "grpc").length);
      }),
      { numRuns: 60 },
    );
  });

  it("bounds label cardinality: unknown and excess values go to `other`", async () => {
    const m = new MetricsRegistry({ shards: 4, defaultMetrics: false });
    for (let i = 0; i < 1000; i++) m.grpcHandled(`/svc.S/M${i}`, 0, 0.001);
    m.grpcHandled("/svc.S/has space", 0, 0.001);
    for (let i = 0; i < 500; i++) m.guardianRejected(`rule_${i}`);
    m.guardianRejected('evil"\nrule');
    m.setTokens(7, 42);
    m.setTokens(-1, 1);
    m.setTokens(1.5, 2);
    m.setFields(9, 3);
    m.actorRestarted("x".repeat(200));
    const e = await scrape(m);
    const methods = new Set(e.samples.filter((s) => s.name === "neurograph_grpc_server_handled_total").map((s) => s.labels.method));
    expect(methods.size).toBe(129);
    expect(valueOf(e, "neurograph_grpc_server_handled_total", { method: "other", code: "OK" })).toBe(1000 - 128 + 1);
    const rules = e.samples.filter((s) => s.name === "neurograph_guardian_rejections_total");
    expect(rules.length).toBe(65);
    expect(valueOf(e, "neurograph_guardian_rejections_total", { rule: "other" })).toBe(500 - 64 + 1);
    expect(valueOf(e, "neurograph_tokens", { shard: "other" })).toBe(2);
    expect(e.samples.filter((s) => s.name === "neurograph_fields").every((s) => s.value === 0)).toBe(true);
    expect(valueOf(e, "neurograph_actor_restarts_total", { kind: "other" })).toBe(1);
  });

  it("maps gRPC status numbers to code names, unknown numbers to UNKNOWN", async () => {
    const m = new MetricsRegistry({ defaultMetrics: false, grpcMethods: ["/neurograph.v1.TokenService/Get"] });
    const h = m.grpcMethod("/neurograph.v1.TokenService/Get");
    h.handled(5, 0.001);
    h.handled(8, 0.001);
    h.handled(99, 0.001);
    const e = await scrape(m);
    const get = { method: "neurograph.v1.TokenService/Get" };
    expect(valueOf(e, "neurograph_grpc_server_handled_total", { ...get, code: "NOT_FOUND" })).toBe(1);
    expect(valueOf(e, "neurograph_grpc_server_handled_total", { ...get, code: "RESOURCE_EXHAUSTED" })).toBe(1);
    expect(valueOf(e, "neurograph_grpc_server_handled_total", { ...get, code: "UNKNOWN" })).toBe(1);
    expect(valueOf(e, "neurograph_grpc_server_handling_seconds_count", get)).toBe(3);
  });

  it("aggregates actor mailboxes per kind and replaces the previous aggregate", async () => {
    const m = new MetricsRegistry({ defaultMetrics: false });
    m.setActorMailboxes([
      { kind: "shard", mailboxDepth: 3 },
      { kind: "shard", mailboxDepth: 9 },
      { kind: "wal", mailboxDepth: 1 },
    ]);
    m.setActorMailboxes([
      { kind: "shard", mailboxDepth: 2 },
      { kind: "shard", mailboxDepth: 4 },
    ]);
    const e = await scrape(m);
    expect(valueOf(e, "neurograph_actors", { kind: "shard" })).toBe(2);
    expect(valueOf(e, "neurograph_actor_mailbox_depth", { kind: "shard" })).toBe(6);
    expect(valueOf(e, "neurograph_actor_mailbox_depth_max", { kind: "shard" })).toBe(4);
    expect(valueOf(e, "neurograph_actors", { kind: "wal" })).toBe(0);
    expect(valueOf(e, "neurograph_actor_mailbox_depth", { kind: "wal" })).toBe(0);
  });

  it("runs collect hooks on each scrape and counts the ones that throw", async () => {
    const m = new MetricsRegistry({ defaultMetrics: false });
    let shardSize = 10;
    const off = m.onCollect(() => m.setTokens(0, shardSize));
    m.onCollect(() => {
      throw new Error("broken hook");
    });
    expect(valueOf(await scrape(m), "neurograph_tokens", { shard: "0" })).toBe(10);
    shardSize = 25;
    const e = await scrape(m);
    expect(valueOf(e, "neurograph_tokens", { shard: "0" })).toBe(25);
    expect(valueOf(e, "neurograph_metrics_collect_errors_total")).toBe(2);
    off();
    shardSize = 99;
    expect(valueOf(await scrape(m), "neurograph_tokens", { shard: "0" })).toBe(25);
  });

  it("ignores negative and NaN counter increments and NaN observations", async () => {
    const m = new MetricsRegistry({ defaultMetrics: false });
    m.walCommit(Number.NaN, -5, Number.NaN);
    m.guardianRejected("weight_range", -3);
    const e = await scrape(m);
    expect(valueOf(e, "neurograph_wal_appends_total")).toBe(0);
    expect(valueOf(e, "neurograph_wal_bytes_total")).toBe(0);
    expect(valueOf(e, "neurograph_wal_commit_duration_seconds_count")).toBe(0);
    // The ignored increment did not even create the series.
    expect(valueOf(e, "neurograph_guardian_rejections_total", { rule: "weight_range" })).toBeUndefined();
  });

  it("sets sampler-kept totals and quota gauges", async () => {
    const m = new MetricsRegistry({ defaultMetrics: false });
    m.setSamplingDecisionTotal("probability", "sampled", 17);
    m.setSamplingDecisionTotal("probability", "sampled", 20);
    m.samplingTailEvicted(3);
    m.setQuotaUsage("tokens", 0.5);
    m.quotaExceeded("tokens", "soft");
    m.quotaExceeded("memory_bytes", "hard");
    m.setWalPendingBytes(2, 4096);
    m.walReplay(1000, 0.2);
    m.walError("commit");
    m.setHierarchyDepth(3);
    m.setConnections(1, 77);
    m.fieldStep(0.3);
    const e = await scrape(m);
    expect(valueOf(e, "neurograph_sampling_decisions_total", { reason: "probability", outcome: "sampled" })).toBe(20);
    expect(valueOf(e, "neurograph_sampling_tail_evicted_traces_total")).toBe(3);
    expect(valueOf(e, "neurograph_quota_usage_ratio", { quota: "tokens" })).toBe(0.5);
    expect(valueOf(e, "neurograph_quota_exceeded_total", { quota: "tokens", level: "soft" })).toBe(1);
    expect(valueOf(e, "neurograph_quota_exceeded_total", { quota: "memory_bytes", level: "hard" })).toBe(1);
    expect(valueOf(e, "neurograph_wal_pending_bytes", { shard: "2" })).toBe(4096);
    expect(valueOf(e, "neurograph_wal_replay_records_total")).toBe(1000);
    expect(valueOf(e, "neurograph_wal_replay_duration_seconds_count")).toBe(1);
    expect(valueOf(e, "neurograph_wal_errors_total", { op: "commit" })).toBe(1);
    expect(valueOf(e, "neurograph_hierarchy_depth")).toBe(3);
    expect(valueOf(e, "neurograph_connections", { shard: "1" })).toBe(77);
    expect(valueOf(e, "neurograph_field_step_duration_seconds_bucket", { le: "0.25" })).toBe(0);
    expect(valueOf(e, "neurograph_field_step_duration_seconds_bucket", { le: "0.5" })).toBe(1);
  });

  it("escapes label values in the exposition", async () => {
    const m = new MetricsRegistry({ defaultMetrics: false, actorKinds: ['a"b\\c\nd'] });
    const text = await m.metrics();
    expect(text).toContain('neurograph_actors{kind="a\\"b\\\\c\\nd"} 0');
    expect(valueOf(parseExposition(text), "neurograph_actors", { kind: 'a"b\\c\nd' })).toBe(0);
  });

  it("rejects an invalid shard count", () => {
    expect(() => new MetricsRegistry({ shards: 0 })).toThrow(ValidationError);
    expect(() => new MetricsRegistry({ shards: 2.5 })).toThrow(/shards/);
  });

  it("uses its own prom-client registry and drops default gauges that fail promtool's lint", async () => {
    const a = new MetricsRegistry();
    const b = new MetricsRegistry();
    expect(a.prometheus).not.toBe(b.prometheus);
    const e = await scrape(a);
    expect(e.types.has("nodejs_active_handles_total")).toBe(false);
    expect(e.types.has("nodejs_active_handles")).toBe(true);
    expect(a.contentType).toBe("text/plain; version=0.0.4; charset=utf-8");
  });
});
