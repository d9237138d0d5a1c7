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
  it("reservations count against the limit until released: concurrent writes cannot both take the last slots", () => {
    const gate = new QuotaGate(2, quotas({ maxTokens: 100, maxConnections: 10 }));
    gate.report(0, 60, 0, 0);
    gate.reserve(30, 0, 0);
    expect(gate.fits(10, 0, 0)).toBe(true);
    expect(refusal(() => gate.reserve(11, 0, 0)).quota).toBe("tokens");
    // the refused reservation holds nothing
    gate.reserve(10, 0, 0);
    expect(gate.fits(1, 0, 0)).toBe(false);
    // the first write applied and reported; its release frees the double count
    gate.report(1, 30, 0, 0);
    gate.release(30, 0, 0);
    gate.release(10, 0, 0);
    expect(gate.fits(10, 0, 0)).toBe(true);
    expect(gate.fits(11, 0, 0)).toBe(false);
    expect(gate.snapshot().find((u) => u.quota === "tokens")?.refused).toBe(1);
    // releasing more than was reserved never makes room that is not there
    gate.release(1000, 1000, 1000);
    expect(gate.fits(11, 0, 0)).toBe(false);
  });

  it("property: a reservation refused or released leaves admission as it was", () => {
    fc.assert(
      fc.property(fc.nat(200), fc.nat(200), fc.nat(200), (used, reserve, probe) => {
        const gate = new QuotaGate(1, quotas({ maxTokens: 300 }));
        gate.report(0, used, 0, 0);
        const before = gate.fits(probe, 0, 0);
        try {
          gate.reserve(reserve, 0, 0);
          gate.release(reserve, 0, 0);
        } catch (err) {
          if (!(err instanceof QuotaExceededError)) throw err;
        }
        return gate.fits(probe, 0, 0) === before;
      }),
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
