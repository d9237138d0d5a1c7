/**
 * `FieldEngineActor` (`field/node`): the field engine of a node (DESIGN §3.6). A batch of steps:
 * copy every shard's tokens and owned connections (`shard.field-snapshot`) into shared memory,
 * run the force steps on the node's `FieldPool`, hand each shard its moved positions
 * (`shard.field-apply`, logged as `field.result`, so a restart recovers them; a shard that took
 * a write meanwhile refuses and its tokens move next batch), then detect the semantic fields of
 * every detected space over the whole node (fields span shards), track them across batches
 * (Jaccard ≥ 0.5) and plan the hierarchy. The plan is written through the normal write path,
 * bracketed by the engine state (steps, fields, hierarchy, the pending plan) which is logged in
 * the state shard, so a crash between the two is repaired on recovery by writing the plan again.
 *
 * Continuous running (`field.run`) re-arms a single timer after each batch: a slow batch delays
 * the next one instead of queueing ticks, and the event loop stays free for writes because the
 * steps run on worker threads.
 */
import { NotFoundError, ValidationError } from "../core/errors.ts";
import { parentAffinities, parentLeaves } from "../core/field/affinity.ts";
import { type DetectedField, detectFields } from "../core/field/fields.ts";
import { EMPTY_HIERARCHY, type HierarchyParams, type HierarchyPlan, type HierarchyState, type ParentRecord } from "../core/field/hierarchy-types.ts";
import { planHierarchy } from "../core/field/hierarchy.ts";
import { stepConstants } from "../core/field/integrate.ts";
import { type FieldDetectionParams, type ForceParams, spaceTemperaturesAt, spacesOf } from "../core/field/params.ts";
import { type FieldEngineState, decodeFieldEngineState, encodeFieldEngineState, encodeFieldResult } from "../core/field/result-codec.ts";
import { type FieldWorkspace, allocateFieldWorkspace } from "../core/field/step.ts";
import { type TrackedField, trackFields } from "../core/field/tracking.ts";
import { Actor, shardAddress, type ActorContext, type Ask, type ReplyOf } from "../runtime/index.ts";
import type { FieldPool } from "../runtime/field/index.ts";
import type { Logger, MetricsRegistry } from "../telemetry/index.ts";
import type { FieldEventHub } from "./field-events.ts";
import { type FieldWriter, planIsEmpty, writePlan } from "./field-plan-writes.ts";
import { type FieldWorld, buildWorld, positionsPayload, slotOf, swapPositions } from "./field-world.ts";
import type { FieldApplyReply, FieldSnapshotReply, ShardMessage } from "./shard-protocol.ts";

export interface FieldEngineEnv {
  readonly shardCount: number;
  readonly pool: FieldPool;
  readonly writer: FieldWriter;
  readonly force: ForceParams;
  readonly detection: FieldDetectionParams;
  readonly hierarchy: HierarchyParams;
  /** Steps per batch: fields are detected and the hierarchy planned after each (default 10). */
  readonly detectEvery: number;
  /** The shard whose log keeps the engine state (default 0). */
  readonly stateShard?: number;
  readonly events?: FieldEventHub;
  readonly logger?: Logger;
  /** Most steps one `field.step` may ask for. */
  readonly maxStepsPerCall?: number;
  /** Step durations, fields per space and hierarchy depth (neurograph_field_* metrics). */
  readonly metrics?: Pick<MetricsRegistry, "fieldStep" | "setFields" | "setHierarchyDepth">;
  /** Wraps each force step (the node passes telemetry's `withFieldStepSpan`: a `field.step` span). */
  readonly traceStep?: <T>(attributes: Record<string, number>, fn: () => Promise<T>) => Promise<T>;
}

export interface StepReport {
  /** Steps taken so far in total. */
  readonly step: number;
  readonly stepsRun: number;
  readonly tokens: number;
  readonly fields: number;
  readonly parents: number;
  readonly parentsCreated: number;
  readonly parentsDeactivated: number;
  /** Shards that took a write during a batch and kept their positions (they move next batch). */
  readonly staleShards: number;
  readonly durationMs: number;
}

export interface RunStatus {
  readonly running: boolean;
  readonly stepsPerSecond: number;
  readonly step: number;
  readonly lastError: string | undefined;
}

