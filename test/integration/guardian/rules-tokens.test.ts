/**
 * Every token rule a client can break through the gRPC API, on a real node: one bad item among
 * good ones spanning the shards, strict (refused whole: status code, detail naming index, field
 * and rule, nothing changed) and partial (the good items applied, the bad one reported).
 * Covers the record rules (`TokenRule`), the edge rules of packed and structured batches, and
 * the store rules of token writes (`StoreRule`).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { status } from "@grpc/grpc-js";
import { TokenRule } from "../../../src/core/token/index.ts";
import { StoreRule } from "../../../src/core/store/index.ts";
import { Code } from "../../../src/gen/google/rpc/code.ts";
import { RecordFormat } from "../../../src/gen/neurograph/v1/common.ts";
import type { EntityType, Token } from "../../../src/gen/neurograph/v1/token.ts";
import { packTokens, structuredToken, type TokenSpec } from "../api/fixtures.ts";
import { startTestNode, type TestNode } from "../node/harness.ts";
import { NOW_S, call, connectPacked, create, createPacked, ingest, packEdges, refused, tokensAt, withConstitution } from "./rules-harness.ts";

/** Rules exercised by this file, checked against the code's rule sets at the end. */
const exercised = new Set<string>();
const BASE = [1, 2, 3, 4, 5, 6, 7, 8];

