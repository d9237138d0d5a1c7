/**
 * The few protobuf wire-format primitives the WAL codec needs (varints, tags, length-delimited
 * fields), written by hand so bulk `bytes` are copied exactly once, straight into the record
 * buffer. The schema is `proto/neurograph/v1/wal.proto`; tests check these bytes against the
 * generated ts-proto codec both ways.
 */

export const WireType = { Varint: 0, Fixed64: 1, LengthDelimited: 2, Fixed32: 5 } as const;

/** Bytes a varint of `v` (0 ≤ v < 2^53) takes. */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Writes `v` (0 ≤ v < 2^53) as a varint at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/** Size of a length-delimited field (tag + length + data) with a one-byte tag. */
export function lengthDelimitedSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/** Writes the tag and length of a length-delimited field; returns where the data goes. */
export function writeLengthDelimitedHeader(buf: Uint8Array, pos: number, field: number, length: number): number {
  buf[pos++] = (field << 3) | WireType.LengthDelimited;
  return writeVarint(buf, pos, length);
}

/** Writes a length-delimited field (skipped when empty, as proto3 does). */
export function writeBytesField(buf: Uint8Array, pos: number, field: number, data: Uint8Array): number {
  if (data.length === 0) return pos;
  pos = writeLengthDelimitedHeader(buf, pos, field, data.length);
  buf.set(data, pos);
  return pos + data.length;
}

/** Size of a bytes field as written by `writeBytesField`. */
export function bytesFieldSize(length: number): number {
  return length === 0 ? 0 : lengthDelimitedSize(length);
}

/** Writes a varint field (skipped when 0). */
export function writeVarintField(buf: Uint8Array, pos: number, field: number, v: number): number {
  if (v === 0) return pos;
  buf[pos++] = (field << 3) | WireType.Varint;
  return writeVarint(buf, pos, v);
}

export function varintFieldSize(v: number): number {
  return v === 0 ? 0 : 1 + varintSize(v);
}

/** Thrown by `WireReader` on malformed input; callers turn it into a record-level finding. */
export class WireFormatError extends Error {}

/** A cursor over one protobuf message. Bulk fields come back as views, never copies. */
export class WireReader {
  pos: number;
  private readonly end: number;

  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) throw new WireFormatError("truncated varint");
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new WireFormatError("varint longer than 53 bits");
  }

  /** Returns [field number, wire type]. */
  tag(): [number, number] {
    const t = this.varint();
    const field = Math.floor(t / 8);
    if (field === 0) throw new WireFormatError("field number 0");
    return [field, t & 7];
  }

  /**
   * A length-delimited value as a view into the input: always a plain Uint8Array (never a Node
   * Buffer, whose `slice` does not copy), so consumers can rely on `slice()` making a copy.
   */
  bytes(): Uint8Array {
    const len = this.varint();
    if (len > this.end - this.pos) throw new WireFormatError("length-delimited field runs past the end");
    const out = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.pos, len);
    this.pos += len;
    return out;
  }

  fixed32(): number {
    if (this.end - this.pos < 4) throw new WireFormatError("truncated fixed32");
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WireType.Varint:
        this.varint();
        return;
      case WireType.Fixed64:
        this.advance(8);
        return;
      case WireType.LengthDelimited:
        this.bytes();
        return;
      case WireType.Fixed32:
        this.advance(4);
        return;
      default:
        throw new WireFormatError(`unsupported wire type ${wireType}`);
    }
  }

  private advance(n: number): void {
    if (this.end - this.pos < n) throw new WireFormatError("truncated field");
    this.pos += n;
  }
}

/**
 * Collects a `repeated fixed32` field that may arrive packed (one or more length-delimited runs)
 * or unpacked (one value per tag), as protobuf requires decoders to accept.
 */
export class Fixed32Collector {
  private readonly runs: Uint8Array[] = [];
  private readonly singles: number[] = [];
  private order: (0 | 1)[] = [];

  add(reader: WireReader, wireType: number): void {
    if (wireType === WireType.LengthDelimited) {
      const run = reader.bytes();
      if (run.length % 4 !== 0) throw new WireFormatError("packed fixed32 run is not a multiple of 4 bytes");
      this.runs.push(run);
      this.order.push(0);
    } else if (wireType === WireType.Fixed32) {
      this.singles.push(reader.fixed32());
      this.order.push(1);
    } else {
      throw new WireFormatError(`fixed32 field with wire type ${wireType}`);
    }
  }

  /** The values in arrival order, in a fresh (aligned) array. */
  values(): Uint32Array {
    let n = this.singles.length;
    for (const r of this.runs) n += r.length / 4;
    const out = new Uint32Array(n);
    const bytes = new Uint8Array(out.buffer);
    let run = 0;
    let single = 0;
    let at = 0;
    for (const o of this.order) {
      if (o === 0) {
        const r = this.runs[run++]!;
        bytes.set(r, at * 4);
        at += r.length / 4;
      } else {
        out[at++] = this.singles[single++]!;
      }
    }
    this.order = [];
    return out;
  }
}

/** Little-endian u32 writes without a DataView. */
export function writeU32(buf: Uint8Array, pos: number, v: number): void {
  buf[pos] = v & 0xff;
  buf[pos + 1] = (v >>> 8) & 0xff;
  buf[pos + 2] = (v >>> 16) & 0xff;
  buf[pos + 3] = (v >>> 24) & 0xff;
}

export function readU32(buf: Uint8Array, pos: number): number {
  return (buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16) | (buf[pos + 3]! << 24)) >>> 0;
}

/** Writes 0 ≤ v < 2^53 as a little-endian u64. */
export function writeU64(buf: Uint8Array, pos: number, v: number): void {
  writeU32(buf, pos, v % 0x1_0000_0000);
  writeU32(buf, pos + 4, Math.floor(v / 0x1_0000_0000));
}

/** Reads a little-endian u64; values ≥ 2^53 come back as NaN (no LSN ever gets there). */
export function readU64(buf: Uint8Array, pos: number): number {
  const hi = readU32(buf, pos + 4);
  if (hi >= 0x20_0000) return Number.NaN;
  return hi * 0x1_0000_0000 + readU32(buf, pos);
}
