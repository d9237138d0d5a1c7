/**
 * Quotas of one node (constitution `quotas`): tokens, connections, store bytes and process RSS.
 *
 * The gate is a small shared object, not an actor: shards report their exact figures after each
 * write (O(1): per-shard slots with running totals) and ask it before a write; the guardian
 * feeds it one RSS sample per `rss_sample_interval_ms` (never per write: the original read
 * /proc/self/status once per token) and reacts to level changes (soft threshold → event +
 * cleanup; hard limit → event). A write that would take a quota past its limit is refused whole
 * with `QuotaExceededError` (RESOURCE_EXHAUSTED), naming the quota, its usage and its limit.
 *
 * Writes in flight: the coordinator `reserve`s a write's growth before any shard sees it and gets
 * a ticket; each shard part carries the ticket and, in the same turn that applies it and reports
 * the store's new figures, `settle`s the share it drew (applied items now count in the usage,
 * rejected ones are free); `release` ends whatever a write did not settle (a part that never ran).
 * So every item counts exactly once — as reserved, then as usage — however many writes overlap.
 */
import { QuotaExceededError, ValidationError } from "../../core/errors.ts";
import type { QuotaParams } from "../../core/constitution/index.ts";
import { QUOTA_NAMES, type QuotaLevelName, type QuotaName } from "./events.ts";

export const QuotaIndex = { tokens: 0, connections: 1, store_bytes: 2, memory_bytes: 3 } as const satisfies Record<QuotaName, number>;
const LEVEL_NAMES: readonly QuotaLevelName[] = ["normal", "soft", "hard"];
const NORMAL = 0;
const SOFT = 1;
const HARD = 2;

export interface QuotaUsage {
  readonly quota: QuotaName;
  readonly usage: number;
  /** Infinity when unlimited. */
  readonly limit: number;
  readonly softLimit: number;
  /** usage / limit (0 when unlimited). */
  readonly ratio: number;
  readonly level: QuotaLevelName;
  /** Writes refused by this quota since start. */
  readonly refused: number;
}

export type QuotaLevelListener = (quota: QuotaName, level: QuotaLevelName, usage: number, limit: number) => void;

export class QuotaGate {
  readonly shardCount: number;
  private readonly byShard: Float64Array;
  /** Running totals, indexed by QuotaIndex. */
  private readonly usage = new Float64Array(4);
  private readonly limit = new Float64Array(4).fill(Infinity);
  private readonly soft = new Float64Array(4).fill(Infinity);
  private readonly levels = new Uint8Array(4);
  private readonly refused = new Float64Array(4);
  /** Admitted but not yet settled (tokens, connections, bytes): writes in flight. */
  private readonly reserved = new Float64Array(3);
  /** What each open ticket still holds (one entry per write in flight, never per item). */
  private readonly tickets = new Map<number, Float64Array>();
  private lastTicket = 0;
  private rssSampledAt = -Infinity;
  private listener: QuotaLevelListener | undefined;

