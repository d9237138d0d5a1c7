/**
 * The stress scenario's quota side: setting the node's token quota (AdminService
 * UpdateConstitution, a `quotas.*` field-mask patch) and the final phase that drives the node
 * past it, reporting what a user at the limit sees:
 * - where the soft threshold stood after the load (level, usage, the guardian's `quota` event
 *   counter in /metrics) and what the soft-threshold cleanup did (guardian stats);
 * - CreateTokens batches until the first RESOURCE_EXHAUSTED (the usage then, its code and message),
 *   then more batches and a single token, every one of which must be refused whole;
 * - reads (GetTokens of the last accepted batch, GetStats) that still succeed at the limit.
 */
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import type { NeuroGraphClient } from "../client/index.ts";
import { NeuroGraphError } from "../core/errors.ts";
import { AdminServiceClient } from "../gen/neurograph/v1/admin_service.ts";
import { Constitution } from "../gen/neurograph/v1/constitution.ts";
import { QuotaLevel, type GetGuardianStatsResponse } from "../gen/neurograph/v1/guardian.ts";
import { performance } from "node:perf_hooks";
import { Random, tokenRecords } from "./data.ts";

export interface QuotaSnapshot {
  readonly usage: number;
  /** 0 = unlimited. */
  readonly limit: number;
  readonly softLimit: number;
  readonly level: "normal" | "soft" | "hard" | "unknown";
  /** Writes this quota refused since the node started. */
  readonly refused: number;
}

export interface GuardianFigures {
  readonly tokens: QuotaSnapshot;
  readonly cleanups: number;
  readonly cleanupTokensRemoved: number;
  readonly cleanupConnectionsRemoved: number;
  /** From /metrics: `neurograph_quota_exceeded_total{quota="tokens",level=…}`. */
  readonly softCrossings: number;
  readonly hardCrossings: number;
}

export interface AtLimitReport {
  readonly quota: number;
  /** After the load phase, before pushing on. */
  readonly afterLoad: GuardianFigures;
  /** Tokens accepted in this phase before the first refusal (the room left under the quota). */
  readonly acceptedToLimit: number;
  /** Node's tokens when the first write was refused. */
  readonly usageAtFirstRefusal: number;
  readonly firstRefusal: { readonly code: string; readonly message: string; readonly afterMs: number } | null;
  /** Writes (batches of `batch`, then one of a single token) sent after the first refusal, and refused. */
  readonly writesAfterLimit: number;
  readonly refusedAfterLimit: number;
  readonly refusedTokens: number;
  readonly singleTokenRefused: boolean;
  /** Reads at the limit: GetTokens of the last accepted batch (tokens read back) and GetStats. */
  readonly readsSucceeded: boolean;
  readonly tokensReadBack: number;
  readonly nodeTokensAfter: number;
  readonly after: GuardianFigures;
}

function unary<Req, Res>(fn: (req: Req, md: Metadata, cb: (err: ServiceError | null, res: Res) => void) => unknown, req: Req, token: string | undefined): Promise<Res> {
  const md = new Metadata();
  if (token !== undefined) md.set("authorization", `Bearer ${token}`);
  return new Promise((resolve, reject) => fn(req, md, (err, res) => (err === null ? resolve(res) : reject(err))));
}

/** AdminService calls the stress scenario needs (constitution quotas, guardian stats). */
export class StressAdmin {
  readonly #admin: AdminServiceClient;
  readonly #token: string | undefined;
  constructor(address: string, token?: string) {
    this.#admin = new AdminServiceClient(address, credentials.createInsecure());
    this.#token = token;
  }

  /** Sets the token quota (0 = unlimited); `allUnlimited` also lifts connections, store and memory. */
  async setQuotas(maxTokens: number, allUnlimited: boolean): Promise<void> {
    const quotas = { maxTokens, ...(allUnlimited ? { maxConnections: 0, maxStoreBytes: 0, maxMemoryBytes: 0 } : {}) };
    const updateMask = Object.keys(quotas).map((k) => `quotas.${k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`);
    await unary(this.#admin.updateConstitution.bind(this.#admin), { constitution: Constitution.fromPartial({ quotas }), updateMask, author: "neurograph load stress", comment: allUnlimited ? "bare: no quotas" : `token quota ${maxTokens}` }, this.#token);
  }

  guardianStats(): Promise<GetGuardianStatsResponse> {
    return unary(this.#admin.getGuardianStats.bind(this.#admin), {}, this.#token);
  }

  close(): void {
    this.#admin.close();
  }
}

const LEVELS: Readonly<Record<number, QuotaSnapshot["level"]>> = { [QuotaLevel.QUOTA_LEVEL_NORMAL]: "normal", [QuotaLevel.QUOTA_LEVEL_SOFT]: "soft", [QuotaLevel.QUOTA_LEVEL_HARD]: "hard" };

/** A counter of the Prometheus text exposition whose labels include all of `labels`. */
export function metricValue(text: string, name: string, labels: Readonly<Record<string, string>>): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const brace = line.indexOf("}");
    const labelText = brace < 0 ? "" : line.slice(name.length + 1, brace);
    const value = brace < 0 ? line.slice(name.length) : line.slice(brace + 1);
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) sum += Number(value.trim().split(" ")[0]);
  }
  return sum;
}

