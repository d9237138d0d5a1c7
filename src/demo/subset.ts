/**
 * A bounded, deterministic subset of the WordNet nouns: the hyponym trees under a few roots,
 * breadth first (children in offset order), at most `perRoot` synsets each, and every kept
 * relation between two selected synsets. Demo token i (id i + 1) is selected synset i.
 */
import { ValidationError } from "../core/errors.ts";
import { Relation, type WordNetNouns } from "./wordnet.ts";

export interface NounSubset {
  readonly count: number;
  /** Synset index (into WordNetNouns) of demo token i. */
  readonly synset: Uint32Array;
  /** The root group (index into the roots) of demo token i. */
  readonly group: Uint8Array;
  /** Depth below its root (the root is 0). */
  readonly depth: Uint16Array;
  readonly labels: readonly string[];
  /** Demo token index of the first selected hypernym of token i (its tree parent), −1 for a root. */
  readonly parentOf: Int32Array;
  readonly edgeCount: number;
  /** Edge e: demo token edgeSource[e] → edgeTarget[e] (child → parent, part → whole). */
  readonly edgeSource: Uint32Array;
  readonly edgeTarget: Uint32Array;
  readonly edgeKind: Uint8Array;
}

/** Children (hyponyms and instances) of every synset as CSR arrays, children in offset order. */
function childrenOf(nouns: WordNetNouns): { start: Uint32Array; child: Uint32Array } {
  const start = new Uint32Array(nouns.count + 1);
  for (let r = 0; r < nouns.relationCount; r++) {
    if (nouns.relKind[r]! <= Relation.InstanceOf) start[nouns.relTarget[r]! + 1]!++;
  }
  for (let i = 0; i < nouns.count; i++) start[i + 1]! += start[i]!;
  const fill = start.slice(0, nouns.count);
  const child = new Uint32Array(start[nouns.count]!);
  // Relations are in source order, so every parent's children come out ascending.
  for (let r = 0; r < nouns.relationCount; r++) {
    if (nouns.relKind[r]! <= Relation.InstanceOf) child[fill[nouns.relTarget[r]!]!++] = nouns.relSource[r]!;
  }
  return { start, child };
}

export function selectSubset(nouns: WordNetNouns, rootSynsets: readonly number[], perRoot: number): NounSubset {
  if (!Number.isInteger(perRoot) || perRoot < 1) {
    throw ValidationError.of("demo size", [{ field: "size", value: String(perRoot), rule: "size_range", description: "must allow at least one synset per root" }]);
  }
  const { start, child } = childrenOf(nouns);
  const tokenOf = new Int32Array(nouns.count).fill(-1);
  const synset: number[] = [];
  const group: number[] = [];
  const depth: number[] = [];
  rootSynsets.forEach((root, g) => {
    if (tokenOf[root]! >= 0) return; // a root inside an earlier root's tree
    const queue = [root];
    tokenOf[root] = synset.length;
    synset.push(root);
    group.push(g);
    depth.push(0);
    let taken = 1;
    for (let q = 0; q < queue.length && taken < perRoot; q++) {
      const parent = queue[q]!;
      const d = depth[tokenOf[parent]!]! + 1;
      for (let c = start[parent]!; c < start[parent + 1]! && taken < perRoot; c++) {
        const s = child[c]!;
        if (tokenOf[s]! >= 0) continue;
        tokenOf[s] = synset.length;
        synset.push(s);
        group.push(g);
        depth.push(d);
        queue.push(s);
        taken++;
      }
    }
  });
  const parentOf = new Int32Array(synset.length).fill(-1);
  const src: number[] = [];
  const dst: number[] = [];
  const kind: number[] = [];
  for (let r = 0; r < nouns.relationCount; r++) {
    const a = tokenOf[nouns.relSource[r]!]!;
    const b = tokenOf[nouns.relTarget[r]!]!;
    if (a < 0 || b < 0 || a === b) continue;
    if (nouns.relKind[r]! <= Relation.InstanceOf && parentOf[a] === -1 && depth[b]! < depth[a]!) parentOf[a] = b;
    src.push(a);
    dst.push(b);
    kind.push(nouns.relKind[r]!);
  }
  return {
    count: synset.length,
    synset: Uint32Array.from(synset),
    group: Uint8Array.from(group),
    depth: Uint16Array.from(depth),
    labels: synset.map((s) => nouns.labels[s] ?? ""),
    parentOf,
    edgeCount: src.length,
    edgeSource: Uint32Array.from(src),
    edgeTarget: Uint32Array.from(dst),
    edgeKind: Uint8Array.from(kind),
  };
}