  constructor(shardCount: number, limits?: QuotaParams) {
    if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > 0xffff) {
      throw ValidationError.of("quota gate", [{ field: "shardCount", value: String(shardCount), rule: "shard_count_range", description: "must be an integer in 1..65535" }]);
    }
    this.shardCount = shardCount;
    // tokens, connections, bytes per shard.
    this.byShard = new Float64Array(shardCount * 3);
    if (limits !== undefined) this.setLimits(limits);
  }

  /** Called on every level change (from inside `report`, `sampleRss` or `setLimits`). */
  onLevelChange(listener: QuotaLevelListener): void {
    this.listener = listener;
  }

  /** New limits from a new constitution; levels are re-evaluated at once. */
  setLimits(q: QuotaParams): void {
    this.limit[0] = q.maxTokens;
    this.limit[1] = q.maxConnections;
    this.limit[2] = q.maxStoreBytes;
    this.limit[3] = q.maxMemoryBytes;
    this.soft[0] = q.softTokens;
    this.soft[1] = q.softConnections;
    this.soft[2] = q.softStoreBytes;
    this.soft[3] = q.softMemoryBytes;
    for (let i = 0; i < 4; i++) this.evaluate(i);
  }

  /** A shard's exact figures after a write (its store's size, connection entries and byteSize()). */
  report(shard: number, tokens: number, connections: number, bytes: number): void {
    const b = shard * 3;
    const u = this.usage;
    const s = this.byShard;
    u[0] = u[0]! + tokens - s[b]!;
    u[1] = u[1]! + connections - s[b + 1]!;
    u[2] = u[2]! + bytes - s[b + 2]!;
    s[b] = tokens;
    s[b + 1] = connections;
    s[b + 2] = bytes;
    this.evaluate(0);
    this.evaluate(1);
    this.evaluate(2);
  }

  /** The latest RSS sample (the guardian's timer calls this at most once per interval). */
  sampleRss(bytes: number, atMs: number): void {
    this.usage[3] = bytes;
    this.rssSampledAt = atMs;
    this.evaluate(3);
  }

  /** When RSS was last sampled (epoch ms; -Infinity before the first sample). */
  get lastRssSampleAt(): number {
    return this.rssSampledAt;
  }

  /**
   * Checks a write that adds `tokens` tokens, `connections` connection entries and about
   * `bytes` store bytes; throws QuotaExceededError (nothing may be applied) when any quota would
   * pass its limit — counting the writes admitted with `reserve` and not yet settled, which the
   * error's usage includes — or when the last RSS sample is at or above the memory limit. O(1).
   */
  admit(tokens: number, connections: number, bytes: number): void {
    if (tokens <= 0 && connections <= 0 && bytes <= 0) return;
    const u = this.usage;
    const l = this.limit;
    const r = this.reserved;
    if (u[3]! >= l[3]!) this.refuse(3, u[3]!);
    if (bytes > 0 && u[2]! + r[2]! + bytes > l[2]!) this.refuse(2, u[2]! + r[2]!);
    if (tokens > 0 && u[0]! + r[0]! + tokens > l[0]!) this.refuse(0, u[0]! + r[0]!);
    if (connections > 0 && u[1]! + r[1]! + connections > l[1]!) this.refuse(1, u[1]! + r[1]!);
  }

  /**
   * `admit`, then holds the amounts for a write in flight (the coordinator of a write spanning
   * shards: concurrent writes cannot both pass the last free slots). Returns the ticket its shard
   * parts `settle` and its coordinator `release`s.
   */
  reserve(tokens: number, connections: number, bytes: number): number {
    this.admit(tokens, connections, bytes);
    const held = Float64Array.of(Math.max(0, tokens), Math.max(0, connections), Math.max(0, bytes));
    const r = this.reserved;
    for (let i = 0; i < 3; i++) r[i] = r[i]! + held[i]!;
    this.lastTicket = this.lastTicket >= Number.MAX_SAFE_INTEGER ? 1 : this.lastTicket + 1;
    this.tickets.set(this.lastTicket, held);
    return this.lastTicket;
  }

  /**
   * A shard part of the write holding `ticket` was decided in this turn: `tokens` / `connections`
   * / `bytes` of its reservation end (what applied is in the shard's report of the same turn,
   * what was rejected will never apply). Capped at what the ticket still holds; an ended or
   * unknown ticket (a part applied after its coordinator gave up) settles nothing.
   */
  settle(ticket: number, tokens: number, connections: number, bytes: number): void {
    const held = this.tickets.get(ticket);
    if (held === undefined) return;
    this.take(held, 0, tokens);
    this.take(held, 1, connections);
    this.take(held, 2, bytes);
  }

  /** Ends a reservation: whatever its parts did not settle stops counting (call once per ticket). */
  release(ticket: number): void {
    const held = this.tickets.get(ticket);
    if (held === undefined) return;
    this.tickets.delete(ticket);
    for (let i = 0; i < 3; i++) this.take(held, i, Infinity);
  }

  private take(held: Float64Array, i: number, amount: number): void {
    const n = Math.min(held[i]!, Math.max(0, amount));
    if (!(n > 0)) return;
    held[i] = held[i]! - n;
    this.reserved[i] = Math.max(0, this.reserved[i]! - n);
  }

  /** Reservations not yet settled or released: tokens, connections, bytes. */
  inFlight(): { readonly tokens: number; readonly connections: number; readonly bytes: number; readonly writes: number } {
    const r = this.reserved;
    return { tokens: r[0]!, connections: r[1]!, bytes: r[2]!, writes: this.tickets.size };
  }

  /** Like `admit`, but answers instead of throwing. */
  fits(tokens: number, connections: number, bytes: number): boolean {
    const u = this.usage;
    const l = this.limit;
    const r = this.reserved;
    if (tokens <= 0 && connections <= 0 && bytes <= 0) return true;
    return !(
      u[3]! >= l[3]! ||
      (bytes > 0 && u[2]! + r[2]! + bytes > l[2]!) ||
      (tokens > 0 && u[0]! + r[0]! + tokens > l[0]!) ||
      (connections > 0 && u[1]! + r[1]! + connections > l[1]!)
    );
  }

  private refuse(i: number, usage: number): never {
    this.refused[i] = this.refused[i]! + 1;
    throw new QuotaExceededError(QUOTA_NAMES[i]!, usage, this.limit[i]!);
  }

  usageOf(quota: QuotaName): number {
    return this.usage[QuotaIndex[quota]]!;
  }

  limitOf(quota: QuotaName): number {
    return this.limit[QuotaIndex[quota]]!;
  }

  levelOf(quota: QuotaName): QuotaLevelName {
    return LEVEL_NAMES[this.levels[QuotaIndex[quota]]!]!;
  }

  /** Quotas at or above their soft threshold, in QUOTA_NAMES order. */
  overSoft(): QuotaName[] {
    const out: QuotaName[] = [];
    for (let i = 0; i < 4; i++) if (this.levels[i]! >= SOFT) out.push(QUOTA_NAMES[i]!);
    return out;
  }

  snapshot(): QuotaUsage[] {
    return QUOTA_NAMES.map((quota, i) => {
      const limit = this.limit[i]!;
      const usage = this.usage[i]!;
      return {
        quota,
        usage,
        limit,
        softLimit: this.soft[i]!,
        ratio: Number.isFinite(limit) && limit > 0 ? usage / limit : 0,
        level: LEVEL_NAMES[this.levels[i]!]!,
        refused: this.refused[i]!,
      };
    });
  }

  private evaluate(i: number): void {
    const u = this.usage[i]!;
    const level = u >= this.limit[i]! ? HARD : u >= this.soft[i]! ? SOFT : NORMAL;
    if (level === this.levels[i]) return;
    this.levels[i] = level;
    this.listener?.(QUOTA_NAMES[i]!, LEVEL_NAMES[level]!, u, this.limit[i]!);
  }
}

