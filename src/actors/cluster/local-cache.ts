/**
 * The node's local copy of the replicated logs and snapshots of the shards it serves (DESIGN §5:
 * JetStream is the source of truth, LMDB "the local log and snapshot cache"). A node that takes
 * a shard back — after a restart, or after a failover and its return — reads what it already has
 * from its disk and fetches only what other owners wrote since, instead of downloading the whole
 * snapshot and log again.
 *
 * Nothing here is needed for durability: writes are acknowledged by JetStream, and the cache is
 * written afterwards without waiting. So it may lag, or be lost; it is only trusted where it
 * provably equals the stream:
 * - **Coverage.** Per shard, `(from, to]`: every message of the shard's subject with a stream
 *   sequence in that range is cached. Messages are only added as links of the subject's chain —
 *   an append expected at `to` (the fencing token), or a replay that read the subject from `to`
 *   on — so a range never has a hole. A message of a JetStream subject never changes, so a
 *   covered range equals the stream's.
 * - **Identity.** The stream's creation time is kept; a different one (the stream was deleted and
 *   made again) empties the cache.
 * - **Checksums.** Each value carries a CRC32C; a record that fails it drops the shard's cache and
 *   recovery reads JetStream instead.
 * - **Snapshots** are kept with the object store's revision; one is used only while that revision
 *   is still the newest.
 */
import { mkdirSync } from "node:fs";
import { type Database, type Key, type RootDatabase, open } from "lmdb";
import { crc32c } from "../../core/util/crc32c.ts";
import type { Logger } from "../../telemetry/index.ts";

/** One cached message of a shard's subject. */
export interface CachedMessage {
  readonly seq: number;
  readonly data: Uint8Array;
  readonly fence: boolean;
  /** The part header (`i/n`) of a batch split over several messages. */
  readonly part: string | undefined;
}

interface Coverage {
  readonly from: number;
  readonly to: number;
}

const HEADER = 13; // crc u32, flags u8, part index u32, part count u32
const FENCE = 1;

function encodeMessage(m: CachedMessage): Uint8Array {
  const out = new Uint8Array(HEADER + m.data.byteLength);
  const dv = new DataView(out.buffer);
  const [index, count] = (m.part ?? "0/0").split("/").map(Number) as [number, number];
  out[4] = m.fence ? FENCE : 0;
  dv.setUint32(5, index, true);
  dv.setUint32(9, count, true);
  out.set(m.data, HEADER);
  dv.setUint32(0, crc32c(out.subarray(4)), true);
  return out;
}

function decodeMessage(seq: number, value: Uint8Array): CachedMessage | undefined {
  if (value.byteLength < HEADER) return undefined;
  const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
  if (dv.getUint32(0, true) !== crc32c(value.subarray(4))) return undefined;
  const index = dv.getUint32(5, true);
  const count = dv.getUint32(9, true);
  return { seq, data: Uint8Array.prototype.slice.call(value, HEADER), fence: (value[4]! & FENCE) !== 0, part: count === 0 ? undefined : `${index}/${count}` };
}

export class ClusterCache {
  private readonly shards = new Map<number, ShardCache>();

  private constructor(
    private readonly root: RootDatabase,
    private readonly log: Database<Uint8Array, Key>,
    private readonly snaps: Database<Uint8Array, Key>,
    private readonly meta: Database<string, Key>,
    private readonly logger: Logger | undefined,
  ) {}

  /**
   * Opens (creating) the cache in `dir` for the stream created at `streamCreated`; a cache of an
   * earlier stream of the same name is emptied.
   */
  static open(dir: string, streamCreated: string, logger?: Logger): ClusterCache {
    mkdirSync(dir, { recursive: true });
    const root = open({ path: dir, maxDbs: 4 });
    const cache = new ClusterCache(
      root,
      root.openDB<Uint8Array, Key>({ name: "log", encoding: "binary" }),
      root.openDB<Uint8Array, Key>({ name: "snap", encoding: "binary" }),
      root.openDB<string, Key>({ name: "meta", encoding: "string" }),
      logger,
    );
    if (cache.meta.get("stream") !== streamCreated) {
      root.transactionSync(() => {
        void cache.log.clearSync();
        void cache.snaps.clearSync();
        void cache.meta.clearSync();
        void cache.meta.putSync("stream", streamCreated);
      });
    }
    return cache;
  }

  shard(shard: number): ShardCache {
    let s = this.shards.get(shard);
    if (s === undefined) this.shards.set(shard, (s = new ShardCache(shard, this.log, this.snaps, this.meta, this.logger)));
    return s;
  }

  /** Waits for the writes in flight, then closes. */
  async close(): Promise<void> {
    await this.root.flushed;
    await this.root.close();
  }
}

