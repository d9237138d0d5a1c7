import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  CONNECTION_FLAGS,
  ConnectionArena,
  DEFAULT_LIFECYCLE,
  EdgeState,
  HOUR_SECONDS,
  Mutability,
  activate,
  connectionFields,
  decay,
  decayedConfidence,
  encodeConnection,
  lifecycleProposal,
  promote,
  proposalViolation,
  recordFeedback,
  successRate,
} from "../../../src/core/connection/index.ts";
import type { ConnectionFields } from "../../../src/core/connection/index.ts";
import { recordViews } from "../../../src/core/token/views.ts";

const T0 = 1_700_000_000;

function arenaWith(overrides: Partial<ConnectionFields>): { a: ConnectionArena; e: number } {
  const a = new ConnectionArena();
  const e = a.add(recordViews(encodeConnection(connectionFields(1, 2, 0x50, T0, overrides))), 0, EdgeState.Owned);
  return { a, e };
}

describe("confidence on feedback", () => {
  it("follows the documented sequence (start 0.5, lr 0.125)", () => {
    const { a, e } = arenaWith({});
    const c = a.columns;
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      expect(recordFeedback(a, e, true, T0 + i)).toBe(true);
      seen.push(c.confidence[e]!);
    }
    expect(seen).toEqual([0.625, 0.75, 0.875, 1, 1]);
    seen.length = 0;
    for (let i = 0; i < 3; i++) {
      recordFeedback(a, e, false, T0 + 10 + i);
      seen.push(c.confidence[e]!);
    }
    expect(seen).toEqual([0.9375, 0.875, 0.8125]);
    expect([c.evidenceCount[e], c.successCount[e], c.updatedAt[e]]).toEqual([8, 5, T0 + 12]);
    expect(successRate(a, e)).toBe(5 / 8);
    expect(c.flags[e]! & CONNECTION_FLAGS.MODIFIED).toBe(CONNECTION_FLAGS.MODIFIED);
  });

  it("clamps at 0 and stores float32", () => {
    const { a, e } = arenaWith({ confidence: 0.05, learningRate: 0.3 });
    recordFeedback(a, e, false, T0);
    expect(a.columns.confidence[e]).toBe(0);
    const b = arenaWith({ confidence: 0.1, learningRate: 0.1 });
    recordFeedback(b.a, b.e, true, T0);
    expect(b.a.columns.confidence[b.e]).toBe(Math.fround(Math.fround(0.1) + Math.fround(0.1)));
  });

  it("leaves Immutable connections unchanged", () => {
    const { a, e } = arenaWith({ mutability: Mutability.Immutable, confidence: 1 });
    const before = new Uint8Array(64);
    a.writeRecord(e, recordViews(before), 0);
    expect(recordFeedback(a, e, false, T0 + 99)).toBe(false);
    const after = new Uint8Array(64);
    a.writeRecord(e, recordViews(after), 0);
    expect(after).toEqual(before);
  });
});

describe("activation", () => {
  it("counts, stamps and reinforces Learnable connections only", () => {
    const l = arenaWith({ flags: 0 });
    activate(l.a, l.e, T0 + 5);
    activate(l.a, l.e, T0 + 6);
    const c = l.a.columns;
    expect([c.activationCount[l.e], c.lastActivation[l.e], c.flags[l.e]]).toEqual([2, T0 + 6, CONNECTION_FLAGS.ACTIVE | CONNECTION_FLAGS.REINFORCED]);
    expect(c.rigidity[l.e]).toBe(0.5);
    const h = arenaWith({ flags: 0, mutability: Mutability.Hypothesis });
    activate(h.a, h.e, T0 + 5);
    expect(h.a.columns.flags[h.e]).toBe(CONNECTION_FLAGS.ACTIVE);
    const i = arenaWith({ flags: 0, mutability: Mutability.Immutable });
    activate(i.a, i.e, T0 + 5);
    expect(i.a.columns.flags[i.e]).toBe(CONNECTION_FLAGS.ACTIVE);
  });
});

