/**
 * Batch codec: N×64-byte records ⇄ token columns (structure of arrays). No object per token:
 * coordinates move as raw 32- or 64-bit words, the weight as its two raw u16 halves (it sits at byte 54,
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
  /** `coords` as f64 words (6 per token, bits only), when `coords` is 8-aligned. */
  readonly coordDoubles: Float64Array | undefined;
}

export function columnAliases(c: TokenColumns): TokenColumnAliases {
  const coords = c.coords;
  const coordDoubles = coords.byteOffset % 8 === 0 ? new Float64Array(coords.buffer, coords.byteOffset, coords.byteLength >>> 3) : undefined;
  return { coordWords: wordsOf(coords), weightBits: wordsOf(c.weights), coordDoubles };
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
 *
 * Word 13 of a record holds flags (low half) and the weight's low half; word 14 the weight's high
 * half, radius and strength; so the tail of a record is read as four u32 words, not six loads.
 * Coordinates move as six f64 words when both sides are 8-aligned (a plain 64-bit load/store
 * moves every bit pattern, NaN payloads included: V8 canonicalises NaNs only in arithmetic and
 * in double-element JS arrays, never in a typed-array copy; the codec's bit-exact round-trip
 * property test guards this), else as twelve u32 words.
 */
export function copyRecordsToColumns(
  rec: RecordViews,
  first: number,
  count: number,
  cols: TokenColumns,
  alias: TokenColumnAliases,
  slot: number,
): void {
  const u32 = rec.u32;
  // Tight loops, every column in a local and indexes stepped rather than recomputed: the store's
  // bulk insert (snapshot load, replay) and every decode run through here.
  const coordDoubles = alias.coordDoubles;
  if (count >= F64_COPY_MIN && coordDoubles !== undefined && rec.u8.byteOffset % 8 === 0) {
    const f64 = new Float64Array(rec.u8.buffer, rec.u8.byteOffset + first * TOKEN_RECORD_SIZE, count * 8);
    for (let i = 0, d = 0, c = slot * 6; i < count; i++, d += 8, c += 6) {
      coordDoubles[c] = f64[d]!;
      coordDoubles[c + 1] = f64[d + 1]!;
      coordDoubles[c + 2] = f64[d + 2]!;
      coordDoubles[c + 3] = f64[d + 3]!;
      coordDoubles[c + 4] = f64[d + 4]!;
      coordDoubles[c + 5] = f64[d + 5]!;
    }
  } else {
    const coordWords = alias.coordWords;
    for (let i = 0, w = first << 4, c = slot * 12; i < count; i++, w += 16, c += 12) {
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
    }
  }
  const { ids, flags, radii, strengths, timestamps } = cols;
  const weightBits = alias.weightBits;
  for (let i = 0, w = first << 4, s = slot; i < count; i++, w += 16, s++) {
    const a = u32[w + 13]!;
    const b = u32[w + 14]!;
    ids[s] = u32[w + 12]!;
    flags[s] = a;
    weightBits[s] = (a >>> 16) | (b << 16);
    radii[s] = b >>> 16;
    strengths[s] = b >>> 24;
    timestamps[s] = u32[w + 15]!;
  }
}

/**
 * The six coordinate words of record `i` of an 8-aligned f64 view into slot `slot` (the f64 path
 * of `copyRecordsToColumns`, for callers that place records one at a time).
 */
export function copyCoordsF64(f64: Float64Array, i: number, coordDoubles: Float64Array, slot: number): void {
  const d = i << 3;
  const c = slot * 6;
  coordDoubles[c] = f64[d]!;
  coordDoubles[c + 1] = f64[d + 1]!;
  coordDoubles[c + 2] = f64[d + 2]!;
  coordDoubles[c + 3] = f64[d + 3]!;
  coordDoubles[c + 4] = f64[d + 4]!;
  coordDoubles[c + 5] = f64[d + 5]!;
}

/** Flags, weight, radius, strength and timestamp of the record at u32 word `w` into slot `slot` (not the id). */
export function copyRecordTail(u32: Uint32Array, w: number, cols: TokenColumns, weightBits: Uint32Array, slot: number): void {
  const a = u32[w + 13]!;
  const b = u32[w + 14]!;
  cols.flags[slot] = a;
  weightBits[slot] = (a >>> 16) | (b << 16);
  cols.radii[slot] = b >>> 16;
  cols.strengths[slot] = b >>> 24;
  cols.timestamps[slot] = u32[w + 15]!;
}

/** Below this many records the f64 view costs more than it saves. */
const F64_COPY_MIN = 8;

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
