/**
 * Token batches through the shards: create (id 0 dealt round-robin), get, update, delete (with
 * the cascade that removes the deleted tokens' connections held by other shards).
 */
import { ErrorCode, NotFoundError, UnavailableError, toNeuroGraphError } from "../core/errors.ts";
import type { TokenLimits } from "../core/limits.ts";
import { validateTokenRecords } from "../core/token/validate.ts";
import { groupByShard } from "../runtime/index.ts";
import { RECORD_SIZE, TOKEN_ID_OFFSET } from "./record-columns.ts";
import { allIdsZero, dealFreshTokenRecords, splitIds, splitTokenRecords, type Part, type RoundRobin } from "./router-batches.ts";
import { strictError } from "./router-rejections.ts";
import type { CreateTokensResult, DeleteTokensResult, GetTokensResult, WriteResult } from "./router-types.ts";
import { askOptions, runWrite, throwIfAborted, type Fanout, type Scope } from "./router-writes.ts";
import type { KeyColumns, ShardOp, WriteReply } from "./shard-protocol.ts";

function updateParts(parts: Part<Uint8Array>[]): Part<ShardOp>[] {
  return parts.map((p) => ({ ...p, payload: { kind: "update", records: p.payload } }));
}

function idAt(records: Uint8Array): (index: number) => number {
  const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
  return (i) => (i * RECORD_SIZE + 52 <= records.byteLength ? dv.getUint32(i * RECORD_SIZE + TOKEN_ID_OFFSET, true) : 0);
}

/**
 * Tokens that all ask for an allocated id cannot conflict with anything stored: once their values
 * pass the limits (checked here, for a strict batch, and then not again by the shards), every
 * shard's part applies, so the parts need no transaction.
 */
export async function createTokens(
  f: Fanout,
  rr: RoundRobin,
  records: Uint8Array,
  partial: boolean,
  scope: Scope,
  limits: TokenLimits,
  /** The ticket of the coordinator's quota reservation for this batch (the parts settle it). */
  quota?: number,
): Promise<CreateTokensResult> {
  const n = records.byteLength >>> 6;
  // One scan of the ids decides the path: a batch of fresh tokens is copied once and dealt in
  // contiguous slices; anything else is grouped by the shard of its id.
  const fresh = allIdsZero(records);
  const checked = fresh && !partial;
  if (checked) {
    const violations = validateTokenRecords(records, limits, Math.floor(Date.now() / 1000), { allowZeroId: true, maxViolations: 1000 });
    if (violations.length > 0) throw strictError("token batch", violations);
  }
  const parts = fresh ? dealFreshTokenRecords(records, f.shardCount, rr) : splitTokenRecords(records, f.shardCount, rr);
  const ops: Part<ShardOp>[] = parts.map((p) => ({ ...p, payload: { kind: "insert", records: p.payload, checked, framed: fresh, ...(quota === undefined ? {} : { quota }) } }));
  const run = await runWrite(f, ops, partial, scope, fresh ? "independent" : "auto");
  if (!partial && run.violations.size > 0) {
    if (fresh) await undoInserts(f, run.replies, scope, run.violations.sorted()[0]!.description);
    throw strictError("token batch", run.violations.sorted(), "use UpdateTokens to change existing tokens");
  }
  const ids = new Uint32Array(n);
  let accepted = 0;
  run.replies.forEach((reply, i) => {
    if (reply?.ids === undefined) return;
    accepted += reply.applied;
    const items = parts[i]!.items;
    for (let k = 0; k < items.length; k++) ids[items[k]!] = reply.ids[k]!;
  });
  return { ids, accepted, rejected: run.violations.rejections(idAt(records)) };
}

/**
 * A strict batch of fresh tokens runs its parts independently; when a part still fails (a shard
 * with no id left to allocate: nothing its values could show), the tokens the other parts created
 * are deleted again, so the refused batch leaves nothing behind (the deletes are logged like the
 * inserts). Nobody knows their ids yet, so nothing can refer to them meanwhile.
 */
