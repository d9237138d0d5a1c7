/**
 * Aligned typed-array views over a buffer of 64-byte records. Records arrive from sockets and
 * files at arbitrary byte offsets; typed views need 4-byte alignment, so a misaligned input is
 * copied once into a fresh buffer (one copy per batch, never per record).
 */

export interface RecordViews {
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  /** True when `u8` is a copy of the input (writes do not reach the caller's bytes). */
  readonly copied: boolean;
}

export function recordViews(bytes: Uint8Array): RecordViews {
  const copied = bytes.byteOffset % 4 !== 0;
  const u8 = copied ? bytes.slice() : bytes;
  const words = u8.byteLength >>> 2;
  return {
    u8,
    u16: new Uint16Array(u8.buffer, u8.byteOffset, words * 2),
    u32: new Uint32Array(u8.buffer, u8.byteOffset, words),
    copied,
  };
}

/** A 32-bit view over the same memory as `a` (its byteOffset must be 4-aligned). */
export function wordsOf(a: Int16Array | Float32Array | Uint8Array | Uint16Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.byteLength >>> 2);
}

/** A 16-bit view over the same memory as `a` (its byteOffset must be 2-aligned). */
export function halvesOf(a: Float32Array | Uint32Array): Uint16Array {
  return new Uint16Array(a.buffer, a.byteOffset, a.byteLength >>> 1);
}
