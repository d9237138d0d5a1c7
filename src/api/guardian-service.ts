/**
 * The guardian RPCs: AdminService constitution / stats / events methods and GraphService
 * Activate and Feedback. Decode → validate at the edge → `GuardianBackend` → encode. The server
 * merges these methods into the two services (a node without a guardian leaves them
 * UNIMPLEMENTED).
 */
import type { AdminServiceServer } from "../gen/neurograph/v1/admin_service.ts";
import type { GraphServiceServer } from "../gen/neurograph/v1/graph_service.ts";
import type {
  ActivateRequest,
  ActivateResponse,
  ConstitutionResponse,
  FeedbackRequest,
  FeedbackResponse,
  GetConstitutionHistoryRequest,
  GetConstitutionHistoryResponse,
  GetConstitutionRequest,
  GetGuardianStatsRequest,
  GetGuardianStatsResponse,
  GuardianEvent,
  RollbackConstitutionRequest,
  SwitchProfileRequest,
  UpdateConstitutionRequest,
  ValidateConstitutionRequest,
  ValidateConstitutionResponse,
  WatchEventsRequest,
} from "../gen/neurograph/v1/guardian.ts";
import { toItemError } from "./batch.ts";
import type { ApiLimits } from "./config.ts";
import type { ConstitutionState, GuardianBackend } from "./guardian-backend.ts";
import { changeRequest, eventKinds, profileOf, toEvent, toStats, toVersion, toViolation } from "./guardian-convert.ts";
import { serverStreaming, unary, type CallContext, type HandlerEnv } from "./handlers.ts";
import { encodeConnectionKeys } from "./records.ts";
import { RequestCheck } from "./validation.ts";

export const GUARDIAN_ADMIN_METHODS = [
  "getConstitution",
  "updateConstitution",
  "validateConstitution",
  "rollbackConstitution",
  "getConstitutionHistory",
  "switchProfile",
  "getGuardianStats",
  "watchEvents",
] as const;
export type GuardianAdminMethod = (typeof GUARDIAN_ADMIN_METHODS)[number];
export const GUARDIAN_GRAPH_METHODS = ["activate", "feedback"] as const;
export type GuardianGraphMethod = (typeof GUARDIAN_GRAPH_METHODS)[number];

/** Largest event buffer a watcher may ask for. */
export const MAX_WATCH_BUFFER = 65_536;

function response(s: ConstitutionState): ConstitutionResponse {
  return { constitution: s.document, document: Buffer.from(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength) };
}

export class GuardianServiceHandlers {
  constructor(
    private readonly backend: GuardianBackend,
    private readonly limits: ApiLimits,
  ) {}

  async getConstitution(_req: GetConstitutionRequest, ctx: CallContext): Promise<ConstitutionResponse> {
    return response(await this.backend.getConstitution(ctx));
  }

  async updateConstitution(req: UpdateConstitutionRequest, ctx: CallContext): Promise<ConstitutionResponse> {
    const check = new RequestCheck("UpdateConstitution request", this.limits);
    const change = changeRequest(req, check);
    check.done();
    return response(await this.backend.updateConstitution(change, ctx));
  }

  async validateConstitution(req: ValidateConstitutionRequest, ctx: CallContext): Promise<ValidateConstitutionResponse> {
    const check = new RequestCheck("ValidateConstitution request", this.limits);
    const change = changeRequest(req.update, check);
    check.done();
    const r = await this.backend.validateConstitution(change, ctx);
    return { valid: r.valid, violations: r.violations.map(toViolation), draft: r.draft };
  }

  async rollbackConstitution(req: RollbackConstitutionRequest, ctx: CallContext): Promise<ConstitutionResponse> {
    const options = {
      ...(req.expectedVersion === undefined ? {} : { expectedVersion: req.expectedVersion }),
      ...(req.author === "" ? {} : { author: req.author }),
      ...(req.comment === "" ? {} : { comment: req.comment }),
    };
    return response(await this.backend.rollbackConstitution(options, ctx));
  }

  async getConstitutionHistory(req: GetConstitutionHistoryRequest, ctx: CallContext): Promise<GetConstitutionHistoryResponse> {
    const items = await this.backend.constitutionHistory(ctx);
    return { versions: items.map((h) => toVersion(h, req.includeDocuments)) };
  }