async function undoInserts(f: Fanout, replies: readonly (WriteReply | undefined)[], scope: Scope, reason: string): Promise<void> {
  let n = 0;
  for (const r of replies) if (r?.ids !== undefined && r.applied > 0) n += r.ids.length;
  if (n === 0) return;
  const created = new Uint32Array(n);
  let k = 0;
  for (const r of replies) {
    if (r?.ids === undefined || r.applied === 0) continue;
    for (const id of r.ids) if (id !== 0) created[k++] = id;
  }
  try {
    const undone = await deleteTokens(f, created.subarray(0, k), true, scope);
    if (undone.rejected.length === 0) return;
  } catch (err) {
    throw new UnavailableError(`the token batch was refused (${reason}) and ${k} tokens it created could not be removed again; delete tokens ${Array.from(created.subarray(0, 5)).join(", ")}${k > 5 ? ", …" : ""}`, { cause: err });
  }
  throw new UnavailableError(`the token batch was refused (${reason}) and some of the ${k} tokens it created could not be removed again; delete tokens ${Array.from(created.subarray(0, 5)).join(", ")}${k > 5 ? ", …" : ""}`);
}

export async function updateTokens(f: Fanout, records: Uint8Array, partial: boolean, scope: Scope): Promise<WriteResult> {
  const parts = splitTokenRecords(records, f.shardCount, null);
  const run = await runWrite(f, updateParts(parts), partial, scope);
  if (!partial && run.violations.size > 0) throw strictError("token update batch", run.violations.sorted(), "create missing tokens with CreateTokens");
  let accepted = 0;
  for (const r of run.replies) accepted += r?.applied ?? 0;
  return { accepted, rejected: run.violations.rejections(idAt(records)) };
}

export async function getTokens(f: Fanout, ids: Uint32Array, allowMissing: boolean, scope: Scope): Promise<GetTokensResult> {
  // One id (the common unary call) skips the abort check: the read changes nothing, a caller
  // that aborted has had its answer already, and reading the signal would make the gRPC adapter
  // create one per call. The deadline still bounds the ask.
  if (ids.length === 1) return getOne(f, ids, allowMissing, scope);
  throwIfAborted(scope);
  const parts = splitIds(ids, f.shardCount);
  const opts = askOptions(scope);
  const replies = await Promise.all(parts.map((p) => f.ref(p.shard).ask({ type: "shard.get", ids: p.payload }, opts)));
  const n = ids.length;
  const partOf = new Uint32Array(n);
  const posOf = new Uint32Array(n);
  let found = 0;
  parts.forEach((p, j) => {
    found += replies[j]!.count;
    for (let k = 0; k < p.items.length; k++) {
      partOf[p.items[k]!] = j;
      posOf[p.items[k]!] = k;
    }
  });
  const records = new Uint8Array(found * RECORD_SIZE);
  const missing = new Uint32Array(n - found);
  const out = new Uint32Array(records.buffer);
  const words = replies.map((r) => new Uint32Array(r.records.buffer, r.records.byteOffset, r.records.byteLength >>> 2));
  for (let i = 0, r = 0, m = 0; i < n; i++) {
    const j = partOf[i]!;
    const k = posOf[i]!;
    if (replies[j]!.found[k] === 0) {
      missing[m++] = ids[i]!;
      continue;
    }
    const src = words[j]!;
    for (let w = 0, a = k << 4, b = r << 4; w < 16; w++) out[b + w] = src[a + w]!;
    r++;
  }
  if (missing.length > 0 && !allowMissing) {
    const shown = Array.from(missing.subarray(0, 5)).join(", ");
    throw new NotFoundError(`tokens not found: ${shown}${missing.length > 5 ? ` (and ${missing.length - 5} more)` : ""}; set allow_missing to get the others`);
  }
  return { records, missing };
}

const NO_IDS = new Uint32Array(0);