export interface HierarchyView {
  /** Parents above the token, nearest first. */
  readonly ancestors: readonly ParentRecord[];
  /** The token itself when it is a parent, then every parent below it (breadth first). */
  readonly descendants: readonly ParentRecord[];
}

export type FieldEngineMessage =
  | Ask<{ readonly type: "field.step"; readonly steps: number }, StepReport>
  | Ask<{ readonly type: "field.run"; readonly stepsPerSecond: number }, RunStatus>
  | Ask<{ readonly type: "field.stop" }, RunStatus>
  | Ask<{ readonly type: "field.status" }, RunStatus>
  | Ask<{ readonly type: "field.list"; readonly space: number; readonly level: number }, readonly TrackedField[]>
  | Ask<{ readonly type: "field.get"; readonly id: number }, TrackedField>
  | Ask<{ readonly type: "field.hierarchy"; readonly token: number }, HierarchyView>
  | { readonly type: "field.tick" };

const TICK = "tick";
const NO_SCOPE = { deadline: Infinity, signal: new AbortController().signal };

export class FieldEngineActor extends Actor<FieldEngineMessage> {
  private step = 0;
  private nextFieldId = 1;
  private fields: TrackedField[] = [];
  private hierarchy: HierarchyState = EMPTY_HIERARCHY;
  private restored = false;
  private ws: FieldWorkspace | undefined;
  private rate = 0;
  private lastError: string | undefined;

  constructor(private readonly env: FieldEngineEnv) {
    super();
  }

  override async receive(m: FieldEngineMessage, ctx: ActorContext<FieldEngineMessage>): Promise<ReplyOf<FieldEngineMessage>> {
    switch (m.type) {
      case "field.step": {
        const max = this.env.maxStepsPerCall ?? 100_000;
        if (!Number.isInteger(m.steps) || m.steps < 1 || m.steps > max) {
          throw ValidationError.of("field step", [{ field: "steps", value: String(m.steps), rule: "steps_range", description: `must be an integer in [1, ${max}]` }]);
        }
        return this.runSteps(m.steps, ctx);
      }
      case "field.run": {
        if (!(Number.isFinite(m.stepsPerSecond) && m.stepsPerSecond > 0 && m.stepsPerSecond <= 1000)) {
          throw ValidationError.of("field run", [
            { field: "steps_per_second", value: String(m.stepsPerSecond), rule: "rate_range", description: "must be a number in (0, 1000]" },
          ]);
        }
        this.rate = m.stepsPerSecond;
        this.lastError = undefined;
        ctx.timers.startSingle(TICK, { type: "field.tick" }, 0);
        return this.status();
      }
      case "field.stop":
        this.rate = 0;
        ctx.timers.cancel(TICK);
        return this.status();
      case "field.status":
        return this.status();
      case "field.tick":
        await this.tick(ctx);
        return undefined;
      case "field.list":
        await this.ensureRestored(ctx);
        return this.fields.filter((f) => (m.space < 0 || f.space === m.space) && (m.level < 0 || f.level === m.level));
      case "field.get": {
        await this.ensureRestored(ctx);
        const f = this.fields.find((x) => x.id === m.id);
        if (f === undefined) throw new NotFoundError(`field ${m.id} does not exist (it dissolved or was never detected); list the current fields with ListFields`);
        return f;
      }
      case "field.hierarchy":
        await this.ensureRestored(ctx);
        return this.hierarchyOf(m.token);
    }
  }

  private status(): RunStatus {
    return { running: this.rate > 0, stepsPerSecond: this.rate, step: this.step, lastError: this.lastError };
  }

  private async tick(ctx: ActorContext<FieldEngineMessage>): Promise<void> {
    if (this.rate <= 0) return;
    const started = Date.now();
    const batch = Math.max(1, this.env.detectEvery);
    try {
      await this.runSteps(batch, ctx);
    } catch (err) {
      // Keep running (a shard may be restarting); the status tells why a batch failed.
      this.lastError = err instanceof Error ? err.message : String(err);
      this.env.logger?.warn({ err }, "field batch failed; retrying at the next tick");
    }
    if (this.rate <= 0) return;
    const period = (batch * 1000) / this.rate;
    ctx.timers.startSingle(TICK, { type: "field.tick" }, Math.max(0, period - (Date.now() - started)));
  }