/** Process RSS in bytes. */
export type RssProbe = () => number;

export const processRss: RssProbe = () => process.memoryUsage.rss();

/**
 * Calls the probe at most once per `intervalMs` however often `sample` is called (the guardian's
 * timer drives it; this guard also holds if a caller asks more often).
 */
export class RssSampler {
  private last = -Infinity;
  private value = 0;
  private probes = 0;

  constructor(
    private readonly probe: RssProbe = processRss,
    private intervalMs = 1000,
  ) {
    this.setInterval(intervalMs);
  }

  setInterval(ms: number): void {
    if (!(ms >= 1000) || !Number.isFinite(ms)) {
      throw ValidationError.of("RSS sampler", [{ field: "intervalMs", value: String(ms), rule: "rss_sample_interval", description: "RSS is sampled at most once a second: the interval must be ≥ 1000 ms" }]);
    }
    this.intervalMs = ms;
  }

  /** The current RSS: a fresh probe when the interval has passed since the last one, else the last value. */
  sample(nowMs: number): { readonly bytes: number; readonly fresh: boolean } {
    if (nowMs - this.last < this.intervalMs) return { bytes: this.value, fresh: false };
    this.last = nowMs;
    this.value = this.probe();
    this.probes++;
    return { bytes: this.value, fresh: true };
  }

  /** Probes made so far. */
  get probeCount(): number {
    return this.probes;
  }
}
