import { describe, expect, it } from "vitest";
import {
  ConstitutionHistory,
  constitutionForProfile,
  defaultConstitution,
  encodeConstitution,
  nextVersion,
} from "../../../src/core/constitution/index.ts";
import { QuotaExceededError } from "../../../src/core/errors.ts";
import { GuardianHub, MemoryConstitutionLog, ShardGuard, ShardLogConstitutionLog, activeConstitution, replayConstitutionLog } from "../../../src/actors/guardian/index.ts";
import { VolatileShardLog, type AppendTicket, type RecoveryHandler, type RecoveryReport, type ShardMutation } from "../../../src/actors/shard-log.ts";
import { MetricsRegistry } from "../../../src/telemetry/index.ts";
import { parseExposition } from "../telemetry/exposition.ts";
import { NOW_S, edgeRecords, sameBytes, tokenRecords } from "./helpers.ts";

function hubWith(profile: "default" | "analyst" = "default", metrics?: MetricsRegistry): GuardianHub {
  return new GuardianHub({ shardCount: 2, initial: constitutionForProfile(profile), ...(metrics === undefined ? {} : { metrics }) });
}

describe("ShardGuard: batch validation", () => {
  it("non-strict: valid items pass, invalid ones are named with index, field, value and rule; one event per batch", () => {
    const hub = hubWith();
    const guard = new ShardGuard(hub, 1);
    const sub = hub.events.subscribe();
    const records = tokenRecords([1, 3, 5, 7]);
    new DataView(records.buffer).setFloat32(64 + 54, 5, true); // item 1: weight 5 > max 1
    records[3 * 64 + 58] = 0; // fine
    new DataView(records.buffer).setUint32(3 * 64 + 60, NOW_S + 100_000, true); // item 3: timestamp far in the future
    const v = guard.validateTokens(records, NOW_S, true, true);
    expect(v.wholeBatchRejected).toBe(false);
    expect([...v.rejected]).toEqual([0, 1, 0, 1]);
    expect(v.violations.map((x) => [x.index, x.field, x.rule])).toEqual([
      [1, "weight", "weight_range"],
      [3, "timestamp", "timestamp_future"],
    ]);
    expect(v.violations[0]?.value).toBe("5");
    const events = sub.poll();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: "validation_failed", source: "shard/1", itemKind: "token", items: 4, rejected: 2, wholeBatch: false });
  });

  it("strict (the request's or the constitution's): one bad item rejects the whole batch", () => {
    const guard = new ShardGuard(hubWith(), 0);
    const records = edgeRecords([[2, 4, 0x50], [2, 6, 0x50, { pullStrength: 50 }]]);
    const strict = guard.validateConnections(records, false);
    expect(strict.wholeBatchRejected).toBe(true);
    expect(strict.acceptedCount).toBe(0);
    expect(strict.violations).toMatchObject([{ index: 1, field: "pull_strength", rule: "pull_strength_range" }]);
    const analyst = new ShardGuard(hubWith("analyst"), 0);
    expect(analyst.validateConnections(records, true).wholeBatchRejected).toBe(true);
  });

  it("valid batches produce no event and count validations by kind (Prometheus too)", async () => {
    const metrics = new MetricsRegistry();
    const hub = hubWith("default", metrics);
    const guard = new ShardGuard(hub, 0);
    const sub = hub.events.subscribe();
    guard.validateTokens(tokenRecords([2, 4]), NOW_S, false, false);
    guard.validateConnections(edgeRecords([[2, 4, 0x50, { rigidity: 2 }]]), true);
    expect(sub.poll()).toHaveLength(1);
    const s = hub.stats.snapshot();
    expect(s.validated).toEqual([
      { rule: "connection", count: 1 },
      { rule: "token", count: 2 },
    ]);
    expect(s.rejected).toEqual([{ rule: "rigidity_range", count: 1 }]);
    const samples = parseExposition(await metrics.metrics()).samples;
    const value = (name: string, label: string, v: string): number | undefined => samples.find((x) => x.name === name && x.labels[label] === v)?.value;
    expect(value("neurograph_guardian_validations_total", "kind", "token")).toBe(2);
    expect(value("neurograph_guardian_rejections_total", "rule", "rigidity_range")).toBe(1);
  });

  it("admits writes against node-wide totals reported by every shard", () => {
    const hub = new GuardianHub({ shardCount: 2, initial: nextVersion(defaultConstitution(), { quotas: { maxTokens: 10 } }, { createdAtUnixMs: 1 }) });
    const a = new ShardGuard(hub, 0);
    const b = new ShardGuard(hub, 1);
    a.report({ size: 6, connectionCount: 0, byteSize: () => 0 });
    b.report({ size: 3, connectionCount: 0, byteSize: () => 0 });
    expect(b.fits(1, 0)).toBe(true);
    expect(() => b.admit(2, 0)).toThrow(QuotaExceededError);
  });
});

