import { afterEach, describe, expect, it } from "vitest";
import { defaultConstitution, nextVersion } from "../../../src/core/constitution/index.ts";
import { Mutability } from "../../../src/core/connection/index.ts";
import { QuotaExceededError } from "../../../src/core/errors.ts";
import type { ShardStore } from "../../../src/core/store/index.ts";
import {
  ShardGuard,
  applyActivations,
  applyFeedback,
  connectedPairs,
  planCleanup,
  type CleanupRequest,
  type GuardianEvent,
  type ShardMaintenance,
} from "../../../src/actors/guardian/index.ts";
import { HYPOTHESIS, NOW_MS, edgeRecords, flush, startGuardian, stopGuardians, storeWithTokens } from "./helpers.ts";

afterEach(stopGuardians);

/** Cleanup on real stores the way a node does it: plan, then remove through the store's writes. */
function storeMaintenance(stores: readonly ShardStore[], guards: readonly ShardGuard[], calls: CleanupRequest[]): ShardMaintenance {
  return {
    cleanup(request) {
      calls.push(request);
      let connectionsRemoved = 0;
      let tokensRemoved = 0;
      stores.forEach((store, i) => {
        const plan = planCleanup(store, request);
        const k = plan.connections;
        connectionsRemoved += store.disconnectKeys(k.sources, k.targets, k.types, { strict: false }).applied;
        tokensRemoved += store.deleteIds(plan.tokens, { strict: false }).applied;
        guards[i]!.report(store);
      });
      return Promise.resolve({ connectionsRemoved, tokensRemoved });
    },
  };
}

function quotaDoc(quotas: Record<string, number>) {
  return nextVersion(defaultConstitution(), { quotas }, { createdAtUnixMs: 1 });
}

