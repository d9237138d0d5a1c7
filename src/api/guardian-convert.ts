/**
 * Conversions between the guardian messages of `guardian.proto` and the guardian's own types:
 * field masks to constitution patches, reports, history, events. No logic beyond mapping.
 */
import { Constitution, PATCH_SECTIONS, PROFILE_BY_NAME, profileName, type ConstitutionPatch } from "../core/constitution/index.ts";
import type { FieldViolation } from "../core/errors.ts";
import type { ConstitutionChangeRequest, GuardianEvent, GuardianEventKind, GuardianReport, HistoryItem, QuotaLevelName } from "../actors/guardian/index.ts";
import type { Violation } from "../gen/neurograph/v1/common.ts";
import {
  GuardianEventKind as EventKindProto,
  QuotaLevel,
  type ConstitutionVersion,
  type GetGuardianStatsResponse,
  type GuardianEvent as GuardianEventProto,
  type UpdateConstitutionRequest,
} from "../gen/neurograph/v1/guardian.ts";
import type { ConstitutionProfile } from "../gen/neurograph/v1/constitution.ts";
import type { RequestCheck } from "./validation.ts";

const camel = (snake: string): string => snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Every section present (absent ones as their proto3 defaults), for reading masked fields. */
function filled(doc: Constitution | undefined): Constitution {
  const empty = Constitution.fromPartial({ metadata: {}, tokens: {}, connections: {}, physics: {}, fields: {}, learning: {}, quotas: {}, sampling: {}, validation: {} });
  if (doc === undefined) return empty;
  const out: Record<string, unknown> = { ...empty };
  for (const section of PATCH_SECTIONS) out[section] = doc[section] ?? empty[section];
  return out as unknown as Constitution;
}

function copy(v: unknown): unknown {
  if (v instanceof Uint8Array) return Uint8Array.from(v);
  if (Array.isArray(v)) return [...(v as unknown[])];
  return v;
}

/**
 * The patch named by `paths` (`section` or `section.field`, as in the .proto), read from
 * `doc`. Unknown sections and fields, deeper paths and repeats are reported on `check`.
 */
export function maskToPatch(doc: Constitution | undefined, paths: readonly string[], check: RequestCheck): ConstitutionPatch {
  const source = filled(doc) as unknown as Record<string, Record<string, unknown>>;
  const patch: Record<string, Record<string, unknown>> = {};
  const seen = new Set<string>();
  paths.forEach((path, i) => {
    const field = `update_mask.paths[${i}]`;
    if (seen.has(path)) {
      check.add(field, path, "duplicate_path", "each path may appear once");
      return;
    }
    seen.add(path);
    const parts = path.split(".");
    const section = parts[0] ?? "";
    if (!(PATCH_SECTIONS as readonly string[]).includes(section) || parts.length > 2 || parts.some((p) => p === "")) {
      check.add(field, path, "unknown_field", `no such constitution field; paths are "section" or "section.field" with sections ${PATCH_SECTIONS.join(", ")}`);
      return;
    }
    const values = source[section]!;
    const target = (patch[section] ??= {});
    if (parts.length === 1) {
      if (section === "metadata") target.profile = values.profile;
      else for (const [k, v] of Object.entries(values)) target[k] = copy(v);
      return;
    }
    const key = camel(parts[1]!);
    if (!Object.hasOwn(values, key)) {
      check.add(field, path, "unknown_field", `no such field in ${section}`);
      return;
    }
    if (section === "metadata" && key !== "profile") {
      check.add(field, path, "unknown_field", "only metadata.profile can be changed; version, parent, time, author and comment are set by the update");
      return;
    }
    target[key] = copy(values[key]);
  });
  return patch;
}

/** An UpdateConstitutionRequest as the guardian's change request (problems reported on `check`). */
export function changeRequest(req: UpdateConstitutionRequest | undefined, check: RequestCheck): ConstitutionChangeRequest {
  if (req === undefined) {
    check.add("update", "", "required", "give the update to validate");
    return {};
  }
  const paths = req.updateMask ?? [];
  const base = {
    ...(req.author === "" ? {} : { author: req.author }),
    ...(req.comment === "" ? {} : { comment: req.comment }),
    ...(req.expectedVersion === undefined ? {} : { expectedVersion: req.expectedVersion }),
  };
  if (paths.length > 0) return { ...base, patch: maskToPatch(req.constitution, paths, check) };
  if (req.constitution === undefined) {
    check.add("constitution", "", "required", "give a whole document, or a document with an update_mask naming the fields to change");
    return base;
  }
  return { ...base, document: req.constitution };
}

/** The profile name of an enum value (reported on `check` when it is not a profile). */
export function profileOf(profile: ConstitutionProfile, check: RequestCheck): keyof typeof PROFILE_BY_NAME | undefined {
  const name = profileName(profile);
  if (name === undefined) check.add("profile", profile, "profile_unknown", `profiles are ${Object.keys(PROFILE_BY_NAME).join(", ")}`);
  return name;
}

export function toViolation(v: FieldViolation): Violation {
  return { ...(v.index === undefined ? {} : { index: v.index }), field: v.field, value: v.value ?? "", rule: v.rule, description: v.description };
}