export class ShardCache {
  /** Kept in memory: a read of LMDB does not see writes still queued. */
  private covered: Coverage | undefined;
  /** Object revision and CRC32C of the cached snapshot. */
  private snapshotMeta: { revision: number; crc: number } | undefined;

  constructor(
    private readonly shard: number,
    private readonly log: Database<Uint8Array, Key>,
    private readonly snaps: Database<Uint8Array, Key>,
    private readonly meta: Database<string, Key>,
    private readonly logger: Logger | undefined,
  ) {
    const raw = meta.get(this.coverageKey)?.split(":").map(Number);
    if (raw !== undefined && raw.length === 2 && raw.every(Number.isInteger) && raw[0]! <= raw[1]!) this.covered = { from: raw[0]!, to: raw[1]! };
    const snap = meta.get(this.snapshotKey)?.split(":").map(Number);
    if (snap !== undefined && snap.length === 2 && snap.every(Number.isInteger)) this.snapshotMeta = { revision: snap[0]!, crc: snap[1]! };
  }

  private get coverageKey(): string {
    return `coverage.${this.shard}`;
  }

  private get snapshotKey(): string {
    return `snap.${this.shard}`;
  }

  coverage(): Coverage | undefined {
    return this.covered;
  }

  private setCoverage(c: Coverage | undefined): void {
    this.covered = c;
    // Queued after the records it covers: committed with them or after them, never before.
    void (c === undefined ? this.meta.remove(this.coverageKey) : this.meta.put(this.coverageKey, `${c.from}:${c.to}`));
  }

  /**
   * Calls `onMessage` for the cached messages after `afterSeq`, in order. `end` is the sequence
   * the cache ends at, or undefined when it does not cover `afterSeq` or a record failed its
   * checksum (then the shard's cache is dropped and the caller reads JetStream after the last
   * message it was given).
   */
  async read(afterSeq: number, onMessage: (m: CachedMessage) => void): Promise<{ end: number | undefined; read: number }> {
    const c = this.covered;
    if (c === undefined || c.from > afterSeq || c.to <= afterSeq) return { end: undefined, read: 0 };
    await this.log.flushed; // what was queued is readable
    let read = 0;
    for (const { key, value } of this.log.getRange({ start: [this.shard, afterSeq + 1], end: [this.shard, c.to + 1] })) {
      const seq = (key as [number, number])[1];
      const m = decodeMessage(seq, value);
      if (m === undefined) {
        this.logger?.warn({ shard: this.shard, seq }, "a record of the local cluster cache failed its checksum; dropping the shard's cache and reading the replicated log instead");
        this.drop();
        return { end: undefined, read };
      }
      onMessage(m);
      read++;
    }
    return { end: c.to, read };
  }

  /**
   * Adds messages that continue the subject's chain at `after` (the sequence of the subject's
   * message before the first of them, as the append expected or the replay started). When the
   * cache does not end at `after`, it starts again there.
   */
  add(after: number, messages: readonly CachedMessage[]): void {
    if (messages.length === 0) return;
    const c = this.covered;
    if (c !== undefined && c.to !== after) this.removeLog(0, Number.MAX_SAFE_INTEGER);
    for (const m of messages) void this.log.put([this.shard, m.seq], encodeMessage(m));
    this.setCoverage({ from: c !== undefined && c.to === after ? c.from : after, to: messages.at(-1)!.seq });
  }

  /** The log up to `seq` is no longer needed (a snapshot covers it). */
  prune(seq: number): void {
    const c = this.covered;
    if (c === undefined || c.from >= seq) return;
    this.setCoverage(seq >= c.to ? undefined : { from: seq, to: c.to });
    this.removeLog(0, Math.min(seq, c.to));
  }

  private removeLog(from: number, to: number): void {
    for (const key of this.log.getKeys({ start: [this.shard, from], end: [this.shard, to + 1] })) void this.log.remove(key);
  }

  /** The snapshot saved as object revision `revision`, if this node has it. */
  async snapshot(revision: number): Promise<Uint8Array | undefined> {
    const meta = this.snapshotMeta;
    if (meta?.revision !== revision) return undefined;
    await this.snaps.flushed;
    const bytes = this.snaps.getBinary(this.shard);
    if (bytes !== undefined && crc32c(bytes) === meta.crc) return bytes;
    this.logger?.warn({ shard: this.shard, revision }, "the local copy of a snapshot is missing or failed its checksum; downloading it again");
    return undefined;
  }

  saveSnapshot(revision: number, bytes: Uint8Array): void {
    this.snapshotMeta = { revision, crc: crc32c(bytes) };
    void this.snaps.put(this.shard, bytes);
    void this.meta.put(this.snapshotKey, `${revision}:${this.snapshotMeta.crc}`);
  }

  drop(): void {
    this.setCoverage(undefined);
  }
}
