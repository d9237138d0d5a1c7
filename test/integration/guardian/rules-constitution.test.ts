/**
 * Constitution document rules through AdminService on a real node: every rule an
 * UpdateConstitution can break (`DocumentRule`, plus the edge rules of the request) is refused
 * with INVALID_ARGUMENT and a BadRequest naming field and rule; the active document, the history
 * and what the node enforces stay as they were; ValidateConstitution (the dry run) lists the same
 * violations. Also: a whole list of violations in one update, and profile switches observed in
 * behaviour.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { status } from "@grpc/grpc-js";
import { decodeStatusDetails } from "../../../src/api/errors.ts";
import { Constitution, ConstitutionProfile, DocumentRule, defaultConstitution } from "../../../src/core/constitution/index.ts";
import { Code } from "../../../src/gen/google/rpc/code.ts";
import type { UpdateConstitutionRequest } from "../../../src/gen/neurograph/v1/guardian.ts";
import { Direction, RecordFormat } from "../../../src/gen/neurograph/v1/common.ts";
import { startTestNode, type TestNode } from "../node/harness.ts";
import { call, create, failure, tokensAt, violationsOf } from "./rules-harness.ts";

const exercised = new Set<string>();

const snakeOf = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** A patch request naming every field it sets. */
function patch(sections: Partial<Constitution>, extra: Partial<UpdateConstitutionRequest> = {}): UpdateConstitutionRequest {
  const mask: string[] = [];
  for (const [section, fields] of Object.entries(sections)) for (const key of Object.keys(fields as object)) mask.push(`${section}.${snakeOf(key)}`);
  return { constitution: Constitution.fromPartial(sections), updateMask: mask, author: "rules", comment: "", ...extra };
}

function typesWith(extra: number): Buffer {
  const bits = Buffer.alloc(32);
  for (let t = 0; t < 0xb0; t++) bits[t >> 3]! |= 1 << (t & 7);
  bits[extra >> 3]! |= 1 << (extra & 7);
  return bits;
}

/** Rules no UpdateConstitution can break: the update sets versions and checksum itself, and the wire carries only booleans and well-formed UTF-8 where these apply. */
const NOT_REACHABLE_BY_UPDATE = new Set<string>([
  DocumentRule.versionPositive,
  DocumentRule.parentVersion,
  DocumentRule.versionSequence,
  DocumentRule.checksumMismatch,
  DocumentRule.malformed,
  DocumentRule.nonCanonical,
  DocumentRule.boolean,
  DocumentRule.textEncoding,
  // uint32 / uint64 fields carry only non-negative integers; a uint64 past 2^53 fails decoding
  // before the guardian sees it (tested below).
  DocumentRule.integer,
]);

