/**
 * The guardian inside a real node (`startNode`: 4 shard actors, coordinator, guardian actor, gRPC):
 * writes validated against the active constitution, quotas, governed learning through the shards,
 * constitution changes that reach every shard and survive a restart.
 */
import { afterEach, describe, expect, it } from "vitest";
import { status } from "@grpc/grpc-js";
import { decodeStatusDetails } from "../../../src/api/errors.ts";
import { Constitution, defaultConstitution, sealConstitution } from "../../../src/core/constitution/index.ts";
import { Code } from "../../../src/gen/google/rpc/code.ts";
import { Direction, RecordFormat } from "../../../src/gen/neurograph/v1/common.ts";
import { GuardianEventKind, type GuardianEvent } from "../../../src/gen/neurograph/v1/guardian.ts";
import type { GuardianEvent as HubEvent } from "../../../src/actors/guardian/index.ts";
import type { ShardLogSetup } from "../../../src/node/index.ts";
import { packConnections, packTokens, type EdgeSpec, type TokenSpec } from "../api/fixtures.ts";
import { ControlledLog } from "../../unit/actors/controlled-log.ts";
import { call, dump, failure, startTestNode, type TestNode } from "../node/harness.ts";

const NOW_S = Math.floor(Date.now() / 1000);

function withConstitution(change: (c: Constitution) => Constitution): Constitution {
  return sealConstitution(change(defaultConstitution()));
}

