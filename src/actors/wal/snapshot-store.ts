/**
 * Reading snapshots back from a shard's `snap.<n>` database (recovery and `wal inspect`).
 * Keys are [snapshot LSN, part]: part 0 is the manifest, part i + 1 is chunk i.
 */
import type { Key } from "lmdb";
import {
  RECORD_HEADER_SIZE,
  RECORD_TRAILER_SIZE,
  RecordType,
  SnapshotAssembler,
  SnapshotSection,
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

/** A verified snapshot whose token records are read when taken, not assembled in one buffer. */
export interface OpenedSnapshot {
  readonly manifest: SnapshotManifest;
  readonly connections: Uint8Array;
  readonly constitution: Uint8Array | undefined;
  /**
   * The token records in order, in pieces of whole records read straight from the (verified)
   * chunks: each piece is valid only until the next one is taken.
   */
  tokenPieces(): Generator<Uint8Array>;
  /** The token records assembled into one buffer. */
  assembleTokens(): Uint8Array;
}

export type SnapshotOpen = { readonly ok: true; readonly snapshot: OpenedSnapshot } | { readonly ok: false; readonly detail: string };

/**
 * Reads and verifies a whole snapshot like `loadSnapshot` (manifest, every chunk's CRC, order and
 * bounds) but assembles only the small sections: the token section, most of a snapshot, is read
 * again chunk by chunk when taken (nothing writes the snapshot meanwhile), so a recovering store
 * can load it without an intermediate copy of every token.
 */
export function openSnapshot(dbs: ShardDatabases, shard: number, lsn: number): SnapshotOpen {
  const m = readManifest(dbs, shard, lsn);
  if ("detail" in m) return { ok: false, detail: m.detail };
  const manifest = m.manifest;
  const crcs = manifest.chunkCrcs;
  const connections = new Uint8Array(manifest.connectionBytes);
  const constitution = new Uint8Array(manifest.constitutionBytes);
  /** Chunk numbers of the token section, in order, and the bytes they cover (contiguous from 0). */
  const tokenChunks: number[] = [];
  let tokenBytes = 0;
  try {
    for (let i = 0; i < crcs.length; i++) {
      const raw = dbs.snap.getBinaryFast([lsn, i + 1]);
      if (raw === undefined) return { ok: false, detail: `chunk ${i} of ${crcs.length} is missing` };
      const check = checkRecord(raw, { lsn, shard });
      if (!check.ok) return { ok: false, detail: `chunk ${i} is damaged: ${check.detail}` };
      if (check.header.type !== RecordType.SnapshotChunk) return { ok: false, detail: `part ${i + 1} is not a chunk (type ${check.header.type})` };
      const chunk = decodeSnapshotChunk(check.payload);
      if (chunk.index !== i) return { ok: false, detail: `chunk ${i} is missing (found chunk ${chunk.index})` };
      if (crcs[i] !== check.crc) return { ok: false, detail: `chunk ${i} is not the one the manifest lists (CRC differs)` };
      const size = chunk.section === SnapshotSection.Tokens ? manifest.tokenBytes : chunk.section === SnapshotSection.Connections ? connections.length : chunk.section === SnapshotSection.Constitution ? constitution.length : -1;
      if (size < 0) return { ok: false, detail: `unknown snapshot section ${chunk.section}` };
      if (chunk.offset + chunk.data.length > size) {
        return { ok: false, detail: `chunk ${i} (${chunk.data.length} bytes at ${chunk.offset}) overruns its section of ${size} bytes` };
      }
      if (chunk.section === SnapshotSection.Tokens) {
        // Streaming needs the token chunks in order, back to back (as the writer lays them out).
        if (chunk.offset !== tokenBytes) return { ok: false, detail: `chunk ${i} holds token bytes from ${chunk.offset}, expected ${tokenBytes}` };
        tokenChunks.push(i);
        tokenBytes += chunk.data.length;
      } else {
        (chunk.section === SnapshotSection.Connections ? connections : constitution).set(chunk.data, chunk.offset);
      }
    }
  } catch (err) {
    if (err instanceof WireFormatError) return { ok: false, detail: err.message };
    throw err;
  }
  if (tokenBytes !== manifest.tokenBytes) return { ok: false, detail: `the token chunks hold ${tokenBytes} of the manifest's ${manifest.tokenBytes} bytes` };
  if (manifest.tokenBytes % 64 !== 0 || manifest.connectionBytes % 64 !== 0) {
    return { ok: false, detail: `manifest section sizes ${manifest.tokenBytes}/${manifest.connectionBytes} are not whole 64-byte records` };
  }
  function* tokenPieces(): Generator<Uint8Array> {
    // A chunk may end inside a record (any chunk size is allowed): carry the partial record over.
    const carry = new Uint8Array(64);
    let carried = 0;
    let scratch = new Uint8Array(0);
    for (const i of tokenChunks) {
      const raw = dbs.snap.getBinaryFast([lsn, i + 1]);
      if (raw === undefined) throw new WireFormatError(`snapshot chunk ${i} at LSN ${lsn} vanished while it was being loaded`);
      let data = decodeSnapshotChunk(raw.subarray(RECORD_HEADER_SIZE, raw.length - RECORD_TRAILER_SIZE)).data;
      if (carried > 0) {
        const take = Math.min(64 - carried, data.length);
        carry.set(data.subarray(0, take), carried);
        carried += take;
        data = data.subarray(take);
        if (carried < 64) continue;
        yield carry;
        carried = 0;
      }
      const whole = data.length & ~63;
      if (whole > 0) {
        if ((data.byteOffset & 3) === 0) yield data.subarray(0, whole);
        else {
          // Typed views need 4-byte alignment: one reused buffer instead of a fresh copy per chunk.
          if (scratch.length < whole) scratch = new Uint8Array(whole);
          scratch.set(data.subarray(0, whole));
          yield scratch.subarray(0, whole);
        }
      }
      if (whole < data.length) {
        carry.set(data.subarray(whole));
        carried = data.length - whole;
      }
    }
  }
  const assembleTokens = (): Uint8Array => {
    const out = new Uint8Array(manifest.tokenBytes);
    let at = 0;
    for (const piece of tokenPieces()) {
      out.set(piece, at);
      at += piece.length;
    }
    return out;
  };
  return { ok: true, snapshot: { manifest, connections, constitution: manifest.hasConstitution ? constitution : undefined, tokenPieces, assembleTokens } };
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
