/**
 * Snapshot format (docs/wal.md §4): a snapshot of a shard at LSN L is a run of `snapshot.chunk`
 * records (each a piece of one section: token records, connection records, the constitution
 * document) followed by one `snapshot.manifest` record that lists every chunk's CRC. The manifest
 * is written last, so a snapshot without one is incomplete and never used.
 */
import { RecordType } from "./mutation.ts";
import { type Allocator, RECORD_HEADER_SIZE, beginRecord, encodeRecord, sealRecord, zeroedAllocator } from "./record.ts";
import {
  Fixed32Collector,
  WireFormatError,
  WireReader,
  WireType,
  bytesFieldSize,
  varintFieldSize,
  writeBytesField,
  writeLengthDelimitedHeader,
  writeVarintField,
} from "./wire.ts";
import { PACKED_RECORD_SIZE } from "./payload.ts";

export const SnapshotSection = { Tokens: 1, Connections: 2, Constitution: 3 } as const;
export type SnapshotSection = (typeof SnapshotSection)[keyof typeof SnapshotSection];

export const SECTION_NAMES: Readonly<Record<number, string>> = { 1: "tokens", 2: "connections", 3: "constitution" };

export interface SnapshotContent {
  /** N × 64-byte token records. */
  readonly tokens: Uint8Array;
  /** M × 64-byte connection records. */
  readonly connections: Uint8Array;
  /** The active constitution document, when the shard has one. */
  readonly constitution?: Uint8Array | undefined;
}

export interface ChunkPlan {
  readonly section: SnapshotSection;
  readonly index: number;
  readonly offset: number;
  /** A view of the section's bytes (no copy until the chunk record is encoded). */
  readonly data: Uint8Array;
}

/** Default chunk size: small enough that one chunk never holds up a commit for long. */
export const DEFAULT_SNAPSHOT_CHUNK_BYTES = 4 * 1024 * 1024;

/** Splits the content into chunks of at most `chunkBytes` (rounded down to whole 64-byte records). */
export function planSnapshotChunks(content: SnapshotContent, chunkBytes = DEFAULT_SNAPSHOT_CHUNK_BYTES): ChunkPlan[] {
  const step = Math.max(PACKED_RECORD_SIZE, chunkBytes - (chunkBytes % PACKED_RECORD_SIZE));
  const plan: ChunkPlan[] = [];
  const sections: [SnapshotSection, Uint8Array | undefined][] = [
    [SnapshotSection.Tokens, content.tokens],
    [SnapshotSection.Connections, content.connections],
    [SnapshotSection.Constitution, content.constitution],
  ];
  for (const [section, bytes] of sections) {
    if (bytes === undefined) continue;
    for (let off = 0; off < bytes.length; off += step) {
      plan.push({ section, index: plan.length, offset: off, data: bytes.subarray(off, Math.min(bytes.length, off + step)) });
    }
  }
  return plan;
}

/** Field of a chunk that only pads: readers skip it (unknown to older ones, ignored by all). */
const CHUNK_PADDING_FIELD = 5;

/**
 * Encodes one chunk as a sealed record; returns the record and its CRC (listed in the manifest).
 * A padding field (2 to 9 bytes) before the data puts the data at an 8-aligned offset of the
 * record, so a reader whose record buffer is 8-aligned (LMDB's read buffer is) can view the token
 * records in place as typed arrays instead of copying each chunk to align it. Readers of every
 * version skip the field, so chunks with and without it read alike.
 */
export function encodeSnapshotChunk(lsn: number, shard: number, chunk: ChunkPlan, alloc: Allocator = zeroedAllocator): { record: Uint8Array; crc: number } {
  const head = varintFieldSize(chunk.section) + varintFieldSize(chunk.index) + varintFieldSize(chunk.offset);
  const dataField = bytesFieldSize(chunk.data.length);
  const dataHeader = dataField - chunk.data.length;
  // Padding field = tag + length byte + `fill` zero bytes, fill in 0..7.
  const fill = (8 - ((RECORD_HEADER_SIZE + head + 2 + dataHeader) % 8)) % 8;
  const buf = beginRecord(lsn, RecordType.SnapshotChunk, shard, head + 2 + fill + dataField, alloc);
  let pos = RECORD_HEADER_SIZE;
  pos = writeVarintField(buf, pos, 1, chunk.section);
  pos = writeVarintField(buf, pos, 2, chunk.index);
  pos = writeVarintField(buf, pos, 3, chunk.offset);
  pos = writeLengthDelimitedHeader(buf, pos, CHUNK_PADDING_FIELD, fill);
  buf.fill(0, pos, pos + fill);
  pos += fill;
  writeBytesField(buf, pos, 4, chunk.data);
  const crc = sealRecord(buf);
  return { record: buf, crc };
}

export interface DecodedChunk {
  readonly section: number;
  readonly index: number;
  readonly offset: number;
  readonly data: Uint8Array;
}

export function decodeSnapshotChunk(payload: Uint8Array): DecodedChunk {
  const r = new WireReader(payload);
  let section = 0;
  let index = 0;
  let offset = 0;
  let data: Uint8Array = new Uint8Array(0);
  while (!r.done()) {
    const [field, wt] = r.tag();
    if (field === 1 && wt === WireType.Varint) section = r.varint();
    else if (field === 2 && wt === WireType.Varint) index = r.varint();
    else if (field === 3 && wt === WireType.Varint) offset = r.varint();
    else if (field === 4 && wt === WireType.LengthDelimited) data = r.bytes();
    else r.skip(wt);
  }
  return { section, index, offset, data };
}

