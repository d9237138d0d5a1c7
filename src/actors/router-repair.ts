/**
 * Edge reconciliation at node start (docs/wal.md, "Cross-shard connections after a crash").
 *
 * A cross-shard connection is two WAL records on two shards: connect commits the owner (source's
 * shard) first and the mirror (target's shard) second; disconnect and token delete remove the
 * owner's side (or the token) first and cascade to the other shard second. A crash in between
 * leaves one side only, and every side is recovered from its own log, so after every shard has
 * recovered — and before the node serves — the coordinator rolls every torn operation forward
 * with the owner as the authority:
 * - owned connection without its mirror (connect torn) → the mirror is added;
 * - mirror differing from its owned connection (upsert torn) → the mirror is rewritten;
 * - mirror without an owned connection (disconnect, or delete of the source, torn) → removed;
 * - owned connection whose target token is gone (delete of the target torn) → the owner unlinks it.
 * Each repair is an ordinary logged mutation, so a crash during the pass only leaves work for the
 * next start. One target shard at a time: the owners' records into it (packed, 64 bytes each)
 * are gathered, the target repairs its mirrors, the owners unlink what dangles.
 */
import type { KeyColumns, MirrorRepairReply } from "./shard-protocol.ts";
import { splitKeys } from "./router-batches.ts";
import type { Fanout } from "./router-writes.ts";

export interface EdgeRepairReport {
  /** Cross-shard owned connections checked. */
  readonly checked: number;
  readonly mirrorsAdded: number;
  readonly mirrorsUpdated: number;
  readonly mirrorsRemoved: number;
  /** Owned connections removed because their target token no longer exists. */
  readonly ownersRemoved: number;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

async function unlinkAtOwners(f: Fanout, keys: KeyColumns, timeoutMs: number): Promise<number> {
  if (keys.sources.length === 0) return 0;
  const parts = splitKeys(keys.sources, keys.targets, keys.types, f.shardCount, "source", (n) => new Uint8Array(n));
  const replies = await Promise.all(
    parts.map((p) => f.ref(p.shard).ask({ type: "shard.unlink-dangling", keys: p.payload }, { timeoutMs })),
  );
  let removed = 0;
  for (const r of replies) removed += r.connectionsRemoved;
  return removed;
}

/** A tally of repairs; `repair` runs one mirror repair at `target` and unlinks what dangles. */
class RepairTally {
  checked = 0;
  mirrorsAdded = 0;
  mirrorsUpdated = 0;
  mirrorsRemoved = 0;
  ownersRemoved = 0;

  constructor(
    private readonly f: Fanout,
    private readonly timeoutMs: number,
  ) {}

  async repair(target: number, owned: Uint8Array, fromShard?: number): Promise<void> {
    const { f, timeoutMs } = this;
    this.checked += owned.byteLength >>> 6;
    const r: MirrorRepairReply = await f.ref(target).ask({ type: "shard.mirror-repair", owned, ...(fromShard === undefined ? {} : { fromShard }) }, { timeoutMs });
    this.mirrorsAdded += r.mirrorsAdded;
    this.mirrorsUpdated += r.mirrorsUpdated;
    this.mirrorsRemoved += r.mirrorsRemoved;
    this.ownersRemoved += await unlinkAtOwners(f, r.dangling, timeoutMs);
  }

  /** Every other shard's owned connections into `target`, in one buffer. */
  async ownedInto(target: number): Promise<Uint8Array> {
    const owners: Promise<Uint8Array>[] = [];
    for (let s = 0; s < this.f.shardCount; s++) if (s !== target) owners.push(this.f.ref(s).ask({ type: "shard.edge-audit", targetShard: target }, { timeoutMs: this.timeoutMs }));
    return concat(await Promise.all(owners));
  }

  report(): EdgeRepairReport {
    return { checked: this.checked, mirrorsAdded: this.mirrorsAdded, mirrorsUpdated: this.mirrorsUpdated, mirrorsRemoved: this.mirrorsRemoved, ownersRemoved: this.ownersRemoved };
  }
}

/**
 * Reconciles both sides of every cross-shard connection. Call it once every shard has recovered
 * and while their recovery gate holds client calls (`GraphShardEnv.recovery`), then open the
 * gate (`openShards`); `timeoutMs` bounds each shard message.
 */
export async function reconcileEdges(f: Fanout, timeoutMs: number): Promise<EdgeRepairReport> {
  const tally = new RepairTally(f, timeoutMs);
  if (f.shardCount < 2) return tally.report();
  for (let target = 0; target < f.shardCount; target++) await tally.repair(target, await tally.ownedInto(target));
  return tally.report();
}

/**
 * Cluster mode: reconciles the cross-shard edges of one shard just taken over, with the shards
 * wherever they are served: its mirrors against every other shard's owned connections into it,
 * and its owned connections against their mirrors on every other shard (only mirrors whose
 * source lives on it are checked there). A shard that is not served anywhere at the moment fails
 * the pass (UNAVAILABLE) and the caller tries again later.
 */
export async function reconcileShardEdges(f: Fanout, shard: number, timeoutMs: number): Promise<EdgeRepairReport> {
  const tally = new RepairTally(f, timeoutMs);
  if (f.shardCount < 2) return tally.report();
  await tally.repair(shard, await tally.ownedInto(shard));
  for (let target = 0; target < f.shardCount; target++) {
    if (target === shard) continue;
    const out = await f.ref(shard).ask({ type: "shard.edge-audit", targetShard: target }, { timeoutMs });
    await tally.repair(target, out, shard);
  }
  return tally.report();
}

/** Opens every shard's recovery gate: the calls that waited are served. */
export function openShards(f: Fanout): void {
  for (let s = 0; s < f.shardCount; s++) f.ref(s).tell({ type: "shard.open" });
}
