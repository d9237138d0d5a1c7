/**
 * FieldService over real gRPC on a real node (4 shards, worker pool): planted groups written
 * with TokenService/GraphService settle into fields after Step, the hierarchy grows parent
 * tokens that TokenService returns, WatchFields streams the events, the step metrics are exported,
 * bad input is rejected.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { credentials, status } from "@grpc/grpc-js";
import { FieldEvent_Kind, FieldServiceClient, type FieldEvent } from "../../../src/gen/neurograph/v1/field_service.ts";
import { RecordFormat } from "../../../src/gen/neurograph/v1/common.ts";
import { hierarchyLevelOf } from "../../../src/core/token/flags.ts";
import { adjustedRandIndex } from "../../unit/field/ari.ts";
import { plantedRecords } from "../../unit/actors/planted-records.ts";
import { call, failure, startTestNode, type TestNode } from "./harness.ts";

const GROUPS = 4;
const SIZE = 50;
const N = GROUPS * SIZE;

describe("FieldService", () => {
  let t: TestNode;
  let field: FieldServiceClient;
  const planted = plantedRecords(11, GROUPS, SIZE, 2);
  beforeAll(async () => {
    t = await startTestNode(["--field-threads", "1"]);
    field = new FieldServiceClient(t.node.grpcAddress, credentials.createInsecure());
    await call(t.tokens.createTokens.bind(t.tokens), { tokens: { payload: { $case: "packed", value: Buffer.from(planted.tokens) } }, partial: false });
    await call(t.graph.connect.bind(t.graph), { connections: { payload: { $case: "packed", value: Buffer.from(planted.connections) } }, partial: false });
  });
  afterAll(async () => {
    field?.close();
    await t?.close();
  });

  it("steps the field, streams events, and lists fields that match the planted groups", { timeout: 600_000 }, async () => {
    const events: FieldEvent[] = [];
    const stream = field.watchFields({});
    stream.on("data", (e: FieldEvent) => events.push(e));
    stream.on("error", () => undefined);
    await new Promise((r) => setTimeout(r, 200)); // the watch is registered before the step
    const res = await call(field.step.bind(field), { steps: 400 });
    expect(res).toMatchObject({ step: 400, stepsRun: 400, tokens: expect.any(Number) as number });
    expect(res.parentsCreated).toBeGreaterThanOrEqual(GROUPS);
    for (const space of [0, 2]) {
      const list = await call(field.listFields.bind(field), { space, level: 0, withMembers: true });
      const labels = Int32Array.from({ length: N }, (_, i) => -(i + 1));
      for (const f of list.fields) for (const id of f.members) if (id <= N) labels[id - 1] = f.id;
      expect(adjustedRandIndex(planted.groupOf, labels)).toBeGreaterThanOrEqual(0.9);
    }
    const h = await call(field.getHierarchy.bind(field), { token: 1 });
    expect(h.ancestors.map((p) => p.level)).toEqual([1, 2]);
    const got = await call(t.tokens.getTokens.bind(t.tokens), { ids: h.ancestors.map((p) => p.id), format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: false });
    const records = got.records;
    expect([hierarchyLevelOf(records.readUInt16LE(52)), hierarchyLevelOf(records.readUInt16LE(64 + 52))]).toEqual([1, 2]);
    stream.cancel();
    expect(events.filter((e) => e.kind === FieldEvent_Kind.KIND_FIELD_CREATED).length).toBeGreaterThanOrEqual(GROUPS);
    expect(events.filter((e) => e.kind === FieldEvent_Kind.KIND_PARENT_CREATED).length).toBeGreaterThanOrEqual(GROUPS + 2);
    // The step metrics: one histogram sample per step, fields per space, the hierarchy depth.
    const metrics = await (await fetch(`${t.node.metricsAddress}/metrics`)).text();
    expect(Number(/^neurograph_field_step_duration_seconds_count (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(400);
    expect(Number(/^neurograph_fields\{space="L1"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(GROUPS);
    expect(Number(/^neurograph_hierarchy_depth (\d+)/m.exec(metrics)?.[1])).toBe(2);
    const first = (await call(field.listFields.bind(field), { withMembers: false })).fields[0]!;
    const one = await call(field.getField.bind(field), { id: first.id });
    expect(one.members.length).toBe(one.memberCount);
  });

  it("runs and stops continuous stepping", { timeout: 120_000 }, async () => {
    const started = await call(field.run.bind(field), { stepsPerSecond: 200 });
    expect(started.running).toBe(true);
    const before = started.step;
    for (let i = 0; i < 200; i++) {
      if ((await call(field.getStatus.bind(field), {})).step > before) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const stopped = await call(field.stop.bind(field), {});
    expect(stopped.running).toBe(false);
    expect(stopped.step).toBeGreaterThan(before);
  });

  it("rejects bad requests with INVALID_ARGUMENT and unknown fields with NOT_FOUND", async () => {
    expect((await failure(call(field.step.bind(field), { steps: 0 }))).code).toBe(status.INVALID_ARGUMENT);
    expect((await failure(call(field.run.bind(field), { stepsPerSecond: 0 }))).code).toBe(status.INVALID_ARGUMENT);
    expect((await failure(call(field.listFields.bind(field), { space: 9, withMembers: false }))).code).toBe(status.INVALID_ARGUMENT);
    expect((await failure(call(field.getField.bind(field), { id: 999_999 }))).code).toBe(status.NOT_FOUND);
  });
});
