import { afterEach, describe, expect, it } from "vitest";
import {
  ConstitutionProfile,
  constitutionForProfile,
  decodeConstitution,
  defaultConstitution,
  encodeConstitution,
} from "../../../src/core/constitution/index.ts";
import { DataLossError, FailedPreconditionError, UnavailableError, ValidationError } from "../../../src/core/errors.ts";
import { MemoryConstitutionLog, ShardGuard, replayConstitutionLog, type GuardianEvent } from "../../../src/actors/guardian/index.ts";
import { NOW_MS, edgeRecords, sameBytes, startGuardian, stopGuardians, storeWithTokens } from "./helpers.ts";

afterEach(stopGuardians);

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

describe("GuardianActor: constitution", () => {
  it("starts from the initial document and makes it durable", async () => {
    const g = await startGuardian();
    const active = await g.ref.ask({ type: "guardian.get" });
    expect(active.compiled.version).toBe(1);
    expect(g.log.length).toBe(1);
    expect(sameBytes(g.log.record(0)!, encodeConstitution(defaultConstitution()))).toBe(true);
  });

  it("update → history → rollback returns the previous document byte for byte (never skipping one)", async () => {
    const g = await startGuardian();
    const v1 = (await g.ref.ask({ type: "guardian.get" })).bytes;
    const v2 = await g.ref.ask({ type: "guardian.update", request: { patch: { connections: { maxOutDegree: 7 } }, author: "ops", comment: "tighter" } });
    expect(v2.compiled.version).toBe(2);
    expect(v2.document.metadata).toMatchObject({ version: 2, parentVersion: 1, author: "ops", comment: "tighter", createdAtUnixMs: NOW_MS });
    const v3 = await g.ref.ask({ type: "guardian.update", request: { profile: "explorer" } });
    expect(v3.compiled.version).toBe(3);

    const history = await g.ref.ask({ type: "guardian.history" });
    expect(history.map((h) => [h.version, h.active])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    expect(history[1]).toMatchObject({ author: "ops", comment: "tighter", checksum: v2.compiled.checksum });

    const back = await g.ref.ask({ type: "guardian.rollback" });
    expect(sameBytes(back.bytes, v2.bytes)).toBe(true);
    expect(back.compiled.version).toBe(2);
    const back2 = await g.ref.ask({ type: "guardian.rollback" });
    expect(sameBytes(back2.bytes, v1)).toBe(true);
    expect(await caught(g.ref.ask({ type: "guardian.rollback" }))).toBeInstanceOf(FailedPreconditionError);
    // The log holds every activation in order: v1, v2, v3, v2, v1.
    expect(g.log.length).toBe(5);
    expect(sameBytes(g.log.record(3)!, v2.bytes)).toBe(true);
    // After a rollback to 1 the next update is version 2 again.
    const again = await g.ref.ask({ type: "guardian.update", request: { patch: { fields: { stabilitySteps: 3 } } } });
    expect(again.compiled.version).toBe(2);
  });

  it("rejects an invalid update whole, listing every violation, and changes nothing", async () => {
    const g = await startGuardian();
    const sub = g.hub.events.subscribe();
    const before = g.hub.view.current;
    const err = await caught(
      g.ref.ask({
        type: "guardian.update",
        request: { patch: { connections: { minPullStrength: 5, maxPullStrength: -5 }, quotas: { softThreshold: 2 }, tokens: { maxRadiusRaw: 300 } } },
      }),
    );
    expect(err).toBeInstanceOf(ValidationError);
    const rules = (err as ValidationError).violations.map((v) => v.rule).sort();
    expect(rules).toEqual(expect.arrayContaining(["range_order", "soft_threshold_range", "byte_range"]));
    expect((err as ValidationError).violations.length).toBeGreaterThanOrEqual(3);
    expect(g.hub.view.current).toBe(before);
    expect(g.log.length).toBe(1);
    expect((await g.ref.ask({ type: "guardian.history" })).length).toBe(1);
    const events = sub.poll();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: "validation_failed", source: "guardian", itemKind: "constitution", items: 1, rejected: 1, wholeBatch: true });
    expect(g.hub.stats.rejectedCount("soft_threshold_range")).toBe(1);
  });

  it("a dry run returns the draft and every violation and changes nothing", async () => {
    const g = await startGuardian();
    const before = g.hub.view.current;
    const ok = await g.ref.ask({ type: "guardian.validate", request: { patch: { learning: { maxMutationsPerInterval: 5 } } } });
    expect(ok.valid).toBe(true);
    expect(ok.draft.metadata?.version).toBe(2);
    expect(ok.draft.learning?.maxMutationsPerInterval).toBe(5);
    const bad = await g.ref.ask({ type: "guardian.validate", request: { patch: { learning: { promotionMinSuccessRate: 1.5 }, nope: {} } as never } });
    expect(bad.valid).toBe(false);
    expect(bad.violations.map((v) => v.rule).sort()).toEqual(["unit_interval", "unknown_field"].sort());
    expect(g.hub.view.current).toBe(before);
    expect(g.log.length).toBe(1);
  });

  it("accepts a whole document, ignoring its version fields; a document missing a section is refused", async () => {
    const g = await startGuardian();
    const doc = constitutionForProfile("analyst", 123);
    const next = await g.ref.ask({ type: "guardian.update", request: { document: doc } });
    expect(next.compiled.version).toBe(2);
    expect(next.compiled.strict).toBe(true);
    expect(next.compiled.profile).toBe(ConstitutionProfile.CONSTITUTION_PROFILE_ANALYST);
    const partial = { ...doc, fields: undefined };
    const err = await caught(g.ref.ask({ type: "guardian.update", request: { document: partial } }));
    expect((err as ValidationError).violations).toMatchObject([{ field: "fields", rule: "section_missing" }]);
    const two = await caught(g.ref.ask({ type: "guardian.update", request: { document: doc, profile: "default" } }));
    expect((two as ValidationError).violations[0]?.rule).toBe("change_kind");
  });

  it("refuses a change made against a stale version", async () => {
    const g = await startGuardian();
    await g.ref.ask({ type: "guardian.update", request: { patch: { fields: { stabilitySteps: 2 } } } });
    const err = await caught(g.ref.ask({ type: "guardian.update", request: { patch: { fields: { stabilitySteps: 3 } }, expectedVersion: 1 } }));
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect(await caught(g.ref.ask({ type: "guardian.rollback", expectedVersion: 1 }))).toBeInstanceOf(FailedPreconditionError);
    expect(g.hub.view.version).toBe(2);
  });

  it("a change the log cannot make durable fails with UNAVAILABLE and nothing changes", async () => {
    const g = await startGuardian();
    g.log.failNextAppend = new Error("disk full");
    const err = await caught(g.ref.ask({ type: "guardian.update", request: { patch: { fields: { stabilitySteps: 2 } } } }));
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toContain("disk full");
    expect(g.hub.view.version).toBe(1);
    expect((await g.ref.ask({ type: "guardian.history" })).length).toBe(1);
  });

  it("a profile switch changes the compiled view every shard reads, with no message to the shards", async () => {
    const g = await startGuardian();
    const guard = new ShardGuard(g.hub, 0);
    const store = storeWithTokens(1200);
    const out = (from: number, to: number): Uint8Array => edgeRecords(Array.from({ length: to - from }, (_, i) => [1, from + i + 2, 0x50] as const));
    await g.ref.ask({ type: "guardian.update", request: { profile: "analyst" } });
    expect(guard.constitution.connections.maxOutDegree).toBe(500);
    expect(guard.strictFor(true)).toBe(true);
    const r1 = store.connectRecords(out(0, 600), { strict: false, limits: guard.limits(0).connections });
    expect(r1.applied).toBe(500);
    expect(r1.violations.every((v) => v.rule === "max_out_degree")).toBe(true);
    await g.ref.ask({ type: "guardian.update", request: { profile: "explorer" } });
    expect(guard.constitution.connections.maxOutDegree).toBe(2000);
    expect(guard.strictFor(true)).toBe(false);
    const r2 = store.connectRecords(out(500, 1100), { strict: false, limits: guard.limits(0).connections });
    expect(r2.applied).toBe(600);
    expect(store.outDegree(1)).toBe(1100);
  });

  it("recovers its history from the log after a restart; rollback still restores the exact previous version", async () => {
    const log = new MemoryConstitutionLog();
    const g1 = await startGuardian({ log });
    const v2 = await g1.ref.ask({ type: "guardian.update", request: { profile: "creative" } });
    await g1.ref.ask({ type: "guardian.update", request: { patch: { fields: { minFieldTokens: 3 } } } });
    await g1.ref.ask({ type: "guardian.rollback" });
    await g1.ref.ask({ type: "guardian.update", request: { patch: { fields: { minFieldTokens: 4 } } } });
    await stopGuardians();

    const g2 = await startGuardian({ log });
    const active = await g2.ref.ask({ type: "guardian.get" });
    expect(active.compiled.version).toBe(3);
    expect(active.document.fields?.minFieldTokens).toBe(4);
    expect((await g2.ref.ask({ type: "guardian.history" })).map((h) => h.version)).toEqual([1, 2, 3]);
    const back = await g2.ref.ask({ type: "guardian.rollback" });
    expect(sameBytes(back.bytes, v2.bytes)).toBe(true);
    expect(g2.hub.view.compiled.profile).toBe(ConstitutionProfile.CONSTITUTION_PROFILE_CREATIVE);
  });

  it("announces every change as an event and in the black box", async () => {
    const g = await startGuardian();
    const sub = g.hub.events.subscribe({ kinds: ["constitution_updated"] });
    await g.ref.ask({ type: "guardian.update", request: { profile: "explorer", author: "a", comment: "c" } });
    await g.ref.ask({ type: "guardian.rollback", author: "b" });
    const events = sub.poll();
    expect(events).toMatchObject([
      { kind: "constitution_updated", action: "switch_profile", fromVersion: 1, toVersion: 2, profile: "explorer", author: "a", comment: "c" },
      { kind: "constitution_updated", action: "rollback", fromVersion: 2, toVersion: 1, profile: "default", author: "b" },
    ]);
    const changes = g.blackBox.events().filter((e) => e.kind === "constitution_change");
    expect(changes.map((e) => [e.attributes.from_version, e.attributes.to_version, e.attributes.action])).toEqual([
      [1, 2, "switch_profile"],
      [2, 1, "rollback"],
    ]);
  });

  it("refuses to start from a damaged constitution log", async () => {
    const log = new MemoryConstitutionLog();
    const doc = decodeConstitution(encodeConstitution(defaultConstitution()));
    doc.quotas!.softThreshold = 5;
    await log.append(encodeConstitution(defaultConstitution()));
    await log.append(encodeConstitution(doc));
    expect(() => replayConstitutionLog([encodeConstitution(defaultConstitution()), encodeConstitution(doc)], 10)).toThrow(DataLossError);
    expect(() => replayConstitutionLog([Uint8Array.of(0xff, 0xff)], 10)).toThrow(/record 0 of the constitution log/);
    const err = await caught(startGuardian({ log, spawn: { supervision: { maxRestarts: 0 } } }));
    expect(err).toBeInstanceOf(UnavailableError);
  });
});

describe("GuardianActor: events stream", () => {
  it("keeps a slow subscriber bounded while a fast one sees everything", async () => {
    const g = await startGuardian();
    const slow = g.hub.events.subscribe({ capacity: 2 });
    const fast = g.hub.events.subscribe();
    for (let i = 0; i < 6; i++) await g.ref.ask({ type: "guardian.update", request: { patch: { fields: { stabilitySteps: i + 2 } } } });
    expect(fast.poll().map((e: GuardianEvent) => (e.kind === "constitution_updated" ? e.toVersion : 0))).toEqual([2, 3, 4, 5, 6, 7]);
    const s = slow.poll();
    expect(s[0]).toMatchObject({ kind: "dropped", count: 4 });
    expect(s.slice(1).map((e) => (e.kind === "constitution_updated" ? e.toVersion : 0))).toEqual([6, 7]);
  });
});
