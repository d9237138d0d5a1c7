/**
 * The observability methods of AdminService: the trace sampling configuration (read, change at
 * run time) and the black box (dump to a file, list events). The node implements
 * `ObservabilityBackend`; without one these methods answer UNIMPLEMENTED.
 */
import { ValidationError } from "../core/errors.ts";
import type {
  AdminServiceServer,
  DumpBlackBoxRequest,
  DumpBlackBoxResponse,
  GetSamplingConfigRequest,
  ListBlackBoxEventsRequest,
  ListBlackBoxEventsResponse,
  SamplingConfigResponse,
  UpdateSamplingConfigRequest,
} from "../gen/neurograph/v1/admin_service.ts";
import { unary, type HandlerEnv } from "./handlers.ts";

export interface SamplingView {
  /** The whole configuration in force (plain JSON data). */
  readonly config: unknown;
  readonly tracingEnabled: boolean;
  readonly tracingReason: string;
  readonly decisions: readonly { readonly reason: string; readonly outcome: string; readonly count: number }[];
}

export interface BlackBoxEventView {
  readonly seq: number;
  readonly time: string;
  readonly kind: string;
  readonly source: string;
  readonly message: string;
  readonly attributes: Readonly<Record<string, string | number | boolean | null>>;
}

export interface BlackBoxView {
  readonly events: readonly BlackBoxEventView[];
  readonly capacity: number;
  readonly recorded: number;
  readonly dropped: number;
}

export interface ObservabilityBackend {
  samplingConfig(): SamplingView;
  /** Merges and validates `patch` (parsed JSON); throws ValidationError and changes nothing when invalid. */
  updateSamplingConfig(patch: unknown): SamplingView;
  dumpBlackBox(reason: string): Promise<{ readonly path: string; readonly events: number }>;
  blackBox(): BlackBoxView;
}

export const BLACK_BOX_KINDS = ["actor_restart", "quota", "wal_error", "constitution_change", "slow_step", "recovered_exception", "fatal", "generic"];
const MAX_REASON = 512;

function samplingResponse(v: SamplingView): SamplingConfigResponse {
  return {
    configJson: JSON.stringify(v.config),
    tracingEnabled: v.tracingEnabled,
    tracingReason: v.tracingReason,
    decisions: v.decisions.map((d) => ({ reason: d.reason, outcome: d.outcome, count: d.count })),
  };
}

function parsePatch(text: string): unknown {
  if (text.trim() === "") {
    throw ValidationError.of("sampling patch", [
      { field: "patch_json", value: "", rule: "required", description: 'give a JSON object with the settings to change, e.g. {"baseRate": 0.05}' },
    ]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw ValidationError.of("sampling patch", [
      { field: "patch_json", value: text.slice(0, 64), rule: "json", description: `is not valid JSON (${err instanceof Error ? err.message : String(err)})` },
    ]);
  }
}

export class ObservabilityServiceHandlers {
  constructor(private readonly backend: ObservabilityBackend) {}

  getSamplingConfig(_req: GetSamplingConfigRequest): SamplingConfigResponse {
    return samplingResponse(this.backend.samplingConfig());
  }

  updateSamplingConfig(req: UpdateSamplingConfigRequest): SamplingConfigResponse {
    return samplingResponse(this.backend.updateSamplingConfig(parsePatch(req.patchJson)));
  }

  async dumpBlackBox(req: DumpBlackBoxRequest): Promise<DumpBlackBoxResponse> {
    if (req.reason.length > MAX_REASON) {
      throw ValidationError.of("black box dump", [
        { field: "reason", value: req.reason.slice(0, 64), rule: "max_length", description: `must be at most ${MAX_REASON} characters` },
      ]);
    }
    const reason = req.reason.trim() === "" ? "requested through AdminService" : req.reason;
    const dump = await this.backend.dumpBlackBox(reason);
    return { path: dump.path, events: dump.events };
  }

  listBlackBoxEvents(req: ListBlackBoxEventsRequest): ListBlackBoxEventsResponse {
    const unknown = req.kinds.map((k, i) => ({ k, i })).filter(({ k }) => !BLACK_BOX_KINDS.includes(k));
    if (unknown.length > 0) {
      throw ValidationError.of(
        "black box query",
        unknown.map(({ k, i }) => ({ field: `kinds[${i}]`, value: k.slice(0, 64), rule: "black_box_kind", description: `must be one of ${BLACK_BOX_KINDS.join(", ")}` })),
      );
    }
    const box = this.backend.blackBox();
    const kinds = new Set(req.kinds);
    let events = kinds.size === 0 ? box.events : box.events.filter((e) => kinds.has(e.kind));
    if (req.limit > 0 && events.length > req.limit) events = events.slice(events.length - req.limit);
    return {
      events: events.map((e) => ({
        seq: e.seq,
        time: e.time,
        kind: e.kind,
        source: e.source,
        message: e.message,
        attributes: Object.fromEntries(Object.entries(e.attributes).map(([k, v]) => [k, v === null ? "" : String(v)])),
      })),
      capacity: box.capacity,
      recorded: box.recorded,
      dropped: box.dropped,
    };
  }

  /** The grpc-js methods of this file. */
  service(env: HandlerEnv): Pick<AdminServiceServer, "getSamplingConfig" | "updateSamplingConfig" | "dumpBlackBox" | "listBlackBoxEvents"> {
    return {
      getSamplingConfig: unary(env, (r: GetSamplingConfigRequest) => Promise.resolve().then(() => this.getSamplingConfig(r))),
      updateSamplingConfig: unary(env, (r: UpdateSamplingConfigRequest) => Promise.resolve().then(() => this.updateSamplingConfig(r))),
      dumpBlackBox: unary(env, (r: DumpBlackBoxRequest) => this.dumpBlackBox(r)),
      listBlackBoxEvents: unary(env, (r: ListBlackBoxEventsRequest) => Promise.resolve().then(() => this.listBlackBoxEvents(r))),
    };
  }
}
