/**
 * The constitution and guardian RPCs through a real gRPC server: a real guardian actor (on an
 * actor system) behind `GuardianFrontend`; Activate/Feedback over a real shard store with the
 * guardian's learning functions (the node wires the same functions into its shards).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { status, type ClientReadableStream } from "@grpc/grpc-js";
import { encodeConstitution, defaultConstitution, ConstitutionProfile, Constitution } from "../../../src/core/constitution/index.ts";
import { ErrorCode, QuotaExceededError, ValidationError, FailedPreconditionError } from "../../../src/core/errors.ts";
import type { ShardStore } from "../../../src/core/store/index.ts";
import { Mutability } from "../../../src/core/connection/index.ts";
import {
  GuardianActor,
  GuardianFrontend,
  GuardianHub,
  LearningRule,
  MemoryConstitutionLog,
  ShardGuard,
  applyActivations,
  applyFeedback,
  learningRuleCode,
  type GuardianMessage,
} from "../../../src/actors/guardian/index.ts";
import type { GuardianBackend } from "../../../src/api/guardian-backend.ts";
import type { ConnectionKeys, ItemRejection, WriteOptions } from "../../../src/api/backend.ts";
import { statusToError } from "../../../src/api/errors.ts";
import { ActorSystem } from "../../../src/runtime/index.ts";
import { GuardianEventKind, type GuardianEvent } from "../../../src/gen/neurograph/v1/guardian.ts";
import { call, failure, startHarness, type Harness } from "../api/harness.ts";
import { edgeRecords, storeWithTokens } from "../../unit/guardian/helpers.ts";

function rejections(violations: readonly { index?: number; field: string; value?: string; rule: string; description: string }[]): ItemRejection[] {
  return violations.map((v) => ({ ...v, index: v.index ?? 0, id: 0, code: learningRuleCode(v.rule) }));
}

/** Activate/Feedback over one store, with the strict/partial contract of the API. */
function storeLearning(store: ShardStore, guard: ShardGuard): Pick<GuardianBackend, "activate" | "feedback"> {
  const strictOrThrow = (strict: boolean, violations: readonly { rule: string }[], what: string): void => {
    if (!strict || violations.length === 0) return;
    if (violations.every((v) => v.rule === LearningRule.mutationRate)) throw new QuotaExceededError("mutations", guard.constitution.learning.maxMutationsPerInterval, guard.constitution.learning.maxMutationsPerInterval);
    if (violations.some((v) => v.rule === LearningRule.immutable)) throw new FailedPreconditionError(`${what} refused`, violations as never);
    throw ValidationError.of(what, violations as never);
  };
  return {
    activate(keys: ConnectionKeys, _tokens: Uint32Array, options: WriteOptions) {
      const r = applyActivations(store, keys, Date.now(), guard.strictFor(options.partial));
      strictOrThrow(guard.strictFor(options.partial), r.violations, "activation");
      return Promise.resolve({ accepted: r.applied, rejected: rejections(r.violations), hypothesesCreated: 0 });
    },
    feedback(keys: ConnectionKeys, success: Uint8Array, options: WriteOptions) {
      const strict = guard.strictFor(options.partial);
      const r = applyFeedback(store, keys, success, guard.learning(Date.now()), strict);
      strictOrThrow(strict, r.violations, "feedback");
      return Promise.resolve({ accepted: r.applied, rejected: rejections(r.violations), promoted: r.promoted, deleted: r.removed.count });
    },
  };
}