describe("the guardian in a node", () => {
  let t: TestNode | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const create = (node: TestNode, specs: readonly TokenSpec[], partial = false) =>
    call(node.tokens.createTokens.bind(node.tokens), { tokens: { payload: { $case: "packed", value: packTokens(specs) } }, partial });
  const connect = (node: TestNode, edges: readonly EdgeSpec[], partial = false) =>
    call(node.graph.connect.bind(node.graph), { connections: { payload: { $case: "packed", value: packConnections(edges) } }, partial });
  const ids = (from: number, n: number, ts = NOW_S): TokenSpec[] => Array.from({ length: n }, (_, i) => ({ id: from + i, timestamp: ts }));
  const edgeAt = async (node: TestNode, source: number, target: number): Promise<DataView | undefined> => {
    const r = await call(node.graph.getConnections.bind(node.graph), { ids: [source], direction: Direction.DIRECTION_OUT, connectionTypes: [], limit: 0, format: RecordFormat.RECORD_FORMAT_PACKED });
    for (let o = 0; o < r.records.length; o += 64) {
      const dv = new DataView(r.records.buffer, r.records.byteOffset + o, 64);
      if (dv.getUint32(0, true) === source && dv.getUint32(4, true) === target) return dv;
    }
    return undefined;
  };

  it("validates every write path against the constitution: typed errors listing each violation, nothing changed, one event per batch", async () => {
    t = await startTestNode();
    const node = t;
    await create(node, ids(1, 8));
    const events: GuardianEvent[] = [];
    const stream = node.admin.watchEvents({ kinds: [GuardianEventKind.GUARDIAN_EVENT_KIND_VALIDATION_FAILED], buffer: 64 });
    stream.on("data", (e: GuardianEvent) => events.push(e));
    stream.on("error", () => undefined);
    // The subscription exists once the call reached the server.
    while (node.node.guardian.events.stats().subscribers === 0) await new Promise((r) => setTimeout(r, 5));
    const probe = [1, 2, 3, 4, 5, 6, 7, 8, 20, 21];
    const before = await dump(node, probe);
    // token values: weight and field strength out of range, on two shards, strict → whole batch refused
    const bad = await failure(create(node, [{ id: 20, weight: 2 }, { id: 21, level: 15 }]));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    const fields = decodeStatusDetails(bad.metadata).badRequest?.fieldViolations.map((v) => v.field);
    expect(fields).toContain("tokens[0].weight");
    // update with a bad value
    const upd = await failure(call(node.tokens.updateTokens.bind(node.tokens), { tokens: { payload: { $case: "packed", value: packTokens([{ id: 1, weight: -3 }]) } }, partial: false }));
    expect(upd.code).toBe(status.INVALID_ARGUMENT);
    // connection type not allowed, confidence out of range
    const badEdge = await failure(connect(node, [{ source: 1, target: 2, type: 0xff }, { source: 3, target: 4, confidence: 7 }]));
    expect(badEdge.code).toBe(status.INVALID_ARGUMENT);
    const rules = decodeStatusDetails(badEdge.metadata).badRequest?.fieldViolations.map((v) => v.description) ?? [];
    expect(rules.length).toBeGreaterThanOrEqual(2);
    const after = await dump(node, probe);
    expect(after.tokens.equals(before.tokens)).toBe(true);
    expect(after.connections.equals(before.connections)).toBe(true);
    expect(after.missing).toEqual(before.missing);
    // partial: the valid items apply, the rest is reported with index, rule and code
    const partial = await create(node, [{ id: 20 }, { id: 21, weight: 2 }], true);
    expect(partial.ids[0]).toBe(20);
    expect(partial.rejected.map((r) => [r.index, r.code])).toEqual([[1, Code.INVALID_ARGUMENT]]);
    const stats = await call(node.admin.getGuardianStats.bind(node.admin), {});
    expect(stats.validated.find((r) => r.rule === "token")?.count).toBeGreaterThanOrEqual(10);
    expect(stats.rejected.reduce((a, r) => a + r.count, 0)).toBeGreaterThanOrEqual(4);
    while (events.length < 3) await new Promise((r) => setTimeout(r, 10));
    stream.cancel();
    expect(events[0]!.event?.$case).toBe("validationFailed");
  });

  it("a profile switch or an update reaches every shard at the next batch (degree limit)", async () => {
    t = await startTestNode();
    const node = t;
    await create(node, ids(1, 8));
    await call(node.admin.updateConstitution.bind(node.admin), { constitution: Constitution.fromPartial({ connections: { maxOutDegree: 2 } }), updateMask: ["connections.max_out_degree"], author: "it", comment: "" });
    await connect(node, [{ source: 1, target: 2 }, { source: 1, target: 3 }]);
    const over = await failure(connect(node, [{ source: 1, target: 4 }]));
    expect(over.code).toBe(status.FAILED_PRECONDITION);
    expect(over.details).toContain("out-degree 2");
    // token 6 lives on another shard than 1: the limit holds there too
    await connect(node, [{ source: 6, target: 2 }, { source: 6, target: 3 }]);
    expect((await failure(connect(node, [{ source: 6, target: 4 }]))).code).toBe(status.FAILED_PRECONDITION);
    await call(node.admin.rollbackConstitution.bind(node.admin), { author: "it", comment: "" });
    expect((await connect(node, [{ source: 1, target: 4 }, { source: 6, target: 4 }])).accepted).toBe(2);
  });

  it("a client pushing twice the token quota gets RESOURCE_EXHAUSTED at the hard limit; reads go on; the soft-threshold cleanup ran", async () => {
    const quota = 200;
    t = await startTestNode([], {
      guardian: {
        initialConstitution: withConstitution((c) => ({ ...c, quotas: { ...c.quotas!, maxTokens: quota, cleanupInactiveTokenAgeSeconds: 86_400 } })),
        cleanupCooldownMs: 60_000,
      },
    });
    const node = t;
    const hub = node.node.guardian;
    const cleanups = hub.events.subscribe({ kinds: ["cleanup_done"] });
    const quotaEvents = hub.events.subscribe({ kinds: ["quota"] });
    // 40 tokens nobody wrote for two days: what the cleanup may remove.
    await create(node, ids(1, 40, NOW_S - 2 * 86_400));
    const rssBefore = process.memoryUsage.rss();
    let accepted = 40;
    let refused = 0;
    let lastError: { details: string } | undefined;
    for (let next = 41; next <= 40 + 2 * quota; next += 10) {
      try {
        await create(node, ids(next, 10));
        accepted += 10;
      } catch (err) {
        refused++;
        lastError = err as { details: string; code: number };
        expect((err as { code: number }).code).toBe(status.RESOURCE_EXHAUSTED);
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(lastError?.details).toContain("quota tokens exhausted");
    const done: HubEvent = await cleanups.next();
    expect(done.kind === "cleanup_done" && done.tokensRemoved).toBe(40);
    expect(done.kind === "cleanup_done" && done.trigger).toBe("tokens");
    const levels = quotaEvents.poll().map((e) => (e.kind === "quota" ? e.level : ""));
    expect(levels).toContain("soft");
    expect(levels).toContain("hard");
    // Refused batches changed nothing: the node holds exactly what was accepted, minus the cleanup.
    const st = await call(node.admin.getStats.bind(node.admin), {});
    expect(st.tokens).toBe(accepted - 40);
    expect(st.tokens).toBeLessThanOrEqual(quota);
    const read = await call(node.tokens.getTokens.bind(node.tokens), { ids: [41, 42], format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: false });
    expect(read.records.length).toBe(128);
    expect(process.memoryUsage.rss() - rssBefore).toBeLessThan(256 * 2 ** 20);
    const g = await call(node.admin.getGuardianStats.bind(node.admin), {});
    expect(g.quotas.find((q) => q.quota === "tokens")?.refused).toBe(refused);
  });

  it("feedback raises confidence along the documented sequence; co-activation creates a hypothesis that is promoted after enough evidence", async () => {
    t = await startTestNode();
    const node = t;
    await create(node, ids(1, 8));
    await connect(node, [{ source: 1, target: 2 }]);
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      await call(node.graph.feedback.bind(node.graph), { items: [{ connection: { source: 1, target: 2, type: 0x50 }, success: true }], partial: false });
      seen.push((await edgeAt(node, 1, 2))!.getFloat32(28, true));
    }
    expect(seen).toEqual([0.625, 0.75, 0.875, 1, 1]);
    // 5 and 6 live on different shards; default: 5 co-activations within 1 s make a hypothesis.
    let created = 0;
    for (let i = 0; i < 5; i++) created += (await call(node.graph.activate.bind(node.graph), { connections: [], tokens: [5, 6], partial: false })).hypothesesCreated;
    expect(created).toBe(1);
    const hyp = (await edgeAt(node, 5, 6))!;
    expect(hyp.getUint8(12)).toBe(2); // Hypothesis
    expect(hyp.getFloat32(28, true)).toBeCloseTo(0.3, 6);
    const mirror = await call(node.graph.getConnections.bind(node.graph), { ids: [6], direction: Direction.DIRECTION_IN, connectionTypes: [], limit: 0, format: RecordFormat.RECORD_FORMAT_PACKED });
    expect(mirror.records.length).toBe(64);
    let promoted = 0;
    for (let i = 0; i < 20; i++) {
      promoted += (await call(node.graph.feedback.bind(node.graph), { items: [{ connection: { source: 5, target: 6, type: 0x50 }, success: true }], partial: false })).promoted;
    }
    expect(promoted).toBe(1);
    const owner = (await edgeAt(node, 5, 6))!;
    expect(owner.getUint8(12)).toBe(1); // Learnable
    // the mirror on 6's shard follows the owner (what an `in` walk from 6 sees)
    const mirrored = await call(node.graph.getConnections.bind(node.graph), { ids: [6], direction: Direction.DIRECTION_IN, connectionTypes: [], limit: 0, format: RecordFormat.RECORD_FORMAT_PACKED });
    expect(Buffer.from(mirrored.records).equals(Buffer.from(owner.buffer, owner.byteOffset, 64))).toBe(true);
  });

  it("the mutation-rate cap holds under a flood of feedback proposals", async () => {
    t = await startTestNode([], {
      guardian: { initialConstitution: withConstitution((c) => ({ ...c, learning: { ...c.learning!, maxMutationsPerInterval: 5, mutationIntervalMs: 3_600_000 } })) },
    });
    const node = t;
    await create(node, ids(1, 30));
    const edges = Array.from({ length: 20 }, (_, i) => ({ source: i + 1, target: i + 2 }));
    await connect(node, edges);
    const items = edges.map((e) => ({ connection: { source: e.source, target: e.target, type: 0x50 }, success: true }));
    const flood = await call(node.graph.feedback.bind(node.graph), { items, partial: true });
    expect(flood.applied).toBe(5);
    expect(flood.rejected).toHaveLength(15);
    expect(new Set(flood.rejected.map((r) => r.code))).toEqual(new Set([Code.RESOURCE_EXHAUSTED]));
    const strict = await failure(call(node.graph.feedback.bind(node.graph), { items: items.slice(0, 4), partial: false }));
    expect(strict.code).toBe(status.RESOURCE_EXHAUSTED);
    let changed = 0;
    for (const e of edges) if ((await edgeAt(node, e.source, e.target))!.getFloat32(28, true) !== 0.5) changed++;
    expect(changed).toBe(5);
  });

  it("a strict feedback batch spanning shards is refused whole when one key is refused, and changes nothing", async () => {
    t = await startTestNode();
    const node = t;
    await create(node, ids(1, 8));
    await connect(node, [{ source: 1, target: 2 }, { source: 2, target: 3 }]);
    const items = [
      { connection: { source: 1, target: 2, type: 0x50 }, success: true },
      { connection: { source: 2, target: 3, type: 0x50 }, success: true },
      { connection: { source: 3, target: 4, type: 0x50 }, success: true },
    ];
    const err = await failure(call(node.graph.feedback.bind(node.graph), { items, partial: false }));
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toContain("3 → 4");
    expect((await edgeAt(node, 1, 2))!.getFloat32(28, true)).toBe(0.5);
    expect((await edgeAt(node, 2, 3))!.getFloat32(28, true)).toBe(0.5);
    expect(node.node.guardian.budget.totals.granted).toBe(0);
    const ok = await call(node.graph.feedback.bind(node.graph), { items: items.slice(0, 2), partial: false });
    expect(ok.applied).toBe(2);
    expect(node.node.guardian.budget.totals.granted).toBe(2);
  });

  it("constitution changes are logged and survive a restart, byte for byte", async () => {
    const shardLogs = [0, 1, 2, 3].map(() => new ControlledLog());
    const guardianLog = new ControlledLog();
    const setup: ShardLogSetup = () => ({ open: (s) => shardLogs[s]!, openGuardianLog: () => guardianLog });
    t = await startTestNode([], { shardLogs: setup });
    await create(t, ids(1, 8));
    const v2 = await call(t.admin.updateConstitution.bind(t.admin), { constitution: Constitution.fromPartial({ connections: { maxOutDegree: 1 } }), updateMask: ["connections.max_out_degree"], author: "it", comment: "keep" });
    expect(guardianLog.mutations.map((m) => m.kind)).toEqual(["constitution.set", "constitution.set"]);
    await t.close();
    t = await startTestNode([], { shardLogs: setup });
    const node = t;
    const now = await call(node.admin.getConstitution.bind(node.admin), {});
    expect(Buffer.from(now.document).equals(Buffer.from(v2.document))).toBe(true);
    const history = await call(node.admin.getConstitutionHistory.bind(node.admin), { includeDocuments: true });
    expect(history.versions.map((v) => v.version)).toEqual([1, 2]);
    await connect(node, [{ source: 1, target: 2 }]);
    expect((await failure(connect(node, [{ source: 1, target: 3 }]))).code).toBe(status.FAILED_PRECONDITION);
  });
});
