/**
 * A small adjacency-list graph for tests: answers the expansion protocol the way the shard store
 * does (Out lists out-edges and, backwards, BIDIRECTIONAL in-edges; In lists in-edges and,
 * forwards, BIDIRECTIONAL out-edges; Both lists every out-edge and every in-edge), and exposes
 * plain neighbour lists for reference algorithms.
 */
import { Direction } from "../../../src/core/graph/index.ts";
import type { ExpandRequest, Expansion } from "../../../src/core/graph/index.ts";

export interface EdgeSpec {
  readonly from: number;
  readonly to: number;
  readonly weight?: number;
  readonly type?: number;
  readonly bidirectional?: boolean;
}

export interface Step {
  readonly to: number;
  readonly weight: number;
  readonly type: number;
  readonly outgoing: boolean;
}

export class TestGraph {
  readonly nodes = new Set<number>();
  private readonly out = new Map<number, EdgeSpec[]>();
  private readonly in = new Map<number, EdgeSpec[]>();
  /** Every request seen, for round-trip counts. */
  readonly requests: number[][] = [];

  constructor(nodes: Iterable<number>, edges: Iterable<EdgeSpec> = []) {
    for (const n of nodes) this.nodes.add(n);
    for (const e of edges) this.addEdge(e);
  }

  /** A graph from a list of [from, to, weight?] with all endpoints as nodes. */
  static of(edges: readonly (readonly [number, number, number?])[], extraNodes: readonly number[] = []): TestGraph {
    const g = new TestGraph(extraNodes);
    for (const [from, to, weight] of edges) {
      g.nodes.add(from);
      g.nodes.add(to);
      g.addEdge({ from, to, weight: weight ?? 1 });
    }
    return g;
  }

  addEdge(e: EdgeSpec): void {
    const list = (m: Map<number, EdgeSpec[]>, k: number): EdgeSpec[] => {
      let l = m.get(k);
      if (l === undefined) m.set(k, (l = []));
      return l;
    };
    list(this.out, e.from).push(e);
    list(this.in, e.to).push(e);
  }

  /** Neighbour steps of `node` in `direction`, in expansion order. */
  steps(node: number, direction: Direction): Step[] {
    const res: Step[] = [];
    if (!this.nodes.has(node)) return res;
    const outs = this.out.get(node) ?? [];
    const ins = this.in.get(node) ?? [];
    const fwd = (e: EdgeSpec): Step => ({ to: e.to, weight: e.weight ?? 1, type: e.type ?? 0x50, outgoing: true });
    const back = (e: EdgeSpec): Step => ({ to: e.from, weight: e.weight ?? 1, type: e.type ?? 0x50, outgoing: false });
    if (direction === Direction.Out) {
      for (const e of outs) res.push(fwd(e));
      for (const e of ins) if (e.bidirectional === true) res.push(back(e));
    } else if (direction === Direction.In) {
      for (const e of outs) if (e.bidirectional === true) res.push(fwd(e));
      for (const e of ins) res.push(back(e));
    } else {
      for (const e of outs) res.push(fwd(e));
      for (const e of ins) res.push(back(e));
    }
    return res;
  }

  expand = (req: ExpandRequest): Expansion => {
    this.requests.push(Array.from(req.nodes));
    const n = req.nodes.length;
    const offsets = new Uint32Array(n + 1);
    const exists = new Uint8Array(n);
    const all: Step[] = [];
    for (let i = 0; i < n; i++) {
      const id = req.nodes[i]!;
      exists[i] = this.nodes.has(id) ? 1 : 0;
      all.push(...this.steps(id, req.direction));
      offsets[i + 1] = all.length;
    }
    return {
      offsets,
      exists,
      neighbors: Uint32Array.from(all, (s) => s.to),
      weights: Float32Array.from(all, (s) => s.weight),
      types: Uint8Array.from(all, (s) => s.type),
      outgoing: Uint8Array.from(all, (s) => (s.outgoing ? 1 : 0)),
    };
  };

  expandAsync = async (req: ExpandRequest): Promise<Expansion> => {
    await Promise.resolve();
    return this.expand(req);
  };
}
