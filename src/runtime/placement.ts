/**
 * Placement of tokens on virtual shards: `shard = id mod S` (S fixed per cluster, default 16),
 * shard actor addresses, and grouping a batch of ids by shard with a counting sort into flat
 * typed arrays (no object or array per id), so a batch request fans out as one sub-batch per shard
 * and the replies can be scattered back into request order.
 */
import { ValidationError } from "../core/errors.ts";
import { actorAddress, type ActorAddress } from "./address.ts";

export const DEFAULT_SHARD_COUNT = 16;
export const MAX_SHARD_COUNT = 65_536;
export const SHARD_KIND = "shard";

export function validateShardCount(shardCount: number): void {
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > MAX_SHARD_COUNT) {
    throw ValidationError.of("shard count", [
      {
        field: "shardCount",
        value: String(shardCount),
        rule: "shard_count_range",
        description: `shard count must be an integer in 1..${MAX_SHARD_COUNT}, got ${shardCount}`,
      },
    ]);
  }
}

/** The virtual shard that owns token `id` (a u32). */
export function shardOf(id: number, shardCount: number = DEFAULT_SHARD_COUNT): number {
  return (id >>> 0) % shardCount;
}

/** `shard/<n>`. */
export function shardAddress(shard: number): ActorAddress {
  return actorAddress(SHARD_KIND, shard);
}

/** The shard number of a shard actor's address, or undefined for other addresses. */
export function shardOfAddress(address: ActorAddress): number | undefined {
  if (address.kind !== SHARD_KIND || !/^(0|[1-9]\d{0,5})$/.test(address.key)) return undefined;
  return Number(address.key);
}

export function shardAddresses(shardCount: number = DEFAULT_SHARD_COUNT): ActorAddress[] {
  validateShardCount(shardCount);
  return Array.from({ length: shardCount }, (_, s) => shardAddress(s));
}

/**
 * Ids grouped by shard. The ids of shard `s` are `ids[offsets[s] .. offsets[s + 1])`, in their
 * original order; `indices` holds, for each grouped position, the id's index in the input.
 */
export interface ShardGroups {
  readonly shardCount: number;
  /** length shardCount + 1 */
  readonly offsets: Uint32Array;
  readonly ids: Uint32Array;
  readonly indices: Uint32Array;
}

/** Stable counting sort of `ids` by shard: two passes, three typed arrays, O(n + S). */
export function groupByShard(ids: Uint32Array, shardCount: number = DEFAULT_SHARD_COUNT): ShardGroups {
  validateShardCount(shardCount);
  const n = ids.length;
  const offsets = new Uint32Array(shardCount + 1);
  for (let i = 0; i < n; i++) offsets[((ids[i] as number) % shardCount) + 1]!++;
  for (let s = 0; s < shardCount; s++) offsets[s + 1]! += offsets[s] as number;
  const cursor = offsets.slice(0, shardCount);
  const grouped = new Uint32Array(n);
  const indices = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const id = ids[i] as number;
    const at = cursor[id % shardCount]!++;
    grouped[at] = id;
    indices[at] = i;
  }
  return { shardCount, offsets, ids: grouped, indices };
}

/** The ids and input indices of one shard, as views (no copy). */
export function shardSlice(groups: ShardGroups, shard: number): { ids: Uint32Array; indices: Uint32Array } {
  const from = groups.offsets[shard] ?? 0;
  const to = groups.offsets[shard + 1] ?? from;
  return { ids: groups.ids.subarray(from, to), indices: groups.indices.subarray(from, to) };
}

/** The shards that received at least one id. */
export function nonEmptyShards(groups: ShardGroups): number[] {
  const out: number[] = [];
  for (let s = 0; s < groups.shardCount; s++) if ((groups.offsets[s + 1] as number) > (groups.offsets[s] as number)) out.push(s);
  return out;
}
