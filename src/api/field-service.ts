/**
 * FieldService: decode → validate at the edge → `FieldBackend` → encode. The backend is the
 * node's field engine; only core-shaped types cross this seam (the actor layer satisfies it
 * structurally, without importing `api`).
 */
import { OverloadedError } from "../core/errors.ts";
import {
  FieldEvent_Kind,
  type FieldEvent as WireFieldEvent,
  type FieldRunStatus,
  type FieldServiceServer,
  type GetFieldRequest,
  type GetHierarchyRequest,
  type GetHierarchyResponse,
  type ListFieldsRequest,
  type ListFieldsResponse,
  type ParentToken,
  type RunRequest,
  type SemanticField,
  type StepRequest,
  type StepResponse,
} from "../gen/neurograph/v1/field_service.ts";
import { serverStreaming, unary, type CallContext, type HandlerEnv } from "./handlers.ts";
import type { RequestContext } from "./backend.ts";
import { RequestCheck } from "./validation.ts";
import type { ApiLimits } from "./config.ts";

export interface FieldSummary {
  readonly id: number;
  readonly space: number;
  readonly level: number;
  readonly members: Uint32Array;
  readonly centroid: Float64Array;
  readonly radius: number;
  readonly density: number;
  readonly age: number;
}

export interface ParentSummary {
  readonly id: number;
  readonly level: number;
  readonly members: Uint32Array;
  readonly leafCount: number;
}

export interface FieldStepResult {
  readonly step: number;
  readonly stepsRun: number;
  readonly tokens: number;
  readonly fields: number;
  readonly parents: number;
  readonly parentsCreated: number;
  readonly parentsDeactivated: number;
  readonly staleShards: number;
  readonly durationMs: number;
}

export interface FieldRunState {
  readonly running: boolean;
  readonly stepsPerSecond: number;
  readonly step: number;
  readonly lastError: string | undefined;
}

export type FieldEventName = "field.created" | "field.dissolved" | "parent.created" | "parent.deactivated" | "step";

export interface FieldEventData {
  readonly kind: FieldEventName;
  readonly step: number;
  readonly id: number;
  readonly space: number;
  readonly level: number;
  readonly members: number;
}

export interface FieldBackend {
  step(steps: number, ctx: RequestContext): Promise<FieldStepResult>;
  run(stepsPerSecond: number, ctx: RequestContext): Promise<FieldRunState>;
  stop(ctx: RequestContext): Promise<FieldRunState>;
  status(ctx: RequestContext): Promise<FieldRunState>;
  /** space / level −1 = any. */
  listFields(space: number, level: number, ctx: RequestContext): Promise<readonly FieldSummary[]>;
  getField(id: number, ctx: RequestContext): Promise<FieldSummary>;
  hierarchy(token: number, ctx: RequestContext): Promise<{ readonly ancestors: readonly ParentSummary[]; readonly descendants: readonly ParentSummary[] }>;
  /** Calls `listener` for every event until the returned function is called. */
  watch(listener: (e: FieldEventData) => void): () => void;
}

/** Events a watcher may fall behind by before its stream is ended with RESOURCE_EXHAUSTED. */
const WATCH_BUFFER = 10_000;

const KIND: Record<FieldEventName, FieldEvent_Kind> = {
  "field.created": FieldEvent_Kind.KIND_FIELD_CREATED,
  "field.dissolved": FieldEvent_Kind.KIND_FIELD_DISSOLVED,
  "parent.created": FieldEvent_Kind.KIND_PARENT_CREATED,
  "parent.deactivated": FieldEvent_Kind.KIND_PARENT_DEACTIVATED,
  step: FieldEvent_Kind.KIND_STEP,
};

function wireField(f: FieldSummary, withMembers: boolean): SemanticField {
  return {
    id: f.id,
    space: f.space,
    level: f.level,
    memberCount: f.members.length,
    members: withMembers ? Array.from(f.members) : [],
    centroid: { x: f.centroid[0] ?? 0, y: f.centroid[1] ?? 0, z: f.centroid[2] ?? 0 },
    radius: f.radius,
    density: f.density,
    age: f.age,
  };
}

function wireParent(p: ParentSummary): ParentToken {
  return { id: p.id, level: p.level, members: Array.from(p.members), leafCount: p.leafCount };
}

function wireStatus(s: FieldRunState): FieldRunStatus {
  return { running: s.running, stepsPerSecond: s.stepsPerSecond, step: s.step, lastError: s.lastError ?? "" };
}