async function figures(admin: StressAdmin, metricsUrl: string): Promise<GuardianFigures> {
  const stats = await admin.guardianStats();
  const q = stats.quotas.find((x) => x.quota === "tokens");
  const text = await fetch(metricsUrl).then((r) => r.text());
  return {
    tokens: { usage: q?.usage ?? 0, limit: q?.limit ?? 0, softLimit: q?.softLimit ?? 0, level: LEVELS[q?.level ?? 0] ?? "unknown", refused: Number(q?.refused ?? 0) },
    cleanups: Number(stats.cleanups),
    cleanupTokensRemoved: Number(stats.cleanupTokensRemoved),
    cleanupConnectionsRemoved: Number(stats.cleanupConnectionsRemoved),
    softCrossings: metricValue(text, "neurograph_quota_exceeded_total", { quota: "tokens", level: "soft" }),
    hardCrossings: metricValue(text, "neurograph_quota_exceeded_total", { quota: "tokens", level: "hard" }),
  };
}

const codeOf = (err: unknown): string => (err instanceof NeuroGraphError ? err.code : err instanceof Error ? err.name : "UNKNOWN");
const isQuotaRefusal = (err: unknown): boolean => err instanceof NeuroGraphError && /quota/i.test(err.message);

/**
 * Pushes CreateTokens batches past the quota. `soft` is true when the load crossed the soft
 * threshold: then the guardian's cleanup is given up to `cleanupWaitMs` to report.
 */
export async function pushPastQuota(client: NeuroGraphClient, admin: StressAdmin, metricsUrl: string, options: { quota: number; batch: number; afterLimit: number; cleanupWaitMs: number }): Promise<AtLimitReport> {
  // A soft crossing asks the guardian for a cleanup, which runs on its own turn: give it time.
  const settled = async (): Promise<GuardianFigures> => {
    let f = await figures(admin, metricsUrl);
    const until = performance.now() + options.cleanupWaitMs;
    while (f.softCrossings > 0 && f.cleanups === 0 && performance.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      f = await figures(admin, metricsUrl);
    }
    return f;
  };
  const afterLoad = await settled();
  const rng = new Random(7);
  const t0 = performance.now();
  let accepted = 0;
  let lastIds: Uint32Array = new Uint32Array(0);
  let first: AtLimitReport["firstRefusal"] = null;
  // Room left plus a margin: a node that never refuses stops here and the report says so.
  const maxCalls = Math.ceil(Math.max(0, options.quota - afterLoad.tokens.usage) / options.batch) + 2;
  for (let i = 0; i < maxCalls && first === null; i++) {
    try {
      const r = await client.createTokens(tokenRecords(options.batch, 0, rng));
      accepted += r.accepted;
      lastIds = r.ids;
    } catch (err) {
      if (!isQuotaRefusal(err)) throw err;
      first = { code: codeOf(err), message: err instanceof Error ? err.message : String(err), afterMs: Math.round(performance.now() - t0) };
    }
  }
  const usageAtFirstRefusal = Number((await client.stats()).tokens);
  let writes = 0;
  let refused = 0;
  let refusedTokens = 0;
  let singleTokenRefused = false;
  if (first !== null) {
    for (let i = 0; i <= options.afterLimit; i++) {
      const n = i === options.afterLimit ? 1 : options.batch;
      writes++;
      try {
        await client.createTokens(tokenRecords(n, 0, rng));
      } catch (err) {
        if (!isQuotaRefusal(err)) throw err;
        refused++;
        refusedTokens += n;
        if (n === 1) singleTokenRefused = true;
      }
    }
  }
  let readsSucceeded = false;
  let tokensReadBack = 0;
  let nodeTokensAfter = 0;
  try {
    const ids = lastIds.filter((id) => id !== 0);
    if (ids.length > 0) tokensReadBack = (await client.getTokenRecords(ids)).records.byteLength / 64;
    nodeTokensAfter = Number((await client.stats()).tokens);
    readsSucceeded = tokensReadBack === ids.length;
  } catch {
    readsSucceeded = false;
  }
  return {
    quota: options.quota,
    afterLoad,
    acceptedToLimit: accepted,
    usageAtFirstRefusal,
    firstRefusal: first,
    writesAfterLimit: writes,
    refusedAfterLimit: refused,
    refusedTokens,
    singleTokenRefused,
    readsSucceeded,
    tokensReadBack,
    nodeTokensAfter,
    after: await settled(),
  };
}