describe("GuardianActor: quotas", () => {
  it("samples RSS at most once per interval, driven by its timer and never by writes", async () => {
    const g = await startGuardian();
    expect(g.probes.count).toBe(1);
    const guard = new ShardGuard(g.hub, 0);
    for (let i = 0; i < 10_000; i++) {
      guard.admit(1, 0);
      guard.report({ size: i, connectionCount: 0, byteSize: () => i * 64 });
    }
    expect(g.probes.count).toBe(1);
    for (let i = 0; i < 100; i++) {
      g.clock.advance(100);
      await flush(2);
    }
    expect(g.probes.count).toBe(11);
    const report = await g.ref.ask({ type: "guardian.stats" });
    expect(report.rssSampledAt).toBe(NOW_MS + 10_000);
    expect(report.quotas.find((q) => q.quota === "memory_bytes")?.usage).toBe(100_000_000);
  });

  it("follows a new rss_sample_interval_ms from the constitution", async () => {
    const g = await startGuardian();
    await g.ref.ask({ type: "guardian.update", request: { patch: { quotas: { rssSampleIntervalMs: 5000 } } } });
    const before = g.probes.count;
    for (let i = 0; i < 100; i++) {
      g.clock.advance(100);
      await flush(2);
    }
    expect(g.probes.count - before).toBe(2);
  });

  it("at the memory limit every growing write is refused with the quota, its usage and its limit", async () => {
    const g = await startGuardian({ initial: quotaDoc({ maxMemoryBytes: 1_000_000_000 }), rss: 400_000_000 });
    const guard = new ShardGuard(g.hub, 0);
    const sub = g.hub.events.subscribe({ kinds: ["quota"] });
    expect(() => guard.admit(10, 0)).not.toThrow();
    g.probes.rss = 1_200_000_000;
    g.clock.advance(1000);
    await flush();
    let err: unknown;
    try {
      guard.admit(10, 0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QuotaExceededError);
    expect(err).toMatchObject({ quota: "memory_bytes", usage: 1_200_000_000, limit: 1_000_000_000 });
    expect(() => guard.admit(0, 0)).not.toThrow();
    expect(sub.poll()).toMatchObject([{ kind: "quota", quota: "memory_bytes", level: "hard" }]);
    expect(g.blackBox.events().some((e) => e.kind === "quota" && e.attributes.quota === "memory_bytes" && e.attributes.level === "hard")).toBe(true);
  });

  it("over the soft threshold: an event, then a cleanup of weak hypotheses within the policy, then a cleanup_done event", async () => {
    const store = storeWithTokens(120);
    const edges = Array.from({ length: 95 }, (_, i) => [1, i + 2, 0x50, { ...HYPOTHESIS, confidence: i < 40 ? 0.1 : 0.9 }] as const);
    store.connectRecords(edgeRecords(edges));
    const calls: CleanupRequest[] = [];
    const guards: ShardGuard[] = [];
    const g = await startGuardian({ initial: quotaDoc({ maxConnections: 100, softThreshold: 0.9 }), maintenance: storeMaintenance([store], guards, calls) });
    guards.push(new ShardGuard(g.hub, 0));
    const sub = g.hub.events.subscribe();
    guards[0]!.report(store);
    await flush();
    const events = sub.poll();
    // The shard's report after its removals brings the level back before the guardian hears the cleanup finished.
    expect(events.map((e) => e.kind)).toEqual(["quota", "quota", "cleanup_done"]);
    expect(events[0]).toMatchObject({ quota: "connections", level: "soft", usage: 95, limit: 100 });
    expect(events[1]).toMatchObject({ quota: "connections", level: "normal", usage: 55 });
    expect(events[2]).toMatchObject({ kind: "cleanup_done", trigger: "connections", connectionsRemoved: 40, tokensRemoved: 0 });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ weakHypothesisConfidence: 0.25, inactiveTokenAgeSeconds: 0 });
    expect(store.size).toBe(120);
    const stats = (await g.ref.ask({ type: "guardian.stats" })).stats;
    expect(stats).toMatchObject({ cleanups: 1, cleanupConnectionsRemoved: 40, cleanupTokensRemoved: 0 });
  });

  it("deletes inactive tokens only when the constitution sets an age, and never PERSISTENT or LOCKED ones", async () => {
    const store = storeWithTokens(0);
    const old = NOW_MS / 1000 - 7200;
    const { tokenRecords } = await import("./helpers.ts");
    store.insertRecords(tokenRecords([1, 2, 3], old));
    store.insertRecords(tokenRecords([4], old, { flags: 0x0003 }));
    store.insertRecords(tokenRecords([5], old, { flags: 0x0081 }));
    store.insertRecords(tokenRecords([6, 7], NOW_MS / 1000));
    const calls: CleanupRequest[] = [];
    const guards: ShardGuard[] = [];
    const g = await startGuardian({
      initial: quotaDoc({ maxTokens: 7, cleanupInactiveTokenAgeSeconds: 3600 }),
      maintenance: storeMaintenance([store], guards, calls),
    });
    guards.push(new ShardGuard(g.hub, 0));
    const outcome = await g.ref.ask({ type: "guardian.cleanup" });
    expect(outcome).toMatchObject({ trigger: "manual", tokensRemoved: 3, connectionsRemoved: 0 });
    expect([...store.columns.ids.subarray(0, store.size)].sort()).toEqual([4, 5, 6, 7]);
  });

  it("does not start a second soft-threshold cleanup within the cooldown", async () => {
    const store = storeWithTokens(10);
    const calls: CleanupRequest[] = [];
    const guards: ShardGuard[] = [];
    const g = await startGuardian({ initial: quotaDoc({ maxTokens: 10 }), maintenance: storeMaintenance([store], guards, calls), env: { cleanupCooldownMs: 5000 } });
    guards.push(new ShardGuard(g.hub, 0));
    guards[0]!.report(store);
    await flush();
    for (let i = 0; i < 40; i++) {
      g.clock.advance(100);
      await flush(2);
    }
    expect(calls).toHaveLength(1);
    for (let i = 0; i < 12; i++) {
      g.clock.advance(100);
      await flush(2);
    }
    expect(calls).toHaveLength(2);
  });
});

