/**
 * Reading snapshots back from a shard's `snap.<n>` database (recovery and `wal inspect`).
 * Keys are [snapshot LSN, part]: part 0 is the manifest, part i + 1 is chunk i.
 */
import type { Key } from "lmdb";
import {
  RecordType,
  SnapshotAssembler,
  WireFormatError,
  checkRecord,
  decodeSnapshotChunk,
  decodeSnapshotManifest,
  type SnapshotContent,
  type SnapshotManifest,
} from "../../core/wal/index.ts";
import type { ShardDatabases } from "./environment.ts";

export interface StoredSnapshot {
  readonly lsn: number;
  readonly hasManifest: boolean;
  /** Every stored part number (0 = manifest). */
  readonly parts: readonly number[];
}

/** Snapshots present in the database, newest first. */
export function listSnapshots(dbs: ShardDatabases): StoredSnapshot[] {
  const byLsn = new Map<number, number[]>();
  for (const key of dbs.snap.getKeys()) {
    const [lsn, part] = snapKey(key);
    let parts = byLsn.get(lsn);
    if (parts === undefined) byLsn.set(lsn, (parts = []));
    parts.push(part);
  }
  return [...byLsn.entries()].sort((a, b) => b[0] - a[0]).map(([lsn, parts]) => ({ lsn, hasManifest: parts.includes(0), parts }));
}

/** Decodes a snapshot key; anything else (never written by us) becomes [NaN, NaN]. */
export function snapKey(key: Key): [number, number] {
  if (Array.isArray(key) && key.length === 2 && typeof key[0] === "number" && typeof key[1] === "number") return [key[0], key[1]];
  return [Number.NaN, Number.NaN];
}

export type SnapshotLoad =
  | { readonly ok: true; readonly manifest: SnapshotManifest; readonly content: SnapshotContent }
  | { readonly ok: false; readonly detail: string };

/** Reads and verifies the manifest of the snapshot at `lsn`. */
export function readManifest(dbs: ShardDatabases, shard: number, lsn: number): { manifest: SnapshotManifest } | { detail: string } {
  const raw = dbs.snap.getBinaryFast([lsn, 0]);
  if (raw === undefined) return { detail: "its manifest is missing" };
  const check = checkRecord(raw, { lsn, shard });
  if (!check.ok) return { detail: `its manifest is damaged: ${check.detail}` };
  if (check.header.type !== RecordType.SnapshotManifest) return { detail: `part 0 is not a manifest (type ${check.header.type})` };
  try {
    const manifest = decodeSnapshotManifest(check.payload);
    if (manifest.lsn !== lsn || manifest.shard !== shard) {
      return { detail: `its manifest describes shard ${manifest.shard} at LSN ${manifest.lsn}` };
    }
    return { manifest };
  } catch (err) {
    if (err instanceof WireFormatError) return { detail: `its manifest is undecodable: ${err.message}` };
    throw err;
  }
}

/** Reads and verifies a whole snapshot: manifest, every chunk's CRC, sizes. Bulk data is copied once. */
export function loadSnapshot(dbs: ShardDatabases, shard: number, lsn: number): SnapshotLoad {
  const m = readManifest(dbs, shard, lsn);
  if ("detail" in m) return { ok: false, detail: m.detail };
  try {
    const asm = new SnapshotAssembler(m.manifest);
    for (let i = 0; i < m.manifest.chunkCrcs.length; i++) {
      // A view into LMDB's buffer, consumed (checked and copied) before the next read.
      const raw = dbs.snap.getBinaryFast([lsn, i + 1]);
      if (raw === undefined) return { ok: false, detail: `chunk ${i} of ${m.manifest.chunkCrcs.length} is missing` };
      const check = checkRecord(raw, { lsn, shard });
      if (!check.ok) return { ok: false, detail: `chunk ${i} is damaged: ${check.detail}` };
      if (check.header.type !== RecordType.SnapshotChunk) return { ok: false, detail: `part ${i + 1} is not a chunk (type ${check.header.type})` };
      asm.add(check.crc, decodeSnapshotChunk(check.payload));
    }
    return { ok: true, manifest: m.manifest, content: asm.finish() };
  } catch (err) {
    if (err instanceof WireFormatError) return { ok: false, detail: err.message };
    throw err;
  }
}

export interface SnapshotCheck {
  readonly lsn: number;
  readonly manifest: SnapshotManifest | undefined;
  readonly chunks: number;
  /** Undefined when every part verified. */
  readonly problem: string | undefined;
}

/** Verifies a snapshot (manifest, each chunk's CRC against the manifest) without assembling it. */
export function verifySnapshot(dbs: ShardDatabases, shard: number, snap: StoredSnapshot): SnapshotCheck {
  if (!snap.hasManifest) return { lsn: snap.lsn, manifest: undefined, chunks: snap.parts.length, problem: "incomplete (no manifest): never used, removed at the next start" };
  const m = readManifest(dbs, shard, snap.lsn);
  if ("detail" in m) return { lsn: snap.lsn, manifest: undefined, chunks: snap.parts.length - 1, problem: m.detail };
  const crcs = m.manifest.chunkCrcs;
  for (let i = 0; i < crcs.length; i++) {
    const raw = dbs.snap.getBinaryFast([snap.lsn, i + 1]);
    if (raw === undefined) return { lsn: snap.lsn, manifest: m.manifest, chunks: crcs.length, problem: `chunk ${i} of ${crcs.length} is missing` };
    const check = checkRecord(raw, { lsn: snap.lsn, shard });
    if (!check.ok) return { lsn: snap.lsn, manifest: m.manifest, chunks: crcs.length, problem: `chunk ${i} is damaged: ${check.detail}` };
    if (check.crc !== crcs[i]) return { lsn: snap.lsn, manifest: m.manifest, chunks: crcs.length, problem: `chunk ${i} is not the one the manifest lists` };
  }
  const extra = snap.parts.filter((p) => p > crcs.length);
  const problem = extra.length > 0 ? `${extra.length} part(s) beyond the manifest's ${crcs.length} chunks` : undefined;
  return { lsn: snap.lsn, manifest: m.manifest, chunks: crcs.length, problem };
}
