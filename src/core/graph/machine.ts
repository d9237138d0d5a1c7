/**
 * Drivers for graph step machines. An algorithm is a generator that yields an `ExpandRequest`
 * and is resumed with the matching `Expansion`; it returns its result. `runSync` answers from a
 * local adjacency (one shard store), `runAsync` awaits an answer it is given (the actor layer
 * groups a request by shard and merges the replies). The algorithm code is the same for both.
 */
import { InternalError } from "../errors.ts";
import type { ExpandRequest, Expansion } from "./expansion.ts";

/** A graph algorithm in progress: yields requests, receives expansions, returns `R`. */
export type GraphMachine<R> = Generator<ExpandRequest, R, Expansion>;

export type ExpandFn = (request: ExpandRequest) => Expansion;
export type ExpandAsyncFn = (request: ExpandRequest) => Promise<Expansion>;

/** Runs a machine to completion against a synchronous expander. */
export function runSync<R>(machine: GraphMachine<R>, expand: ExpandFn): R {
  let step = machine.next();
  try {
    while (step.done !== true) {
      const request = step.value;
      const expansion = expand(request);
      checkExpansion(request, expansion);
      step = machine.next(expansion);
    }
  } catch (err) {
    machine.return(undefined as never);
    throw err;
  }
  return step.value;
}

/** Runs a machine to completion, awaiting each expansion. Pure: it only awaits `expand`. */
export async function runAsync<R>(machine: GraphMachine<R>, expand: ExpandAsyncFn): Promise<R> {
  let step = machine.next();
  try {
    while (step.done !== true) {
      const request = step.value;
      const expansion = await expand(request);
      checkExpansion(request, expansion);
      step = machine.next(expansion);
    }
  } catch (err) {
    machine.return(undefined as never);
    throw err;
  }
  return step.value;
}

/**
 * Rejects an expansion whose shape does not match its request: a bug in the expander (or in a
 * reply merged from shards), reported before an algorithm reads out of bounds.
 */
export function checkExpansion(request: ExpandRequest, expansion: Expansion): void {
  const n = request.nodes.length;
  const { offsets, neighbors, weights, types, outgoing, exists } = expansion;
  if (offsets.length !== n + 1 || exists.length !== n || offsets[0] !== 0) {
    throw new InternalError(
      `graph expansion does not match its request: ${n} nodes requested, offsets ${offsets.length}, exists ${exists.length}`,
    );
  }
  const total = offsets[n]!;
  if (neighbors.length < total || weights.length < total || types.length < total || outgoing.length < total) {
    throw new InternalError(`graph expansion is shorter than its offsets say (${total} entries)`);
  }
  for (let i = 0; i < n; i++) {
    if (offsets[i]! > offsets[i + 1]!) throw new InternalError("graph expansion offsets are not ascending");
  }
  // Id 0 is never a token; algorithms use it as the empty marker of their id tables.
  if (total > 0 && neighbors.subarray(0, total).includes(0)) throw new InternalError("graph expansion lists neighbour id 0");
}
