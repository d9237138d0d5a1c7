/**
 * Parameter validation for graph queries. Every check of a call is collected before throwing, so
 * one `ValidationError` lists everything a caller has to fix.
 */
import { ValidationError } from "../errors.ts";
import type { FieldViolation } from "../errors.ts";
import { Direction } from "./expansion.ts";

/** Deepest traversal any query may ask for (hops). */
export const MAX_GRAPH_DEPTH = 1 << 20;
/** Most nodes one query may touch; also the default `maxNodes`. */
export const MAX_GRAPH_NODES = 1 << 26;

export class Violations {
  readonly list: FieldViolation[] = [];

  add(field: string, value: unknown, rule: string, description: string): void {
    this.list.push({ field, value: String(value), rule, description });
  }

  /** Throws the collected violations, if any, as one ValidationError about `what`. */
  throwIfAny(what: string): void {
    if (this.list.length > 0) throw ValidationError.of(what, this.list);
  }

  tokenId(field: string, v: number): void {
    if (!Number.isInteger(v) || v < 1 || v > 0xffffffff) {
      this.add(field, v, "token_id", "must be a token id, an integer in 1..4294967295");
    }
  }

  direction(field: string, v: number, allowed: readonly Direction[] = [Direction.Out, Direction.In, Direction.Both]): void {
    if (!allowed.includes(v as Direction)) {
      this.add(field, v, "direction", `must be one of ${allowed.join(", ")} (0 out, 1 in, 2 both)`);
    }
  }

  /** An integer in [min, max]. */
  intRange(field: string, v: number, min: number, max: number, rule: string): void {
    if (!Number.isInteger(v) || v < min || v > max) {
      this.add(field, v, rule, `must be an integer in ${min}..${max}`);
    }
  }

  /** A finite number in [min, max]. */
  numRange(field: string, v: number, min: number, max: number, rule: string): void {
    if (!Number.isFinite(v) || v < min || v > max) {
      this.add(field, v, rule, `must be a finite number in [${min}, ${max}]`);
    }
  }
}

/** Common options of traversals. */
export interface TraversalOptions {
  /** Out (default), In, or Both (every out- and in-edge). */
  readonly direction?: Direction;
  /** Hops from the source; nodes at this depth are reached but not expanded. Default MAX_GRAPH_DEPTH. */
  readonly maxDepth?: number;
  /** Stop after this many nodes were reached (the result says `truncated`). Default MAX_GRAPH_NODES. */
  readonly maxNodes?: number;
}

export interface ResolvedTraversal {
  readonly direction: Direction;
  readonly maxDepth: number;
  readonly maxNodes: number;
}

export function resolveTraversal(v: Violations, options: TraversalOptions): ResolvedTraversal {
  const direction = options.direction ?? Direction.Out;
  const maxDepth = options.maxDepth ?? MAX_GRAPH_DEPTH;
  const maxNodes = options.maxNodes ?? MAX_GRAPH_NODES;
  v.direction("direction", direction);
  v.intRange("maxDepth", maxDepth, 0, MAX_GRAPH_DEPTH, "depth_range");
  v.intRange("maxNodes", maxNodes, 1, MAX_GRAPH_NODES, "node_limit_range");
  return { direction, maxDepth, maxNodes };
}

/** Cost of traversing an edge of weight `w` in weighted algorithms: 1/w, or Infinity when `w` is not a positive finite number. */
export function edgeCost(w: number): number {
  return w > 0 && w < Infinity ? 1 / w : Infinity;
}

/** Edges whose weight is not a positive finite number are not traversable by weighted algorithms. */
export function isTraversableWeight(w: number): boolean {
  return w > 0 && w < Infinity;
}
