/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI, ext4, LevelDB and
 * our WAL records and constitution checksums. Slicing-by-8: eight 256-entry tables let the loop
 * consume 8 bytes per iteration with table lookups only (no per-bit work).
 *
 * The hot loop reads the input as 32-bit little-endian words and keeps tables and state in int32
 * (values ≥ 2^31 in a Uint32Array would be boxed doubles in V8): ~1.4× the throughput of
 * byte-wise loads, which matters for the WAL (every byte of every record is checksummed).
 *
 * Inputs of 4 KiB and more go to the CPU's own CRC32C instruction (SSE4.2 / ARMv8 CRC) through the
 * prebuilt `@node-rs/crc32` addon where it loads: 2-3× the WebAssembly version at WAL record and
 * snapshot sizes, which is what recovery spends its CRC time on. Inputs of 256 bytes and more
 * otherwise go through a WebAssembly slicing-by-16 version (several times faster than JavaScript,
 * see `crc32c-wasm.ts`). Below ~1 KiB a native call costs more than the table loop saves.
 *
 * Check value: crc32c("123456789") = 0xE3069283.
 */
import { createRequire } from "node:module";
import { WASM_CRC_TABLES, createWasmCrc32c } from "./crc32c-wasm.ts";

const POLY = 0x82f63b78;

/** TABLES[k * 256 + b] = CRC of byte b followed by k zero bytes (the JavaScript loop uses k < 8). */
const TABLES = buildTables(WASM_CRC_TABLES);

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** WebAssembly is little-endian; the tables are copied in as host int32s, so only on LE hosts. */
const WASM = LITTLE_ENDIAN ? createWasmCrc32c(TABLES) : undefined;
const WASM_MIN_BYTES = 256;

type NativeCrc32c = (data: Uint8Array, crc?: number) => number;

/**
 * The hardware CRC32C, or undefined where its prebuilt addon is missing (an unlisted platform, or
 * `NG_CRC32C=portable` to force the portable code): every caller gets the same numbers either way.
 */
function loadNativeCrc32c(): NativeCrc32c | undefined {
  if (process.env.NG_CRC32C === "portable") return undefined;
  try {
    const mod: unknown = createRequire(import.meta.url)("@node-rs/crc32");
    const fn = (mod as { crc32c?: unknown }).crc32c;
    if (typeof fn !== "function") return undefined;
    const native = fn as NativeCrc32c;
    // Trust it only once it gives the check value (and continues a checksum) as ours does.
    const check = new TextEncoder().encode("123456789");
    if (native(check) !== 0xe3069283 || native(check.subarray(5), native(check.subarray(0, 5))) !== 0xe3069283) return undefined;
    return native;
  } catch {
    return undefined;
  }
}

const NATIVE = loadNativeCrc32c();
const NATIVE_MIN_BYTES = 4096;

/** Which implementation large inputs use (for benches and diagnostics). */
export const crc32cImplementation: "native" | "wasm" | "js" =
  NATIVE !== undefined ? "native" : WASM !== undefined ? "wasm" : "js";

function buildTables(count: number): Int32Array {
  const t = new Int32Array(count * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[b] = c;
  }
  for (let b = 0; b < 256; b++) {
    let c = t[b]!;
    for (let k = 1; k < count; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + b] = c;
    }
  }
  return t;
}

/**
 * CRC32C of `data`. Pass the previous result as `crc` to continue a checksum over several
 * chunks: `crc32c(b, crc32c(a))` equals `crc32c(a ‖ b)`.
 */
export function crc32c(data: Uint8Array, crc = 0): number {
  const n = data.length;
  if (NATIVE !== undefined && n >= NATIVE_MIN_BYTES) return NATIVE(data, crc) >>> 0;
  return WASM !== undefined && n >= WASM_MIN_BYTES ? WASM.crc(data, crc) : crc32cJs(data, crc);
}

/** The portable implementation (WebAssembly, else JavaScript), whatever the host offers natively. */
export function crc32cPortable(data: Uint8Array, crc = 0): number {
  return WASM !== undefined && data.length >= WASM_MIN_BYTES ? WASM.crc(data, crc) : crc32cJs(data, crc);
}

/** The JavaScript implementation (used for short inputs and where WebAssembly is missing). */
export function crc32cJs(data: Uint8Array, crc = 0): number {
  const t = TABLES;
  let c = ~crc;
  let i = 0;
  const n = data.length;
  if (LITTLE_ENDIAN && n >= 16) {
    while (((data.byteOffset + i) & 3) !== 0) c = t[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8);
    const pairs = (n - i) >>> 3;
    const w = new Int32Array(data.buffer, data.byteOffset + i, pairs * 2);
    for (let k = 0; k < w.length; k += 2) {
      const a = c ^ w[k]!;
      const b = w[k + 1]!;
      c =
        t[1792 + (a & 0xff)]! ^
        t[1536 + ((a >>> 8) & 0xff)]! ^
        t[1280 + ((a >>> 16) & 0xff)]! ^
        t[1024 + (a >>> 24)]! ^
        t[768 + (b & 0xff)]! ^
        t[512 + ((b >>> 8) & 0xff)]! ^
        t[256 + ((b >>> 16) & 0xff)]! ^
        t[b >>> 24]!;
    }
    i += pairs * 8;
  } else {
    const end8 = n - (n & 7);
    while (i < end8) {
      const lo = c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
      c =
        t[1792 + (lo & 0xff)]! ^
        t[1536 + ((lo >>> 8) & 0xff)]! ^
        t[1280 + ((lo >>> 16) & 0xff)]! ^
        t[1024 + (lo >>> 24)]! ^
        t[768 + data[i + 4]!]! ^
        t[512 + data[i + 5]!]! ^
        t[256 + data[i + 6]!]! ^
        t[data[i + 7]!]!;
      i += 8;
    }
  }
  while (i < n) c = t[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