describe("guardian RPCs over gRPC", () => {
  let h: Harness;
  let system: ActorSystem;
  let hub: GuardianHub;
  let store: ShardStore;

  beforeAll(async () => {
    system = new ActorSystem();
    hub = new GuardianHub({ shardCount: 1 });
    const ref = system.spawn<GuardianMessage>("guardian/test", () => new GuardianActor({ hub, log: new MemoryConstitutionLog() }));
    await system.started(ref);
    const frontend = new GuardianFrontend(ref, hub);
    store = storeWithTokens(10);
    store.connectRecords(edgeRecords([[1, 2, 0x50], [1, 3, 0x50, { mutability: Mutability.Immutable }], [1, 4, 0x50, { mutability: Mutability.Hypothesis }]]));
    const guardian: GuardianBackend = {
      getConstitution: (c) => frontend.getConstitution(c),
      updateConstitution: (r, c) => frontend.updateConstitution(r, c),
      validateConstitution: (r, c) => frontend.validateConstitution(r, c),
      rollbackConstitution: (o, c) => frontend.rollbackConstitution(o, c),
      constitutionHistory: (c) => frontend.constitutionHistory(c),
      guardianStats: (c) => frontend.guardianStats(c),
      watchEvents: (o, c) => frontend.watchEvents(o, c),
      ...storeLearning(store, new ShardGuard(hub, 0)),
    };
    h = await startHarness({}, { guardian });
  });

  afterAll(async () => {
    await h.close();
    await system.shutdown({ force: true });
  });

  const get = () => call(h.admin.getConstitution.bind(h.admin), {});
  const history = () => call(h.admin.getConstitutionHistory.bind(h.admin), { includeDocuments: true });

  it("update → history → rollback round trip returns byte-identical documents", async () => {
    const v1 = await get();
    expect(Buffer.from(v1.document).equals(Buffer.from(encodeConstitution(defaultConstitution())))).toBe(true);
    const v2 = await call(h.admin.updateConstitution.bind(h.admin), {
      constitution: Constitution.fromPartial({ connections: { maxOutDegree: 64 } }),
      updateMask: ["connections.max_out_degree"],
      author: "it",
      comment: "narrower",
    });
    expect(v2.constitution?.metadata).toMatchObject({ version: 2, parentVersion: 1, author: "it", comment: "narrower" });
    expect(v2.constitution?.connections?.maxOutDegree).toBe(64);
    const list = await history();
    expect(list.versions.map((v) => [v.version, v.active])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(list.versions[0]!.checksum).toBe(v1.constitution!.checksum);
    expect(Buffer.from(list.versions[1]!.document).equals(Buffer.from(v2.document))).toBe(true);
    const back = await call(h.admin.rollbackConstitution.bind(h.admin), { author: "it", comment: "" });
    expect(Buffer.from(back.document).equals(Buffer.from(v1.document))).toBe(true);
    expect(Buffer.from((await get()).document).equals(Buffer.from(v1.document))).toBe(true);
    const err = await failure(call(h.admin.rollbackConstitution.bind(h.admin), { author: "", comment: "" }));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
  });

  it("an invalid update fails with INVALID_ARGUMENT listing every violation, and nothing changes", async () => {
    const before = await get();
    const err = await failure(
      call(h.admin.updateConstitution.bind(h.admin), {
        constitution: Constitution.fromPartial({ quotas: { softThreshold: 3 }, learning: { promotionMinSuccessRate: 0.1, deletionMaxSuccessRate: 0.5 }, tokens: { minWeight: 2, maxWeight: 1 } }),
        updateMask: ["quotas.soft_threshold", "learning.promotion_min_success_rate", "learning.deletion_max_success_rate", "tokens.min_weight", "tokens.max_weight"],
        author: "",
        comment: "",
      }),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    const typed = statusToError(err);
    expect(typed).toBeInstanceOf(ValidationError);
    const rules = (typed as ValidationError).violations.map((v) => v.rule);
    expect(rules).toEqual(expect.arrayContaining(["soft_threshold_range", "promotion_deletion_overlap", "range_order"]));
    expect(Buffer.from((await get()).document).equals(Buffer.from(before.document))).toBe(true);
  });

  it("names unknown field-mask paths and refuses a stale expected_version", async () => {
    const err = await failure(call(h.admin.updateConstitution.bind(h.admin), { constitution: Constitution.fromPartial({}), updateMask: ["quotas.nope", "bogus"], author: "", comment: "" }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect((statusToError(err) as ValidationError).violations.map((v) => v.field)).toEqual(["update_mask.paths[0]", "update_mask.paths[1]"]);
    const stale = await failure(
      call(h.admin.updateConstitution.bind(h.admin), { constitution: Constitution.fromPartial({ fields: { stabilitySteps: 4 } }), updateMask: ["fields.stability_steps"], author: "", comment: "", expectedVersion: 99 }),
    );
    expect(stale.code).toBe(status.FAILED_PRECONDITION);
    expect(statusToError(stale).code).toBe(ErrorCode.FailedPrecondition);
  });

  it("ValidateConstitution is a dry run: every violation and the draft, nothing changes", async () => {
    const before = await get();
    const res = await call(h.admin.validateConstitution.bind(h.admin), {
      update: { constitution: Constitution.fromPartial({ physics: { cooling: 2, timeStep: 0 } }), updateMask: ["physics.cooling", "physics.time_step"], author: "", comment: "" },
    });
    expect(res.valid).toBe(false);
    expect(res.violations.map((v) => v.rule).sort()).toEqual(["cooling_range", "positive"]);
    expect(res.draft?.metadata?.version).toBe(before.constitution!.metadata!.version + 1);
    const ok = await call(h.admin.validateConstitution.bind(h.admin), { update: { constitution: Constitution.fromPartial({ physics: { cooling: 0.5 } }), updateMask: ["physics.cooling"], author: "", comment: "" } });
    expect(ok.valid).toBe(true);
    expect(Buffer.from((await get()).document).equals(Buffer.from(before.document))).toBe(true);
  });

  it("SwitchProfile changes what the node enforces (degree limit, strictness); a whole document is accepted too", async () => {
    const analyst = await call(h.admin.switchProfile.bind(h.admin), { profile: ConstitutionProfile.CONSTITUTION_PROFILE_ANALYST, author: "ops", comment: "" });
    expect(analyst.constitution?.connections?.maxOutDegree).toBe(500);
    expect(hub.view.compiled.connections.maxOutDegree).toBe(500);
    expect(hub.view.compiled.strict).toBe(true);
    const bad = await failure(call(h.admin.switchProfile.bind(h.admin), { profile: ConstitutionProfile.CONSTITUTION_PROFILE_UNSPECIFIED, author: "", comment: "" }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    const whole = await call(h.admin.updateConstitution.bind(h.admin), { constitution: defaultConstitution(), updateMask: [], author: "", comment: "back" });
    expect(whole.constitution?.connections?.maxOutDegree).toBe(1000);
    expect(hub.view.compiled.strict).toBe(false);
  });

  it("WatchEvents streams guardian events as they happen", async () => {
    const stream: ClientReadableStream<GuardianEvent> = h.admin.watchEvents({ kinds: [GuardianEventKind.GUARDIAN_EVENT_KIND_CONSTITUTION_UPDATED], buffer: 16 });
    const first = new Promise<GuardianEvent>((resolve, reject) => {
      stream.once("data", resolve);
      stream.once("error", reject);
    });
    // The subscription is made when the call reaches the server; retry the change until it is seen.
    let event: GuardianEvent | undefined;
    for (let i = 0; i < 50 && event === undefined; i++) {
      await call(h.admin.updateConstitution.bind(h.admin), { constitution: Constitution.fromPartial({ fields: { stabilitySteps: 5 + i } }), updateMask: ["fields.stability_steps"], author: "w", comment: "" });
      event = await Promise.race([first, new Promise<undefined>((r) => setTimeout(() => r(undefined), 100))]);
    }
    stream.cancel();
    expect(event?.event?.$case).toBe("constitutionUpdated");
    if (event?.event?.$case === "constitutionUpdated") expect(event.event.value).toMatchObject({ action: "update", author: "w" });
    const bad = h.admin.watchEvents({ kinds: [], buffer: 1_000_000 });
    const err = await new Promise<{ code?: number }>((resolve) => bad.on("error", resolve));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
  });

  it("GetGuardianStats reports validations, rejections by rule and quota usage", async () => {
    const s = await call(h.admin.getGuardianStats.bind(h.admin), {});
    expect(s.validated.find((r) => r.rule === "constitution")?.count).toBeGreaterThanOrEqual(2);
    expect(s.rejected.find((r) => r.rule === "soft_threshold_range")?.count).toBe(1);
    expect(s.quotas.map((q) => q.quota)).toEqual(["tokens", "connections", "store_bytes", "memory_bytes"]);
    expect(s.quotas[0]!.limit).toBe(10_000_000);
    expect(s.rssSampledAtUnixMs).toBeGreaterThan(0);
  });

  it("Feedback and Activate: applied items, rejected ones with rule and status code", async () => {
    const fb = await call(h.graph.feedback.bind(h.graph), {
      items: [
        { connection: { source: 1, target: 2, type: 0x50 }, success: true },
        { connection: { source: 1, target: 3, type: 0x50 }, success: true },
        { connection: { source: 1, target: 9 }, success: false },
      ],
      partial: true,
    });
    expect(fb.applied).toBe(1);
    expect(fb.rejected.map((r) => [r.index, r.rule, r.code])).toEqual([
      [1, "immutable", status.FAILED_PRECONDITION],
      [2, "NOT_FOUND", status.NOT_FOUND],
    ]);
    expect(store.connections.confidence[store.connectionIndex(1, 2, 0x50)]).toBeCloseTo(0.625, 6);
    const strict = await failure(call(h.graph.feedback.bind(h.graph), { items: [{ connection: { source: 1, target: 3, type: 0x50 }, success: true }], partial: false }));
    expect(strict.code).toBe(status.FAILED_PRECONDITION);
    const act = await call(h.graph.activate.bind(h.graph), { connections: [{ source: 1, target: 2 }], tokens: [], partial: false });
    expect(act.activated).toBe(1);
    const missing = await failure(call(h.graph.feedback.bind(h.graph), { items: [{ connection: undefined, success: true }], partial: false }));
    expect(missing.code).toBe(status.INVALID_ARGUMENT);
  });
});