  async switchProfile(req: SwitchProfileRequest, ctx: CallContext): Promise<ConstitutionResponse> {
    const check = new RequestCheck("SwitchProfile request", this.limits);
    const profile = profileOf(req.profile, check);
    check.done();
    const change = {
      ...(profile === undefined ? {} : { profile }),
      ...(req.author === "" ? {} : { author: req.author }),
      ...(req.comment === "" ? {} : { comment: req.comment }),
      ...(req.expectedVersion === undefined ? {} : { expectedVersion: req.expectedVersion }),
    };
    return response(await this.backend.updateConstitution(change, ctx));
  }

  async getGuardianStats(_req: GetGuardianStatsRequest, ctx: CallContext): Promise<GetGuardianStatsResponse> {
    return toStats(await this.backend.guardianStats(ctx));
  }

  async *watchEvents(req: WatchEventsRequest, ctx: CallContext): AsyncGenerator<GuardianEvent> {
    const check = new RequestCheck("WatchEvents request", this.limits);
    const kinds = eventKinds(req.kinds, check);
    if (req.buffer > MAX_WATCH_BUFFER) check.add("buffer", req.buffer, "buffer_range", `at most ${MAX_WATCH_BUFFER} events (0 = the server default)`);
    check.done();
    const options = { kinds, ...(req.buffer === 0 ? {} : { capacity: req.buffer }) };
    for await (const e of this.backend.watchEvents(options, ctx)) yield toEvent(e);
  }

  async activate(req: ActivateRequest, ctx: CallContext): Promise<ActivateResponse> {
    const check = new RequestCheck("Activate request", this.limits);
    check.batchSize("connections", req.connections.length);
    const encoded = encodeConnectionKeys(req.connections);
    check.violations.push(...encoded.violations);
    const tokens = check.ids("tokens", req.tokens, false);
    check.done();
    if (req.connections.length === 0 && tokens.length === 0) return { activated: 0, rejected: [], hypothesesCreated: 0 };
    const r = await this.backend.activate(encoded.keys, tokens, { partial: req.partial }, ctx);
    return { activated: r.accepted, rejected: r.rejected.map(toItemError), hypothesesCreated: r.hypothesesCreated };
  }

  async feedback(req: FeedbackRequest, ctx: CallContext): Promise<FeedbackResponse> {
    const check = new RequestCheck("Feedback request", this.limits);
    check.batchSize("items", req.items.length);
    req.items.forEach((item, i) => {
      if (item.connection === undefined) check.add("connection", "", "required", "each item names a connection", i);
    });
    const encoded = encodeConnectionKeys(req.items.map((item) => item.connection ?? { source: 0, target: 0 }));
    for (const v of encoded.violations) if (req.items[v.index ?? -1]?.connection !== undefined) check.violations.push(v);
    check.done();
    if (req.items.length === 0) return { applied: 0, rejected: [], promoted: 0, deleted: 0 };
    const success = Uint8Array.from(req.items, (item) => (item.success ? 1 : 0));
    const r = await this.backend.feedback(encoded.keys, success, { partial: req.partial }, ctx);
    return { applied: r.accepted, rejected: r.rejected.map(toItemError), promoted: r.promoted, deleted: r.deleted };
  }

  /** The AdminService methods of the guardian. */
  adminService(env: HandlerEnv): Pick<AdminServiceServer, GuardianAdminMethod> {
    return {
      getConstitution: unary(env, (r: GetConstitutionRequest, c) => this.getConstitution(r, c)),
      updateConstitution: unary(env, (r: UpdateConstitutionRequest, c) => this.updateConstitution(r, c)),
      validateConstitution: unary(env, (r: ValidateConstitutionRequest, c) => this.validateConstitution(r, c)),
      rollbackConstitution: unary(env, (r: RollbackConstitutionRequest, c) => this.rollbackConstitution(r, c)),
      getConstitutionHistory: unary(env, (r: GetConstitutionHistoryRequest, c) => this.getConstitutionHistory(r, c)),
      switchProfile: unary(env, (r: SwitchProfileRequest, c) => this.switchProfile(r, c)),
      getGuardianStats: unary(env, (r: GetGuardianStatsRequest, c) => this.getGuardianStats(r, c)),
      watchEvents: serverStreaming(env, (r: WatchEventsRequest, c) => this.watchEvents(r, c)),
    };
  }

  /** The GraphService learning methods. */
  graphService(env: HandlerEnv): Pick<GraphServiceServer, GuardianGraphMethod> {
    return {
      activate: unary(env, (r: ActivateRequest, c) => this.activate(r, c), { batchField: "connections" }),
      feedback: unary(env, (r: FeedbackRequest, c) => this.feedback(r, c), { batchField: "items" }),
    };
  }
}
