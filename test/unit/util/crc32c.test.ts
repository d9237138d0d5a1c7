import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32c, crc32cImplementation, crc32cJs, crc32cPortable } from "../../../src/core/util/crc32c.ts";

/** Bit-by-bit reference (the definition), to check the sliced tables against. */
function crc32cBitwise(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

describe("crc32c", () => {
  it("gives the standard check value 0xE3069283 for '123456789'", () => {
    expect(crc32c(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
  });

  it("matches published vectors (RFC 3720 B.4)", () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it("equals the bitwise definition for any input and any alignment", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 7 }), (data, shift) => {
        const shifted = new Uint8Array(data.length + shift);
        shifted.set(data, shift);
        const view = shifted.subarray(shift);
        expect(crc32c(view)).toBe(crc32cBitwise(data));
      }),
    );
  });

  it("continues over chunks: crc32c(b, crc32c(a)) = crc32c(a ‖ b)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 100 }), (a, b) => {
        const ab = new Uint8Array(a.length + b.length);
        ab.set(a);
        ab.set(b, a.length);
        expect(crc32c(b, crc32c(a))).toBe(crc32c(ab));
      }),
    );
  });
});

describe("crc32c implementations", () => {
  it("the WebAssembly path (≥ 256 bytes) equals the JavaScript one for any length, alignment and seed, across staging windows", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.nat({ max: 7 }), fc.integer({ min: 0, max: 0xffffffff }), fc.nat(), (n, shift, seed, fill) => {
        const buf = new Uint8Array(n + shift);
        for (let i = 0; i < buf.length; i++) buf[i] = (i * 2654435761 + fill) >>> 24;
        const view = buf.subarray(shift);
        expect(crc32c(view, seed)).toBe(crc32cJs(view, seed));
      }),
    );
    const big = new Uint8Array(3 * (1 << 20) + 12345);
    for (let i = 0; i < big.length; i++) big[i] = (i * 40503) >>> 8;
    expect(crc32c(big)).toBe(crc32cJs(big));
    expect(crc32c(big.subarray(5))).toBe(crc32cBitwise(big.subarray(5)));
  });

  it("the native path (≥ 4 KiB) equals the portable ones for any length, alignment and seed", () => {
    fc.assert(
      fc.property(fc.integer({ min: 3000, max: 70000 }), fc.nat({ max: 7 }), fc.integer({ min: 0, max: 0xffffffff }), fc.nat(), (n, shift, seed, fill) => {
        const buf = new Uint8Array(n + shift);
        for (let i = 0; i < buf.length; i++) buf[i] = (i * 2654435761 + fill) >>> 24;
        const view = buf.subarray(shift);
        const portable = crc32cPortable(view, seed);
        expect(crc32c(view, seed)).toBe(portable);
        expect(crc32cJs(view, seed)).toBe(portable);
      }),
      { numRuns: 60 },
    );
    const shared = new Uint8Array(new SharedArrayBuffer(10000));
    for (let i = 0; i < shared.length; i++) shared[i] = i * 7;
    expect(crc32c(shared.subarray(3))).toBe(crc32cBitwise(shared.subarray(3)));
  });

  it("uses the CPU's CRC32C instruction on the platforms the addon ships for", () => {
    // linux/darwin/windows on x64 and arm64 have a prebuilt binary; elsewhere the portable code runs.
    const shipped = process.env.NG_CRC32C !== "portable" && ["linux", "darwin", "win32"].includes(process.platform) && ["x64", "arm64"].includes(process.arch);
    expect(crc32cImplementation).toBe(shipped ? "native" : "wasm");
  });
});
