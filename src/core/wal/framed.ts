/**
 * Records framed in place. A bulk write's packed records are the whole payload of their WAL
 * record (one bytes field), so when the buffer that carries them has room for the record's frame
 * around them — header, field tag and length in front, CRC behind — the log can seal the record
 * right there instead of copying the records into a new buffer. `allocateFramedParts` lays out
 * such buffers; `sealFramed` writes the frame and returns the record as a view.
 *
 * Ownership: a framed part's bytes outside its records belong to the log. Whoever makes a framed
 * part hands it, with its `framed` mark, to exactly one shard, which appends it at most once.
 */
import { RECORD_HEADER_SIZE, RECORD_TRAILER_SIZE, sealRecord, writeRecordHeader } from "./record.ts";
import { lengthDelimitedSize, writeLengthDelimitedHeader } from "./wire.ts";

/** Bytes a record needs in front of a payload that is a single bytes field of `length` bytes. */
export function framePrefixSize(length: number): number {
  return RECORD_HEADER_SIZE + lengthDelimitedSize(length) - length;
}

/**
 * One buffer holding a part of `sizes[j]` bytes for each j, each 4-byte aligned (typed-array
 * views of packed records need it) with room for its record frame before and after it. Returns
 * the parts' views, zero-filled.
 */
export function allocateFramedParts(sizes: ArrayLike<number>): Uint8Array[] {
  const starts = new Array<number>(sizes.length);
  let end = 0;
  for (let j = 0; j < sizes.length; j++) {
    const start = (end + framePrefixSize(sizes[j]!) + 3) & ~3;
    starts[j] = start;
    end = start + sizes[j]! + RECORD_TRAILER_SIZE;
  }
  const buffer = new ArrayBuffer(end);
  return starts.map((start, j) => new Uint8Array(buffer, start, sizes[j]));
}

/**
 * Seals `data` as a record whose payload is field 1 = `data`, writing the frame into the bytes
 * around it. Returns the record (a view over the same memory), or undefined when `data` is empty
 * or its buffer has no room for the frame (the caller then encodes a copy).
 */
export function sealFramed(lsn: number, type: number, shard: number, data: Uint8Array): Uint8Array | undefined {
  if (data.length === 0) return undefined;
  const prefix = framePrefixSize(data.length);
  const start = data.byteOffset - prefix;
  const end = data.byteOffset + data.length + RECORD_TRAILER_SIZE;
  if (start < 0 || end > data.buffer.byteLength) return undefined;
  const record = new Uint8Array(data.buffer, start, end - start);
  writeRecordHeader(record, lsn, type, shard, prefix - RECORD_HEADER_SIZE + data.length);
  writeLengthDelimitedHeader(record, RECORD_HEADER_SIZE, 1, data.length);
  sealRecord(record);
  return record;
}
