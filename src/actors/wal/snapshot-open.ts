/**
 * Opening a snapshot for recovery in one read of its token section. The manifest and the small
 * sections (connections, constitution) are read and verified up front; the token chunks, most of
 * a snapshot, are read once, when taken: each chunk's record is verified (CRC, type, LSN, shard,
 * index, order, the manifest's CRC) right before its records are handed out, so a consumer never
 * sees a byte that did not verify. A damaged token chunk ends the pieces with a
 * `SnapshotDamagedError` naming the damage (the snapshot is then unreadable, as if found so up
 * front: recovery refuses or, with --repair, moves it aside and loads the one before).
 */
import {
  RECORD_HEADER_SIZE,
  RecordType,
  SnapshotSection,
  WireFormatError,
  checkRecord,
  decodeSnapshotChunk,
  readRecordHeader,
  type SnapshotManifest,
} from "../../core/wal/index.ts";
import type { ShardDatabases } from "./environment.ts";
import { readManifest } from "./snapshot-store.ts";

/** A token chunk turned out damaged while the pieces were taken. */
export class SnapshotDamagedError extends WireFormatError {}

/** A snapshot whose manifest and small sections verified; token records are verified as read. */
export interface OpenedSnapshot {
  readonly manifest: SnapshotManifest;
  readonly connections: Uint8Array;
  readonly constitution: Uint8Array | undefined;
  /**
   * The token records in order, in pieces of whole 4-aligned records, each verified before it is
   * handed out and valid only until the next one is taken. Throws `SnapshotDamagedError` at the
   * first damaged chunk (after the pieces of the intact ones before it).
   */
  tokenPieces(): Generator<Uint8Array>;
  /** The token records assembled into one buffer (throws like `tokenPieces`). */
  assembleTokens(): Uint8Array;
}

export type SnapshotOpen = { readonly ok: true; readonly snapshot: OpenedSnapshot } | { readonly ok: false; readonly detail: string };

