/**
 * The write path of a node without gRPC: S shard stores, each with its ShardLog (the LMDB WAL or
 * a volatile one), fed with batches of packed token records that are split by shard, applied and
 * appended; a batch is acknowledged when every shard's append is durable.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AdoptedSnapshotData, type RecoveryHandler, type ShardLog, type ShardMutation, type ShardSnapshotData, type StreamedSnapshotData, VolatileShardLog } from "../../src/actors/shard-log.ts";
import { type NodeWal, type WalOptions, startWal } from "../../src/actors/wal/index.ts";
import { ShardStore } from "../../src/core/store/index.ts";
import { allocateFramedParts } from "../../src/core/wal/index.ts";
import { ActorSystem } from "../../src/runtime/index.ts";
import { tokenRecords } from "./core-data.ts";

export class StoreHandler implements RecoveryHandler {
  store: ShardStore;
  tokens = 0;
  constructor(
    readonly shard: number,
    readonly shardCount: number,
  ) {
    this.store = new ShardStore({ shard, shardCount });
  }
  loadSnapshot(s: ShardSnapshotData): void {
    // As the node's shard loads it: with room for what the log replays after it.
    this.store = ShardStore.fromSnapshot(s.tokens, s.connections, { shard: this.shard, shardCount: this.shardCount, initialCapacity: s.tokens.byteLength / 64 + (s.headroomTokens ?? 0) });
  }
  /** As the node's shard actor loads a snapshot: token records piece by piece into a presized store. */
  loadStreamedSnapshot(s: StreamedSnapshotData): void {
    this.store = new ShardStore({ shard: this.shard, shardCount: this.shardCount, initialCapacity: s.tokenCount + (s.headroomTokens ?? 0), initialConnectionCapacity: s.connections.byteLength / 64 });
    for (const piece of s.tokenPieces) this.store.insertRecords(piece, { allocateIds: false });
    this.store.connectRecords(s.connections, { limits: null });
  }
  /** As the node's shard actor adopts a snapshot a recovery thread loaded. */
  adoptSnapshot(s: AdoptedSnapshotData): void {
    this.store = new ShardStore({ shard: this.shard, shardCount: this.shardCount, adoptTokens: s.tokens, initialConnectionCapacity: s.connections.byteLength / 64 });
    this.store.connectRecords(s.connections, { limits: null });
  }
  apply(m: ShardMutation): void {
    if (m.kind === "tokens.insert") {
      this.store.insertRecords(m.records, { allocateIds: false });
      this.tokens += m.records.length / 64;
    }
  }
}

export class Pipeline {
  readonly handlers: StoreHandler[];
  private next = 1;

  private constructor(
    readonly shardCount: number,
    readonly logs: readonly ShardLog[],
    readonly wal: NodeWal | undefined,
    private readonly system: ActorSystem | undefined,
    readonly dataDir: string | undefined,
    handlers: StoreHandler[],
  ) {
    this.handlers = handlers;
  }

  /** A pipeline over the LMDB WAL in `dataDir` (recovering what is there), or volatile logs. */
  static async open(shardCount: number, wal: Partial<WalOptions> | "off", dataDir?: string): Promise<Pipeline> {
    const handlers = Array.from({ length: shardCount }, (_, s) => new StoreHandler(s, shardCount));
    if (wal === "off") return new Pipeline(shardCount, handlers.map(() => new VolatileShardLog()), undefined, undefined, undefined, handlers);
    const dir = dataDir ?? mkdtempSync(join(tmpdir(), "ng-bench-wal-"));
    const system = new ActorSystem({ onFatal: () => {} });
    const node = startWal(system, { dataDir: dir, shardCount, ...wal });
    await Promise.all(node.logs.map((log, s) => log.recover(handlers[s]!)));
    const p = new Pipeline(shardCount, node.logs, node, system, dir, handlers);
    p.next = 1 + handlers.reduce((n, h) => n + h.store.size, 0);
    return p;
  }

  /** A few record batches of each size, made once (as the gRPC bench client does): making
   * records is the client's work, so only their ids are rewritten per batch. */
  private readonly templates = new Map<number, Uint8Array[]>();
  private batches = 0;

  private template(n: number): Uint8Array {
    let list = this.templates.get(n);
    if (list === undefined) this.templates.set(n, (list = [0, 1, 2, 3].map((s) => tokenRecords(n, 1, 1, 12345 + s))));
    return list[this.batches++ % list.length]!;
  }

  /** Ingests one batch of `n` new tokens; resolves when every shard's part is durable. */
  ingest(n: number): Promise<unknown> {
    const S = this.shardCount;
    const records = this.template(n);
    const first = this.next;
    this.next += n;
    const done: Promise<void>[] = [];
    // Each shard's part goes into a framed slot of one buffer, as the node's router lays out a
    // batch of fresh tokens (a contiguous slice per shard, copied once): the WAL seals its record
    // around the records without copying them. Ids are consecutive over the batch, so shard s
    // holds every S-th id starting at the first one ≡ s; they are written into the part in place
    // (as a shard writes the ids it allocates).
    const starts: number[] = [];
    const counts: number[] = [];
    for (let s = 0; s < S; s++) {
      const start = (((s - (first % S)) % S) + S) % S;
      starts.push(start);
      counts.push(start >= n ? 0 : Math.ceil((n - start) / S) * 64);
    }
    const parts = allocateFramedParts(counts);
    for (let s = 0, from = 0; s < S; s++) {
      const part = parts[s]!;
      const count = part.byteLength >>> 6;
      if (count === 0) continue;
      part.set(records.subarray(from << 6, (from + count) << 6));
      from += count;
      const dst = new Uint32Array(part.buffer, part.byteOffset, count << 4);
      for (let i = 0, id = first + starts[s]!; i < count; i++, id += S) dst[(i << 4) + 12] = id;
      this.handlers[s]!.store.insertRecords(part, { allocateIds: false });
      done.push(this.logs[s]!.append({ kind: "tokens.insert", records: part, framed: true }).durable);
    }
    return Promise.all(done);
  }

  async close(remove = true): Promise<void> {
    await this.wal?.close();
    await this.system?.shutdown({ force: true });
    if (remove && this.dataDir !== undefined) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Keeps `inFlight` batches going for `seconds` (after `warmup` seconds); returns tokens/s. */
export async function sustained(p: Pipeline, batch: number, inFlight: number, seconds: number, warmup = 1): Promise<{ rate: number; tokens: number; seconds: number }> {
  let counting = false;
  let tokens = 0;
  let stop = false;
  const worker = async (): Promise<void> => {
    while (!stop) {
      await p.ingest(batch);
      if (counting) tokens += batch;
      // Volatile logs ack at once: yield so timers (and the other workers) run.
      await new Promise((r) => setImmediate(r));
    }
  };
  const workers = Array.from({ length: inFlight }, () => worker());
  await new Promise((r) => setTimeout(r, warmup * 1000));
  counting = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = (performance.now() - t0) / 1000;
  const counted = tokens;
  stop = true;
  await Promise.all(workers);
  return { rate: counted / elapsed, tokens: counted, seconds: elapsed };
}