  // ---- a batch -------------------------------------------------------------------------------

  private async snapshots(ctx: ActorContext<FieldEngineMessage>): Promise<FieldSnapshotReply[]> {
    return Promise.all(
      Array.from({ length: this.env.shardCount }, (_, s) => ctx.ask(ctx.ref<ShardMessage>(shardAddress(s)), { type: "shard.field-snapshot" })),
    );
  }

  private async ensureRestored(ctx: ActorContext<FieldEngineMessage>, world?: FieldWorld): Promise<void> {
    if (this.restored) return;
    const stateShard = this.env.stateShard ?? 0;
    let bytes = world?.state;
    if (world === undefined) {
      const snap = await ctx.ask(ctx.ref<ShardMessage>(shardAddress(stateShard)), { type: "shard.field-snapshot" });
      bytes = snap.state;
    }
    this.restored = true;
    if (bytes === undefined) return;
    const state = decodeFieldEngineState(bytes);
    this.step = state.step;
    this.nextFieldId = state.nextFieldId;
    this.fields = [...state.fields];
    this.hierarchy = state.hierarchy;
    if (state.pendingPlan !== undefined) {
      // The previous incarnation may have stopped half-way through writing it.
      await writePlan(this.env.writer, state.pendingPlan, NO_SCOPE, Math.floor(Date.now() / 1000));
      await this.persist(ctx, undefined);
    }
  }

  private async runSteps(steps: number, ctx: ActorContext<FieldEngineMessage>): Promise<StepReport> {
    const t0 = Date.now();
    const batch = Math.max(1, this.env.detectEvery);
    let done = 0;
    let stale = 0;
    let created = 0;
    let deactivated = 0;
    let tokens = 0;
    while (done < steps) {
      const n = Math.min(batch, steps - done);
      const r = await this.batch(n, ctx);
      done += n;
      stale += r.stale;
      created += r.created;
      deactivated += r.deactivated;
      tokens = r.tokens;
    }
    const report = {
      step: this.step,
      stepsRun: done,
      tokens,
      fields: this.fields.length,
      parents: this.hierarchy.parents.length,
      parentsCreated: created,
      parentsDeactivated: deactivated,
      staleShards: stale,
      durationMs: Date.now() - t0,
    };
    this.env.events?.publish({ kind: "step", step: this.step, id: 0, space: 0, level: 0, members: tokens });
    return report;
  }

  private async batch(n: number, ctx: ActorContext<FieldEngineMessage>): Promise<{ stale: number; created: number; deactivated: number; tokens: number }> {
    const { env } = this;
    const world = buildWorld(await this.snapshots(ctx));
    await this.ensureRestored(ctx, world);
    if (world.count > 0) {
      this.ws ??= allocateFieldWorkspace(world.count, true);
      const ws = this.ws;
      for (let i = 0; i < n; i++) {
        const constants = stepConstants(env.force, spaceTemperaturesAt(env.force, this.step));
        const t0 = performance.now();
        const run = (): Promise<void> => env.pool.step(ws, world.attrs, world.count, world.graph, constants, world.next);
        const attributes = { "neurograph.field.step": this.step + 1, "neurograph.field.tokens": world.count, "neurograph.field.threads": env.pool.threads };
        await (env.traceStep === undefined ? run() : env.traceStep(attributes, run));
        env.metrics?.fieldStep((performance.now() - t0) / 1000);
        swapPositions(world);
        this.step++;
      }
    } else {
      this.step += n;
    }
    const replies = await Promise.all(
      Array.from({ length: env.shardCount }, (_, s): Promise<FieldApplyReply> =>
        ctx.ask(ctx.ref<ShardMessage>(shardAddress(s)), { type: "shard.field-apply", payload: positionsPayload(world, s, env.force.activeSpaces), expectLsn: world.lsns[s]! }),
      ),
    );
    const stale = replies.filter((r) => !r.applied).length;
    const plan = this.detectAndPlan(world);
    let created = 0;
    let deactivated = 0;
    if (planIsEmpty(plan)) {
      await this.persist(ctx, undefined);
    } else {
      await this.persist(ctx, plan);
      const w = await writePlan(env.writer, plan, NO_SCOPE, Math.floor(Date.now() / 1000));
      created = w.parentsCreated;
      deactivated = w.parentsDeactivated;
      await this.persist(ctx, undefined);
      for (const p of plan.createParents) env.events?.publish({ kind: "parent.created", step: this.step, id: p.id, space: 0, level: p.level, members: 0 });
      for (const id of plan.deactivateParents) env.events?.publish({ kind: "parent.deactivated", step: this.step, id, space: 0, level: 0, members: 0 });
    }
    return { stale, created, deactivated, tokens: world.count };
  }

