/**
 * The field engine actor over real graph shard actors and a real Piscina pool: planted groups
 * (dense inside, sparse across, in super-groups) written through the router settle into one
 * field per group, get one parent each and a second level per super-group, written back through
 * the normal write path; 1 and 2 worker threads give bit-identical results; a restart recovers
 * the same positions, fields and hierarchy from the shards' logs; removing a group's connections
 * dissolves its field and deactivates its parent.
 */
import { afterAll, describe, expect, it } from "vitest";
import { FieldEngineActor, FieldEventHub, GraphRouter, GraphShardActor, ShardBoard, type FieldEngineMessage, type FieldEvent } from "../../../src/actors/index.ts";
import { CONNECTION_RECORD_SIZE, ConnectionOffset } from "../../../src/core/connection/layout.ts";
import { DEFAULT_HIERARCHY_PARAMS } from "../../../src/core/field/hierarchy-types.ts";
import { DEFAULT_FIELD_DETECTION_PARAMS, DEFAULT_FORCE_PARAMS } from "../../../src/core/field/params.ts";
import { DEFAULT_CONNECTION_LIMITS, DEFAULT_TOKEN_LIMITS } from "../../../src/core/limits.ts";
import { hierarchyLevelOf } from "../../../src/core/token/flags.ts";
import { ActorSystem, actorAddress, shardAddress, type ActorRef } from "../../../src/runtime/index.ts";
import { FieldPool } from "../../../src/runtime/field/index.ts";
import { adjustedRandIndex } from "../field/ari.ts";
import { ControlledLog } from "./controlled-log.ts";
import { plantedRecords } from "./planted-records.ts";

const S = 3;
const SPACES = 0b101; // L1, L3
const GROUPS = 4;
const SIZE = 50;
const PER_SUPER = 2;
const N = GROUPS * SIZE;
const scope = { deadline: Infinity, signal: new AbortController().signal };

interface Node {
  system: ActorSystem;
  router: GraphRouter;
  engine: ActorRef<FieldEngineMessage>;
  events: FieldEvent[];
}

const pools = new Map<number, FieldPool>();
function poolOf(threads: number): FieldPool {
  let p = pools.get(threads);
  if (p === undefined) pools.set(threads, (p = new FieldPool({ threads })));
  return p;
}

function startNode(logs: ControlledLog[], threads: number): Node {
  const system = new ActorSystem({ nodeId: "field-test", askTimeoutMs: 120_000 });
  const board = new ShardBoard(S);
  for (let s = 0; s < S; s++) {
    const env = {
      shard: s,
      shardCount: S,
      log: logs[s]!,
      board,
      tokenLimits: DEFAULT_TOKEN_LIMITS,
      connectionLimits: DEFAULT_CONNECTION_LIMITS,
      stashCapacity: 64,
      maxPendingBytes: 1 << 26,
    };
    system.spawn(shardAddress(s), () => new GraphShardActor(env));
  }
  const router = new GraphRouter({ system, board, shardCount: S, nodeId: "field-test", version: "test" });
  const hub = new FieldEventHub();
  const events: FieldEvent[] = [];
  hub.subscribe((e) => events.push(e));
  const engine = system.spawn(
    actorAddress("field", "node"),
    () =>
      new FieldEngineActor({
        shardCount: S,
        pool: poolOf(threads),
        writer: router,
        force: { ...DEFAULT_FORCE_PARAMS, activeSpaces: SPACES },
        detection: { ...DEFAULT_FIELD_DETECTION_PARAMS, spaces: SPACES },
        hierarchy: DEFAULT_HIERARCHY_PARAMS,
        detectEvery: 10,
        events: hub,
      }),
  );
  return { system, router, engine, events };
}

async function plant(node: Node, seed: number): Promise<void> {
  const p = plantedRecords(seed, GROUPS, SIZE, PER_SUPER);
  await node.router.createTokens(p.tokens, { partial: false }, scope);
  await node.router.connect(p.connections, { partial: false }, scope);
}

async function positions(node: Node): Promise<Uint8Array> {
  const ids = Uint32Array.from({ length: N }, (_, i) => i + 1);
  return (await node.router.getTokens(ids, { allowMissing: false }, scope)).records;
}

async function fieldLabels(node: Node, space: number): Promise<Int32Array> {
  const fields = await node.engine.ask({ type: "field.list", space, level: 0 });
  const labels = Int32Array.from({ length: N }, (_, i) => -(i + 1));
  for (const f of fields) for (const id of f.members) if (id <= N) labels[id - 1] = f.id;
  return labels;
}

/** Keys of every connection touching group 0 (ids 1..SIZE): planted ones, and PartOf to its parent. */
function group0Keys(connections: Uint8Array, parent: { readonly id: number; readonly members: Uint32Array }): { sources: Uint32Array; targets: Uint32Array; types: Int16Array } {
  const sources: number[] = [];
  const targets: number[] = [];
  const dv = new DataView(connections.buffer, connections.byteOffset, connections.byteLength);
  for (let o = 0; o < connections.byteLength; o += CONNECTION_RECORD_SIZE) {
    const a = dv.getUint32(o + ConnectionOffset.source, true);
    const b = dv.getUint32(o + ConnectionOffset.target, true);
    if (a <= SIZE || b <= SIZE) {
      sources.push(a);
      targets.push(b);
    }
  }
  for (const m of parent.members) {
    sources.push(m);
    targets.push(parent.id);
  }
  return { sources: Uint32Array.from(sources), targets: Uint32Array.from(targets), types: new Int16Array(sources.length).fill(-1) };
}

