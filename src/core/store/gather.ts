/**
 * Random get by id (`ShardStore.getRecords`): batch id lookup, then the records gathered from the
 * token columns.
 *
 * A random token costs about eight cache lines (1.5 of coordinates, one per other column, one of
 * the id table), each a cache and TLB miss at this size. Copying record by record waits for them
 * in turn; so the gather works in chunks, each in two sweeps: the first only loads one word of
 * every line the chunk needs (a small loop of independent loads, so the processor keeps as many
 * misses in flight as it has fill buffers), the second copies the records from cache. The id
 * column is not read again: a found slot holds the queried id (findMany checked it).
 */
import type { TokenColumnAliases } from "../token/batch.ts";
import type { TokenColumns } from "../token/columns.ts";
import type { RecordViews } from "../token/views.ts";
import { touchSink } from "./touch.ts";

/** Tokens per chunk: their ≈ 8 lines each (≈ 130 KB) stay in L2 between the sweeps. */
const CHUNK = 256;

/** Writes the record of `slots[i]` (or zeros when < 0) for every i into `rec`. */
export function gatherRecords(cols: TokenColumns, alias: TokenColumnAliases, ids: ArrayLike<number>, slots: Int32Array, rec: RecordViews): void {
  const n = slots.length;
  const { u16, u32 } = rec;
  const { coordWords, weightBits } = alias;
  const { flags, radii, strengths, timestamps } = cols;
  let sink = 0;
  for (let base = 0; base < n; base += CHUNK) {
    const end = Math.min(n, base + CHUNK);
    for (let i = base; i < end; i++) {
      const s = slots[i]!;
      if (s < 0) continue;
      const c = s * 12;
      sink ^= coordWords[c]! ^ coordWords[c + 11]! ^ flags[s]! ^ weightBits[s]! ^ radii[s]! ^ strengths[s]! ^ timestamps[s]!;
    }
    for (let i = base; i < end; i++) {
      const s = slots[i]!;
      const w = i << 4;
      if (s < 0) {
        u32.fill(0, w, w + 16);
        continue;
      }
      const c = s * 12;
      u32[w] = coordWords[c]!;
      u32[w + 1] = coordWords[c + 1]!;
      u32[w + 2] = coordWords[c + 2]!;
      u32[w + 3] = coordWords[c + 3]!;
      u32[w + 4] = coordWords[c + 4]!;
      u32[w + 5] = coordWords[c + 5]!;
      u32[w + 6] = coordWords[c + 6]!;
      u32[w + 7] = coordWords[c + 7]!;
      u32[w + 8] = coordWords[c + 8]!;
      u32[w + 9] = coordWords[c + 9]!;
      u32[w + 10] = coordWords[c + 10]!;
      u32[w + 11] = coordWords[c + 11]!;
      u32[w + 12] = ids[i]!;
      const h = i << 5;
      const bits = weightBits[s]!;
      u16[h + 26] = flags[s]!;
      u16[h + 27] = bits & 0xffff;
      u16[h + 28] = bits >>> 16;
      u16[h + 29] = radii[s]! | (strengths[s]! << 8);
      u32[w + 15] = timestamps[s]!;
    }
  }
  touchSink.value ^= sink;
}
