/**
 * Connections through the shards.
 *
 * Connect: a connection a → b is owned by a's shard; when b lives on another shard, b's shard
 * keeps a mirror in-edge. A batch with any cross-shard connection runs as a transaction: both
 * shards check their side (a's shard: a exists, out-degree; b's shard: b exists, in-degree) and
 * hold a fence, then the owners commit, then the mirrors. A crash between the two commits leaves
 * owned edges without their mirror (visible to `out` walks, not to `in` walks from b); the caller
 * got no acknowledgement, and retrying the Connect (an upsert) completes it.
 *
 * Disconnect: the owner removes the connection, then the target's shard drops the mirror
 * (idempotent unlink, as after a delete). A crash in between leaves a stale mirror.
 */
import { NotFoundError } from "../core/errors.ts";
import { CONNECTION_RECORD_SIZE } from "../core/connection/layout.ts";
import { splitConnectionRecords, splitIds, splitKeys, type Part } from "./router-batches.ts";
import { strictError } from "./router-rejections.ts";
import { cascade } from "./router-tokens.ts";
import type { ConnectionKeys, GetConnectionsQuery, GetConnectionsResult, WriteResult } from "./router-types.ts";
import { askOptions, runWrite, throwIfAborted, type Fanout, type Scope } from "./router-writes.ts";
import type { ShardOp } from "./shard-protocol.ts";

/** `quota`: the ticket of the coordinator's quota reservation for this batch (the parts settle it). */
export async function connect(f: Fanout, records: Uint8Array, partial: boolean, scope: Scope, quota?: number): Promise<WriteResult> {
  const n = records.byteLength >>> 6;
  const parts = splitConnectionRecords(records, f.shardCount);
  const crossShard = parts.some((p) => p.phases !== undefined && p.phases.indexOf(1) >= 0);
  const ops: Part<ShardOp>[] = parts.map((p) => ({ ...p, payload: { kind: "connect", records: p.payload, ...(quota === undefined ? {} : { quota }) } }));
  const run = await runWrite(f, ops, partial, scope, crossShard ? "dependent" : "auto");
  if (!partial && run.violations.size > 0) {
    throw strictError("connection batch", run.violations.sorted(), "use Disconnect first to replace a connection with another type");
  }
  // An item counts once, when its owned edge was applied.
  const applied = new Uint8Array(n);
  run.replies.forEach((reply, i) => {
    if (reply === undefined) return;
    const p = parts[i]!;
    for (let k = 0; k < p.items.length; k++) if (reply.accepted[k] === 1 && (p.phases?.[k] ?? 0) === 0) applied[p.items[k]!] = 1;
  });
  let accepted = 0;
  for (let i = 0; i < n; i++) accepted += applied[i]!;
  return { accepted, rejected: run.violations.rejections(() => 0) };
}

export async function disconnect(f: Fanout, keys: ConnectionKeys, partial: boolean, scope: Scope): Promise<WriteResult> {
  const parts = splitKeys(keys.sources, keys.targets, keys.types, f.shardCount, "source", (n) => new Int16Array(n));
  const ops: Part<ShardOp>[] = parts.map((p) => ({ ...p, payload: { kind: "disconnect", keys: p.payload } }));
  const run = await runWrite(f, ops, partial, scope);
  if (!partial && run.violations.size > 0) throw strictError("disconnect batch", run.violations.sorted());
  let removed = 0;
  for (const r of run.replies) removed += r?.connectionsRemoved ?? 0;
  await cascade(f, run.replies);
  return { accepted: removed, rejected: run.violations.rejections(() => 0) };
}

export async function getConnections(f: Fanout, q: GetConnectionsQuery, scope: Scope): Promise<GetConnectionsResult> {
  throwIfAborted(scope);
  const parts = splitIds(q.ids, f.shardCount);
  const opts = askOptions(scope);
  const replies = await Promise.all(
    parts.map((p) => f.ref(p.shard).ask({ type: "shard.connections", ids: p.payload, direction: q.direction, types: q.types, limit: q.limit }, opts)),
  );
  const n = q.ids.length;
  const partOf = new Uint32Array(n);
  const posOf = new Uint32Array(n);
  const starts: Uint32Array[] = [];
  let truncated = false;
  const missing: number[] = [];
  parts.forEach((p, j) => {
    const reply = replies[j]!;
    truncated ||= reply.truncated;
    const start = new Uint32Array(p.items.length);
    for (let k = 0, at = 0; k < p.items.length; k++) {
      start[k] = at;
      at += reply.counts[k]!;
      partOf[p.items[k]!] = j;
      posOf[p.items[k]!] = k;
      if (reply.found[k] === 0 && missing.length < 6) missing.push(p.payload[k]!);
    }
    starts.push(start);
  });
  if (missing.length > 0) {
    throw new NotFoundError(`tokens not found: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? " and more" : ""}; every id must name an existing token`);
  }
  let total = 0;
  for (const r of replies) total += r.records.byteLength / CONNECTION_RECORD_SIZE;
  const take = Math.min(total, q.limit);
  truncated ||= total > take;
  const out = new Uint8Array(take * CONNECTION_RECORD_SIZE);
  let at = 0;
  for (let i = 0; i < n && at < take; i++) {
    const reply = replies[partOf[i]!]!;
    const k = posOf[i]!;
    const count = Math.min(reply.counts[k]!, take - at);
    const from = starts[partOf[i]!]![k]! * CONNECTION_RECORD_SIZE;
    out.set(reply.records.subarray(from, from + count * CONNECTION_RECORD_SIZE), at * CONNECTION_RECORD_SIZE);
    at += count;
  }
  return { records: out, truncated };
}
