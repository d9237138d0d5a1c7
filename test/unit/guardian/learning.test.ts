import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { compileConstitution, constitutionForProfile, defaultConstitution, nextVersion, type CompiledConstitution } from "../../../src/core/constitution/index.ts";
import { Mutability, decodeConnection } from "../../../src/core/connection/index.ts";
import {
  GuardianStats,
  LearningRule,
  MutationBudget,
  applyActivations,
  applyFeedback,
  connectedPairs,
  governHypotheses,
  sweepLifecycle,
  type LearningContext,
  type LearningKeys,
  type MutationCapHit,
} from "../../../src/actors/guardian/index.ts";
import { HYPOTHESIS, NOW_MS, edgeRecords, storeWithTokens } from "./helpers.ts";

const DEFAULT = compileConstitution(defaultConstitution());

function keys(list: readonly (readonly [number, number, number])[]): LearningKeys {
  return {
    sources: Uint32Array.from(list.map((k) => k[0])),
    targets: Uint32Array.from(list.map((k) => k[1])),
    types: Int16Array.from(list.map((k) => k[2])),
  };
}

function ctx(c: CompiledConstitution, budget: MutationBudget, nowMs = NOW_MS, stats = new GuardianStats()): LearningContext {
  return { constitution: c, budget, stats, nowMs };
}

function withLearning(learning: Record<string, number>): CompiledConstitution {
  return compileConstitution(nextVersion(defaultConstitution(), { learning }, { createdAtUnixMs: 1 }));
}

describe("MutationBudget", () => {
  it("property: in every fixed window at most `max` proposals are granted, whatever the takes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 1, max: 500 }),
        fc.array(fc.tuple(fc.nat(3000), fc.integer({ min: 1, max: 40 }), fc.boolean()), { maxLength: 80 }),
        (max, interval, takes) => {
          const budget = new MutationBudget({ maxMutationsPerInterval: max, mutationIntervalMs: interval });
          const perWindow = new Map<number, number>();
          let t = 0;
          for (const [dt, n, all] of takes) {
            t += dt;
            const granted = all ? (budget.takeAll(n, t) ? n : 0) : budget.take(n, t);
            const w = Math.floor(t / interval);
            perWindow.set(w, (perWindow.get(w) ?? 0) + granted);
          }
          for (const g of perWindow.values()) expect(g).toBeLessThanOrEqual(max);
        },
      ),
    );
  });

  it("takeAll grants all or nothing; the cap-hit callback fires once per window", () => {
    const budget = new MutationBudget({ maxMutationsPerInterval: 10, mutationIntervalMs: 1000 });
    const hits: MutationCapHit[] = [];
    budget.onCapHit((h) => hits.push(h));
    expect(budget.takeAll(8, 5000)).toBe(true);
    expect(budget.takeAll(3, 5001)).toBe(false);
    expect(budget.take(5, 5002)).toBe(2);
    expect(budget.take(1, 5999)).toBe(0);
    expect(hits).toEqual([{ cap: 10, intervalMs: 1000, windowStartMs: 5000, rejected: 3 }]);
    expect(budget.take(4, 6000)).toBe(4);
    expect(budget.remaining(6500)).toBe(6);
    expect(budget.totals).toEqual({ granted: 14, refused: 7 });
  });

  it("learning off (cap 0) grants nothing", () => {
    const budget = new MutationBudget({ maxMutationsPerInterval: 0, mutationIntervalMs: 1000 });
    expect(budget.take(1, 0)).toBe(0);
    expect(budget.takeAll(1, 0)).toBe(false);
  });
});

