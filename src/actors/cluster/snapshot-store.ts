/**
 * Shard snapshots in the JetStream object store `ng-<cluster>-snapshots` (object `shard-<n>`), so
 * whichever node takes a shard over loads the newest snapshot and replays the replicated log
 * after the stream sequence it covers. One object per shard, replaced by each snapshot (the
 * object store keeps the previous one until the new one is complete). Layout (little-endian):
 *
 *   "NGSNAP01" | u32 shard | u32 skip | f64 stream seq | f64 token bytes
 *   | f64 connection bytes | f64 constitution bytes | tokens | connections | constitution
 *
 * The snapshot covers the log up to stream sequence `seq` plus the first `skip` mutations of the
 * next data batch (a snapshot can be exported in the middle of a group-committed batch). Saves
 * are conditional: a snapshot never replaces one at a later position (a stale owner cannot roll the
 * object back), and concurrent saves are serialised by the object's revision. The object store
 * checks the content's SHA-256 digest when it is read back.
 */
import type { ObjectStore } from "@nats-io/obj";
import { DataLossError, UnavailableError } from "../../core/errors.ts";
import type { Logger } from "../../telemetry/index.ts";
import type { ShardCache } from "./local-cache.ts";
import { watchStall } from "./stall-watch.ts";

const MAGIC = "NGSNAP01";
const HEADER = 48;

export interface ClusterSnapshot {
  readonly shard: number;
  /** Stream sequence of the last log message the snapshot includes in full. */
  readonly seq: number;
  /** Mutations of the next data batch after `seq` the snapshot also includes. */
  readonly skip: number;
  readonly tokens: Uint8Array;
  readonly connections: Uint8Array;
  readonly constitution?: Uint8Array;
}

export function snapshotObjectName(shard: number): string {
  return `shard-${shard}`;
}

export function encodeSnapshot(s: ClusterSnapshot): Uint8Array {
  const constitution = s.constitution ?? new Uint8Array(0);
  const out = new Uint8Array(HEADER + s.tokens.byteLength + s.connections.byteLength + constitution.byteLength);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = MAGIC.charCodeAt(i);
  dv.setUint32(8, s.shard, true);
  dv.setUint32(12, s.skip, true);
  dv.setFloat64(16, s.seq, true);
  dv.setFloat64(24, s.tokens.byteLength, true);
  dv.setFloat64(32, s.connections.byteLength, true);
  dv.setFloat64(40, constitution.byteLength, true);
  out.set(s.tokens, HEADER);
  out.set(s.connections, HEADER + s.tokens.byteLength);
  out.set(constitution, HEADER + s.tokens.byteLength + s.connections.byteLength);
  return out;
}

export function decodeSnapshot(bytes: Uint8Array, shard: number): ClusterSnapshot {
  const bad = (detail: string): DataLossError =>
    new DataLossError(`the snapshot of shard ${shard} in the object store is damaged (${detail}); delete object ${snapshotObjectName(shard)} to recover from the log alone if the log still holds every record`);
  if (bytes.byteLength < HEADER) throw bad(`${bytes.byteLength} bytes`);
  for (let i = 0; i < 8; i++) if (bytes[i] !== MAGIC.charCodeAt(i)) throw bad("wrong magic");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stored = dv.getUint32(8, true);
  if (stored !== shard) throw bad(`it belongs to shard ${stored}`);
  const skip = dv.getUint32(12, true);
  const seq = dv.getFloat64(16, true);
  const t = dv.getFloat64(24, true);
  const c = dv.getFloat64(32, true);
  const k = dv.getFloat64(40, true);
  if (![seq, t, c, k].every((v) => Number.isInteger(v) && v >= 0) || t % 64 !== 0 || c % 64 !== 0 || HEADER + t + c + k !== bytes.byteLength) {
    throw bad(`inconsistent sizes (${t}, ${c}, ${k} of ${bytes.byteLength})`);
  }
  // Copies (a Buffer's slice would be a view), so each column is aligned and owned.
  const tokens = Uint8Array.prototype.slice.call(bytes, HEADER, HEADER + t);
  const connections = Uint8Array.prototype.slice.call(bytes, HEADER + t, HEADER + t + c);
  return k > 0 ? { shard, seq, skip, tokens, connections, constitution: Uint8Array.prototype.slice.call(bytes, HEADER + t + c) } : { shard, seq, skip, tokens, connections };
}

/** Where a snapshot ends in the log, kept in the object's description so it can be compared unread. */
export interface SnapshotPosition {
  readonly seq: number;
  readonly skip: number;
}

function positionOf(description: string | undefined): SnapshotPosition | undefined {
  const m = /^seq=(\d+);skip=(\d+)$/.exec(description ?? "");
  return m === null ? undefined : { seq: Number(m[1]), skip: Number(m[2]) };
}

