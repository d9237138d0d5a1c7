/**
 * Every quota hit through the gRPC API on a real node (LMDB WAL, 4 shards): tokens, connections,
 * store bytes, process memory (RSS), the mutation-rate cap of learning, and the token id space.
 * Each: RESOURCE_EXHAUSTED with google.rpc.QuotaFailure naming the quota and ErrorInfo carrying
 * quota, usage and limit; nothing of the refused batch applied (strict or partial); reads still
 * served; writes accepted again once the limit is raised. Limits are set with UpdateConstitution.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { status, type ServiceError } from "@grpc/grpc-js";
import { decodeStatusDetails } from "../../../src/api/errors.ts";
import { QUOTA_NAMES, LearningRule } from "../../../src/actors/guardian/index.ts";
import { StoreRule } from "../../../src/core/store/index.ts";
import { Constitution } from "../../../src/core/constitution/index.ts";
import { Code } from "../../../src/gen/google/rpc/code.ts";
import { Direction, RecordFormat } from "../../../src/gen/neurograph/v1/common.ts";
import { packTokens } from "../api/fixtures.ts";
import { dump, startTestNode, type TestNode } from "../node/harness.ts";
import { call, connectPacked, create, failure, ingest, packEdges, tokensAt } from "./rules-harness.ts";

const exercised = new Set<string>();
const PROBE = [1, 2, 3, 4, 5, 6, 7, 8, 500, 501, 502, 503];

describe("quotas through gRPC", () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode();
    await create(t, tokensAt(1, 8));
    await connectPacked(t, packEdges([{ source: 1, target: 2 }, { source: 3, target: 4 }]));
  });
  afterAll(async () => t.close());
  // Each test changes the constitution once at most; put the first version back after it.
  afterEach(async () => {
    const active = await call(t.admin.getConstitution.bind(t.admin), {});
    if (active.constitution?.metadata?.version !== 1) await restore();
  });

  const setQuotas = (quotas: Partial<NonNullable<Constitution["quotas"]>>) =>
    call(t.admin.updateConstitution.bind(t.admin), {
      constitution: Constitution.fromPartial({ quotas }),
      updateMask: Object.keys(quotas).map((k) => `quotas.${k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`),
      author: "quota-test",
      comment: "",
    });
  const restore = () => call(t.admin.rollbackConstitution.bind(t.admin), { author: "quota-test", comment: "" });
  const usage = async (quota: string): Promise<number> => (await call(t.admin.getGuardianStats.bind(t.admin), {})).quotas.find((q) => q.quota === quota)!.usage;
  const state = async () => {
    const d = await dump(t, PROBE);
    const s = await call(t.admin.getStats.bind(t.admin), {});
    return { tokens: d.tokens.toString("hex"), connections: d.connections.toString("hex"), missing: d.missing, counts: [s.tokens, s.connections] };
  };
  const reads = async () => {
    const r = await call(t.tokens.getTokens.bind(t.tokens), { ids: [1, 2, 3], format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: false });
    expect(r.records.length).toBe(3 * 64);
    const e = await call(t.graph.getConnections.bind(t.graph), { ids: [1], direction: Direction.DIRECTION_OUT, connectionTypes: [], limit: 0, format: RecordFormat.RECORD_FORMAT_PACKED });
    expect(e.records.length).toBe(64);
  };

  /** A call refused by `quota`: status, QuotaFailure, ErrorInfo metadata, nothing changed, reads served. */
  async function exhausted(quota: string, run: () => Promise<unknown>): Promise<ServiceError> {
    const before = await state();
    const err = await failure(run());
    expect(err.code, err.details).toBe(status.RESOURCE_EXHAUSTED);
    const d = decodeStatusDetails(err.metadata);
    expect(d.quotaFailure?.violations.map((v) => v.subject)).toEqual([`quota:${quota}`]);
    const meta = d.errorInfo?.metadata ?? {};
    expect(meta["quota"]).toBe(quota);
    expect(Number(meta["limit"])).toBeGreaterThan(0);
    // RSS is sampled: it may be anywhere past its limit; the others refuse before passing theirs.
    if (quota === "memory_bytes") expect(Number(meta["usage"])).toBeGreaterThanOrEqual(Number(meta["limit"]));
    else expect(Number(meta["usage"])).toBeLessThanOrEqual(Number(meta["limit"]));
    expect(err.details).toContain(`quota ${quota} exhausted`);
    expect(await state()).toEqual(before);
    await reads();
    exercised.add(quota);
    return err;
  }

  it("tokens: a batch that would pass max_tokens is refused whole, strict or partial; one that fits is accepted", async () => {
    const used = await usage("tokens");
    await setQuotas({ maxTokens: used + 3 });
    const err = await exhausted("tokens", () => create(t, tokensAt(500, 4)));
    expect(decodeStatusDetails(err.metadata).errorInfo?.metadata).toMatchObject({ usage: String(used), limit: String(used + 3) });
    await exhausted("tokens", () => create(t, tokensAt(500, 4), true));
    await exhausted("tokens", () => create(t, [0, 0, 0, 0].map((id) => ({ id }))));
    expect((await create(t, tokensAt(500, 3))).accepted).toBe(3);
    await exhausted("tokens", () => create(t, tokensAt(503, 1)));
    // Updates add nothing: still accepted at the limit.
    expect((await call(t.tokens.updateTokens.bind(t.tokens), { tokens: { payload: { $case: "packed", value: packTokens([{ id: 500, weight: 0.25 }]) } }, partial: false })).accepted).toBe(1);
    const stats = await call(t.admin.getGuardianStats.bind(t.admin), {});
    expect(stats.quotas.find((q) => q.quota === "tokens")?.refused).toBe(4);
    await call(t.tokens.deleteTokens.bind(t.tokens), { ids: [500, 501, 502], partial: false });
    await restore();
  });

  it("tokens through IngestTokens: pipelined messages fill the quota exactly; the stream stops at the first message past it, nothing of it applied", async () => {
    const used = await usage("tokens");
    await setQuotas({ maxTokens: used + 12 });
    const fresh = () => packTokens([0, 0, 0, 0].map((id) => ({ id })));
    const before = await call(t.admin.getStats.bind(t.admin), {});
    // Up to the pipeline's depth of messages are in flight at once: a message applied by its
    // shards but not yet answered counts once, so all three that fit are accepted.
    const err = await failure(ingest(t, [fresh(), fresh(), fresh(), fresh(), fresh()]));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    const d = decodeStatusDetails(err.metadata);
    expect(d.quotaFailure?.violations.map((v) => v.subject)).toEqual(["quota:tokens"]);
    expect(d.errorInfo?.metadata).toMatchObject({ quota: "tokens", usage: String(used + 12), limit: String(used + 12) });
    const applied = (await call(t.admin.getStats.bind(t.admin), {})).tokens - before.tokens;
    expect(applied).toBe(12);
    expect(err.details).toContain("quota tokens exhausted: usage " + String(used + 12) + " of limit " + String(used + 12));
    expect(err.details).toContain("stream records from 12 were not applied; the 12 records before them were");
    expect(await usage("tokens")).toBe(used + 12);
    await reads();
    await restore();
  });

  it("tokens through concurrent CreateTokens calls: exactly the quota is accepted, every other call is refused naming quota, usage and limit", async () => {
    const used = await usage("tokens");
    await setQuotas({ maxTokens: used + 8 });
    const before = await call(t.admin.getStats.bind(t.admin), {});
    const calls = Array.from({ length: 7 }, () => create(t, [{ id: 0 }, { id: 0 }]).then((r) => r, (e: unknown) => e));
    const results = await Promise.all(calls);
    const accepted = results.filter((r): r is { accepted: number; ids: number[] } => typeof r === "object" && r !== null && "accepted" in r);
    expect(accepted.map((r) => r.accepted)).toEqual([2, 2, 2, 2]);
    for (const r of results) {
      if (accepted.some((a) => a === r)) continue;
      const e = r as ServiceError;
      expect(e.code, e.details).toBe(status.RESOURCE_EXHAUSTED);
      const meta = decodeStatusDetails(e.metadata).errorInfo?.metadata ?? {};
      expect(meta["quota"]).toBe("tokens");
      expect(meta["limit"]).toBe(String(used + 8));
      // usage counts the calls admitted before this one (applied or still in flight): all 8 places
      expect(meta["usage"]).toBe(String(used + 8));
    }
    expect((await call(t.admin.getStats.bind(t.admin), {})).tokens - before.tokens).toBe(8);
    await call(t.tokens.deleteTokens.bind(t.tokens), { ids: accepted.flatMap((r) => r.ids), partial: false });
    await restore();
  });

  it("connections: entries count mirrors on the target's shard; a batch past max_connections is refused whole", async () => {
    const used = await usage("connections");
    await setQuotas({ maxConnections: used + 3 });
    // 5 → 6 and 6 → 7 cross shards: 2 entries each, 4 > 3.
    await exhausted("connections", () => connectPacked(t, packEdges([{ source: 5, target: 6 }, { source: 6, target: 7 }])));
    await exhausted("connections", () => connectPacked(t, packEdges([{ source: 5, target: 6 }, { source: 6, target: 7 }]), true));
    expect((await connectPacked(t, packEdges([{ source: 5, target: 6 }]))).accepted).toBe(1);
    await exhausted("connections", () => connectPacked(t, packEdges([{ source: 6, target: 7 }])));
    await call(t.graph.disconnect.bind(t.graph), { connections: [{ source: 5, target: 6 }], partial: false });
    await restore();
  });

  it("store_bytes: a batch whose estimated growth passes max_store_bytes is refused whole", async () => {
    const used = await usage("store_bytes");
    expect(used).toBeGreaterThan(0);
    await setQuotas({ maxStoreBytes: used + 100 });
    await exhausted("store_bytes", () => create(t, tokensAt(500, 4)));
    await exhausted("store_bytes", () => connectPacked(t, packEdges([{ source: 5, target: 6 }]), true));
    await restore();
    expect((await create(t, tokensAt(500, 1))).accepted).toBe(1);
    await call(t.tokens.deleteTokens.bind(t.tokens), { ids: [500], partial: false });
  });

  it("memory_bytes: once the sampled RSS is at the limit every write that adds data is refused; reads and updates go on", async () => {
    await setQuotas({ maxMemoryBytes: 2 ** 20 });
    await exhausted("memory_bytes", () => create(t, tokensAt(500, 1)));
    await exhausted("memory_bytes", () => connectPacked(t, packEdges([{ source: 5, target: 6 }])));
    expect((await call(t.tokens.updateTokens.bind(t.tokens), { tokens: { payload: { $case: "packed", value: packTokens([{ id: 8, weight: 0.25 }]) } }, partial: false })).accepted).toBe(1);
    const g = await call(t.admin.getGuardianStats.bind(t.admin), {});
    expect(g.quotas.find((q) => q.quota === "memory_bytes")?.usage).toBeGreaterThan(2 ** 20);
    await restore();
    expect((await create(t, tokensAt(500, 1))).accepted).toBe(1);
    await call(t.tokens.deleteTokens.bind(t.tokens), { ids: [500], partial: false });
  });

  it("mutations: the learning cap refuses a strict batch whole and the excess of a partial one", async () => {
    await call(t.admin.updateConstitution.bind(t.admin), {
      constitution: Constitution.fromPartial({ learning: { maxMutationsPerInterval: 1, mutationIntervalMs: 3_600_000 } }),
      updateMask: ["learning.max_mutations_per_interval", "learning.mutation_interval_ms"],
      author: "quota-test",
      comment: "",
    });
    const items = [
      { connection: { source: 1, target: 2, type: 0x50 }, success: true },
      { connection: { source: 3, target: 4, type: 0x50 }, success: true },
    ];
    await exhausted("mutations", () => call(t.graph.feedback.bind(t.graph), { items, partial: false }));
    const partial = await call(t.graph.feedback.bind(t.graph), { items, partial: true });
    expect(partial.applied).toBe(1);
    expect(partial.rejected.map((r) => [r.index, r.rule, r.code])).toEqual([[1, LearningRule.mutationRate, Code.RESOURCE_EXHAUSTED]]);
    await exhausted("mutations", () => call(t.graph.feedback.bind(t.graph), { items: items.slice(1), partial: false }));
    // Activation records use, not a confidence change; the hypotheses co-activation proposes are
    // mutations: with the cap used up none is created (proposals refused by mutation_rate).
    let created = 0;
    for (let i = 0; i < 6; i++) created += (await call(t.graph.activate.bind(t.graph), { connections: [{ source: 3, target: 4 }], tokens: [7, 8], partial: false })).hypothesesCreated;
    expect(created).toBe(0);
    const g = await call(t.admin.getGuardianStats.bind(t.admin), {});
    expect(g.proposalsRejected.find((r) => r.rule === LearningRule.mutationRate)?.count).toBeGreaterThanOrEqual(5);
    exercised.add(LearningRule.mutationRate);
  });

  it("token ids: a create asking for allocated ids on a shard whose id space is used up is refused whole", async () => {
    // Shard 0 of 4 holds 2^28 − 4, the last id it may allocate below the domain bits.
    const last = 2 ** 28 - 4;
    await create(t, [{ id: last }]);
    const fresh = [0, 0, 0, 0].map((id) => ({ id }));
    const err = await exhausted("token_ids", () => create(t, fresh));
    expect(err.details).toContain(StoreRule.idSpaceExhausted);
    const partial = await create(t, fresh, true);
    expect(partial.accepted).toBe(3);
    expect(partial.rejected.map((r) => [r.rule, r.code])).toEqual([[StoreRule.idSpaceExhausted, Code.RESOURCE_EXHAUSTED]]);
    await call(t.tokens.deleteTokens.bind(t.tokens), { ids: [last, ...partial.ids.filter((id) => id !== 0)], partial: false });
    exercised.add(StoreRule.idSpaceExhausted);
  });

  it("every quota of the guardian has a test here", () => {
    expect(QUOTA_NAMES.filter((q) => !exercised.has(q))).toEqual([]);
  });
});
