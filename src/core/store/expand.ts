/**
 * Neighbour expansion for graph algorithms (protocol of graph/expansion.ts), answered from the
 * arena's adjacency lists. Out lists out-edges plus in-edges flagged BIDIRECTIONAL, In the
 * reverse, Both every out- and in-edge; weight = confidence; per node, out-edges come first,
 * each list newest first.
 *
 * One pass over the lists: the degree and BIDIRECTIONAL counters give every node's exact size up
 * front, and a list is walked only when it contributes. Nodes are processed in chunks, each in
 * two sweeps: the first touches every node's first list entry with independent loads (so the
 * cache misses of many nodes are in flight at once), the second copies the lists, now mostly
 * from cache. Walking node after node would wait for each miss in turn.
 */
import type { ConnectionArena } from "../connection/arena.ts";
import { NO_EDGE } from "../connection/arena.ts";
import { CONNECTION_FLAGS } from "../connection/layout.ts";
import type { Expansion, ExpandRequest } from "../graph/expansion.ts";
import { Direction } from "../graph/expansion.ts";
import type { Adjacency } from "./adjacency.ts";
import { ADJ_STRIDE } from "./adjacency.ts";
import type { TokenTable } from "./token-table.ts";
import { touchSink } from "./touch.ts";

const BIDIRECTIONAL = CONNECTION_FLAGS.BIDIRECTIONAL;
/** Nodes per chunk: their first entries (≈ 5 cache lines each) stay in L2 between the sweeps. */
const CHUNK = 256;

export function expandAdjacency(tokens: TokenTable, arena: ConnectionArena, adj: Adjacency, req: ExpandRequest): Expansion {
  const nodes = req.nodes;
  const n = nodes.length;
  const dir = req.direction;
  const offsets = new Uint32Array(n + 1);
  const exists = new Uint8Array(n);
  const slots = new Int32Array(n);
  tokens.table.findMany(nodes, n, tokens.cols.ids, slots);
  const words = adj.words;
  if (words.length === 0) {
    for (let i = 0; i < n; i++) exists[i] = slots[i]! >= 0 ? 1 : 0;
    return { offsets, neighbors: new Uint32Array(0), weights: new Float32Array(0), types: new Uint8Array(0), outgoing: new Uint8Array(0), exists };
  }
  // Exact sizes from the counters: Out = out-degree + BIDIRECTIONAL in-edges, In the mirror
  // image, Both = out-degree + in-degree.
  const first = dir === Direction.In ? 3 : 2;
  const second = dir === Direction.Out ? 5 : dir === Direction.In ? 4 : 3;
  let total = 0;
  for (let i = 0; i < n; i++) {
    offsets[i] = total;
    const s = slots[i]!;
    if (s < 0) continue;
    exists[i] = 1;
    const b = s * ADJ_STRIDE;
    total += words[b + first]! + words[b + second]!;
  }
  offsets[n] = total;
  const neighbors = new Uint32Array(total);
  const weights = new Float32Array(total);
  const types = new Uint8Array(total);
  const outgoing = new Uint8Array(total);
  if (total > 0) {
    touchSink.value ^= fill(arena, words, slots, offsets, n, dir !== Direction.In, dir !== Direction.Out, neighbors, new Uint32Array(weights.buffer), types, outgoing);
  }
  return { offsets, neighbors, weights, types, outgoing, exists };
}

/**
 * Writes every node's lists. `allOut`: whole out-lists, else only their BIDIRECTIONAL entries
 * (walked only when the counter says there are some); `allIn` alike. Returns the touch sink.
 */
function fill(
  a: ConnectionArena,
  words: Int32Array,
  slots: Int32Array,
  offsets: Uint32Array,
  n: number,
  allOut: boolean,
  allIn: boolean,
  neighbors: Uint32Array,
  weightBits: Uint32Array,
  types: Uint8Array,
  outgoing: Uint8Array,
): number {
  const c = a.columns;
  const targets = c.targets;
  const sources = c.sources;
  const ctypes = c.types;
  const flags = c.flags;
  const conf = a.floatWords[3];
  const nextOut = a.nextOut;
  const nextIn = a.nextIn;
  let sink = 0;
  for (let base = 0; base < n; base += CHUNK) {
    const end = Math.min(n, base + CHUNK);
    for (let i = base; i < end; i++) {
      const s = slots[i]!;
      if (s < 0) continue;
      const b = s * ADJ_STRIDE;
      if (allOut || words[b + 4]! > 0) {
        const h = words[b]! - 1;
        if (h >= 0) sink ^= targets[h]! ^ nextOut[h]! ^ conf[h]! ^ ctypes[h]!;
      }
      if (allIn || words[b + 5]! > 0) {
        const h = words[b + 1]! - 1;
        if (h >= 0) sink ^= sources[h]! ^ nextIn[h]! ^ conf[h]! ^ ctypes[h]!;
      }
    }
    for (let i = base; i < end; i++) {
      const s = slots[i]!;
      if (s < 0) continue;
      const b = s * ADJ_STRIDE;
      let k = offsets[i]!;
      if (allOut) {
        for (let e = words[b]! - 1; e !== NO_EDGE; e = nextOut[e]!) {
          neighbors[k] = targets[e]!;
          weightBits[k] = conf[e]!;
          types[k] = ctypes[e]!;
          outgoing[k++] = 1;
        }
      } else if (words[b + 4]! > 0) {
        for (let e = words[b]! - 1; e !== NO_EDGE; e = nextOut[e]!) {
          if ((flags[e]! & BIDIRECTIONAL) === 0) continue;
          neighbors[k] = targets[e]!;
          weightBits[k] = conf[e]!;
          types[k] = ctypes[e]!;
          outgoing[k++] = 1;
        }
      }
      if (allIn) {
        for (let e = words[b + 1]! - 1; e !== NO_EDGE; e = nextIn[e]!) {
          neighbors[k] = sources[e]!;
          weightBits[k] = conf[e]!;
          types[k] = ctypes[e]!;
          outgoing[k++] = 0;
        }
      } else if (words[b + 5]! > 0) {
        for (let e = words[b + 1]! - 1; e !== NO_EDGE; e = nextIn[e]!) {
          if ((flags[e]! & BIDIRECTIONAL) === 0) continue;
          neighbors[k] = sources[e]!;
          weightBits[k] = conf[e]!;
          types[k] = ctypes[e]!;
          outgoing[k++] = 0;
        }
      }
    }
  }
  return sink;
}