describe("applyFeedback", () => {
  it("repeated successes raise confidence along the documented sequence (0.5, lr 0.125), failures lower it by half a step", () => {
    const store = storeWithTokens(2);
    store.connectRecords(edgeRecords([[1, 2, 0x50, { confidence: 0.5, learningRate: 0.125 }]]));
    const budget = new MutationBudget(DEFAULT.learning);
    const seen: number[] = [];
    const feedback = (success: boolean, i: number): void => {
      const r = applyFeedback(store, keys([[1, 2, 0x50]]), Uint8Array.of(success ? 1 : 0), ctx(DEFAULT, budget, NOW_MS + i), true);
      expect(r.applied).toBe(1);
      const rec = decodeConnection(r.records);
      seen.push(rec.confidence);
    };
    for (let i = 0; i < 5; i++) feedback(true, i);
    for (let i = 0; i < 3; i++) feedback(false, 5 + i);
    expect(seen).toEqual([0.625, 0.75, 0.875, 1, 1, 0.9375, 0.875, 0.8125]);
    const e = store.connectionIndex(1, 2, 0x50);
    expect(store.connections.evidenceCount[e]).toBe(8);
    expect(store.connections.successCount[e]).toBe(5);
  });

  it("refuses missing, foreign, Immutable and id-0 keys with their rules; strict applies nothing, partial the rest", () => {
    const store = storeWithTokens(4, { shardCount: 1 });
    store.connectRecords(edgeRecords([[1, 2, 0x50], [1, 3, 0x50, { mutability: Mutability.Immutable }]]));
    const budget = new MutationBudget(DEFAULT.learning);
    const batch = keys([[1, 2, 0x50], [1, 4, 0x50], [1, 3, 0x50], [0, 2, 0x50]]);
    const before = store.exportConnections();
    const strict = applyFeedback(store, batch, new Uint8Array(4).fill(1), ctx(DEFAULT, budget), true);
    expect(strict.applied).toBe(0);
    expect(strict.violations.map((v) => [v.index, v.rule])).toEqual([
      [1, LearningRule.notFound],
      [2, LearningRule.immutable],
      [3, LearningRule.idNonzero],
    ]);
    expect(Buffer.from(store.exportConnections()).equals(Buffer.from(before))).toBe(true);
    const partial = applyFeedback(store, batch, new Uint8Array(4).fill(1), ctx(DEFAULT, budget), false);
    expect(partial.applied).toBe(1);
    expect([...partial.accepted]).toEqual([1, 0, 0, 0]);
  });

  it("refuses keys whose source another shard owns", () => {
    const store = storeWithTokens(0, { shard: 1, shardCount: 2 });
    const r = applyFeedback(store, keys([[2, 3, 0x50]]), Uint8Array.of(1), ctx(DEFAULT, new MutationBudget(DEFAULT.learning)), false);
    expect(r.violations[0]).toMatchObject({ index: 0, rule: LearningRule.notOwned });
  });

  it("the mutation-rate cap holds under a flood of proposals, across batches, and resets with the next interval", () => {
    const c = withLearning({ maxMutationsPerInterval: 100, mutationIntervalMs: 1000 });
    const n = 400;
    const store = storeWithTokens(n + 1);
    const edges: [number, number, number][] = Array.from({ length: n }, (_, i) => [1, i + 2, 0x50]);
    store.connectRecords(edgeRecords(edges));
    const budget = new MutationBudget(c.learning);
    const stats = new GuardianStats();
    const t0 = 10_000_000;
    let applied = 0;
    for (let b = 0; b < 4; b++) {
      const r = applyFeedback(store, keys(edges.slice(b * 100, b * 100 + 100)), new Uint8Array(100).fill(1), ctx(c, budget, t0 + b, stats), false);
      applied += r.applied;
      if (b > 0) expect(r.violations.every((v) => v.rule === LearningRule.mutationRate)).toBe(true);
    }
    expect(applied).toBe(100);
    let changed = 0;
    for (const [s, t, y] of edges) changed += store.connections.evidenceCount[store.connectionIndex(s, t, y)] === 1 ? 1 : 0;
    expect(changed).toBe(100);
    expect(stats.refusedCount(LearningRule.mutationRate)).toBe(300);
    // A strict batch beyond the cap is refused whole.
    const strict = applyFeedback(store, keys(edges.slice(0, 2)), Uint8Array.of(1, 1), ctx(c, budget, t0 + 5, stats), true);
    expect(strict.applied).toBe(0);
    // Next interval: 100 more.
    const next = applyFeedback(store, keys(edges.slice(100, 300)), new Uint8Array(200).fill(1), ctx(c, budget, t0 + 1000, stats), false);
    expect(next.applied).toBe(100);
  });

  it("a Hypothesis with enough successful evidence is promoted; one with mostly failures is deleted", () => {
    const store = storeWithTokens(3);
    store.connectRecords(edgeRecords([[1, 2, 0x50, HYPOTHESIS], [1, 3, 0x50, HYPOTHESIS]]));
    const budget = new MutationBudget(DEFAULT.learning);
    const stats = new GuardianStats();
    let promoted = 0;
    let removed = 0;
    for (let i = 0; i < 20; i++) {
      const r = applyFeedback(store, keys([[1, 2, 0x50], [1, 3, 0x50]]), Uint8Array.of(1, i < 2 ? 1 : 0), ctx(DEFAULT, budget, NOW_MS + i * 1000, stats), true);
      promoted += r.promoted;
      removed += r.removed.count;
      if (r.removed.count > 0) expect([r.removed.sources[0], r.removed.targets[0], r.removed.types[0]]).toEqual([1, 3, 0x50]);
    }
    expect(promoted).toBe(1);
    expect(removed).toBe(1);
    const e = store.connectionIndex(1, 2, 0x50);
    expect(store.connections.mutability[e]).toBe(Mutability.Learnable);
    expect(store.connections.learningRate[e]).toBe(DEFAULT.learning.promotedLearningRate);
    expect(store.connectionIndex(1, 3, 0x50)).toBe(-1);
    expect(stats.appliedCount("promote")).toBe(1);
    expect(stats.appliedCount("delete")).toBe(1);
  });

  it("promotion follows the profile's thresholds (analyst needs 50 observations)", () => {
    const analyst = compileConstitution(constitutionForProfile("analyst"));
    const store = storeWithTokens(2);
    store.connectRecords(edgeRecords([[1, 2, 0x50, HYPOTHESIS]]));
    const budget = new MutationBudget(analyst.learning);
    let firstPromotion = -1;
    for (let i = 1; i <= 60 && firstPromotion < 0; i++) {
      const r = applyFeedback(store, keys([[1, 2, 0x50]]), Uint8Array.of(1), ctx(analyst, budget, NOW_MS + i * 1000), true);
      if (r.promoted > 0) firstPromotion = i;
    }
    expect(firstPromotion).toBe(50);
  });
});

