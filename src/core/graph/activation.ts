/**
 * Spreading activation in level-synchronous waves (fixing reference/original-core.md §11.13,
 * where a visited set made accumulation dead code).
 *
 * Wave 0 is the source with `energy`. In wave d (d < maxDepth) every node that fired in wave d
 * sends `e · w · (1 − decay)` over each of its edges (in `direction`) whose weight w is a positive
 * finite number. A node that has not fired yet sums everything that arrives in the same wave; if
 * the sum is ≥ `minEnergy` it fires in wave d + 1 with that energy (depth d + 1), otherwise the
 * energy is dropped and the node may still fire in a later wave. Each node fires at most once, so
 * energy arriving after a node fired (cycles, the way back to the source) is ignored and the
 * process ends after at most maxDepth waves.
 *
 * Reported: every fired node except the source whose energy is ≥ `threshold`, ordered by energy
 * descending, then id ascending. Each run starts from nothing: no state survives between runs.
 * One request per wave (the whole wave at once).
 *
 * Edge flags are not part of the expansion protocol, so INHIBITORY connections carry positive
 * energy like any other; the expander may leave them out.
 */
import { IdIndex } from "./id-index.ts";
import { Direction } from "./expansion.ts";
import type { Expansion } from "./expansion.ts";
import type { GraphMachine } from "./machine.ts";
import { ensure } from "./buffers.ts";
import { MAX_GRAPH_DEPTH, MAX_GRAPH_NODES, Violations, isTraversableWeight } from "./params.ts";

export interface ActivationOptions {
  /** Energy of the source; finite, > 0. Default 1. */
  readonly energy?: number;
  /** Share of energy lost per hop, in [0, 1]. Default 0.2. */
  readonly decay?: number;
  /** Fired nodes below this energy are not reported; ≥ 0. Default 0.1. */
  readonly threshold?: number;
  /** A node fires only with at least this much energy; ≥ 0. Default 0.01. */
  readonly minEnergy?: number;
  /** Number of waves after the source; 0..MAX_GRAPH_DEPTH. Default 5. */
  readonly maxDepth?: number;
  /** Out (default) or Both. */
  readonly direction?: Direction;
  /** Stop (truncated) before touching more than this many nodes. Default MAX_GRAPH_NODES. */
  readonly maxNodes?: number;
}

export interface ActivationResult {
  /** False when the source does not exist. */
  readonly found: boolean;
  /** Reported nodes: energy descending, then id ascending. The source is never included. */
  readonly nodes: Uint32Array;
  readonly energies: Float64Array;
  /** The wave in which each node fired (hops from the source). */
  readonly depths: Uint32Array;
  /** Nodes that fired, the source included. */
  readonly fired: number;
  /** The last wave in which a node fired. */
  readonly maxDepthReached: number;
  readonly truncated: boolean;
}

export const DEFAULT_ACTIVATION = Object.freeze({
  energy: 1,
  decay: 0.2,
  threshold: 0.1,
  minEnergy: 0.01,
  maxDepth: 5,
  direction: Direction.Out,
  maxNodes: MAX_GRAPH_NODES,
});

type ResolvedActivation = Required<ActivationOptions>;

export function spreadingActivation(source: number, options: ActivationOptions = {}): GraphMachine<ActivationResult> {
  const o: ResolvedActivation = { ...DEFAULT_ACTIVATION, ...definedOnly(options) };
  const v = new Violations();
  v.tokenId("source", source);
  if (!Number.isFinite(o.energy) || o.energy <= 0) v.add("energy", o.energy, "energy_range", "must be a finite number > 0");
  v.numRange("decay", o.decay, 0, 1, "decay_range");
  v.numRange("threshold", o.threshold, 0, Number.MAX_VALUE, "threshold_range");
  v.numRange("minEnergy", o.minEnergy, 0, Number.MAX_VALUE, "min_energy_range");
  v.intRange("maxDepth", o.maxDepth, 0, MAX_GRAPH_DEPTH, "depth_range");
  v.direction("direction", o.direction, [Direction.Out, Direction.Both]);
  v.intRange("maxNodes", o.maxNodes, 1, MAX_GRAPH_NODES, "node_limit_range");
  v.throwIfAny("spreading activation");
  return activationMachine(source, o);
}

