import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { compileConstitution, defaultConstitution, nextVersion, type QuotaParams } from "../../../src/core/constitution/index.ts";
import { QuotaExceededError, ValidationError } from "../../../src/core/errors.ts";
import { QuotaGate, RssSampler, type QuotaLevelName, type QuotaName } from "../../../src/actors/guardian/index.ts";

function quotas(q: { maxTokens?: number; maxConnections?: number; maxStoreBytes?: number; maxMemoryBytes?: number; softThreshold?: number }): QuotaParams {
  const doc = nextVersion(defaultConstitution(), { quotas: { maxTokens: 0, maxConnections: 0, maxStoreBytes: 0, maxMemoryBytes: 0, ...q } }, { createdAtUnixMs: 1 });
  return compileConstitution(doc).quotas;
}

function refusal(f: () => void): QuotaExceededError {
  try {
    f();
  } catch (err) {
    if (err instanceof QuotaExceededError) return err;
    throw err;
  }
  throw new Error("expected a QuotaExceededError");
}

describe("QuotaGate", () => {
  it("reservations count against the limit until settled or released: concurrent writes cannot both take the last slots", () => {
    const gate = new QuotaGate(2, quotas({ maxTokens: 100, maxConnections: 10 }));
    gate.report(0, 60, 0, 0);
    const a = gate.reserve(30, 0, 0);
    expect(gate.fits(10, 0, 0)).toBe(true);
    expect(refusal(() => gate.reserve(11, 0, 0))).toMatchObject({ quota: "tokens", usage: 90, limit: 100 });
    // the refused reservation holds nothing
    const b = gate.reserve(10, 0, 0);
    expect(gate.fits(1, 0, 0)).toBe(false);
    // a's part on shard 1 applied 20 of its 30 and reported in the same turn: they count once
    gate.report(1, 20, 0, 0);
    gate.settle(a, 20, 0, 0);
    expect(gate.usageOf("tokens")).toBe(80);
    expect(gate.inFlight()).toMatchObject({ tokens: 20, writes: 2 });
    expect(gate.fits(1, 0, 0)).toBe(false);
    // a ends: the 10 it never applied are free again
    gate.release(a);
    expect(gate.fits(10, 0, 0)).toBe(true);
    expect(gate.fits(11, 0, 0)).toBe(false);
    gate.release(b);
    expect(gate.fits(20, 0, 0)).toBe(true);
    expect(gate.fits(21, 0, 0)).toBe(false);
    expect(gate.snapshot().find((u) => u.quota === "tokens")?.refused).toBe(1);
    // settling or releasing an ended ticket (a part that applied after its write gave up) frees nothing
    gate.settle(a, 1000, 1000, 1000);
    gate.release(b);
    expect(gate.fits(21, 0, 0)).toBe(false);
    expect(gate.inFlight()).toEqual({ tokens: 0, connections: 0, bytes: 0, writes: 0 });
  });

  it("property: a reservation refused or released leaves admission as it was", () => {
    fc.assert(
      fc.property(fc.nat(200), fc.nat(200), fc.nat(200), (used, reserve, probe) => {
        const gate = new QuotaGate(1, quotas({ maxTokens: 300 }));
        gate.report(0, used, 0, 0);
        const before = gate.fits(probe, 0, 0);
        try {
          gate.release(gate.reserve(reserve, 0, 0));
        } catch (err) {
          if (!(err instanceof QuotaExceededError)) throw err;
        }
        return gate.fits(probe, 0, 0) === before;
      }),
    );
  });

  it("model: overlapping writes on several shards are admitted exactly (usage + unsettled reservations + request ≤ limit)", () => {
    // A write reserves n items over shards; each part applies some of its items (the shard reports
    // its new count and settles the part in one turn); the write then ends. Steps interleave freely.
    type Step = { kind: "write"; n: number; shards: number[] } | { kind: "apply"; write: number; applied: number } | { kind: "end"; write: number } | { kind: "delete"; shard: number; n: number };
    const S = 3;
    const limit = 40;
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant("write" as const), n: fc.integer({ min: 1, max: 12 }), shards: fc.array(fc.integer({ min: 0, max: S - 1 }), { minLength: 1, maxLength: 3 }) }),
      fc.record({ kind: fc.constant("apply" as const), write: fc.nat(30), applied: fc.nat(12) }),
      fc.record({ kind: fc.constant("end" as const), write: fc.nat(30) }),
      fc.record({ kind: fc.constant("delete" as const), shard: fc.integer({ min: 0, max: S - 1 }), n: fc.nat(5) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
        const gate = new QuotaGate(S, quotas({ maxTokens: limit }));
        const stored = [0, 0, 0];
        // per write: ticket, its parts still to apply (shard, items), open
        const writes: { ticket: number; parts: { shard: number; items: number }[]; open: boolean }[] = [];
        const pending = () => writes.reduce((sum, w) => sum + (w.open ? w.parts.reduce((s, p) => s + p.items, 0) : 0), 0);
        for (const st of steps) {
          const used = stored[0]! + stored[1]! + stored[2]!;
          if (st.kind === "write") {
            const expected = used + pending() + st.n <= limit;
            let ticket = 0;
            try {
              ticket = gate.reserve(st.n, 0, 0);
            } catch (err) {
              if (!(err instanceof QuotaExceededError)) throw err;
              expect(err).toMatchObject({ usage: used + pending(), limit });
            }
            expect(ticket !== 0).toBe(expected);
            if (ticket === 0) continue;
            const parts = st.shards.map((shard) => ({ shard, items: 0 }));
            for (let i = 0; i < st.n; i++) parts[i % parts.length]!.items++;
            writes.push({ ticket, parts: parts.filter((p) => p.items > 0), open: true });
          } else if (st.kind === "apply") {
            // (A part never applies after its write ended: the shard drops a message past its
            // deadline, and a coordinator ends a write only once its asks settled or expired.)
            const w = writes[st.write];
            if (w === undefined || !w.open) continue;
            const part = w.parts.shift();
            if (part === undefined) continue;
            const applied = Math.min(part.items, st.applied);
            stored[part.shard]! += applied;
            gate.report(part.shard, stored[part.shard]!, 0, 0);
            gate.settle(w.ticket, part.items, 0, 0);
          } else if (st.kind === "end") {
            const w = writes[st.write];
            if (w === undefined || !w.open) continue;
            w.open = false;
            gate.release(w.ticket);
          } else {
            stored[st.shard] = Math.max(0, stored[st.shard]! - st.n);
            gate.report(st.shard, stored[st.shard]!, 0, 0);
          }
          expect(gate.usageOf("tokens")).toBe(stored[0]! + stored[1]! + stored[2]!);
          expect(gate.inFlight().tokens).toBe(pending());
          // never past the limit through admitted writes
          expect(gate.usageOf("tokens") + gate.inFlight().tokens).toBeLessThanOrEqual(limit);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("keeps node totals from per-shard reports (each report replaces that shard's figures)", () => {
    const gate = new QuotaGate(4, quotas({}));
    gate.report(0, 10, 5, 1000);
    gate.report(3, 7, 1, 500);
    gate.report(0, 12, 4, 1100);
    expect(gate.usageOf("tokens")).toBe(19);
    expect(gate.usageOf("connections")).toBe(5);
    expect(gate.usageOf("store_bytes")).toBe(1600);
  });

  it("property: totals equal the sum of each shard's last report", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.nat(1e6), fc.nat(1e6), fc.nat(1e9)), { maxLength: 60 }), (reports) => {
        const gate = new QuotaGate(8);
        const last = new Map<number, [number, number, number]>();
        for (const [s, t, c, b] of reports) {
          gate.report(s, t, c, b);
          last.set(s, [t, c, b]);
        }
        const sum = [0, 0, 0];
        for (const v of last.values()) for (let i = 0; i < 3; i++) sum[i]! += v[i]!;
        expect([gate.usageOf("tokens"), gate.usageOf("connections"), gate.usageOf("store_bytes")]).toEqual(sum);
      }),
    );
  });

  it("admits a write up to exactly the limit and refuses the one beyond, naming quota, usage and limit", () => {
    const gate = new QuotaGate(1, quotas({ maxTokens: 100 }));
    gate.report(0, 90, 0, 0);
    expect(() => gate.admit(10, 0, 0)).not.toThrow();
    const err = refusal(() => gate.admit(11, 0, 0));
    expect(err).toMatchObject({ code: "QUOTA_EXCEEDED", quota: "tokens", usage: 90, limit: 100 });
    expect(err.message).toContain("quota tokens exhausted: usage 90 of limit 100");
    expect(gate.fits(10, 0, 0)).toBe(true);
    expect(gate.fits(11, 0, 0)).toBe(false);
    // Updates and deletes add nothing: always admitted.
    gate.report(0, 100, 0, 0);
    expect(() => gate.admit(0, 0, 0)).not.toThrow();
    expect(gate.snapshot().find((u) => u.quota === "tokens")).toMatchObject({ usage: 100, limit: 100, ratio: 1, level: "hard", refused: 1 });
  });

  it("checks connections and store bytes the same way; 0 in the document means unlimited", () => {
    const gate = new QuotaGate(1, quotas({ maxConnections: 10, maxStoreBytes: 1000 }));
    gate.report(0, 1_000_000, 10, 900);
    expect(refusal(() => gate.admit(0, 1, 0))).toMatchObject({ quota: "connections", usage: 10, limit: 10 });
    expect(refusal(() => gate.admit(1, 0, 101))).toMatchObject({ quota: "store_bytes", usage: 900, limit: 1000 });
    expect(() => gate.admit(1000, 0, 100)).not.toThrow();
    expect(gate.limitOf("tokens")).toBe(Infinity);
  });

  it("refuses every growing write while the last RSS sample is at or above the memory limit", () => {
    const gate = new QuotaGate(1, quotas({ maxMemoryBytes: 1_000_000 }));
    gate.sampleRss(999_999, 1);
    expect(() => gate.admit(1, 0, 64)).not.toThrow();
    gate.sampleRss(1_000_000, 2);
    expect(refusal(() => gate.admit(1, 0, 64))).toMatchObject({ quota: "memory_bytes", usage: 1_000_000, limit: 1_000_000 });
    expect(() => gate.admit(0, 0, 0)).not.toThrow();
    expect(gate.lastRssSampleAt).toBe(2);
  });

  it("reports level changes: soft at the threshold, hard at the limit, normal below soft again", () => {
    const gate = new QuotaGate(2, quotas({ maxTokens: 1000, softThreshold: 0.9 }));
    const changes: [QuotaName, QuotaLevelName, number][] = [];
    gate.onLevelChange((q, level, usage) => changes.push([q, level, usage]));
    gate.report(0, 500, 0, 0);
    gate.report(1, 399, 0, 0);
    gate.report(1, 400, 0, 0);
    gate.report(1, 450, 0, 0);
    gate.report(0, 550, 0, 0);
    gate.report(0, 100, 0, 0);
    expect(changes).toEqual([
      ["tokens", "soft", 900],
      ["tokens", "hard", 1000],
      ["tokens", "normal", 550],
    ]);
    expect(gate.overSoft()).toEqual([]);
  });

  it("re-evaluates levels when a new constitution changes the limits", () => {
    const gate = new QuotaGate(1, quotas({ maxTokens: 1000 }));
    const changes: QuotaLevelName[] = [];
    gate.onLevelChange((_q, level) => changes.push(level));
    gate.report(0, 500, 0, 0);
    gate.setLimits(quotas({ maxTokens: 520 }));
    expect(changes).toEqual(["soft"]);
    expect(gate.overSoft()).toEqual(["tokens"]);
  });

  it("rejects a bad shard count", () => {
    expect(() => new QuotaGate(0)).toThrow(ValidationError);
  });
});

describe("RssSampler", () => {
  it("probes at most once per interval however often it is asked", () => {
    let probes = 0;
    const sampler = new RssSampler(() => {
      probes++;
      return probes * 1000;
    }, 1000);
    const fresh: number[] = [];
    for (let t = 0; t <= 10_000; t += 10) if (sampler.sample(t).fresh) fresh.push(t);
    expect(probes).toBe(11);
    expect(fresh).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000]);
    expect(sampler.sample(10_005)).toEqual({ bytes: 11_000, fresh: false });
    expect(sampler.probeCount).toBe(11);
  });

  it("refuses intervals below one second", () => {
    expect(() => new RssSampler(() => 0, 999)).toThrow(ValidationError);
    expect(() => new RssSampler(() => 0, Number.NaN)).toThrow(ValidationError);
  });
});
