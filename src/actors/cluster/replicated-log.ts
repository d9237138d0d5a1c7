/**
 * `ReplicatedShardLog`: the `ShardLog` of a shard in cluster mode (DESIGN §5). The replicated
 * source of truth is the JetStream stream `NG_<cluster>_LOG`, subject `ng.<cluster>.log.<shard>`:
 *
 * - **Append** (group commit): mutations appended while a batch is in flight wait and go out
 *   together as the next batch; a batch is acknowledged (its tickets become durable) once
 *   JetStream has stored every part. Each part is published with `expect last subject sequence`
 *   = the sequence of the shard's previous message: the fencing token. A stale owner (another node
 *   took the shard over and wrote a fence marker) fails with "wrong last sequence" and stops.
 *   Transient failures are retried with the same `Nats-Msg-Id`, so a retry after a lost ack is
 *   recognised as a duplicate rather than mistaken for fencing.
 * - **Recovery**: the newest snapshot from the object store, then the log after its position,
 *   then a fence marker (`Ng-Kind: fence`, expected last sequence = the end just replayed; when
 *   someone appended meanwhile, replay that too and try again). From the marker on, only this
 *   incarnation can append. If the snapshot object changed during the replay (a stale owner
 *   saved one and pruned under it), recovery fails with UNAVAILABLE and the shard retries.
 * - **Snapshots** are saved to the object store (never over a later one), then the log below
 *   the snapshot's position is purged (the message at the position is kept, so the subject never
 *   looks empty to the fencing check).
 *
 * Nothing reaches clients before it is durable: the shard holds every reply until its mutations
 * are acknowledged (commit-wait), so applying in memory before the ack is not observable; a failed
 * append makes the shard fail over to a fresh recovery from the log.
 */
import { randomBytes } from "node:crypto";
import type { JetStreamClient, JetStreamManager, PubAck } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { UnavailableError, toNeuroGraphError, type NeuroGraphError } from "../../core/errors.ts";
import type { Logger } from "../../telemetry/index.ts";
import type { AppendTicket, RecoveryHandler, RecoveryReport, ShardLog, ShardLogStats, ShardMutation, ShardSnapshotData } from "../shard-log.ts";
import type { CachedMessage, ShardCache } from "./local-cache.ts";
import { cameFirstAfter, isWrongLastSequence, lastSubjectSeq, readSubject } from "./log-reader.ts";
import { FENCE_KIND, KIND_HEADER, PART_HEADER, PartJoiner, decodeBatch, encodeBatch, encodedSize, parsePart, splitParts } from "./log-records.ts";
import type { SnapshotPosition, SnapshotStore } from "./snapshot-store.ts";

export interface ReplicatedLogOptions {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly subject: string;
  readonly shard: number;
  readonly snapshots: SnapshotStore;
  /** This node and its lease epoch (written into fence markers and message ids). */
  readonly owner: string;
  readonly epoch: number;
  /** Largest stream message (the server's max payload less room for headers). */
  readonly maxPartBytes: number;
  /** How long an append part is retried before the shard gives up (default 10 s). */
  readonly appendTimeoutMs?: number;
  /** Snapshot after this many mutations or bytes since the last one (defaults 50 000, 64 MiB). */
  readonly snapshotEveryRecords?: number;
  readonly snapshotEveryBytes?: number;
  /** Whether this node may still write the shard (its lease is valid); snapshots and prunes check it. */
  readonly mayWrite?: () => boolean;
  /** The log cannot go on: `fenced` (another owner appended) or `failed` (JetStream unreachable). */
  readonly onFailure?: (kind: "fenced" | "failed", error: NeuroGraphError) => void;
  /** This node's local copy of the shard's log and snapshot (recovery reads it before JetStream). */
  readonly cache?: ShardCache;
  readonly logger?: Logger;
}