describe("GuardianActor: governed learning", () => {
  it("co-activation proposes a hypothesis that enough successful evidence promotes", async () => {
    const g = await startGuardian();
    const guard = new ShardGuard(g.hub, 0);
    const store = storeWithTokens(4);
    store.connectRecords(edgeRecords([[1, 2, 0x10], [3, 4, 0x10]]));
    const l = guard.constitution.learning;
    let created = 0;
    for (let i = 0; i < l.coactivationMinCount; i++) {
      const act = applyActivations(store, { sources: Uint32Array.of(1, 3), targets: Uint32Array.of(2, 4), types: Int16Array.of(0x10, 0x10) }, g.clock.now(), true);
      const proposals = await g.ref.ask({ type: "guardian.coactivated", tokens: act.tokens });
      if (proposals.records.byteLength === 0) continue;
      const invalid = new Uint8Array(proposals.sources.length);
      connectedPairs(store, proposals.sources, proposals.targets, invalid);
      const skip = invalid;
      const r = store.connectRecords(proposals.records, { strict: false, skip, limits: guard.limits(0).connections });
      created += r.applied;
      expect([...proposals.sources].map((s, k) => [s, proposals.targets[k]])).toEqual(
        expect.arrayContaining([
          [1, 3],
          [1, 4],
          [2, 3],
          [2, 4],
        ]),
      );
      g.clock.advance(100);
    }
    // 1-2 and 3-4 are connected already; the four cross pairs become hypotheses.
    expect(created).toBe(4);
    const e = store.connectionIndex(1, 3, l.hypothesisType);
    expect(store.connections.mutability[e]).toBe(Mutability.Hypothesis);
    expect(store.connections.confidence[e]).toBeCloseTo(l.hypothesisInitialConfidence, 6);
    let promoted = 0;
    for (let i = 0; i < l.promotionMinEvidence; i++) {
      const key = { sources: Uint32Array.of(1), targets: Uint32Array.of(3), types: Int16Array.of(l.hypothesisType) };
      promoted += applyFeedback(store, key, Uint8Array.of(1), guard.learning(g.clock.now()), true).promoted;
      g.clock.advance(1000);
    }
    expect(promoted).toBe(1);
    expect(store.connections.mutability[store.connectionIndex(1, 3, l.hypothesisType)]).toBe(Mutability.Learnable);
    const report = await g.ref.ask({ type: "guardian.stats" });
    expect(report.stats.proposalsApplied).toEqual(expect.arrayContaining([{ rule: "promote", count: 1 }]));
  });

  it("the mutation cap holds for a flood of feedback from several shards and is announced once per interval", async () => {
    const g = await startGuardian({ initial: nextVersion(defaultConstitution(), { learning: { maxMutationsPerInterval: 50 } }, { createdAtUnixMs: 1 }) });
    const sub = g.hub.events.subscribe({ kinds: ["mutation_cap"] });
    let applied = 0;
    for (let shard = 0; shard < 4; shard++) {
      const guard = new ShardGuard(g.hub, shard);
      const store = storeWithTokens(101);
      const edges = Array.from({ length: 100 }, (_, i) => [1, i + 2, 0x50] as const);
      store.connectRecords(edgeRecords(edges));
      const keys = { sources: Uint32Array.from(edges.map((x) => x[0])), targets: Uint32Array.from(edges.map((x) => x[1])), types: Int16Array.from(edges.map((x) => x[2])) };
      applied += applyFeedback(store, keys, new Uint8Array(100).fill(1), guard.learning(g.clock.now()), false).applied;
    }
    expect(applied).toBe(50);
    const events: GuardianEvent[] = sub.poll();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: "mutation_cap", cap: 50, intervalMs: 1000 });
    expect((await g.ref.ask({ type: "guardian.stats" })).mutations).toMatchObject({ granted: 50, refused: 350, remaining: 0 });
  });
});
