/**
 * A reference shard state for WAL tests (integration and crash tests): applies resolved
 * mutations the obvious way (maps keyed by id and connection key), exports snapshots, and
 * digests its state. Also a deterministic mutation generator: mutation k of a shard depends only
 * on (seed, shard, k), so a test can recompute what any LSN held.
 */
import { createHash } from "node:crypto";
import type { RecoveryHandler, ShardMutation, ShardSnapshotData, StreamedSnapshotData } from "../../src/actors/shard-log.ts";

/** A model that takes snapshots streamed (`RecoveryHandler.loadStreamedSnapshot`), as shard actors do. */
export function streamedModel(): ModelShard {
  const m = new ModelShard();
  return Object.assign(m, { loadStreamedSnapshot: (s: StreamedSnapshotData) => m.loadStreamed(s) });
}

export class ModelShard implements RecoveryHandler {
  readonly tokens = new Map<number, Uint8Array>();
  readonly connections = new Map<string, Uint8Array>();
  /** Connection keys by endpoint id, so deleting a token finds its connections at once. */
  private readonly byEndpoint = new Map<number, Set<string>>();
  constitution: Uint8Array | undefined;
  fieldResults = 0;
  streamedSnapshots = 0;
  snapshotLsn = 0;
  lastLsn = 0;

  loadSnapshot(s: ShardSnapshotData): void {
    this.tokens.clear();
    this.connections.clear();
    this.byEndpoint.clear();
    for (let o = 0; o < s.tokens.length; o += 64) this.putToken(s.tokens.subarray(o, o + 64));
    for (let o = 0; o < s.connections.length; o += 64) this.putConnection(s.connections.subarray(o, o + 64));
    this.constitution = s.constitution === undefined ? undefined : s.constitution.slice();
    this.snapshotLsn = this.lastLsn = s.lsn;
  }

  /** Takes a snapshot as a store does when the log streams it; the pieces are checked on the way. */
  loadStreamed(s: StreamedSnapshotData): void {
    const tokens = new Uint8Array(s.tokenCount * 64);
    let at = 0;
    for (const piece of s.tokenPieces) {
      if (piece.length % 64 !== 0 || piece.byteOffset % 4 !== 0) throw new Error(`piece of ${piece.length} bytes at offset ${piece.byteOffset}: not whole aligned records`);
      tokens.set(piece, at);
      at += piece.length;
    }
    if (at !== tokens.length) throw new Error(`streamed ${at} of ${tokens.length} token bytes`);
    this.streamedSnapshots++;
    this.loadSnapshot({ lsn: s.lsn, tokens, connections: s.connections, constitution: s.constitution });
  }

  apply(m: ShardMutation, lsn: number): void {
    this.applyMutation(m);
    this.lastLsn = lsn;
  }

  applyMutation(m: ShardMutation): void {
    switch (m.kind) {
      case "tokens.insert":
      case "tokens.update":
        for (let o = 0; o < m.records.length; o += 64) this.putToken(m.records.subarray(o, o + 64));
        return;
      case "tokens.delete":
        for (const id of m.ids) {
          this.tokens.delete(id);
          for (const k of [...(this.byEndpoint.get(id) ?? [])]) this.removeConnection(k);
        }
        return;
      case "connections.upsert":
        for (let o = 0; o < m.records.length; o += 64) this.putConnection(m.records.subarray(o, o + 64));
        return;
      case "connections.remove":
        for (let i = 0; i < m.sources.length; i++) this.removeConnection(`${m.sources[i]}:${m.targets[i]}:${m.types[i]}`);
        return;
      case "constitution.set":
        this.constitution = m.document.slice();
        return;
      case "field.result":
        this.fieldResults++;
        return;
    }
  }

  snapshotData(lsn = this.lastLsn): ShardSnapshotData {
    const ids = [...this.tokens.keys()].sort((a, b) => a - b);
    const tokens = new Uint8Array(ids.length * 64);
    ids.forEach((id, i) => tokens.set(this.tokens.get(id)!, i * 64));
    const keys = [...this.connections.keys()].sort();
    const connections = new Uint8Array(keys.length * 64);
    keys.forEach((k, i) => connections.set(this.connections.get(k)!, i * 64));
    return { lsn, tokens, connections, constitution: this.constitution };
  }

  /** A digest of the state (field results are not state a snapshot keeps). */
  digest(): string {
    const s = this.snapshotData();
    const h = createHash("sha256");
    h.update(s.tokens).update(s.connections).update(s.constitution ?? new Uint8Array(0)).update(String(s.constitution === undefined));
    return h.digest("hex");
  }

  private putToken(rec: Uint8Array): void {
    this.tokens.set(new DataView(rec.buffer, rec.byteOffset, 64).getUint32(48, true), rec.slice());
  }

