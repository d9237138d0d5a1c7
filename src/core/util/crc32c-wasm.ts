/**
 * CRC32C slicing-by-16 as a tiny WebAssembly function (assembled below, ~400 bytes; no toolchain,
 * no file). Table lookups from linear memory run several times faster than the same loop in
 * JavaScript, copy into the module's memory included, which is what the WAL needs: every byte of
 * every record and snapshot is checksummed. Sixteen bytes per iteration (four independent word
 * loads, sixteen lookups) halve the loop's dependent steps per byte against slicing-by-8.
 * Pure computation, no I/O.
 *
 * Memory layout: bytes [0, 16384) hold the sixteen 256-entry tables (filled from JavaScript), data
 * is staged at STAGE in windows of WINDOW bytes.
 */

/** Tables the module needs: TABLES[k * 256 + b] = CRC of byte b followed by k zero bytes, k < 16. */
export const WASM_CRC_TABLES = 16;
const STAGE = WASM_CRC_TABLES * 1024;
const WINDOW = 1 << 20;

export interface WasmCrc32c {
  /** CRC32C of `data` continuing from `crc` (the same contract as `crc32c`). */
  crc(data: Uint8Array, crc: number): number;
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

const I32 = 0x7f;
const OP = { get: 0x20, set: 0x21, const: 0x41, xor: 0x73, and: 0x71, shl: 0x74, shrU: 0x76, add: 0x6a, geU: 0x4f, load: 0x28, load8u: 0x2d, block: 0x02, loop: 0x03, br: 0x0c, brIf: 0x0d, end: 0x0b, void: 0x40 } as const;
// Parameters: 0 ptr, 1 len, 2 crc. Locals: 3 end, 4 end16, 5 c, 6-9 the four words of a step.
const [PTR, LEN, CRC, END, END16, C, A, B, D, E] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] as const;
const LOCALS = 7;
const get = (i: number): number[] => [OP.get, i];
const set = (i: number): number[] => [OP.set, i];
const k = (n: number): number[] => [OP.const, ...sleb(n)];

/**
 * TABLES[table * 256 + ((local >>> shift) & 255)]: the byte offset is computed as one shift and
 * one mask, ((local >>> (shift - 2)) & 0x3fc), not shift, mask and scale (the loop is bound by
 * instruction count).
 */
function lookup(table: number, local: number, shift: number): number[] {
  const index = [...get(local), ...(shift === 0 ? [...k(2), OP.shl] : [...k(shift - 2), OP.shrU]), ...k(0x3fc), OP.and];
  return [...index, OP.load, 2, ...uleb(table * 1024)];
}

function assemble(): Uint8Array {
  const body = [
    ...get(CRC), ...k(-1), OP.xor, ...set(C),
    ...get(PTR), ...get(LEN), OP.add, ...set(END),
    ...get(PTR), ...get(LEN), ...k(-16), OP.and, OP.add, ...set(END16),
    // 16 bytes per iteration
    OP.block, OP.void, OP.loop, OP.void,
    ...get(PTR), ...get(END16), OP.geU, OP.brIf, 1,
    ...get(C), ...get(PTR), OP.load, 0, 0, OP.xor, ...set(A),
    ...get(PTR), OP.load, 0, 4, ...set(B),
    ...get(PTR), OP.load, 0, 8, ...set(D),
    ...get(PTR), OP.load, 0, 12, ...set(E),
    ...lookup(15, A, 0), ...lookup(14, A, 8), OP.xor, ...lookup(13, A, 16), OP.xor, ...lookup(12, A, 24), OP.xor,
    ...lookup(11, B, 0), OP.xor, ...lookup(10, B, 8), OP.xor, ...lookup(9, B, 16), OP.xor, ...lookup(8, B, 24), OP.xor,
    ...lookup(7, D, 0), OP.xor, ...lookup(6, D, 8), OP.xor, ...lookup(5, D, 16), OP.xor, ...lookup(4, D, 24), OP.xor,
    ...lookup(3, E, 0), OP.xor, ...lookup(2, E, 8), OP.xor, ...lookup(1, E, 16), OP.xor, ...lookup(0, E, 24), OP.xor, ...set(C),
    ...get(PTR), ...k(16), OP.add, ...set(PTR),
    OP.br, 0, OP.end, OP.end,
    // the remaining bytes one at a time
    OP.block, OP.void, OP.loop, OP.void,
    ...get(PTR), ...get(END), OP.geU, OP.brIf, 1,
    ...get(C), ...get(PTR), OP.load8u, 0, 0, OP.xor, ...k(255), OP.and, ...k(2), OP.shl, OP.load, 2, 0,
    ...get(C), ...k(8), OP.shrU, OP.xor, ...set(C),
    ...get(PTR), ...k(1), OP.add, ...set(PTR),
    OP.br, 0, OP.end, OP.end,
    ...get(C), ...k(-1), OP.xor,
    OP.end,
  ];
  const func = [...uleb(1), LOCALS, I32, ...body];
  const pages = Math.ceil((STAGE + WINDOW) / 65536);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32]]), ...vec([[I32]])]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x00, ...uleb(pages)]])),
    ...section(7, vec([[...name("crc"), 0x00, 0], [...name("mem"), 0x02, 0]])),
    ...section(10, vec([[...uleb(func.length), ...func]])),
  ]);
}

/** The part of the WebAssembly API used here (the project's TypeScript lib has no DOM types). */
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object) => { readonly exports: { readonly crc: unknown; readonly mem: unknown } };
}

/** Instantiates the module with `tables` (WASM_CRC_TABLES × 256 int32); undefined where WebAssembly is unavailable. */
export function createWasmCrc32c(tables: Int32Array): WasmCrc32c | undefined {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (wasm === undefined) return undefined;
  try {
    const instance = new wasm.Instance(new wasm.Module(assemble()));
    const memory = instance.exports.mem as { readonly buffer: ArrayBuffer };
    const fn = instance.exports.crc as (ptr: number, len: number, crc: number) => number;
    new Int32Array(memory.buffer, 0, tables.length).set(tables);
    const heap = new Uint8Array(memory.buffer);
    return {
      crc(data: Uint8Array, crc: number): number {
        let c = crc;
        for (let off = 0; off < data.length; off += WINDOW) {
          const part = data.subarray(off, Math.min(data.length, off + WINDOW));
          heap.set(part, STAGE);
          c = fn(STAGE, part.length, c) >>> 0;
        }
        return c >>> 0;
      },
    };
  } catch {
    return undefined;
  }
}