describe("token rules through gRPC", () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode([], {
      // Radius and strength narrowed so their rules can be broken at all (a raw byte is 0..255).
      guardian: { initialConstitution: withConstitution((c) => ({ ...c, tokens: { ...c.tokens!, maxRadiusRaw: 200, maxStrengthRaw: 200 } })) },
      apiLimits: { maxBatchItems: 64, defaultResultLimit: 1000, maxResultLimit: 100_000, defaultTraversalNodes: 10_000, maxTraversalNodes: 1_000_000, maxDepth: 64, maxReportedRejections: 1000 },
    });
    await create(t, tokensAt(1, 8));
    await connectPacked(t, packEdges([{ source: 1, target: 2 }, { source: 3, target: 6 }]));
  });
  afterAll(async () => t.close());

  const update = (records: Buffer, partial = false) => call(t.tokens.updateTokens.bind(t.tokens), { tokens: { payload: { $case: "packed", value: records } }, partial });
  const createStructured = (tokens: Token[], partial = false) => call(t.tokens.createTokens.bind(t.tokens), { tokens: { payload: { $case: "structured", value: { tokens } } }, partial });
  const present = async (ids: number[]) => {
    const r = await call(t.tokens.getTokens.bind(t.tokens), { ids, format: RecordFormat.RECORD_FORMAT_NONE, allowMissing: true });
    return ids.filter((id) => !r.missing.includes(id));
  };

  const VALUE_RULES: { rule: string; field: string; bad: Partial<TokenSpec> }[] = [
    { rule: TokenRule.weightFinite, field: "weight", bad: { weight: NaN } },
    { rule: TokenRule.weightRange, field: "weight", bad: { weight: 1.5 } },
    { rule: TokenRule.radiusRange, field: "field_radius", bad: { radius: 2.2 } },
    { rule: TokenRule.strengthRange, field: "field_strength", bad: { strength: 230 / 255 } },
    { rule: TokenRule.timestampFuture, field: "timestamp", bad: { timestamp: NOW_S + 7200 } },
  ];

  VALUE_RULES.forEach(({ rule, field, bad }, k) => {
    it(`${rule}: create and update, strict refused whole, partial applies the rest`, async () => {
      const base = 100 + k * 10;
      const batch = tokensAt(base, 4);
      batch[2] = { ...batch[2]!, ...bad };
      const ids = batch.map((s) => s.id);
      const probe = [...BASE, ...ids];
      const want = { code: status.INVALID_ARGUMENT, rule, index: 2, field };
      await refused(t, probe, () => create(t, batch), want, "tokens");
      // Tokens asking for allocated ids take another path (checked once at the coordinator).
      await refused(t, probe, () => create(t, batch.map((s) => ({ ...s, id: 0 }))), want, "tokens");
      const upd = tokensAt(1, 4, { weight: 0.75 });
      upd[2] = { ...upd[2]!, ...bad };
      await refused(t, probe, () => update(packTokens(upd)), want, "tokens");
      const partial = await create(t, batch, true);
      expect(partial.accepted).toBe(3);
      expect(partial.rejected.map((r) => [r.index, r.id, r.rule, r.code, r.field])).toEqual([[2, ids[2], rule, Code.INVALID_ARGUMENT, field]]);
      expect(await present(ids)).toEqual([ids[0], ids[1], ids[3]]);
      exercised.add(rule);
    });
  });

  it("id_nonzero: an update or delete naming id 0 is refused at the edge", async () => {
    const upd = tokensAt(1, 4);
    upd[2]!.id = 0;
    await refused(t, BASE, () => update(packTokens(upd)), { code: status.INVALID_ARGUMENT, rule: TokenRule.idNonzero, index: 2, field: "id" }, "tokens");
    await refused(t, BASE, () => call(t.tokens.deleteTokens.bind(t.tokens), { ids: [1, 2, 0, 3], partial: false }), { code: status.INVALID_ARGUMENT, rule: TokenRule.idNonzero, index: 2, field: "" }, "ids");
    await refused(t, BASE, () => call(t.tokens.deleteTokens.bind(t.tokens), { ids: [1, 2, 0, 3], partial: true }), { code: status.INVALID_ARGUMENT, rule: TokenRule.idNonzero, index: 2, field: "" }, "ids");
    exercised.add(TokenRule.idNonzero);
  });

  it("record_size: packed bytes that are not whole 64-byte records (the edge pre-empts the record check)", async () => {
    const bytes = Buffer.concat([packTokens(tokensAt(300, 2)), Buffer.alloc(5)]);
    await refused(t, [...BASE, 300, 301], () => createPacked(t, bytes), { code: status.INVALID_ARGUMENT, rule: TokenRule.recordSize, field: "tokens.packed" }, "tokens");
    await refused(t, [...BASE, 300, 301], () => createPacked(t, bytes, true), { code: status.INVALID_ARGUMENT, rule: TokenRule.recordSize, field: "tokens.packed" }, "tokens");
    await refused(t, BASE, () => update(bytes), { code: status.INVALID_ARGUMENT, rule: TokenRule.recordSize, field: "tokens.packed" }, "tokens");
    exercised.add(TokenRule.recordSize);
  });

  it("max_batch_items: a batch above the server's limit is refused before any shard sees it", async () => {
    const batch = tokensAt(400, 65);
    await refused(t, [...BASE, 400, 464], () => create(t, batch, true), { code: status.INVALID_ARGUMENT, rule: "max_batch_items", field: "tokens" }, "tokens");
    await refused(t, [...BASE, 400, 464], () => call(t.tokens.getTokens.bind(t.tokens), { ids: batch.map((s) => s.id), format: RecordFormat.RECORD_FORMAT_NONE, allowMissing: true }), { code: status.INVALID_ARGUMENT, rule: "max_batch_items", field: "ids" }, "ids");
    exercised.add("max_batch_items");
  });

  const STRUCTURED: { rule: string; field: string; bad: (tk: Token) => Token }[] = [
    { rule: "coord_finite", field: "coords.l1.y", bad: (tk) => ({ ...tk, coords: { ...tk.coords!, l1: { x: 0, y: Infinity, z: 0 } } }) },
    { rule: "coord_range", field: "coords.l1.x", bad: (tk) => ({ ...tk, coords: { ...tk.coords!, l1: { x: 400, y: 0, z: 0 } } }) },
    { rule: "integer_range", field: "entity_type", bad: (tk) => ({ ...tk, entityType: 15 as EntityType }) },
    { rule: "integer_range", field: "level", bad: (tk) => ({ ...tk, level: 16 }) },
    { rule: "integer_range", field: "system_flags", bad: (tk) => ({ ...tk, systemFlags: 0x100 }) },
    { rule: "finite", field: "weight", bad: (tk) => ({ ...tk, weight: NaN }) },
    { rule: "field_radius_range", field: "field_radius", bad: (tk) => ({ ...tk, fieldRadius: 3 }) },
    { rule: "field_strength_range", field: "field_strength", bad: (tk) => ({ ...tk, fieldStrength: -0.5 }) },
  ];

  STRUCTURED.forEach(({ rule, field, bad }, k) => {
    it(`structured ${field}: ${rule} at the edge, strict and partial`, async () => {
      const base = 500 + k * 10;
      const specs = tokensAt(base, 4);
      const tokens = specs.map((s) => structuredToken(s));
      tokens[2] = bad(tokens[2]!);
      const ids = specs.map((s) => s.id);
      await refused(t, [...BASE, ...ids], () => createStructured(tokens), { code: status.INVALID_ARGUMENT, rule, index: 2, field }, "tokens");
      const partial = await createStructured(tokens, true);
      expect(partial.accepted).toBe(3);
      expect(partial.ids).toEqual([ids[0], ids[1], 0, ids[3]]);
      expect(partial.rejected.map((r) => [r.index, r.rule, r.code, r.field])).toEqual([[2, rule, Code.INVALID_ARGUMENT, field]]);
      expect(await present(ids)).toEqual([ids[0], ids[1], ids[3]]);
      exercised.add(rule);
    });
  });

  it("store rules: ALREADY_EXISTS, duplicate_in_batch, NOT_FOUND on update and delete", async () => {
    const probe = [...BASE, 700, 701, 702];
    const exists = await refused(t, probe, () => create(t, [{ id: 700 }, { id: 701 }, { id: 3 }, { id: 702 }]), { code: status.ALREADY_EXISTS, rule: StoreRule.alreadyExists, index: 2, field: "id" }, "tokens");
    expect(exists.details).toContain("token 3 already exists");
    await refused(t, probe, () => create(t, [{ id: 700 }, { id: 701 }, { id: 700 }, { id: 702 }]), { code: status.INVALID_ARGUMENT, rule: StoreRule.duplicateInBatch, index: 2, field: "id" }, "tokens");
    await refused(t, probe, () => update(packTokens([{ id: 1 }, { id: 2 }, { id: 700 }, { id: 4 }])), { code: status.NOT_FOUND, rule: StoreRule.notFound, index: 2, field: "id" }, "tokens");
    await refused(t, probe, () => call(t.tokens.deleteTokens.bind(t.tokens), { ids: [1, 2, 700, 4], partial: false }), { code: status.NOT_FOUND, rule: StoreRule.notFound, index: 2, field: "id" }, "ids");
    const partial = await create(t, [{ id: 700 }, { id: 701 }, { id: 3 }, { id: 701 }], true);
    expect(partial.rejected.map((r) => [r.index, r.rule, r.code])).toEqual([
      [2, StoreRule.alreadyExists, Code.ALREADY_EXISTS],
      [3, StoreRule.duplicateInBatch, Code.INVALID_ARGUMENT],
    ]);
    for (const rule of [StoreRule.alreadyExists, StoreRule.duplicateInBatch, StoreRule.notFound]) exercised.add(rule);
  });

  it("IngestTokens: a bad record stops a strict stream at its message (stream position in the detail); partial streams report it", async () => {
    const first = tokensAt(800, 4);
    const second = tokensAt(804, 4);
    second[2] = { ...second[2]!, weight: 2 };
    const third = tokensAt(808, 4);
    const ids = [...first, ...second, ...third].map((s) => s.id);
    // Messages before the bad one are applied (a stream is not one transaction); the bad one and all after it are not.
    await create(t, first);
    await refused(t, [...BASE, ...ids], () => ingest(t, [packTokens(second), packTokens(third)]), { code: status.INVALID_ARGUMENT, rule: TokenRule.weightRange, index: 2, field: "weight" }, "records");
    const partial = await ingest(t, [packTokens(second), packTokens(third)], true);
    expect(partial).toMatchObject({ received: 8, accepted: 7, rejectedCount: 1 });
    expect(await present(ids)).toEqual(ids.filter((id) => id !== 806));
  });

  it("every token rule of the code has a test here (a new rule without one fails this)", () => {
    expect([...Object.values(TokenRule)].filter((r) => !exercised.has(r))).toEqual([]);
    // Edge rules of token batches (src/api/records.ts, src/api/validation.ts).
    for (const r of ["coord_finite", "coord_range", "integer_range", "finite", "field_radius_range", "field_strength_range", "max_batch_items"]) expect(exercised).toContain(r);
  });
});