  private putConnection(rec: Uint8Array): void {
    const dv = new DataView(rec.buffer, rec.byteOffset, 64);
    const a = dv.getUint32(0, true);
    const b = dv.getUint32(4, true);
    const key = `${a}:${b}:${rec[8]}`;
    this.connections.set(key, rec.slice());
    for (const id of [a, b]) {
      let set = this.byEndpoint.get(id);
      if (set === undefined) this.byEndpoint.set(id, (set = new Set()));
      set.add(key);
    }
  }

  private removeConnection(key: string): void {
    if (!this.connections.delete(key)) return;
    const [a, b] = key.split(":").map(Number);
    this.byEndpoint.get(a!)?.delete(key);
    this.byEndpoint.get(b!)?.delete(key);
  }
}

/** xorshift32: deterministic bytes from a seed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function tokenRecords(ids: readonly number[], salt: number): Uint8Array {
  const out = new Uint8Array(ids.length * 64);
  const dv = new DataView(out.buffer);
  ids.forEach((id, i) => {
    const r = rng(id * 2654435761 + salt);
    for (let b = 0; b < 48; b += 4) dv.setUint32(i * 64 + b, r(), true);
    dv.setUint32(i * 64 + 48, id, true);
    dv.setUint32(i * 64 + 52, r(), true);
    dv.setUint32(i * 64 + 56, r(), true);
    dv.setUint32(i * 64 + 60, r(), true);
  });
  return out;
}

/** Ids inserted by mutation k of a shard (only for k whose kind is an insert). */
export function insertedIds(shard: number, shards: number, k: number, count: number): number[] {
  return Array.from({ length: count }, (_, j) => (k * 4096 + j) * shards + shard + 1);
}

/**
 * Mutation k (1-based) of a shard: mostly inserts of 1..maxBatch tokens, with updates, deletes,
 * connection upserts/removes and the odd constitution change, all referring to ids that mutation
 * k - 1 inserted, so every mutation is meaningful whatever was applied before.
 */
export function generateMutation(seed: number, shard: number, shards: number, k: number, maxBatch: number): ShardMutation {
  const r = rng(seed ^ (shard * 0x85ebca6b) ^ (k * 0xc2b2ae35));
  const count = (n: number): number => 1 + (n % maxBatch);
  const prevKind = k > 1 ? kindOf(seed, shard, k - 1) : "tokens.insert";
  const kind = kindOf(seed, shard, k);
  const prevIds = (): number[] => (prevKind === "tokens.insert" ? insertedIds(shard, shards, k - 1, count(prevCount(seed, shard, k - 1))) : []);
  switch (kind) {
    case "tokens.insert":
      return { kind, records: tokenRecords(insertedIds(shard, shards, k, count(prevCount(seed, shard, k))), seed + k) };
    case "tokens.update":
      return { kind, records: tokenRecords(prevIds(), seed + k * 7) };
    case "tokens.delete":
      return { kind, ids: Uint32Array.from(prevIds().filter((_, i) => i % 2 === 0)) };
    case "connections.upsert": {
      const ids = prevIds();
      const recs = new Uint8Array(Math.max(0, ids.length - 1) * 64);
      const dv = new DataView(recs.buffer);
      for (let i = 0; i + 1 < ids.length; i++) {
        dv.setUint32(i * 64, ids[i]!, true);
        dv.setUint32(i * 64 + 4, ids[i + 1]!, true);
        recs[i * 64 + 8] = 0x10;
        for (let b = 12; b < 64; b += 4) dv.setUint32(i * 64 + b, r(), true);
      }
      return { kind, records: recs };
    }
    case "connections.remove": {
      const ids = prevIds().slice(0, 3);
      return { kind, sources: Uint32Array.from(ids), targets: Uint32Array.from(ids.map((x) => x + shards)), types: Uint8Array.from(ids.map(() => 0x10)) };
    }
    case "constitution.set":
      return { kind, document: Uint8Array.from({ length: 40 }, () => r() & 0xff) };
    default:
      return { kind: "field.result", payload: Uint8Array.from({ length: 16 }, () => r() & 0xff) };
  }
}

function prevCount(seed: number, shard: number, k: number): number {
  return rng(seed * 31 + shard * 17 + k)();
}

function kindOf(seed: number, shard: number, k: number): ShardMutation["kind"] {
  const v = rng(seed + shard * 1013 + k * 7919)() % 20;
  if (v < 11) return "tokens.insert";
  if (v < 13) return "tokens.update";
  if (v < 15) return "tokens.delete";
  if (v < 17) return "connections.upsert";
  if (v < 18) return "connections.remove";
  if (v < 19) return "constitution.set";
  return "field.result";
}