/** Appends sent together: lsns first..last, after stream sequence `after`, ending at `end`. */
interface SentBatch {
  readonly first: number;
  readonly last: number;
  readonly after: number;
  readonly end: number;
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: NeuroGraphError): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: NeuroGraphError) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class FencedError extends UnavailableError {}

export class ReplicatedShardLog implements ShardLog {
  private lsn = 0;
  private durableLsn = 0;
  /** Stream sequence of this shard's last message as far as this owner knows (the fencing token). */
  private lastSeq = 0;
  private queue: ShardMutation[] = [];
  private queueBytes = 0;
  /** Lsn of the first queued mutation. */
  private queueFirst = 0;
  private queueDone: Deferred | undefined;
  private sending: Promise<void> | undefined;
  private scheduled = false;
  private inFlightBytes = 0;
  private sent: SentBatch[] = [];
  /** Where the recovered state ends: lsn and log position. */
  private base = { lsn: 0, position: { seq: 0, skip: 0 } as SnapshotPosition };
  private failure: NeuroGraphError | undefined;
  private closed = false;
  private lastCommitMs = 0;
  private lastSnapshotLsn = 0;
  private lastSnapshotAt = 0;
  private sinceSnapshotRecords = 0;
  private sinceSnapshotBytes = 0;
  private snapshotWaiters: Deferred[] = [];
  private readonly appendTimeoutMs: number;
  /** Message ids are unique per log instance and batch (a retry reuses its id, nothing else does). */
  private readonly nonce = randomBytes(9).toString("base64url");
  private batchNo = 0;

  constructor(private readonly o: ReplicatedLogOptions) {
    this.appendTimeoutMs = o.appendTimeoutMs ?? 10_000;
  }

  // ---- recovery -------------------------------------------------------------------------------

  async recover(handler: RecoveryHandler): Promise<RecoveryReport> {
    const started = Date.now();
    await this.flush().catch(() => undefined);
    if (this.failure !== undefined) throw this.failure;
    const { shard, jsm, stream, subject, cache } = this.o;
    const loaded = await this.o.snapshots.loadNewest(shard, cache, this.o.logger);
    let position: SnapshotPosition = { seq: 0, skip: 0 };
    if (loaded.snapshot !== undefined) {
      const s = loaded.snapshot;
      handler.loadSnapshot({ lsn: 0, tokens: s.tokens, connections: s.connections, ...(s.constitution === undefined ? {} : { constitution: s.constitution }) });
      position = { seq: s.seq, skip: s.skip };
    }
    this.lsn = 0;
    const joiner = new PartJoiner();
    let skip = position.skip;
    let replayed = 0;
    const apply = (seq: number, data: Uint8Array, fence: boolean, part: string | undefined): void => {
      if (fence) {
        joiner.abandon();
        return;
      }
      const whole = joiner.push(data, parsePart(part));
      if (whole === undefined) return;
      for (const m of decodeBatch(whole, `${subject} at ${seq}`)) {
        if (skip > 0) {
          skip--;
          continue;
        }
        handler.apply(m, ++this.lsn);
        replayed++;
      }
      skip = 0;
    };
    // What this node still has on disk first, then what JetStream holds after it.
    let cachedEnd = position.seq;
    const fromCache = cache === undefined ? { end: undefined, read: 0 } : await cache.read(position.seq, (m) => {
      apply(m.seq, m.data, m.fence, m.part);
      cachedEnd = m.seq;
    });
    if (fromCache.end !== undefined) cachedEnd = fromCache.end;
    const fetched: CachedMessage[] = [];
    let fetchedCount = 0;
    let from = cachedEnd + 1;
    let end = await lastSubjectSeq(jsm, stream, subject);
    for (let attempt = 0; ; attempt++) {
      await readSubject(this.o.js, stream, subject, from, end, (m) => {
        const fence = m.headers?.get(KIND_HEADER) === FENCE_KIND;
        const part = m.headers?.get(PART_HEADER) || undefined;
        apply(m.seq, m.data, fence, part);
        fetchedCount++;
        if (cache !== undefined) fetched.push({ seq: m.seq, data: Uint8Array.from(m.data), fence, part });
      });
      joiner.abandon(); // a group still open at the end was never acknowledged
      const marker = await this.writeFence(end, attempt);
      if (marker !== undefined) {
        this.lastSeq = marker;
        fetched.push({ seq: marker, data: new Uint8Array(0), fence: true, part: undefined });
        break;
      }
      if (attempt >= 20) throw new UnavailableError(`shard ${shard}: the replicated log kept growing while this node took the shard over; retry`);
      from = end + 1;
      end = await lastSubjectSeq(jsm, stream, subject);
    }
    if ((await this.o.snapshots.revision(shard)) !== loaded.revision) {
      throw new UnavailableError(`shard ${shard}: its snapshot changed while it was being recovered (a previous owner saved one); recovering again`);
    }
    // Only now is what was read known to be the stream's (no owner pruned it meanwhile).
    cache?.add(cachedEnd, fetched);
    const sources = { snapshot: loaded.source, cachedMessages: fromCache.read, fetchedMessages: fetchedCount };
    this.o.logger?.info({ shard, ...sources }, "recovered the shard from its replicated log");
    this.durableLsn = this.lsn;
    this.base = { lsn: this.lsn, position: { seq: this.lastSeq, skip: 0 } };
    this.sent = [];
    this.sinceSnapshotRecords = replayed;
    this.sinceSnapshotBytes = 0;
    return {
      snapshotLsn: 0,
      replayedRecords: replayed,
      lastLsn: this.lsn,
      durationMs: Date.now() - started,
      warnings: joiner.dropped > 0 ? [`dropped ${joiner.dropped} incomplete batch(es) left by a failed owner`] : [],
      sources,
    };
  }