describe("constitution rules through gRPC", () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode();
    await create(t, tokensAt(1, 8));
  });
  afterAll(async () => t.close());

  const get = () => call(t.admin.getConstitution.bind(t.admin), {});
  const history = () => call(t.admin.getConstitutionHistory.bind(t.admin), { includeDocuments: true });

  const CASES: { rule: string; field: string; request: UpdateConstitutionRequest }[] = [
    { rule: DocumentRule.sectionMissing, field: "fields", request: { constitution: { ...defaultConstitution(), fields: undefined }, updateMask: [], author: "", comment: "" } },
    { rule: DocumentRule.finite, field: "physics.spring_constant", request: patch({ physics: { springConstant: NaN } as never }) },
    { rule: DocumentRule.rangeOrder, field: "tokens.min_weight", request: patch({ tokens: { minWeight: 2 } as never }) },
    { rule: DocumentRule.bounds, field: "connections.max_pull_strength", request: patch({ connections: { maxPullStrength: 20 } as never }) },
    { rule: DocumentRule.byteRange, field: "tokens.max_radius_raw", request: patch({ tokens: { maxRadiusRaw: 300 } as never }) },
    { rule: DocumentRule.positive, field: "physics.time_step", request: patch({ physics: { timeStep: 0 } as never }) },
    { rule: DocumentRule.nonNegative, field: "physics.gravity", request: patch({ physics: { gravity: -1 } as never }) },
    { rule: DocumentRule.unitInterval, field: "sampling.slow_keep_share", request: patch({ sampling: { slowKeepShare: 2 } as never }) },
    { rule: DocumentRule.profileUnknown, field: "metadata.profile", request: patch({ metadata: { profile: 9 } as never }) },
    { rule: DocumentRule.textLength, field: "metadata.author", request: patch({ fields: { stabilitySteps: 7 } as never }, { author: "x".repeat(300) }) },
    { rule: DocumentRule.allowedTypesSize, field: "connections.allowed_types", request: patch({ connections: { allowedTypes: Buffer.alloc(16, 0xff) } as never }) },
    { rule: DocumentRule.allowedTypesUndefined, field: "connections.allowed_types", request: patch({ connections: { allowedTypes: typesWith(0xf0) } as never }) },
    { rule: DocumentRule.spaceMask, field: "physics.active_spaces", request: patch({ physics: { activeSpaces: 0x1ff } as never }) },
    { rule: DocumentRule.cellSizeCount, field: "physics.cell_size", request: patch({ physics: { cellSize: [1, 2] } as never }) },
    { rule: DocumentRule.cellSizeResolution, field: "physics.cell_size[1]", request: patch({ physics: { cellSize: [1, 0.00001, 1, 1, 1, 1, 1, 1] } as never }) },
    { rule: DocumentRule.coolingRange, field: "physics.cooling", request: patch({ physics: { cooling: 2 } as never }) },
    { rule: DocumentRule.hierarchyLevels, field: "fields.hierarchy_max_levels", request: patch({ fields: { hierarchyMaxLevels: 16 } as never }) },
    { rule: DocumentRule.promotionDeletionOverlap, field: "learning.deletion_max_success_rate", request: patch({ learning: { deletionMaxSuccessRate: 0.9 } as never }) },
    { rule: DocumentRule.hypothesisConfidenceOrder, field: "learning.hypothesis_initial_confidence", request: patch({ learning: { hypothesisInitialConfidence: 0.05 } as never }) },
    { rule: DocumentRule.hypothesisTypeNotAllowed, field: "learning.hypothesis_type", request: patch({ learning: { hypothesisType: 0xf0 } as never }) },
    { rule: DocumentRule.hypothesisOutOfLimits, field: "learning.hypothesis_pull_strength", request: patch({ learning: { hypothesisPullStrength: 20 } as never }) },
    { rule: DocumentRule.softThresholdRange, field: "quotas.soft_threshold", request: patch({ quotas: { softThreshold: 0 } as never }) },
    { rule: DocumentRule.rssSampleInterval, field: "quotas.rss_sample_interval_ms", request: patch({ quotas: { rssSampleIntervalMs: 10 } as never }) },
    { rule: DocumentRule.adjustInterval, field: "sampling.adjust_interval_ms", request: patch({ sampling: { adjustIntervalMs: 10 } as never }) },
    { rule: DocumentRule.baseRateBounds, field: "sampling.base_rate", request: patch({ sampling: { minRate: 0.5, baseRate: 0.1 } as never }) },
    { rule: DocumentRule.unknownField, field: "update_mask.paths[0]", request: { ...patch({}), updateMask: ["quotas.nope"] } },
    { rule: "duplicate_path", field: "update_mask.paths[1]", request: { ...patch({ fields: { stabilitySteps: 7 } as never }), updateMask: ["fields.stability_steps", "fields.stability_steps"] } },
    { rule: "required", field: "constitution", request: { constitution: undefined, updateMask: [], author: "", comment: "" } },
  ];

  CASES.forEach(({ rule, field, request }) => {
    it(`${rule} (${field}): INVALID_ARGUMENT naming it; nothing changes; the dry run agrees`, async () => {
      const before = await get();
      const versions = await history();
      const err = await failure(call(t.admin.updateConstitution.bind(t.admin), request));
      expect(err.code, err.details).toBe(status.INVALID_ARGUMENT);
      const listed = violationsOf(decodeStatusDetails(err.metadata), "items");
      expect(listed).toContainEqual({ field, rule });
      expect(Buffer.from((await get()).document).equals(Buffer.from(before.document))).toBe(true);
      expect(await history()).toEqual(versions);
      if (field !== "update_mask.paths[0]" && field !== "update_mask.paths[1]" && field !== "constitution") {
        const dry = await call(t.admin.validateConstitution.bind(t.admin), { update: request });
        expect(dry.valid).toBe(false);
        expect(dry.violations.map((v) => ({ field: v.field, rule: v.rule }))).toEqual(listed);
      }
      exercised.add(rule);
    });
  });

  it("a uint64 beyond 2^53 in a document is INVALID_ARGUMENT, not an internal error", async () => {
    const before = await get();
    const err = await failure(call(t.admin.updateConstitution.bind(t.admin), patch({ quotas: { maxTokens: 2 ** 60 } as never })));
    expect(err.code, err.details).toBe(status.INVALID_ARGUMENT);
    expect(violationsOf(decodeStatusDetails(err.metadata), "items")).toEqual([{ field: "", rule: "malformed_request" }]);
    expect(Buffer.from((await get()).document).equals(Buffer.from(before.document))).toBe(true);
  });

  it("an update with many problems is refused whole, listing every one of them", async () => {
    const before = await get();
    const request = patch({
      tokens: { minWeight: 2, maxRadiusRaw: 300 } as never,
      physics: { cooling: 2, timeStep: 0, gravity: -1 } as never,
      learning: { deletionMaxSuccessRate: 0.9, hypothesisType: 0xf0 } as never,
      quotas: { softThreshold: 0, rssSampleIntervalMs: 10 } as never,
      fields: { stabilitySteps: 9 } as never, // valid: must not be applied either
    });
    const err = await failure(call(t.admin.updateConstitution.bind(t.admin), request));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    const d = decodeStatusDetails(err.metadata);
    const listed = violationsOf(d, "items").map((v) => `${v.field}:${v.rule}`).sort();
    expect(listed).toEqual(
      [
        "tokens.min_weight:range_order",
        "tokens.max_radius_raw:byte_range",
        "physics.cooling:cooling_range",
        "physics.time_step:positive",
        "physics.gravity:non_negative",
        "learning.deletion_max_success_rate:promotion_deletion_overlap",
        "learning.hypothesis_type:hypothesis_type_not_allowed",
        "quotas.soft_threshold:soft_threshold_range",
        "quotas.rss_sample_interval_ms:rss_sample_interval",
      ].sort(),
    );
    expect(d.errorInfo?.metadata["violations_total"]).toBe("9");
    const now = await get();
    expect(Buffer.from(now.document).equals(Buffer.from(before.document))).toBe(true);
    expect(now.constitution?.fields?.stabilitySteps).toBe(before.constitution?.fields?.stabilitySteps);
  });

  it("a stale expected_version is FAILED_PRECONDITION naming the active version", async () => {
    const before = await get();
    const err = await failure(call(t.admin.updateConstitution.bind(t.admin), patch({ fields: { stabilitySteps: 7 } as never }, { expectedVersion: 99 })));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(violationsOf(decodeStatusDetails(err.metadata), "items")).toEqual([{ field: "expected_version", rule: "version_mismatch" }]);
    expect(Buffer.from((await get()).document).equals(Buffer.from(before.document))).toBe(true);
  });

  it("profile switches change what the node does: explorer proposes hypotheses sooner, analyst makes partial batches strict", async () => {
    const switchTo = (profile: ConstitutionProfile) => call(t.admin.switchProfile.bind(t.admin), { profile, author: "rules", comment: "" });
    const coactivate = async (a: number, b: number, times: number) => {
      let created = 0;
      for (let i = 0; i < times; i++) created += (await call(t.graph.activate.bind(t.graph), { connections: [], tokens: [a, b], partial: false })).hypothesesCreated;
      return created;
    };
    // Default: 3 co-activations are not enough (5 are needed); under explorer they are.
    expect(await coactivate(1, 2, 3)).toBe(0);
    await switchTo(ConstitutionProfile.CONSTITUTION_PROFILE_EXPLORER);
    // (Tokens activated within the window count together, so 1 and 2 may pair with 3 and 4 too.)
    expect(await coactivate(3, 4, 3)).toBeGreaterThanOrEqual(1);
    const linked = await call(t.graph.getConnections.bind(t.graph), { ids: [3, 4], direction: Direction.DIRECTION_OUT, connectionTypes: [], limit: 0, format: RecordFormat.RECORD_FORMAT_PACKED });
    const pairs = Array.from({ length: linked.records.length / 64 }, (_, i) => Buffer.from(linked.records).readUInt32LE(i * 64 + 4));
    expect(pairs.some((b) => b === 3 || b === 4)).toBe(true);
    // Analyst: one bad item refuses a partial batch whole.
    const mixed = () => create(t, [{ id: 100 }, { id: 101, weight: 2 }], true);
    await switchTo(ConstitutionProfile.CONSTITUTION_PROFILE_ANALYST);
    const strict = await failure(mixed());
    expect(strict.code).toBe(status.INVALID_ARGUMENT);
    const ids = await call(t.tokens.getTokens.bind(t.tokens), { ids: [100], format: RecordFormat.RECORD_FORMAT_NONE, allowMissing: true });
    expect(ids.missing).toEqual([100]);
    const profileErr = await failure(switchTo(ConstitutionProfile.CONSTITUTION_PROFILE_UNSPECIFIED));
    expect(profileErr.code).toBe(status.INVALID_ARGUMENT);
    expect(violationsOf(decodeStatusDetails(profileErr.metadata), "items")).toEqual([{ field: "profile", rule: DocumentRule.profileUnknown }]);
    await switchTo(ConstitutionProfile.CONSTITUTION_PROFILE_DEFAULT);
    const partial = await mixed();
    expect(partial.accepted).toBe(1);
    expect(partial.rejected.map((r) => [r.index, r.code])).toEqual([[1, Code.INVALID_ARGUMENT]]);
  });

  it("update → history → rollback on a node: byte-identical documents, and the node enforces the old limits again", async () => {
    const v1 = await get();
    const v2 = await call(t.admin.updateConstitution.bind(t.admin), patch({ tokens: { maxWeight: 0.5 } as never }));
    const listed = await history();
    const last = listed.versions.at(-1)!;
    expect(last.active).toBe(true);
    expect(Buffer.from(last.document).equals(Buffer.from(v2.document))).toBe(true);
    expect(Buffer.from(listed.versions.at(-2)!.document).equals(Buffer.from(v1.document))).toBe(true);
    expect((await failure(create(t, [{ id: 200, weight: 0.75 }]))).code).toBe(status.INVALID_ARGUMENT);
    const back = await call(t.admin.rollbackConstitution.bind(t.admin), { author: "rules", comment: "" });
    expect(Buffer.from(back.document).equals(Buffer.from(v1.document))).toBe(true);
    expect(Buffer.from((await get()).document).equals(Buffer.from(v1.document))).toBe(true);
    expect((await create(t, [{ id: 200, weight: 0.75 }])).accepted).toBe(1);
  });

  it("every document rule is tested here or named as not reachable by an update", () => {
    expect(Object.values(DocumentRule).filter((r) => !exercised.has(r) && !NOT_REACHABLE_BY_UPDATE.has(r))).toEqual([]);
  });
});