export interface SnapshotManifest {
  readonly shard: number;
  readonly lsn: number;
  readonly createdAtMs: number;
  readonly tokenBytes: number;
  readonly connectionBytes: number;
  readonly constitutionBytes: number;
  readonly hasConstitution: boolean;
  /** CRC32C of each chunk record, in chunk order. */
  readonly chunkCrcs: readonly number[];
}

export function encodeSnapshotManifest(m: SnapshotManifest, alloc: Allocator = zeroedAllocator): Uint8Array {
  const crcBytes = m.chunkCrcs.length * 4;
  const size =
    varintFieldSize(m.shard) +
    varintFieldSize(m.lsn) +
    varintFieldSize(m.createdAtMs) +
    varintFieldSize(m.tokenBytes) +
    varintFieldSize(m.connectionBytes) +
    varintFieldSize(m.constitutionBytes) +
    bytesFieldSize(crcBytes) +
    varintFieldSize(m.hasConstitution ? 1 : 0);
  const payload = new Uint8Array(size);
  let pos = 0;
  pos = writeVarintField(payload, pos, 1, m.shard);
  pos = writeVarintField(payload, pos, 2, m.lsn);
  pos = writeVarintField(payload, pos, 3, m.createdAtMs);
  pos = writeVarintField(payload, pos, 4, m.tokenBytes);
  pos = writeVarintField(payload, pos, 5, m.connectionBytes);
  pos = writeVarintField(payload, pos, 6, m.constitutionBytes);
  if (crcBytes > 0) {
    pos = writeLengthDelimitedHeader(payload, pos, 7, crcBytes);
    const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    for (const c of m.chunkCrcs) {
      dv.setUint32(pos, c, true);
      pos += 4;
    }
  }
  writeVarintField(payload, pos, 8, m.hasConstitution ? 1 : 0);
  return encodeRecord(m.lsn, RecordType.SnapshotManifest, m.shard, payload, alloc);
}

export function decodeSnapshotManifest(payload: Uint8Array): SnapshotManifest {
  const r = new WireReader(payload);
  const v = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  const crcs = new Fixed32Collector();
  while (!r.done()) {
    const [field, wt] = r.tag();
    if (field === 7) crcs.add(r, wt);
    else if (field <= 8 && wt === WireType.Varint) v[field] = r.varint();
    else r.skip(wt);
  }
  return {
    shard: v[1]!,
    lsn: v[2]!,
    createdAtMs: v[3]!,
    tokenBytes: v[4]!,
    connectionBytes: v[5]!,
    constitutionBytes: v[6]!,
    hasConstitution: v[8] !== 0,
    chunkCrcs: Array.from(crcs.values()),
  };
}

/** Puts a snapshot back together from its manifest and verified chunks, or says what is wrong. */
export class SnapshotAssembler {
  readonly tokens: Uint8Array;
  readonly connections: Uint8Array;
  readonly constitution: Uint8Array;
  private next = 0;

  constructor(readonly manifest: SnapshotManifest) {
    if (manifest.tokenBytes % PACKED_RECORD_SIZE !== 0 || manifest.connectionBytes % PACKED_RECORD_SIZE !== 0) {
      throw new WireFormatError(`manifest section sizes ${manifest.tokenBytes}/${manifest.connectionBytes} are not whole 64-byte records`);
    }
    this.tokens = new Uint8Array(manifest.tokenBytes);
    this.connections = new Uint8Array(manifest.connectionBytes);
    this.constitution = new Uint8Array(manifest.constitutionBytes);
  }

  /** Adds the next chunk (record CRC already verified); throws `WireFormatError` on a mismatch. */
  add(recordCrc: number, chunk: DecodedChunk): void {
    const i = this.next;
    if (i >= this.manifest.chunkCrcs.length) throw new WireFormatError(`chunk ${chunk.index} is beyond the manifest's ${this.manifest.chunkCrcs.length} chunks`);
    if (chunk.index !== i) throw new WireFormatError(`chunk ${i} is missing (found chunk ${chunk.index})`);
    if (this.manifest.chunkCrcs[i] !== recordCrc) throw new WireFormatError(`chunk ${i} is not the one the manifest lists (CRC differs)`);
    const target = this.sectionBytes(chunk.section);
    if (chunk.offset + chunk.data.length > target.length) {
      throw new WireFormatError(`chunk ${i} (${chunk.data.length} bytes at ${chunk.offset}) overruns its section of ${target.length} bytes`);
    }
    target.set(chunk.data, chunk.offset);
    this.next++;
  }

  /** Throws unless every chunk of the manifest arrived. */
  finish(): SnapshotContent {
    if (this.next !== this.manifest.chunkCrcs.length) {
      throw new WireFormatError(`snapshot has ${this.next} of the manifest's ${this.manifest.chunkCrcs.length} chunks`);
    }
    return {
      tokens: this.tokens,
      connections: this.connections,
      constitution: this.manifest.hasConstitution ? this.constitution : undefined,
    };
  }

  private sectionBytes(section: number): Uint8Array {
    switch (section) {
      case SnapshotSection.Tokens:
        return this.tokens;
      case SnapshotSection.Connections:
        return this.connections;
      case SnapshotSection.Constitution:
        return this.constitution;
      default:
        throw new WireFormatError(`unknown snapshot section ${section}`);
    }
  }
}