describe("constitution log replay", () => {
  it("rebuilds updates and rollbacks exactly; a pruned log starts afresh from its first record", async () => {
    const v1 = defaultConstitution();
    const v2 = nextVersion(v1, { fields: { stabilitySteps: 2 } }, { createdAtUnixMs: 2 });
    const v3 = nextVersion(v2, { fields: { stabilitySteps: 3 } }, { createdAtUnixMs: 3 });
    const log = new MemoryConstitutionLog();
    for (const d of [v1, v2, v3, v2]) await log.append(encodeConstitution(d));
    const h = replayConstitutionLog(await log.load(), 10)!;
    expect(h.list().map((e) => e.version)).toEqual([1, 2]);
    expect(sameBytes(h.current().bytes, encodeConstitution(v2))).toBe(true);
    const pruned = replayConstitutionLog([encodeConstitution(v3)], 10)!;
    expect(pruned.list().map((e) => e.version)).toEqual([3]);
    expect(replayConstitutionLog([], 10)).toBeUndefined();
    const reference = new ConstitutionHistory(v1, 10);
    reference.push(v2);
    expect(sameBytes(reference.current().bytes, h.current().bytes)).toBe(true);
    expect(activeConstitution(h.current().bytes).compiled.fields.stabilitySteps).toBe(2);
  });
});

describe("ShardLogConstitutionLog", () => {
  /** A shard log that keeps its mutations in memory (the WAL's contract without LMDB). */
  class KeepingLog extends VolatileShardLog {
    readonly kept: ShardMutation[] = [];
    constructor(private readonly earlier: readonly ShardMutation[] = []) {
      super();
    }
    override recover(handler: RecoveryHandler): Promise<RecoveryReport> {
      this.earlier.forEach((m, i) => handler.apply(m, i + 1));
      return super.recover(handler);
    }
    override append(m: ShardMutation): AppendTicket {
      this.kept.push(m);
      return super.append(m);
    }
  }

  it("stores documents as constitution.set mutations and reads them back in order, skipping other mutations", async () => {
    const v1 = encodeConstitution(defaultConstitution());
    const v2 = encodeConstitution(nextVersion(defaultConstitution(), { fields: { stabilitySteps: 2 } }, { createdAtUnixMs: 2 }));
    const first = new KeepingLog();
    const log = new ShardLogConstitutionLog(first);
    await expect(log.append(v1)).rejects.toThrow(/load the constitution log/);
    expect(await log.load()).toEqual([]);
    await log.append(v1);
    await log.append(v2);
    expect(first.kept.map((m) => m.kind)).toEqual(["constitution.set", "constitution.set"]);
    expect((await log.load()).map((d) => sameBytes(d, v2))).toEqual([false, true]);
    const reopened = new ShardLogConstitutionLog(new KeepingLog([first.kept[0]!, { kind: "tokens.delete", ids: Uint32Array.of(1) }, first.kept[1]!]));
    const docs = await reopened.load();
    expect(docs).toHaveLength(2);
    expect(sameBytes(docs[0]!, v1) && sameBytes(docs[1]!, v2)).toBe(true);
  });
});
