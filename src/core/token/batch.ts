/**
 * Batch codec: N×64-byte records ⇄ token columns (structure of arrays). No object per token:
 * coordinates move as 12 u32 words, the weight as its two raw u16 halves (it sits at byte 54,
 * not 4-aligned), so every bit pattern — NaN payloads, −0, denormals — round-trips exactly.
 */
import { ValidationError } from "../errors.ts";
import type { TokenColumns } from "./columns.ts";
import { COORDS_PER_TOKEN } from "./columns.ts";
import { TOKEN_RECORD_SIZE } from "./layout.ts";
import type { RecordViews } from "./views.ts";
import { recordViews, wordsOf } from "./views.ts";

/** Decoded columns of a batch; `size` = number of records. */
export type TokenBatch = TokenColumns;

/** Integer aliases of token columns, for bit-exact copies. */
export interface TokenColumnAliases {
  /** `coords` as u32 words: 12 per token. */
  readonly coordWords: Uint32Array;
  /** `weights` as raw u32 bits. */
  readonly weightBits: Uint32Array;
}

export function columnAliases(c: TokenColumns): TokenColumnAliases {
  return { coordWords: wordsOf(c.coords), weightBits: wordsOf(c.weights) };
}

/** Fresh zeroed columns with room for `capacity` tokens and `size` = `size`. */
export function allocateTokenColumns(capacity: number, size = 0): TokenColumns {
  return {
    size,
    coords: new Int16Array(capacity * COORDS_PER_TOKEN),
    ids: new Uint32Array(capacity),
    flags: new Uint16Array(capacity),
    weights: new Float32Array(capacity),
    radii: new Uint8Array(capacity),
    strengths: new Uint8Array(capacity),
    timestamps: new Uint32Array(capacity),
  };
}

export function checkRecordLength(bytes: Uint8Array, what = "token records"): number {
  if (bytes.byteLength % TOKEN_RECORD_SIZE !== 0) {
    throw ValidationError.of(what, [
      {
        field: "records",
        value: String(bytes.byteLength),
        rule: "record_size",
        description: `records are ${TOKEN_RECORD_SIZE} bytes each; ${bytes.byteLength} bytes is not a multiple of ${TOKEN_RECORD_SIZE}`,
      },
    ]);
  }
  return bytes.byteLength / TOKEN_RECORD_SIZE;
}

/** Decodes a whole batch into fresh columns. */
export function decodeTokens(bytes: Uint8Array): TokenBatch {
  const n = checkRecordLength(bytes);
  const cols = allocateTokenColumns(n, n);
  copyRecordsToColumns(recordViews(bytes), 0, n, cols, columnAliases(cols), 0);
  return cols;
}

/** Encodes columns `start .. start+count-1` into fresh records. */
export function encodeTokens(columns: TokenColumns, start = 0, count = columns.size - start): Uint8Array {
  const out = new Uint8Array(count * TOKEN_RECORD_SIZE);
  copyColumnsToRecords(columns, columnAliases(columns), start, count, recordViews(out), 0);
  return out;
}

/**
 * Copies records `first .. first+count-1` of `rec` into column slots `slot ..`.
 * Callers check bounds; this is the hot loop of every ingest path.
 */
