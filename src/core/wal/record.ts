/**
 * WAL record framing (docs/wal.md §2), little-endian:
 *
 * | off  | size | field          | meaning                                              |
 * |------|------|----------------|------------------------------------------------------|
 * |    0 |    8 | lsn            | u64, the record's log sequence number (= its key)     |
 * |    8 |    1 | version        | format version, 1                                    |
 * |    9 |    1 | type           | RecordType                                           |
 * |   10 |    2 | shard          | u16, the shard whose log holds the record            |
 * |   12 |    4 | payload_length | u32, N                                               |
 * |   16 |    N | payload        | protobuf message of `wal.proto` for the type          |
 * | 16+N |    4 | crc            | CRC32C over bytes [0, 16+N): header and payload       |
 */
import { crc32c } from "../util/crc32c.ts";
import { isKnownRecordType } from "./mutation.ts";
import { readU32, readU64, writeU32, writeU64 } from "./wire.ts";

export const RECORD_HEADER_SIZE = 16;
export const RECORD_TRAILER_SIZE = 4;
export const RECORD_OVERHEAD = RECORD_HEADER_SIZE + RECORD_TRAILER_SIZE;
export const WAL_FORMAT_VERSION = 1;
/** Largest payload a record may carry (LMDB values can be larger; this bounds a bad length). */
export const MAX_RECORD_PAYLOAD = 0x7fff_ffff;
export const MAX_SHARD_ID = 0xffff;

export interface RecordHeader {
  readonly lsn: number;
  readonly version: number;
  readonly type: number;
  readonly shard: number;
  readonly payloadLength: number;
}

/** Allocates record buffers; the actors pass `Buffer.allocUnsafe` (every byte gets written). */
export type Allocator = (size: number) => Uint8Array;
export const zeroedAllocator: Allocator = (size) => new Uint8Array(size);

/**
 * Starts a record: allocates header + payload + trailer and writes the header. The caller writes
 * exactly `payloadLength` bytes at `RECORD_HEADER_SIZE`, then calls `sealRecord`.
 */
export function beginRecord(lsn: number, type: number, shard: number, payloadLength: number, alloc: Allocator = zeroedAllocator): Uint8Array {
  const buf = alloc(RECORD_OVERHEAD + payloadLength);
  writeU64(buf, 0, lsn);
  buf[8] = WAL_FORMAT_VERSION;
  buf[9] = type;
  buf[10] = shard & 0xff;
  buf[11] = shard >>> 8;
  writeU32(buf, 12, payloadLength);
  return buf;
}

/** Computes and writes the CRC; returns the CRC (the manifest lists chunk CRCs). */
export function sealRecord(buf: Uint8Array): number {
  const end = buf.length - RECORD_TRAILER_SIZE;
  const crc = crc32c(buf.subarray(0, end));
  writeU32(buf, end, crc);
  return crc;
}

/** A whole record around an already encoded payload (small records: manifests, tests). */
export function encodeRecord(lsn: number, type: number, shard: number, payload: Uint8Array, alloc: Allocator = zeroedAllocator): Uint8Array {
  const buf = beginRecord(lsn, type, shard, payload.length, alloc);
  buf.set(payload, RECORD_HEADER_SIZE);
  sealRecord(buf);
  return buf;
}

/** Reads the header fields without checking anything (inspect of damaged records). */
export function readRecordHeader(buf: Uint8Array): RecordHeader | undefined {
  if (buf.length < RECORD_HEADER_SIZE) return undefined;
  return {
    lsn: readU64(buf, 0),
    version: buf[8]!,
    type: buf[9]!,
    shard: buf[10]! | (buf[11]! << 8),
    payloadLength: readU32(buf, 12),
  };
}

/**
 * Why a record is unusable. `short`, `length` and `crc` are what a torn (partially written)
 * record looks like; the others come from intact bytes that do not belong here (a record of
 * another shard or LSN, or of a format this version does not read).
 */
export type RecordProblem = "short" | "length" | "crc" | "version" | "type" | "lsn" | "shard";

export function isTornProblem(p: RecordProblem): boolean {
  return p === "short" || p === "length" || p === "crc";
}

export type RecordCheck =
  | { readonly ok: true; readonly header: RecordHeader; readonly payload: Uint8Array; readonly crc: number }
  | { readonly ok: false; readonly problem: RecordProblem; readonly detail: string; readonly header: RecordHeader | undefined };

export interface RecordExpectation {
  readonly lsn?: number;
  readonly shard?: number;
}

/** Verifies length, CRC, version, type and (when given) LSN and shard of one stored record. */
export function checkRecord(buf: Uint8Array, expect: RecordExpectation = {}): RecordCheck {
  const header = readRecordHeader(buf);
  if (header === undefined || buf.length < RECORD_OVERHEAD) {
    return { ok: false, problem: "short", detail: `record has ${buf.length} bytes, fewer than the ${RECORD_OVERHEAD}-byte frame`, header };
  }
  if (header.payloadLength !== buf.length - RECORD_OVERHEAD) {
    return {
      ok: false,
      problem: "length",
      detail: `header says ${header.payloadLength} payload bytes, the record holds ${buf.length - RECORD_OVERHEAD}`,
      header,
    };
  }
  const end = buf.length - RECORD_TRAILER_SIZE;
  const stored = readU32(buf, end);
  const actual = crc32c(buf.subarray(0, end));
  if (stored !== actual) {
    return { ok: false, problem: "crc", detail: `CRC32C mismatch: stored 0x${hex(stored)}, computed 0x${hex(actual)}`, header };
  }
  if (header.version !== WAL_FORMAT_VERSION) {
    return {
      ok: false,
      problem: "version",
      detail: `record format version ${header.version}; this NeuroGraph reads version ${WAL_FORMAT_VERSION}`,
      header,
    };
  }
  if (!isKnownRecordType(header.type)) {
    return { ok: false, problem: "type", detail: `unknown record type ${header.type}`, header };
  }
  if (expect.lsn !== undefined && header.lsn !== expect.lsn) {
    return { ok: false, problem: "lsn", detail: `record says LSN ${header.lsn} but is stored under LSN ${expect.lsn}`, header };
  }
  if (expect.shard !== undefined && header.shard !== expect.shard) {
    return { ok: false, problem: "shard", detail: `record belongs to shard ${header.shard}, found in shard ${expect.shard}'s log`, header };
  }
  return { ok: true, header, payload: buf.subarray(RECORD_HEADER_SIZE, end), crc: stored };
}

function hex(v: number): string {
  return v.toString(16).padStart(8, "0");
}
