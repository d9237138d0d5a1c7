/**
 * A little-endian byte writer and reader for the field engine's log payloads (`result-codec.ts`).
 * Typed-array sections are copied in bulk; the reader checks every length against what is left,
 * so a damaged payload fails with a DataLossError naming the section instead of reading garbage.
 */
import { DataLossError } from "../errors.ts";

export class ByteWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private at = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.at + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.room(1);
    this.view.setUint8(this.at, v);
    this.at += 1;
  }
  u16(v: number): void {
    this.room(2);
    this.view.setUint16(this.at, v, true);
    this.at += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.at, v >>> 0, true);
    this.at += 4;
  }
  f32(v: number): void {
    this.room(4);
    this.view.setFloat32(this.at, v, true);
    this.at += 4;
  }
  f64(v: number): void {
    this.room(8);
    this.view.setFloat64(this.at, v, true);
    this.at += 8;
  }
  /** Length-prefixed (u32 count) array; 4-byte aligned, so the reader can view it in place. */
  u32s(a: ArrayLike<number>): void {
    this.u32(a.length);
    this.room(a.length * 4);
    for (let i = 0; i < a.length; i++) this.view.setUint32(this.at + i * 4, a[i]! >>> 0, true);
    this.at += a.length * 4;
  }
  i16s(a: Int16Array): void {
    this.u32(a.length);
    this.room(a.length * 2 + 2);
    for (let i = 0; i < a.length; i++) this.view.setInt16(this.at + i * 2, a[i]!, true);
    this.at += a.length * 2;
    if (this.at % 4 !== 0) this.at += 4 - (this.at % 4);
  }
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.room(b.length + 3);
    this.buf.set(b, this.at);
    this.at += b.length;
    if (this.at % 4 !== 0) this.at += 4 - (this.at % 4);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.at);
  }
}

export class ByteReader {
  private readonly view: DataView;
  private at = 0;

  constructor(
    private readonly src: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  }

  private need(n: number, section: string): void {
    if (this.at + n > this.src.byteLength) {
      throw new DataLossError(`${this.what} is truncated or damaged: ${section} needs ${n} bytes at offset ${this.at} of ${this.src.byteLength}`);
    }
  }

  get done(): boolean {
    return this.at >= this.src.byteLength;
  }

  u8(section = "u8"): number {
    this.need(1, section);
    return this.view.getUint8(this.at++);
  }
  u16(section = "u16"): number {
    this.need(2, section);
    const v = this.view.getUint16(this.at, true);
    this.at += 2;
    return v;
  }
  u32(section = "u32"): number {
    this.need(4, section);
    const v = this.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }
  f32(section = "f32"): number {
    this.need(4, section);
    const v = this.view.getFloat32(this.at, true);
    this.at += 4;
    return v;
  }
  f64(section = "f64"): number {
    this.need(8, section);
    const v = this.view.getFloat64(this.at, true);
    this.at += 8;
    return v;
  }
  u32s(section: string): Uint32Array {
    const n = this.u32(section);
    this.need(n * 4, section);
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.view.getUint32(this.at + i * 4, true);
    this.at += n * 4;
    return out;
  }
  i16s(section: string): Int16Array {
    const n = this.u32(section);
    this.need(n * 2, section);
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) out[i] = this.view.getInt16(this.at + i * 2, true);
    this.at += n * 2;
    if (this.at % 4 !== 0) this.at += 4 - (this.at % 4);
    return out;
  }
  bytes(section: string): Uint8Array {
    const n = this.u32(section);
    this.need(n, section);
    const out = this.src.slice(this.at, this.at + n);
    this.at += n;
    if (this.at % 4 !== 0) this.at += 4 - (this.at % 4);
    return out;
  }
}