export function copyRecordsToColumns(
  rec: RecordViews,
  first: number,
  count: number,
  cols: TokenColumns,
  alias: TokenColumnAliases,
  slot: number,
): void {
  const { u16, u32 } = rec;
  const { coordWords, weightBits } = alias;
  const { ids, flags, radii, strengths, timestamps } = cols;
  for (let i = 0; i < count; i++) {
    const r = first + i;
    const s = slot + i;
    const w = r << 4;
    const c = s * 12;
    coordWords[c] = u32[w]!;
    coordWords[c + 1] = u32[w + 1]!;
    coordWords[c + 2] = u32[w + 2]!;
    coordWords[c + 3] = u32[w + 3]!;
    coordWords[c + 4] = u32[w + 4]!;
    coordWords[c + 5] = u32[w + 5]!;
    coordWords[c + 6] = u32[w + 6]!;
    coordWords[c + 7] = u32[w + 7]!;
    coordWords[c + 8] = u32[w + 8]!;
    coordWords[c + 9] = u32[w + 9]!;
    coordWords[c + 10] = u32[w + 10]!;
    coordWords[c + 11] = u32[w + 11]!;
    ids[s] = u32[w + 12]!;
    const h = r << 5;
    flags[s] = u16[h + 26]!;
    // The weight sits at byte 54 (not 4-aligned): join its two raw halves.
    weightBits[s] = u16[h + 27]! | (u16[h + 28]! << 16);
    const rs = u16[h + 29]!;
    radii[s] = rs & 0xff;
    strengths[s] = rs >>> 8;
    timestamps[s] = u32[w + 15]!;
  }
}

/** Copies column slots `slot .. slot+count-1` into records `first ..` of `rec`. */
export function copyColumnsToRecords(
  cols: TokenColumns,
  alias: TokenColumnAliases,
  slot: number,
  count: number,
  rec: RecordViews,
  first: number,
): void {
  for (let i = 0; i < count; i++) copySlotToRecord(cols, alias, slot + i, rec, first + i);
}

/** Copies column slot `s` into record `r` of `rec`. */
export function copySlotToRecord(
  cols: TokenColumns,
  alias: TokenColumnAliases,
  s: number,
  rec: RecordViews,
  r: number,
): void {
  const { u16, u32 } = rec;
  const { coordWords, weightBits } = alias;
  const w = r << 4;
  const c = s * 12;
  for (let k = 0; k < 12; k++) u32[w + k] = coordWords[c + k]!;
  u32[w + 12] = cols.ids[s]!;
  const h = r << 5;
  u16[h + 26] = cols.flags[s]!;
  const bits = weightBits[s]!;
  u16[h + 27] = bits & 0xffff;
  u16[h + 28] = bits >>> 16;
  u16[h + 29] = cols.radii[s]! | (cols.strengths[s]! << 8);
  u32[w + 15] = cols.timestamps[s]!;
}

/**
 * Copies column slots `slots[i]` into record i of `rec` for every i (slot −1 → a zero record).
 * Column by column: each pass is a gather of independent loads, so cache misses overlap (a random
 * get touches one line per column; record-by-record copying would serialise them).
 */
export function gatherSlotsToRecords(cols: TokenColumns, alias: TokenColumnAliases, slots: Int32Array, rec: RecordViews): void {
  const { u16, u32 } = rec;
  const n = slots.length;
  const { coordWords, weightBits } = alias;
  for (let i = 0; i < n; i++) {
    const s = slots[i]!;
    const w = i << 4;
    if (s < 0) {
      u32.fill(0, w, w + 16);
      continue;
    }
    const c = s * 12;
    for (let k = 0; k < 12; k++) u32[w + k] = coordWords[c + k]!;
  }
  const { ids, flags, radii, strengths, timestamps } = cols;
  for (let i = 0; i < n; i++) {
    const s = slots[i]!;
    if (s >= 0) u32[(i << 4) + 12] = ids[s]!;
  }
  for (let i = 0; i < n; i++) {
    const s = slots[i]!;
    if (s < 0) continue;
    const h = i << 5;
    const bits = weightBits[s]!;
    u16[h + 26] = flags[s]!;
    u16[h + 27] = bits & 0xffff;
    u16[h + 28] = bits >>> 16;
  }
  for (let i = 0; i < n; i++) {
    const s = slots[i]!;
    if (s < 0) continue;
    u16[(i << 5) + 29] = radii[s]! | (strengths[s]! << 8);
    u32[(i << 4) + 15] = timestamps[s]!;
  }
}