export function toVersion(h: HistoryItem, withDocument: boolean): ConstitutionVersion {
  return {
    version: h.version,
    checksum: h.checksum,
    createdAtUnixMs: h.createdAtUnixMs,
    author: h.author,
    comment: h.comment,
    profile: h.profile,
    active: h.active,
    document: withDocument ? Buffer.from(h.bytes) : Buffer.alloc(0),
  };
}

const LEVEL: Readonly<Record<QuotaLevelName, QuotaLevel>> = {
  normal: QuotaLevel.QUOTA_LEVEL_NORMAL,
  soft: QuotaLevel.QUOTA_LEVEL_SOFT,
  hard: QuotaLevel.QUOTA_LEVEL_HARD,
};

const finite = (v: number): number => (Number.isFinite(v) ? v : 0);

export function toStats(r: GuardianReport): GetGuardianStatsResponse {
  return {
    constitutionVersion: r.version,
    constitutionChecksum: r.checksum,
    profile: r.profile,
    validated: [...r.stats.validated],
    rejected: [...r.stats.rejected],
    proposalsApplied: [...r.stats.proposalsApplied],
    proposalsRejected: [...r.stats.proposalsRejected],
    quotas: r.quotas.map((q) => ({
      quota: q.quota,
      usage: q.usage,
      limit: finite(q.limit),
      softLimit: finite(q.softLimit),
      ratio: q.ratio,
      level: LEVEL[q.level],
      refused: q.refused,
    })),
    mutationsGranted: r.mutations.granted,
    mutationsRefused: r.mutations.refused,
    mutationsRemaining: r.mutations.remaining,
    cleanups: r.stats.cleanups,
    cleanupTokensRemoved: r.stats.cleanupTokensRemoved,
    cleanupConnectionsRemoved: r.stats.cleanupConnectionsRemoved,
    eventsPublished: r.events.published,
    eventsDropped: r.events.dropped,
    eventWatchers: r.events.subscribers,
    rssSampledAtUnixMs: finite(Math.max(0, r.rssSampledAt)),
  };
}

const KIND_BY_PROTO: ReadonlyMap<EventKindProto, GuardianEventKind> = new Map([
  [EventKindProto.GUARDIAN_EVENT_KIND_CONSTITUTION_UPDATED, "constitution_updated"],
  [EventKindProto.GUARDIAN_EVENT_KIND_VALIDATION_FAILED, "validation_failed"],
  [EventKindProto.GUARDIAN_EVENT_KIND_QUOTA, "quota"],
  [EventKindProto.GUARDIAN_EVENT_KIND_CLEANUP_DONE, "cleanup_done"],
  [EventKindProto.GUARDIAN_EVENT_KIND_MUTATION_CAP, "mutation_cap"],
  [EventKindProto.GUARDIAN_EVENT_KIND_DROPPED, "dropped"],
]);

/** Event kinds of a WatchEvents request (unknown values reported on `check`). */
export function eventKinds(kinds: readonly EventKindProto[], check: RequestCheck): GuardianEventKind[] {
  const out: GuardianEventKind[] = [];
  kinds.forEach((k, i) => {
    const kind = KIND_BY_PROTO.get(k);
    if (kind === undefined) check.add(`kinds[${i}]`, k, "event_kind_known", "give GuardianEventKind values other than UNSPECIFIED");
    else out.push(kind);
  });
  return out;
}

export function toEvent(e: GuardianEvent): GuardianEventProto {
  const head = { seq: e.seq, timeUnixMs: e.timeMs };
  switch (e.kind) {
    case "constitution_updated":
      return {
        ...head,
        event: {
          $case: "constitutionUpdated",
          value: { action: e.action, fromVersion: e.fromVersion, toVersion: e.toVersion, checksum: e.checksum, profile: e.profile, author: e.author, comment: e.comment },
        },
      };
    case "validation_failed":
      return {
        ...head,
        event: {
          $case: "validationFailed",
          value: {
            source: e.source,
            itemKind: e.itemKind,
            items: e.items,
            rejected: e.rejected,
            wholeBatch: e.wholeBatch,
            rules: [...e.rules],
            sample: e.sample === undefined ? undefined : toViolation(e.sample),
          },
        },
      };
    case "quota":
      return { ...head, event: { $case: "quota", value: { quota: e.quota, level: LEVEL[e.level], usage: e.usage, limit: finite(e.limit) } } };
    case "cleanup_done":
      return {
        ...head,
        event: {
          $case: "cleanupDone",
          value: { trigger: e.trigger, connectionsRemoved: e.connectionsRemoved, tokensRemoved: e.tokensRemoved, durationMs: e.durationMs, error: e.error ?? "" },
        },
      };
    case "mutation_cap":
      return { ...head, event: { $case: "mutationCap", value: { cap: e.cap, intervalMs: e.intervalMs, windowStartUnixMs: e.windowStartMs, rejected: e.rejected } } };
    case "dropped":
      return { ...head, event: { $case: "dropped", value: { count: e.count } } };
  }
}
