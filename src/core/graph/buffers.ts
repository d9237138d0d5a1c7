/** Growth helpers for the typed arrays that hold per-node algorithm state. */

type Typed = Uint8Array | Uint32Array | Int32Array | Float32Array | Float64Array;

/** Returns `a` if it holds at least `n` elements, else a copy with capacity ≥ n (doubling). */
export function ensure<T extends Typed>(a: T, n: number): T {
  if (n <= a.length) return a;
  let cap = Math.max(8, a.length);
  while (cap < n) cap *= 2;
  const grown = new (a.constructor as new (length: number) => T)(cap);
  grown.set(a);
  return grown;
}