/** Get by one id (the common unary call): one ask, no grouping or scattering. */
async function getOne(f: Fanout, ids: Uint32Array, allowMissing: boolean, scope: Scope): Promise<GetTokensResult> {
  const id = ids[0]!;
  const reply = await f.ref(id % f.shardCount).ask({ type: "shard.get", ids }, askOptions(scope));
  if (reply.found[0] !== 0) {
    const r = reply.records;
    return { records: r.byteLength === RECORD_SIZE ? r : r.slice(0, RECORD_SIZE), missing: NO_IDS };
  }
  if (!allowMissing) throw new NotFoundError(`tokens not found: ${id}; set allow_missing to get the others`);
  return { records: new Uint8Array(0), missing: Uint32Array.of(id) };
}

export async function deleteTokens(f: Fanout, ids: Uint32Array, partial: boolean, scope: Scope): Promise<DeleteTokensResult> {
  const parts = splitIds(ids, f.shardCount);
  const ops: Part<ShardOp>[] = parts.map((p) => ({ ...p, payload: { kind: "delete", ids: p.payload } }));
  const run = await runWrite(f, ops, partial, scope);
  if (!partial && run.violations.size > 0) throw strictError("token delete batch", run.violations.sorted());
  let accepted = 0;
  let removed = 0;
  for (const r of run.replies) {
    accepted += r?.applied ?? 0;
    removed += r?.connectionsRemoved ?? 0;
  }
  removed += await cascade(f, run.replies);
  return { accepted, rejected: run.violations.rejections((i) => ids[i] ?? 0), connectionsRemoved: removed };
}

/**
 * Unlinks, on the other shards, the connections the replies say are held there: the owned
 * edges into deleted tokens (at their source's shard) and the mirrors of removed edges (at their
 * target's shard). Unlinking is idempotent, so an overloaded shard is retried a few times.
 * Returns the authoritative connections removed.
 */
export async function cascade(f: Fanout, replies: readonly (WriteReply | undefined)[]): Promise<number> {
  const lists: { keys: KeyColumns; by: "source" | "target" }[] = [];
  let total = 0;
  for (const r of replies) {
    if (r?.unlinkAtSource !== undefined && r.unlinkAtSource.sources.length > 0) lists.push({ keys: r.unlinkAtSource, by: "source" });
    if (r?.unlinkAtTarget !== undefined && r.unlinkAtTarget.sources.length > 0) lists.push({ keys: r.unlinkAtTarget, by: "target" });
  }
  for (const l of lists) total += l.keys.sources.length;
  if (total === 0) return 0;
  const sources = new Uint32Array(total);
  const targets = new Uint32Array(total);
  const types = new Uint8Array(total);
  const dest = new Uint32Array(total);
  let at = 0;
  for (const l of lists) {
    sources.set(l.keys.sources, at);
    targets.set(l.keys.targets, at);
    types.set(l.keys.types, at);
    dest.set(l.by === "source" ? l.keys.sources : l.keys.targets, at);
    at += l.keys.sources.length;
  }
  const groups = groupByShard(dest, f.shardCount);
  const jobs: Promise<WriteReply>[] = [];
  for (let s = 0; s < f.shardCount; s++) {
    const from = groups.offsets[s]!;
    const to = groups.offsets[s + 1]!;
    if (to === from) continue;
    const idx = groups.indices.subarray(from, to);
    const keys: KeyColumns = {
      sources: Uint32Array.from(idx, (i) => sources[i]!),
      targets: Uint32Array.from(idx, (i) => targets[i]!),
      types: Uint8Array.from(idx, (i) => types[i]!),
    };
    jobs.push(withRetry(() => f.ref(s).ask({ type: "shard.write", op: { kind: "unlink", keys }, partial: false })));
  }
  let removed = 0;
  for (const r of await Promise.all(jobs)) removed += r.connectionsRemoved;
  return removed;
}

async function withRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const e = toNeuroGraphError(err);
      if (e.code !== ErrorCode.Overloaded || attempt >= 4) throw e;
      await new Promise((resolve) => setTimeout(resolve, 10 * 4 ** attempt));
    }
  }
}