function definedOnly(options: ActivationOptions): ActivationOptions {
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(options)) if (val !== undefined) out[k] = val;
  return out;
}

function* activationMachine(source: number, o: ResolvedActivation): GraphMachine<ActivationResult> {
  const nodes = new IdIndex(64);
  let energy = new Float64Array(64);
  /** Wave whose energy `energy[i]` holds; -1 once the node fired. */
  let wave = new Int32Array(64);
  let depth = new Uint32Array(64);
  nodes.add(source);
  energy[0] = o.energy;
  wave[0] = -1;
  let frontier = new Int32Array(64);
  frontier[0] = 0;
  let frontierLen = 1;
  let candidates = new Int32Array(64);
  let fired = 1;
  let maxDepthReached = 0;
  let truncated = false;
  const keep = 1 - o.decay;

  for (let d = 0; frontierLen > 0; d++) {
    if (d > 0 && d >= o.maxDepth) break;
    const request = new Uint32Array(frontierLen);
    for (let i = 0; i < frontierLen; i++) request[i] = nodes.ids[frontier[i]!]!;
    const exp: Expansion = yield { nodes: request, direction: o.direction };
    if (d === 0 && exp.exists[0] !== 1) {
      return { found: false, nodes: new Uint32Array(0), energies: new Float64Array(0), depths: new Uint32Array(0), fired: 0, maxDepthReached: 0, truncated: false };
    }
    if (d >= o.maxDepth) break;
    const { offsets, neighbors, weights } = exp;
    let candidateLen = 0;
    wave: for (let i = 0; i < frontierLen; i++) {
      const sent = energy[frontier[i]!]! * keep;
      const end = offsets[i + 1]!;
      for (let e = offsets[i]!; e < end; e++) {
        const w = weights[e]!;
        if (!isTraversableWeight(w)) continue;
        const nb = neighbors[e]!;
        let idx = nodes.indexOf(nb);
        if (idx < 0) {
          if (nodes.size >= o.maxNodes) {
            truncated = true;
            break wave;
          }
          idx = nodes.add(nb);
          energy = ensure(energy, idx + 1);
          wave = ensure(wave, idx + 1);
          depth = ensure(depth, idx + 1);
          wave[idx] = 0; // never a live wave number: waves that receive energy are ≥ 1
        } else if (wave[idx] === -1) {
          continue;
        }
        if (wave[idx] !== d + 1) {
          wave[idx] = d + 1;
          energy[idx] = 0;
          candidates = ensure(candidates, candidateLen + 1);
          candidates[candidateLen++] = idx;
        }
        energy[idx]! += sent * w;
      }
    }
    frontierLen = 0;
    for (let c = 0; c < candidateLen; c++) {
      const idx = candidates[c]!;
      if (energy[idx]! < o.minEnergy) continue;
      wave[idx] = -1;
      depth[idx] = d + 1;
      frontier = ensure(frontier, frontierLen + 1);
      frontier[frontierLen++] = idx;
    }
    if (frontierLen > 0) maxDepthReached = d + 1;
    fired += frontierLen;
    if (truncated) break;
  }

  // Report fired nodes (wave −1) except the source, energy descending then id.
  let count = 0;
  const picked = new Int32Array(nodes.size);
  for (let i = 1; i < nodes.size; i++) {
    if (wave[i] === -1 && energy[i]! >= o.threshold) picked[count++] = i;
  }
  const order = picked.subarray(0, count);
  const ids = nodes.ids;
  order.sort((a, b) => energy[b]! - energy[a]! || ids[a]! - ids[b]!);
  const out = { nodes: new Uint32Array(count), energies: new Float64Array(count), depths: new Uint32Array(count) };
  for (let k = 0; k < count; k++) {
    const i = order[k]!;
    out.nodes[k] = ids[i]!;
    out.energies[k] = energy[i]!;
    out.depths[k] = depth[i]!;
  }
  return { found: true, ...out, fired, maxDepthReached, truncated };
}