  /** Detects, tracks and plans; updates the engine's fields and hierarchy (persisted by the caller). */
  private detectAndPlan(world: FieldWorld): HierarchyPlan {
    const { env } = this;
    const detected: DetectedField[] = [];
    const tokens = { positions: world.attrs.positions, ids: world.attrs.ids, flags: world.attrs.flags, begin: 0, end: world.count, level: 0 };
    for (const s of spacesOf(env.detection.spaces)) detected.push(...detectFields(tokens, s, env.detection));
    const tracked = trackFields(this.fields, detected, this.nextFieldId);
    const before = new Set(this.fields.map((f) => f.id));
    for (const f of tracked.fields) {
      if (!before.has(f.id)) env.events?.publish({ kind: "field.created", step: this.step, id: f.id, space: f.space, level: f.level, members: f.members.length });
    }
    for (const f of tracked.dissolved) env.events?.publish({ kind: "field.dissolved", step: this.step, id: f.id, space: f.space, level: f.level, members: f.members.length });
    this.fields = tracked.fields;
    this.nextFieldId = tracked.nextId;
    const affinities = [];
    for (let level = 1; level < env.hierarchy.maxLevels; level++) {
      const leaves = parentLeaves(this.hierarchy, level);
      if (leaves.parentIds.length < 2) continue;
      const owner = new Int32Array(world.count).fill(-1);
      for (let p = 0; p < leaves.parentIds.length; p++) {
        for (let k = leaves.offsets[p]!; k < leaves.offsets[p + 1]!; k++) {
          const slot = slotOf(world, leaves.leaves[k]!);
          if (slot >= 0) owner[slot] = p;
        }
      }
      affinities.push(...parentAffinities(owner, leaves.parentIds, world.springs.source, world.springs.target, world.springs.count));
    }
    const { plan, state } = planHierarchy(this.hierarchy, { fields: this.fields, affinities }, env.hierarchy);
    this.hierarchy = state;
    if (env.metrics !== undefined) {
      for (const s of spacesOf(env.detection.spaces)) env.metrics.setFields(s, this.fields.filter((f) => f.space === s).length);
      env.metrics.setHierarchyDepth(state.parents.reduce((d, p) => Math.max(d, p.level), 0));
    }
    return plan;
  }

  private async persist(ctx: ActorContext<FieldEngineMessage>, pendingPlan: HierarchyPlan | undefined): Promise<void> {
    const state: FieldEngineState = { step: this.step, nextFieldId: this.nextFieldId, fields: this.fields, hierarchy: this.hierarchy, pendingPlan };
    const payload = encodeFieldResult({ state: encodeFieldEngineState(state) });
    await ctx.ask(ctx.ref<ShardMessage>(shardAddress(this.env.stateShard ?? 0)), { type: "shard.field-apply", payload, expectLsn: -1 });
  }

  // ---- queries -------------------------------------------------------------------------------

  private hierarchyOf(token: number): HierarchyView {
    const parents = this.hierarchy.parents;
    const containing = (id: number): ParentRecord | undefined => parents.find((p) => p.members.includes(id));
    const ancestors: ParentRecord[] = [];
    for (let p = containing(token); p !== undefined && ancestors.length < 16; p = containing(p.id)) ancestors.push(p);
    const descendants: ParentRecord[] = [];
    const self = parents.find((p) => p.id === token);
    if (self !== undefined) {
      const queue = [self];
      while (queue.length > 0) {
        const p = queue.shift()!;
        descendants.push(p);
        if (p.level > 1) for (const id of p.members) queue.push(...parents.filter((q) => q.id === id));
      }
    }
    return { ancestors, descendants };
  }
}
