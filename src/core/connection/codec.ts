/**
 * Connection batch codec: N×64-byte records ⇄ columns. The record is 16 little-endian u32 words
 * (word 2 = type | active_spaces << 8 | flags << 16, word 3 = mutability | reserved), so copies
 * move words and float fields keep their exact bits. Reserved bytes decode to nothing and encode
 * as zero; validation rejects records whose reserved bytes are not zero.
 */
import { ValidationError } from "../errors.ts";
import type { RecordViews } from "../token/views.ts";
import { recordViews } from "../token/views.ts";
import type { ConnectionBatch, ConnectionColumns, FloatWordAliases } from "./columns.ts";
import { allocateConnectionColumns, floatWordAliases } from "./columns.ts";
import { CONNECTION_RECORD_SIZE } from "./layout.ts";

export function checkConnectionRecordLength(bytes: Uint8Array): number {
  if (bytes.byteLength % CONNECTION_RECORD_SIZE !== 0) {
    throw ValidationError.of("connection records", [
      {
        field: "records",
        value: String(bytes.byteLength),
        rule: "record_size",
        description: `connection records are ${CONNECTION_RECORD_SIZE} bytes each; ${bytes.byteLength} bytes is not a multiple of ${CONNECTION_RECORD_SIZE}`,
      },
    ]);
  }
  return bytes.byteLength / CONNECTION_RECORD_SIZE;
}

export function decodeConnections(bytes: Uint8Array): ConnectionBatch {
  const n = checkConnectionRecordLength(bytes);
  const cols = allocateConnectionColumns(n, n);
  const rec = recordViews(bytes);
  const f = floatWordAliases(cols);
  for (let i = 0; i < n; i++) copyRecordToConnection(rec, i, cols, f, i);
  return cols;
}

export function encodeConnections(cols: ConnectionColumns, start = 0, count = cols.size - start): Uint8Array {
  const out = new Uint8Array(count * CONNECTION_RECORD_SIZE);
  const rec = recordViews(out);
  const f = floatWordAliases(cols);
  for (let i = 0; i < count; i++) copyConnectionToRecord(cols, f, start + i, rec, i);
  return out;
}

/** Record `r` of `rec` → entry `e` of the columns. */
export function copyRecordToConnection(
  rec: RecordViews,
  r: number,
  c: ConnectionColumns,
  f: FloatWordAliases,
  e: number,
): void {
  const u32 = rec.u32;
  const w = r << 4;
  c.sources[e] = u32[w]!;
  c.targets[e] = u32[w + 1]!;
  const w2 = u32[w + 2]!;
  c.types[e] = w2 & 0xff;
  c.activeSpaces[e] = (w2 >>> 8) & 0xff;
  c.flags[e] = w2 >>> 16;
  c.mutability[e] = u32[w + 3]! & 0xff;
  f[0][e] = u32[w + 4]!;
  f[1][e] = u32[w + 5]!;
  f[2][e] = u32[w + 6]!;
  f[3][e] = u32[w + 7]!;
  f[4][e] = u32[w + 8]!;
  f[5][e] = u32[w + 9]!;
  c.activationCount[e] = u32[w + 10]!;
  c.evidenceCount[e] = u32[w + 11]!;
  c.successCount[e] = u32[w + 12]!;
  c.createdAt[e] = u32[w + 13]!;
  c.updatedAt[e] = u32[w + 14]!;
  c.lastActivation[e] = u32[w + 15]!;
}

/** Entry `e` of the columns → record `r` of `rec` (reserved bytes written as zero). */
export function copyConnectionToRecord(
  c: ConnectionColumns,
  f: FloatWordAliases,
  e: number,
  rec: RecordViews,
  r: number,
): void {
  const u32 = rec.u32;
  const w = r << 4;
  u32[w] = c.sources[e]!;
  u32[w + 1] = c.targets[e]!;
  u32[w + 2] = (c.types[e]! | (c.activeSpaces[e]! << 8) | (c.flags[e]! << 16)) >>> 0;
  u32[w + 3] = c.mutability[e]!;
  u32[w + 4] = f[0][e]!;
  u32[w + 5] = f[1][e]!;
  u32[w + 6] = f[2][e]!;
  u32[w + 7] = f[3][e]!;
  u32[w + 8] = f[4][e]!;
  u32[w + 9] = f[5][e]!;
  u32[w + 10] = c.activationCount[e]!;
  u32[w + 11] = c.evidenceCount[e]!;
  u32[w + 12] = c.successCount[e]!;
  u32[w + 13] = c.createdAt[e]!;
  u32[w + 14] = c.updatedAt[e]!;
  u32[w + 15] = c.lastActivation[e]!;
}