  /** Writes the fence marker after `end`; undefined when someone appended after `end` meanwhile. */
  private async writeFence(end: number, attempt: number): Promise<number | undefined> {
    const h = natsHeaders();
    h.set(KIND_HEADER, FENCE_KIND);
    const body = new TextEncoder().encode(JSON.stringify({ owner: this.o.owner, epoch: this.o.epoch, after: end }));
    try {
      const ack = await this.o.js.publish(this.o.subject, body, {
        headers: h,
        expect: { lastSubjectSequence: end },
        msgID: `${this.nonce}-fence-${end}-${attempt}`,
        timeout: this.appendTimeoutMs,
      });
      // The marker fences only if nothing came between (see `cameFirstAfter`).
      return (await cameFirstAfter(this.o.jsm, this.o.stream, this.o.subject, end, ack.seq)) ? ack.seq : undefined;
    } catch (err) {
      if (isWrongLastSequence(err)) return undefined;
      throw new UnavailableError(`shard ${this.o.shard}: writing the ownership marker to the replicated log failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  // ---- appends --------------------------------------------------------------------------------

  append(mutation: ShardMutation): AppendTicket {
    if (this.failure !== undefined) throw this.failure;
    if (this.closed) throw new UnavailableError(`shard ${this.o.shard}: its log is closed (the shard is moving); retry`);
    const lsn = ++this.lsn;
    if (this.queue.length === 0) this.queueFirst = lsn;
    this.queue.push(mutation);
    this.queueBytes += encodedSize(mutation);
    this.queueDone ??= deferred();
    const durable = this.queueDone.promise;
    this.kick();
    return { lsn, durable };
  }

  /** Starts sending unless a send is running or scheduled; appends of the same turn join the batch. */
  private kick(): void {
    if (this.sending !== undefined || this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      if (this.sending !== undefined) return;
      this.sending = this.sendAll().finally(() => {
        this.sending = undefined;
        // An append that arrived between the last batch and this callback found `sending` set.
        if (this.queue.length > 0) this.kick();
      });
    });
  }

  private async sendAll(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      const done = this.queueDone!;
      const bytes = this.queueBytes;
      const first = this.queueFirst;
      const last = first + batch.length - 1;
      this.queue = [];
      this.queueBytes = 0;
      this.queueDone = undefined;
      if (this.failure !== undefined) {
        done.reject(this.failure);
        continue;
      }
      this.inFlightBytes = bytes;
      const t0 = Date.now();
      try {
        const after = this.lastSeq;
        const parts = splitParts(encodeBatch(batch), this.o.maxPartBytes);
        const batchNo = ++this.batchNo;
        for (let i = 0; i < parts.length; i++) await this.publishPart(parts[i]!, i + 1, parts.length, batchNo);
        this.sent.push({ first, last, after, end: this.lastSeq });
        this.durableLsn = last;
        this.lastCommitMs = Date.now() - t0;
        this.sinceSnapshotRecords += batch.length;
        this.sinceSnapshotBytes += bytes;
        done.resolve();
      } catch (err) {
        const error = toNeuroGraphError(err);
        this.fail(err instanceof FencedError ? "fenced" : "failed", error);
        done.reject(error);
      } finally {
        this.inFlightBytes = 0;
      }
    }
  }

  private async publishPart(part: Uint8Array, index: number, total: number, batchNo: number): Promise<void> {
    const { js, subject, shard } = this.o;
    const h = total > 1 ? natsHeaders() : undefined;
    h?.set(PART_HEADER, `${index}/${total}`);
    const msgID = `${this.nonce}-${batchNo}-${index}`;
    const deadline = Date.now() + this.appendTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      let ack: PubAck;
      try {
        ack = await js.publish(subject, part, {
          msgID,
          expect: { lastSubjectSequence: this.lastSeq },
          timeout: Math.max(100, Math.min(5000, deadline - Date.now())),
          ...(h === undefined ? {} : { headers: h }),
        });
      } catch (err) {
        if (isWrongLastSequence(err)) {
          throw new FencedError(`shard ${shard} was taken over by another node (its replicated log moved on: ${err.message}); this node stopped serving it; retry`);
        }
        if (Date.now() >= deadline) {
          throw new UnavailableError(`shard ${shard}: appending to the replicated log failed for ${this.appendTimeoutMs} ms (${err instanceof Error ? err.message : String(err)}); the shard restarts from the log; retry`, { cause: err });
        }
        await sleep(Math.min(1000, 50 * 2 ** attempt));
        continue;
      }
      this.o.cache?.add(this.lastSeq, [{ seq: ack.seq, data: part, fence: false, part: h === undefined ? undefined : `${index}/${total}` }]);
      this.lastSeq = ack.seq;
      return;
    }
  }

  private fail(kind: "fenced" | "failed", error: NeuroGraphError): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    for (const w of this.snapshotWaiters.splice(0)) w.reject(error);
    this.o.logger?.warn({ shard: this.o.shard, kind, err: error }, kind === "fenced" ? "shard fenced: another node owns it now" : "replicated log append failed");
    this.o.onFailure?.(kind, error);
  }

  /** Resolves once every append so far was acknowledged (rejects if one failed). */
  async flush(): Promise<void> {
    while (this.sending !== undefined || this.scheduled || this.queue.length > 0) {
      if (this.sending !== undefined) await this.sending;
      else await new Promise<void>((r) => setImmediate(r));
    }
    if (this.failure !== undefined) throw this.failure;
  }

  // ---- snapshots ------------------------------------------------------------------------------

  /** Asked by the shard's journal: a snapshot is due (by records, bytes, or a handoff request). */
  snapshotDue(): boolean {
    if (this.failure !== undefined) return false;
    if (this.snapshotWaiters.length > 0) return true;
    return this.sinceSnapshotRecords >= (this.o.snapshotEveryRecords ?? 50_000) || this.sinceSnapshotBytes >= (this.o.snapshotEveryBytes ?? 64 * 2 ** 20);
  }

  /**
   * A handoff wants a snapshot: resolves after the next one is saved, at once when nothing was
   * appended since the last one. The caller then tells the shard `shard.snapshot-due`.
   */
  requestSnapshot(): Promise<void> {
    if (this.durableLsn === this.lastSnapshotLsn || this.lsn === this.base.lsn) return Promise.resolve();
    const d = deferred();
    this.snapshotWaiters.push(d);
    return d.promise;
  }

  /** Where `lsn` (durable) ends in the log. */
  private positionOf(lsn: number): SnapshotPosition | undefined {
    if (lsn <= this.base.lsn) return lsn === this.base.lsn ? this.base.position : undefined;
    for (const b of this.sent) {
      if (lsn < b.first || lsn > b.last) continue;
      return lsn === b.last ? { seq: b.end, skip: 0 } : { seq: b.after, skip: lsn - b.first + 1 };
    }
    return undefined;
  }

  async snapshot(data: ShardSnapshotData): Promise<void> {
    const position = this.positionOf(data.lsn);
    const waiters = this.snapshotWaiters.splice(0);
    try {
      if (position === undefined) throw new UnavailableError(`shard ${this.o.shard}: snapshot at lsn ${data.lsn} is not at a known log position`);
      if (this.failure !== undefined) throw this.failure;
      if (this.o.mayWrite?.() === false) throw new UnavailableError(`shard ${this.o.shard}: its lease is not confirmed; not saving a snapshot`);
      const constitution = (data as { constitution?: Uint8Array }).constitution;
      const saved = await this.o.snapshots.save({
        shard: this.o.shard,
        seq: position.seq,
        skip: position.skip,
        tokens: data.tokens,
        connections: data.connections,
        ...(constitution === undefined ? {} : { constitution }),
      });
      this.lastSnapshotLsn = data.lsn;
      this.lastSnapshotAt = Date.now();
      this.sinceSnapshotRecords = Math.max(0, this.lsn - data.lsn);
      this.sinceSnapshotBytes = 0;
      this.sent = this.sent.filter((b) => b.last > data.lsn);
      if (saved !== undefined) this.o.cache?.saveSnapshot(saved.revision, saved.bytes);
      if (saved !== undefined && position.seq > 0 && this.o.mayWrite?.() !== false) {
        // Keep the message at the position: the subject must never look empty to the fence check.
        const pruned = await this.o.jsm.streams.purge(this.o.stream, { filter: this.o.subject, seq: position.seq }).then(
          () => true,
          (err: unknown) => {
            this.o.logger?.warn({ shard: this.o.shard, err }, "pruning the replicated log after a snapshot failed; it is retried after the next one");
            return false;
          },
        );
        if (pruned) this.o.cache?.prune(position.seq);
      }
      for (const w of waiters) w.resolve();
    } catch (err) {
      const error = toNeuroGraphError(err);
      for (const w of waiters) w.reject(error);
      throw error;
    }
  }

  // ---- the rest of ShardLog -------------------------------------------------------------------

  stats(): ShardLogStats {
    return {
      lastLsn: this.lsn,
      durableLsn: this.durableLsn,
      pendingBytes: this.queueBytes + this.inFlightBytes,
      lastCommitMs: this.lastCommitMs,
      lastSnapshotLsn: this.lastSnapshotLsn,
      lastSnapshotAt: this.lastSnapshotAt,
      degraded: this.failure?.message,
    };
  }

  /** The log's stream position (for stats and tests). */
  get position(): number {
    return this.lastSeq;
  }

  get failed(): NeuroGraphError | undefined {
    return this.failure;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush().catch(() => undefined);
    this.closed = true;
    for (const w of this.snapshotWaiters.splice(0)) w.reject(new UnavailableError(`shard ${this.o.shard}: its log closed before the snapshot`));
  }
}

export { FencedError };