describe("time-based decay of Hypothesis connections", () => {
  const hyp = (conf = 0.5, dr = 0.0625): { a: ConnectionArena; e: number } =>
    arenaWith({ mutability: Mutability.Hypothesis, confidence: conf, decayRate: dr, learningRate: 0.5 });

  it("decays by (1 − rate) per whole elapsed hour", () => {
    const { a, e } = hyp();
    expect(decay(a, e, T0 + HOUR_SECONDS - 1)).toBe(false);
    expect(a.columns.confidence[e]).toBe(0.5);
    expect(decay(a, e, T0 + 3 * HOUR_SECONDS + 10)).toBe(true);
    expect(a.columns.confidence[e]).toBe(Math.fround(0.5 * 0.9375 ** 3));
    expect(a.columns.updatedAt[e]).toBe(T0 + 3 * HOUR_SECONDS);
    expect(a.columns.flags[e]! & CONNECTION_FLAGS.DECAYING).toBe(CONNECTION_FLAGS.DECAYING);
    expect(decayedConfidence(0.5, 0.0625, 3)).toBe(a.columns.confidence[e]);
  });

  it("does not depend on how often it is called", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 500 * HOUR_SECONDS }), { maxLength: 8 }),
        fc.integer({ min: 0, max: 500 * HOUR_SECONDS }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (steps, end, conf, dr) => {
          const many = hyp(conf, dr);
          const once = hyp(conf, dr);
          const times = [...steps, end].map((s) => T0 + s).sort((x, y) => x - y);
          for (const t of times) decay(many.a, many.e, t);
          decay(many.a, many.e, times[times.length - 1]!); // a second call at the same time
          decay(once.a, once.e, times[times.length - 1]!);
          expect(many.a.columns.confidence[many.e]).toBe(once.a.columns.confidence[once.e]);
          expect(many.a.columns.updatedAt[many.e]).toBe(once.a.columns.updatedAt[once.e]);
        },
      ),
    );
  });

  it("continues on the same hour grid after a save and load", () => {
    const { a, e } = hyp();
    decay(a, e, T0 + 2.5 * HOUR_SECONDS);
    const rec = new Uint8Array(64);
    a.writeRecord(e, recordViews(rec), 0);
    const b = new ConnectionArena();
    const f = b.add(recordViews(rec), 0, EdgeState.Owned);
    decay(a, e, T0 + 7 * HOUR_SECONDS);
    decay(b, f, T0 + 7 * HOUR_SECONDS);
    expect(b.columns.updatedAt[f]).toBe(a.columns.updatedAt[e]);
    expect(b.columns.confidence[f]).toBeCloseTo(a.columns.confidence[e]!, 6);
  });

  it("restarts the inactivity clock on activity, after settling what elapsed", () => {
    const { a, e } = hyp();
    activate(a, e, T0 + 2 * HOUR_SECONDS + 100);
    expect(a.columns.confidence[e]).toBe(Math.fround(0.5 * 0.9375 ** 2));
    decay(a, e, T0 + 3 * HOUR_SECONDS + 50); // < 1 h since the activation
    expect(a.columns.confidence[e]).toBe(Math.fround(0.5 * 0.9375 ** 2));
    recordFeedback(a, e, true, T0 + 4 * HOUR_SECONDS); // 1 h 59 min 40 s since activation: 1 more hour
    expect(a.columns.confidence[e]).toBe(Math.fround(Math.fround(Math.fround(0.5 * 0.9375 ** 2) * 0.9375) + 0.5));
  });

  it("never decays Learnable or Immutable connections", () => {
    for (const m of [Mutability.Learnable, Mutability.Immutable]) {
      const { a, e } = arenaWith({ mutability: m, confidence: 0.5 });
      expect(decay(a, e, T0 + 1000 * HOUR_SECONDS)).toBe(false);
      expect(a.columns.confidence[e]).toBe(0.5);
    }
  });
});

describe("lifecycle proposals", () => {
  const withEvidence = (evidence: number, successes: number, mutability: Mutability = Mutability.Hypothesis): { a: ConnectionArena; e: number } =>
    arenaWith({ mutability, evidenceCount: evidence, successCount: successes });

  it("promotes at ≥ 20 evidence and success rate ≥ 0.7", () => {
    expect(lifecycleProposal(withEvidence(19, 19).a, 0)).toBeUndefined();
    const p = withEvidence(20, 14);
    expect(lifecycleProposal(p.a, p.e)).toMatchObject({ kind: "promote", source: 1, target: 2, type: 0x50, evidence: 20, successes: 14, successRate: 0.7, learningRate: 0.125 });
    expect(lifecycleProposal(withEvidence(20, 13).a, 0)).toBeUndefined();
  });

  it("proposes deletion at ≥ 20 evidence and success rate ≤ 0.2", () => {
    expect(lifecycleProposal(withEvidence(20, 4).a, 0)).toMatchObject({ kind: "delete", reason: "low_success_rate", successRate: 0.2 });
    expect(lifecycleProposal(withEvidence(20, 5).a, 0)).toBeUndefined();
    expect(lifecycleProposal(withEvidence(19, 0).a, 0)).toBeUndefined();
  });

  it("takes thresholds as parameters and ignores non-Hypothesis connections", () => {
    const t = { ...DEFAULT_LIFECYCLE, minEvidence: 5, promoteRate: 0.5 };
    expect(lifecycleProposal(withEvidence(5, 3).a, 0, t)?.kind).toBe("promote");
    expect(lifecycleProposal(withEvidence(50, 50, Mutability.Learnable).a, 0)).toBeUndefined();
  });

  it("proposes deleting a Hypothesis that decayed below the minimum confidence", () => {
    const { a, e } = arenaWith({ mutability: Mutability.Hypothesis, confidence: 0.2, decayRate: 0.5 });
    expect(lifecycleProposal(a, e)).toBeUndefined();
    decay(a, e, T0 + 2 * HOUR_SECONDS);
    expect(a.columns.confidence[e]).toBe(Math.fround(0.05));
    expect(lifecycleProposal(a, e)).toMatchObject({ kind: "delete", reason: "decayed", confidence: Math.fround(0.05) });
  });

  it("checks proposals against the current state before applying", () => {
    const { a, e } = withEvidence(20, 15);
    const p = lifecycleProposal(a, e)!;
    expect(proposalViolation(a, e, p)).toBeUndefined();
    recordFeedback(a, e, false, T0 + 1);
    recordFeedback(a, e, false, T0 + 2); // 15/22 < 0.7
    expect(proposalViolation(a, e, p)).toMatch(/success rate/);
    recordFeedback(a, e, true, T0 + 3);
    recordFeedback(a, e, true, T0 + 4); // 17/24 ≥ 0.7
    expect(proposalViolation(a, e, p)).toBeUndefined();
    promote(a, e, p.kind === "promote" ? p.learningRate : 0, T0 + 5);
    expect(a.columns.mutability[e]).toBe(Mutability.Learnable);
    expect(a.columns.learningRate[e]).toBe(0.125);
    expect(proposalViolation(a, e, p)).toMatch(/only Hypothesis/);
  });
});
