/**
 * GetTokensResponse straight into one Buffer. The generated serializer goes through a
 * BinaryWriter and then copies its result into a Buffer (and grpc-js copies again behind a
 * 5-byte prefix); a get by id answers on every unary call, so packed-only answers skip the writer.
 * Output is byte-identical to `GetTokensResponse.encode` (a property test holds it to that).
 */
import { GetTokensResponse } from "../gen/neurograph/v1/token_service.ts";

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function writeVarint(out: Buffer, at: number, v: number): number {
  let o = at;
  let x = v >>> 0;
  while (x >= 0x80) {
    out[o++] = (x & 0x7f) | 0x80;
    x >>>= 7;
  }
  out[o++] = x;
  return o;
}

export function serializeGetTokensResponse(res: GetTokensResponse): Buffer {
  if (res.tokens.length > 0) return Buffer.from(GetTokensResponse.encode(res).finish());
  const { records, missing } = res;
  let missingBytes = 0;
  for (const id of missing) missingBytes += varintSize(id >>> 0);
  let size = records.length > 0 ? 1 + varintSize(records.length) + records.length : 0;
  if (missing.length > 0) size += 1 + varintSize(missingBytes) + missingBytes;
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  if (records.length > 0) {
    out[o++] = 0x0a;
    o = writeVarint(out, o, records.length);
    out.set(records, o);
    o += records.length;
  }
  if (missing.length > 0) {
    out[o++] = 0x1a;
    o = writeVarint(out, o, missingBytes);
    for (const id of missing) o = writeVarint(out, o, id);
  }
  return out;
}