export function openSnapshot(dbs: ShardDatabases, shard: number, lsn: number): SnapshotOpen {
  const m = readManifest(dbs, shard, lsn);
  if ("detail" in m) return { ok: false, detail: m.detail };
  const manifest = m.manifest;
  const crcs = manifest.chunkCrcs;
  if (manifest.tokenBytes % 64 !== 0 || manifest.connectionBytes % 64 !== 0) {
    return { ok: false, detail: `manifest section sizes ${manifest.tokenBytes}/${manifest.connectionBytes} are not whole 64-byte records` };
  }
  const connections = new Uint8Array(manifest.connectionBytes);
  const constitution = new Uint8Array(manifest.constitutionBytes);
  // Writers lay out the token chunks first, then the others. The others are read from the end
  // back to the first token chunk, which bounds the token chunks: 0 .. tokenChunks-1.
  let tokenChunks = 0;
  try {
    for (let i = crcs.length - 1; i >= 0; i--) {
      const raw = dbs.snap.getBinaryFast([lsn, i + 1]);
      if (raw === undefined) return { ok: false, detail: `chunk ${i} of ${crcs.length} is missing` };
      if (isTokenChunk(raw)) {
        tokenChunks = i + 1;
        break;
      }
      const check = checkRecord(raw, { lsn, shard });
      if (!check.ok) return { ok: false, detail: `chunk ${i} is damaged: ${check.detail}` };
      if (check.header.type !== RecordType.SnapshotChunk) return { ok: false, detail: `part ${i + 1} is not a chunk (type ${check.header.type})` };
      const chunk = decodeSnapshotChunk(check.payload);
      if (chunk.index !== i) return { ok: false, detail: `chunk ${i} is missing (found chunk ${chunk.index})` };
      if (crcs[i] !== check.crc) return { ok: false, detail: `chunk ${i} is not the one the manifest lists (CRC differs)` };
      const target = chunk.section === SnapshotSection.Connections ? connections : chunk.section === SnapshotSection.Constitution ? constitution : undefined;
      if (target === undefined) return { ok: false, detail: `unknown snapshot section ${chunk.section}` };
      if (chunk.offset + chunk.data.length > target.length) {
        return { ok: false, detail: `chunk ${i} (${chunk.data.length} bytes at ${chunk.offset}) overruns its section of ${target.length} bytes` };
      }
      target.set(chunk.data, chunk.offset);
    }
  } catch (err) {
    if (err instanceof WireFormatError) return { ok: false, detail: err.message };
    throw err;
  }
  if (tokenChunks === 0 && manifest.tokenBytes > 0) return { ok: false, detail: `the snapshot has no token chunk for the manifest's ${manifest.tokenBytes} token bytes` };

  function* tokenPieces(): Generator<Uint8Array> {
    // A chunk may end inside a record (any chunk size is allowed): carry the partial record over.
    const carry = new Uint8Array(64);
    let carried = 0;
    let scratch = new Uint8Array(0);
    let tokenBytes = 0;
    for (let i = 0; i < tokenChunks; i++) {
      const raw = dbs.snap.getBinaryFast([lsn, i + 1]);
      if (raw === undefined) throw new SnapshotDamagedError(`chunk ${i} of ${crcs.length} is missing`);
      const check = checkRecord(raw, { lsn, shard });
      if (!check.ok) throw new SnapshotDamagedError(`chunk ${i} is damaged: ${check.detail}`);
      if (check.header.type !== RecordType.SnapshotChunk) throw new SnapshotDamagedError(`part ${i + 1} is not a chunk (type ${check.header.type})`);
      let chunk;
      try {
        chunk = decodeSnapshotChunk(check.payload);
      } catch (err) {
        if (err instanceof WireFormatError) throw new SnapshotDamagedError(`chunk ${i} is undecodable: ${err.message}`);
        throw err;
      }
      if (chunk.index !== i) throw new SnapshotDamagedError(`chunk ${i} is missing (found chunk ${chunk.index})`);
      if (crcs[i] !== check.crc) throw new SnapshotDamagedError(`chunk ${i} is not the one the manifest lists (CRC differs)`);
      if (chunk.section !== SnapshotSection.Tokens) throw new SnapshotDamagedError(`chunk ${i} holds section ${chunk.section} amid the token chunks`);
      // Streaming needs the token chunks in order, back to back (as the writer lays them out).
      if (chunk.offset !== tokenBytes) throw new SnapshotDamagedError(`chunk ${i} holds token bytes from ${chunk.offset}, expected ${tokenBytes}`);
      if (tokenBytes + chunk.data.length > manifest.tokenBytes) {
        throw new SnapshotDamagedError(`chunk ${i} (${chunk.data.length} bytes at ${chunk.offset}) overruns its section of ${manifest.tokenBytes} bytes`);
      }
      tokenBytes += chunk.data.length;
      let data = chunk.data;
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
        // Chunks written with the alignment padding (snapshot.ts) are viewed in place.
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
    if (tokenBytes !== manifest.tokenBytes) throw new SnapshotDamagedError(`the token chunks hold ${tokenBytes} of the manifest's ${manifest.tokenBytes} bytes`);
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

/** Whether a stored part looks like a token chunk (header and first field only; not verified). */
function isTokenChunk(raw: Uint8Array): boolean {
  const h = readRecordHeader(raw);
  // Field 1 (section, varint) comes first: tag 0x08, then the section number.
  return h !== undefined && h.type === RecordType.SnapshotChunk && raw.length > RECORD_HEADER_SIZE + 1 && raw[RECORD_HEADER_SIZE] === 0x08 && raw[RECORD_HEADER_SIZE + 1] === SnapshotSection.Tokens;
}

/**
 * Tokens the replay of the log after the snapshot at `lsn` may add, for a store loaded with room
 * for them: 1/64 of the records' bytes (an upper bound), at most the snapshot's own token count
 * (growth would double the store anyway). One quick pass over values the replay reads right after.
 */
export function replayHeadroom(log: ShardDatabases["log"], lsn: number, snapshotTokenBytes: number): number {
  let bytes = 0;
  for (const { value } of log.getRange({ start: lsn + 1 })) {
    bytes += value.byteLength;
    if (bytes >= snapshotTokenBytes) break;
  }
  return Math.min(snapshotTokenBytes / 64, Math.ceil(bytes / 64));
}