export class FieldServiceHandlers {
  constructor(
    private readonly backend: FieldBackend,
    private readonly limits: ApiLimits,
  ) {}

  async step(req: StepRequest, ctx: CallContext): Promise<StepResponse> {
    const check = new RequestCheck("Step request", this.limits);
    if (!(req.steps >= 1)) check.violations.push({ field: "steps", value: String(req.steps), rule: "steps_range", description: "must be at least 1" });
    check.done();
    return { ...(await this.backend.step(req.steps, ctx)) };
  }

  async run(req: RunRequest, ctx: CallContext): Promise<FieldRunStatus> {
    const check = new RequestCheck("Run request", this.limits);
    if (!(Number.isFinite(req.stepsPerSecond) && req.stepsPerSecond > 0 && req.stepsPerSecond <= 1000)) {
      check.violations.push({ field: "steps_per_second", value: String(req.stepsPerSecond), rule: "rate_range", description: "must be a number in (0, 1000]" });
    }
    check.done();
    return wireStatus(await this.backend.run(req.stepsPerSecond, ctx));
  }

  async listFields(req: ListFieldsRequest, ctx: CallContext): Promise<ListFieldsResponse> {
    const check = new RequestCheck("ListFields request", this.limits);
    if (req.space !== undefined && req.space > 7) check.violations.push({ field: "space", value: String(req.space), rule: "space_range", description: "must be 0..7 (L1..L8)" });
    if (req.level !== undefined && req.level > 15) check.violations.push({ field: "level", value: String(req.level), rule: "level_range", description: "must be 0..15" });
    check.done();
    const fields = await this.backend.listFields(req.space ?? -1, req.level ?? -1, ctx);
    return { fields: fields.map((f) => wireField(f, req.withMembers)) };
  }

  async getField(req: GetFieldRequest, ctx: CallContext): Promise<SemanticField> {
    const check = new RequestCheck("GetField request", this.limits);
    if (req.id === 0) check.violations.push({ field: "id", value: "0", rule: "id_nonzero", description: "field ids start at 1" });
    check.done();
    return wireField(await this.backend.getField(req.id, ctx), true);
  }

  async getHierarchy(req: GetHierarchyRequest, ctx: CallContext): Promise<GetHierarchyResponse> {
    const check = new RequestCheck("GetHierarchy request", this.limits);
    if (req.token === 0) check.violations.push({ field: "token", value: "0", rule: "id_nonzero", description: "token ids start at 1" });
    check.done();
    const h = await this.backend.hierarchy(req.token, ctx);
    return { ancestors: h.ancestors.map(wireParent), descendants: h.descendants.map(wireParent) };
  }

  async *watch(signal: AbortSignal): AsyncGenerator<WireFieldEvent> {
    const queue: FieldEventData[] = [];
    let wake: (() => void) | undefined;
    let overflow = false;
    const unsubscribe = this.backend.watch((e) => {
      if (queue.length >= WATCH_BUFFER) overflow = true;
      else queue.push(e);
      wake?.();
    });
    const onAbort = (): void => wake?.();
    signal.addEventListener("abort", onAbort);
    try {
      while (!signal.aborted) {
        if (overflow) throw new OverloadedError(`the field event stream fell ${WATCH_BUFFER} events behind; read faster and watch again`);
        const e = queue.shift();
        if (e === undefined) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        yield { kind: KIND[e.kind], step: e.step, id: e.id, space: e.space, level: e.level, members: e.members };
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      unsubscribe();
    }
  }

  service(env: HandlerEnv): FieldServiceServer {
    return {
      step: unary(env, (r: StepRequest, c) => this.step(r, c)),
      run: unary(env, (r: RunRequest, c) => this.run(r, c)),
      stop: unary(env, (_r, c) => this.backend.stop(c).then(wireStatus)),
      getStatus: unary(env, (_r, c) => this.backend.status(c).then(wireStatus)),
      listFields: unary(env, (r: ListFieldsRequest, c) => this.listFields(r, c)),
      getField: unary(env, (r: GetFieldRequest, c) => this.getField(r, c)),
      getHierarchy: unary(env, (r: GetHierarchyRequest, c) => this.getHierarchy(r, c)),
      watchFields: serverStreaming(env, (_r, c) => this.watch(c.signal)),
    };
  }
}
