/**
 * Small typed-array helpers over packed 64-byte records (tokens and connections): one column
 * read out per batch, and duplicate detection by sorting item indices (no object or map per item).
 */

export const RECORD_SIZE = 64;
/** Byte offset of the id in a token record. */
export const TOKEN_ID_OFFSET = 48;
/** Byte offsets of source, target and type in a connection record. */
export const EDGE_SOURCE_OFFSET = 0;
export const EDGE_TARGET_OFFSET = 4;
export const EDGE_TYPE_OFFSET = 8;
export const EDGE_FLAGS_OFFSET = 10;

export function recordCount(records: Uint8Array): number {
  return records.byteLength >>> 6;
}

/** The u32 at `offset` of every record (aligned fast path, DataView otherwise). */
export function u32Column(records: Uint8Array, offset: number): Uint32Array {
  const n = records.byteLength >>> 6;
  const out = new Uint32Array(n);
  if ((records.byteOffset & 3) === 0) {
    const words = new Uint32Array(records.buffer, records.byteOffset, n * 16);
    const w = offset >>> 2;
    for (let i = 0; i < n; i++) out[i] = words[i * 16 + w]!;
  } else {
    const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
    for (let i = 0; i < n; i++) out[i] = dv.getUint32(i * RECORD_SIZE + offset, true);
  }
  return out;
}

/** The byte at `offset` of every record. */
export function u8Column(records: Uint8Array, offset: number): Uint8Array {
  const n = records.byteLength >>> 6;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = records[i * RECORD_SIZE + offset]!;
  return out;
}

/**
 * Marks (with 1 in the result) every item whose key equals the key of an earlier item, among the
 * items with `candidate[i] !== 0` (all when null). Keys are up to three u32 columns.
 */
export function laterDuplicates(
  n: number,
  a: Uint32Array,
  b: ArrayLike<number> | null,
  c: ArrayLike<number> | null,
  candidate: Uint8Array | null,
): Uint8Array {
  const dup = new Uint8Array(n);
  let m = 0;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) if (candidate === null || candidate[i] !== 0) order[m++] = i;
  const items = order.subarray(0, m);
  items.sort((x, y) => a[x]! - a[y]! || (b === null ? 0 : b[x]! - b[y]!) || (c === null ? 0 : c[x]! - c[y]!) || x - y);
  for (let k = 1; k < m; k++) {
    const x = items[k - 1]!;
    const y = items[k]!;
    if (a[x] === a[y] && (b === null || b[x] === b[y]) && (c === null || c[x] === c[y])) dup[y] = 1;
  }
  return dup;
}

/**
 * For each item with a key (`keys[i]`, where `candidate[i] !== 0`), its 1-based rank among the
 * earlier items with the same key (in index order). Used to count how many new connections a batch
 * adds to one token before an item.
 */
export function ranksByKey(n: number, keys: Uint32Array, candidate: Uint8Array): Uint32Array {
  const rank = new Uint32Array(n);
  let m = 0;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) if (candidate[i] !== 0) order[m++] = i;
  const items = order.subarray(0, m);
  items.sort((x, y) => keys[x]! - keys[y]! || x - y);
  let run = 0;
  for (let k = 0; k < m; k++) {
    const y = items[k]!;
    run = k > 0 && keys[items[k - 1]!] === keys[y] ? run + 1 : 1;
    rank[y] = run;
  }
  return rank;
}