describe("applyActivations and sweeps", () => {
  it("activates every connection of a key (type −1 = all types) and returns the endpoints", () => {
    const store = storeWithTokens(3);
    store.connectRecords(edgeRecords([[1, 2, 0x50], [1, 2, 0x10], [2, 3, 0x50]]));
    const r = applyActivations(store, keys([[1, 2, -1], [2, 3, 0x50], [3, 1, 0x50]]), NOW_MS, false);
    expect(r.applied).toBe(2);
    expect(r.violations).toMatchObject([{ index: 2, rule: LearningRule.notFound }]);
    expect(r.records.byteLength).toBe(3 * 64);
    expect([...r.tokens].sort()).toEqual([1, 1, 2, 2, 2, 3]);
    expect(store.connections.activationCount[store.connectionIndex(1, 2, 0x10)]).toBe(1);
    const strict = applyActivations(store, keys([[1, 2, 0x50], [3, 1, 0x50]]), NOW_MS, true);
    expect(strict.applied).toBe(0);
    expect(store.connections.activationCount[store.connectionIndex(1, 2, 0x50)]).toBe(1);
  });

  it("the sweep settles decay and deletes hypotheses decayed below the minimum confidence", () => {
    const store = storeWithTokens(3);
    store.connectRecords(edgeRecords([[1, 2, 0x50, { ...HYPOTHESIS, confidence: 0.3, decayRate: 0.5 }], [1, 3, 0x50, HYPOTHESIS]]));
    const budget = new MutationBudget(DEFAULT.learning);
    const later = NOW_MS + 2 * 3600 * 1000;
    const r = sweepLifecycle(store, ctx(DEFAULT, budget, later));
    expect(r.decayed).toBe(2);
    expect(r.removed.count).toBe(1);
    expect([r.removed.sources[0], r.removed.targets[0]]).toEqual([1, 2]);
    expect(store.connectionIndex(1, 3, 0x50)).toBeGreaterThanOrEqual(0);
  });
});

describe("hypothesis proposals", () => {
  it("carry the constitution's hypothesis defaults and pass the budget", () => {
    const c = withLearning({ maxMutationsPerInterval: 2 });
    const budget = new MutationBudget(c.learning);
    const g = governHypotheses(Uint32Array.of(1, 3, 5), Uint32Array.of(2, 4, 6), c, budget, NOW_MS);
    expect(g.records.byteLength).toBe(2 * 64);
    expect(g.violations).toMatchObject([{ index: 2, rule: LearningRule.mutationRate }]);
    const rec = decodeConnection(g.records, 0);
    const l = c.learning;
    expect(rec).toMatchObject({ source: 1, target: 2, type: l.hypothesisType, mutability: Mutability.Hypothesis });
    expect(rec.confidence).toBeCloseTo(l.hypothesisInitialConfidence, 6);
    expect(rec.learningRate).toBeCloseTo(l.hypothesisLearningRate, 6);
    expect(rec.decayRate).toBeCloseTo(l.hypothesisDecayRatePerHour, 6);
    expect(rec.pullStrength).toBe(l.hypothesisPullStrength);
  });

  it("connectedPairs refuses pairs connected either way, of any type, and unknown sources", () => {
    const store = storeWithTokens(4);
    store.connectRecords(edgeRecords([[1, 2, 0x10], [3, 1, 0x20]]));
    const invalid = new Uint8Array(4);
    const v = connectedPairs(store, Uint32Array.of(1, 1, 1, 9), Uint32Array.of(2, 3, 4, 1), invalid);
    expect([...invalid]).toEqual([1, 1, 0, 1]);
    expect(v.map((x) => x.rule)).toEqual([LearningRule.alreadyConnected, LearningRule.alreadyConnected, LearningRule.notFound]);
  });
});