const groupOf = Int32Array.from({ length: N }, (_, i) => Math.floor(i / SIZE));

describe("FieldEngineActor", () => {
  const nodes: Node[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.system.shutdown({ force: true, timeoutMs: 5_000 });
    for (const p of pools.values()) await p.close();
  });

  it("settles planted groups into fields with a two-level hierarchy, and a restart recovers them", { timeout: 600_000 }, async () => {
    const logs = Array.from({ length: S }, () => new ControlledLog());
    const node = startNode(logs, 1);
    nodes.push(node);
    await plant(node, 11);
    const report = await node.engine.ask({ type: "field.step", steps: 400 });
    expect(report.step).toBe(400);
    for (const space of [0, 2]) expect(adjustedRandIndex(groupOf, await fieldLabels(node, space))).toBeGreaterThanOrEqual(0.9);
    const status = await node.engine.ask({ type: "field.status" });
    expect(status.step).toBe(400);
    // Parents: one per group (level 1), one per super-group (level 2), stored as tokens.
    const view = await node.engine.ask({ type: "field.hierarchy", token: 1 });
    expect(view.ancestors.map((p) => p.level)).toEqual([1, 2]);
    const top = view.ancestors[1]!;
    const below = await node.engine.ask({ type: "field.hierarchy", token: top.id });
    expect(below.descendants.filter((p) => p.level === 1)).toHaveLength(2);
    const parentIds = Uint32Array.from([...view.ancestors.map((p) => p.id)]);
    const stored = await node.router.getTokens(parentIds, { allowMissing: false }, scope);
    const dv = new DataView(stored.records.buffer, stored.records.byteOffset);
    expect([hierarchyLevelOf(dv.getUint16(52, true)), hierarchyLevelOf(dv.getUint16(64 + 52, true))]).toEqual([1, 2]);
    expect(node.events.some((e) => e.kind === "parent.created")).toBe(true);

    // Restart: a new system over the same logs.
    const before = { pos: await positions(node), fields: await node.engine.ask({ type: "field.list", space: -1, level: -1 }), view };
    await node.system.shutdown({ force: true, timeoutMs: 5_000 });
    const again = startNode(logs, 1);
    nodes.push(again);
    expect(await positions(again)).toEqual(before.pos);
    const fieldsAfter = await again.engine.ask({ type: "field.list", space: -1, level: -1 });
    expect(fieldsAfter.map((f) => [f.id, f.space, Array.from(f.members)])).toEqual(before.fields.map((f) => [f.id, f.space, Array.from(f.members)]));
    const viewAfter = await again.engine.ask({ type: "field.hierarchy", token: 1 });
    expect(viewAfter.ancestors.map((p) => p.id)).toEqual(before.view.ancestors.map((p) => p.id));
    expect((await again.engine.ask({ type: "field.status" })).step).toBe(400);

    // Dissolve group 0: remove every connection of its tokens (planted ones and their PartOf
    // links) through the router; the engine notices at its next batches, the group's field
    // dissolves and its parent is deactivated through the normal write path.
    const group0Parent = view.ancestors[0]!;
    const keys = group0Keys(plantedRecords(11, GROUPS, SIZE, PER_SUPER).connections, group0Parent);
    const removed = await again.router.disconnect(keys, { partial: true }, scope);
    expect(removed.accepted).toBeGreaterThan(SIZE * 4);
    const dissolvedAt = again.events.length;
    const after = await again.engine.ask({ type: "field.step", steps: 200 });
    expect(after.parentsDeactivated).toBeGreaterThanOrEqual(1);
    const newEvents = again.events.slice(dissolvedAt);
    expect(newEvents.some((e) => e.kind === "parent.deactivated" && e.id === group0Parent.id)).toBe(true);
    expect(newEvents.some((e) => e.kind === "field.dissolved")).toBe(true);
    const parentRecord = await again.router.getTokens(Uint32Array.of(group0Parent.id), { allowMissing: false }, scope);
    expect(new DataView(parentRecord.records.buffer, parentRecord.records.byteOffset).getUint16(52, true) & 1).toBe(0);
    // The other groups keep their parents.
    const level1After = (await again.engine.ask({ type: "field.hierarchy", token: top.id })).descendants.filter((p) => p.level === 1);
    expect(level1After.map((p) => p.id)).not.toContain(group0Parent.id);
    const survivor = await again.engine.ask({ type: "field.hierarchy", token: SIZE + 1 });
    expect(survivor.ancestors[0]?.level).toBe(1);
  });

  it("gives bit-identical positions and fields with 1 and 2 worker threads", { timeout: 600_000 }, async () => {
    const results = [];
    for (const threads of [1, 2]) {
      const node = startNode(Array.from({ length: S }, () => new ControlledLog()), threads);
      nodes.push(node);
      await plant(node, 5);
      await node.engine.ask({ type: "field.step", steps: 40 });
      results.push({ pos: await positions(node), fields: (await node.engine.ask({ type: "field.list", space: -1, level: -1 })).map((f) => [f.id, Array.from(f.members)]) });
    }
    expect(results[1]!.pos).toEqual(results[0]!.pos);
    expect(results[1]!.fields).toEqual(results[0]!.fields);
    expect(results[0]!.fields.length).toBeGreaterThan(0);
  });

  it("rejects a bad step count and changes nothing", async () => {
    const node = startNode(Array.from({ length: S }, () => new ControlledLog()), 1);
    nodes.push(node);
    await expect(node.engine.ask({ type: "field.step", steps: 0 })).rejects.toThrow(/steps_range|integer in \[1/);
    expect((await node.engine.ask({ type: "field.status" })).step).toBe(0);
  });
});