function later(a: SnapshotPosition, b: SnapshotPosition): boolean {
  return a.seq > b.seq || (a.seq === b.seq && a.skip > b.skip);
}

export class SnapshotStore {
  constructor(
    private readonly store: ObjectStore,
    /** Largest chunk the object store writes (fewer round trips than its 128 KiB default). */
    private readonly chunkBytes: number,
  ) {}

  /** The object's revision (changes with every save), 0 when there is none. */
  async revision(shard: number): Promise<number> {
    try {
      return (await this.store.info(snapshotObjectName(shard)))?.revision ?? 0;
    } catch (err) {
      throw this.unavailable("reading the snapshot info", shard, err);
    }
  }

  /**
   * Saves `s` unless the stored snapshot is at the same or a later position. Returns the new
   * object revision and the bytes stored, or undefined when it was not saved (a newer one exists,
   * or another save won the race).
   */
  async save(s: ClusterSnapshot): Promise<{ revision: number; bytes: Uint8Array } | undefined> {
    const name = snapshotObjectName(s.shard);
    try {
      const info = await this.store.info(name);
      const stored = info === null || info.deleted ? undefined : positionOf(info.description);
      if (stored !== undefined && !later(s, stored)) return undefined;
      const bytes = encodeSnapshot(s);
      const saved = await this.store.putBlob(
        { name, description: `seq=${s.seq};skip=${s.skip}`, options: { max_chunk_size: this.chunkBytes } },
        bytes,
        { timeout: 30_000, ...(info === null ? {} : { previousRevision: info.revision }) },
      );
      return { revision: saved.revision, bytes };
    } catch (err) {
      if (err instanceof Error && /wrong last sequence/i.test(err.message)) return undefined;
      throw this.unavailable("saving the snapshot", s.shard, err);
    }
  }

  /** The newest snapshot of `shard`, the object's revision and its bytes, or undefined when it has none. */
  async load(shard: number): Promise<{ snapshot: ClusterSnapshot; revision: number; bytes: Uint8Array } | undefined> {
    try {
      const result = await this.store.get(snapshotObjectName(shard));
      if (result === null) return undefined;
      const bytes = await readAll(result.data, shard);
      const failure = await result.error;
      if (failure !== null && failure !== undefined) throw failure; // resolves undefined on success in some client versions
      return { snapshot: decodeSnapshot(bytes, shard), revision: result.info.revision, bytes };
    } catch (err) {
      if (err instanceof DataLossError || err instanceof UnavailableError) throw err;
      const detail = err instanceof Error ? err.message : String(err);
      if (/digest/i.test(detail)) throw new DataLossError(`the snapshot of shard ${shard} failed its digest check (${detail})`);
      throw this.unavailable("reading the snapshot", shard, err);
    }
  }

  /**
   * The newest snapshot of `shard`: this node's local copy while its revision is still the
   * newest, else the object store's (then kept locally).
   */
  async loadNewest(shard: number, cache: ShardCache | undefined, logger?: Logger): Promise<{ snapshot: ClusterSnapshot | undefined; revision: number; source: "cache" | "store" | "none" }> {
    if (cache !== undefined) {
      const revision = await this.revision(shard);
      const local = revision === 0 ? undefined : await cache.snapshot(revision);
      if (local !== undefined) {
        try {
          return { snapshot: decodeSnapshot(local, shard), revision, source: "cache" };
        } catch (err) {
          logger?.warn({ shard, err }, "the local copy of the snapshot does not decode; downloading it");
        }
      }
    }
    const loaded = await this.load(shard);
    if (loaded === undefined) return { snapshot: undefined, revision: 0, source: "none" };
    cache?.saveSnapshot(loaded.revision, loaded.bytes);
    return { snapshot: loaded.snapshot, revision: loaded.revision, source: "store" };
  }

  private unavailable(what: string, shard: number, err: unknown): UnavailableError {
    return new UnavailableError(`${what} of shard ${shard} in the object store failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Time without a chunk after which a snapshot read is given up (a newer save removed its chunks). */
const SNAPSHOT_STALL_MS = 20_000;

async function readAll(stream: ReadableStream<Uint8Array>, shard: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  const watch = watchStall(SNAPSHOT_STALL_MS, () => void reader.cancel().catch(() => undefined));
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      watch.touch();
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    watch.clear();
  }
  if (watch.stalled) {
    throw new UnavailableError(`reading the snapshot of shard ${shard} made no progress for ${SNAPSHOT_STALL_MS} ms after ${size} bytes (a newer snapshot replaced it meanwhile, or the object store lost its leader); retry`);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
