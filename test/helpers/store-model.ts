/** Helpers for store tests: an independent byte count and adjacency readers. */
import type { ShardStore } from "../../src/core/store/index.ts";

/** Every distinct ArrayBuffer reachable from the store's own fields (shared limits excluded). */
function reachableBuffers(root: object): ArrayBufferLike[] {
  const buffers = new Set<ArrayBufferLike>();
  const seen = new Set<object>();
  const visit = (v: unknown, key: string): void => {
    if (v === null || typeof v !== "object" || key === "connectionLimits") return;
    if (ArrayBuffer.isView(v)) {
      buffers.add(v.buffer);
      return;
    }
    if (seen.has(v)) return;
    seen.add(v);
    for (const [k, x] of Object.entries(v)) visit(x, k);
  };
  visit(root, "");
  return [...buffers];
}

/** All bytes the store owns, in a stable order: equal images mean an unchanged store, internals included. */
export function internalBytes(root: object): Uint8Array {
  const parts = reachableBuffers(root).map((b) => new Uint8Array(b));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/**
 * Sum of the byteLength of every distinct ArrayBuffer reachable from the store's own fields
 * (shared limits excluded): an independent check of `byteSize()`.
 */
export function reachableTypedArrayBytes(root: object): number {
  return reachableBuffers(root).reduce((n, b) => n + b.byteLength, 0);
}

export const edgeKey = (s: number, t: number, y: number): string => `${s}:${t}:${y}`;

/** Keys of the out-list and in-list of `id`, read with the store's cursors. */
export function adjacencyKeys(store: ShardStore, id: number): { out: string[]; in: string[] } {
  const c = store.connections;
  const out: string[] = [];
  for (let e = store.firstOutEdge(id); e !== -1; e = store.nextOutEdge(e)) out.push(edgeKey(c.sources[e]!, c.targets[e]!, c.types[e]!));
  const inn: string[] = [];
  for (let e = store.firstInEdge(id); e !== -1; e = store.nextInEdge(e)) inn.push(edgeKey(c.sources[e]!, c.targets[e]!, c.types[e]!));
  return { out: out.sort(), in: inn.sort() };
}

/** Everything observable about the store's contents, for before/after comparisons. */
export function storeImage(store: ShardStore): { tokens: Uint8Array; connections: Uint8Array; bytes: number; size: number; internal: Uint8Array } {
  return { tokens: store.exportTokens(), connections: store.exportConnections(), bytes: store.byteSize(), size: store.size, internal: internalBytes(store) };
}
