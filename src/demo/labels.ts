/**
 * Readable names for what the engine found. The engine knows token ids only; the demo keeps the
 * id → synset map, so a group of tokens is named by the synset that most of the others are kinds of,
 * followed by a few examples.
 */
import type { NounSubset } from "./subset.ts";

export interface GroupLabel {
  /** The most general synset of the group. */
  readonly head: string;
  /** The next few, most general first. */
  readonly examples: readonly string[];
}

/**
 * Demo token ids among `ids` (parents and foreign ids are skipped), the best name first: the
 * member with the most other members below it in the hyponym tree, then the most general, then
 * the lowest id.
 */
export function bestNamesFirst(subset: NounSubset, ids: ArrayLike<number>): number[] {
  const out: number[] = [];
  const below = new Map<number, number>();
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k]!;
    if (id >= 1 && id <= subset.count) {
      out.push(id);
      below.set(id, 0);
    }
  }
  for (const id of out) {
    for (let up = subset.parentOf[id - 1]!; up >= 0; up = subset.parentOf[up]!) {
      const n = below.get(up + 1);
      if (n !== undefined) below.set(up + 1, n + 1);
    }
  }
  return out.sort((a, b) => below.get(b)! - below.get(a)! || subset.depth[a - 1]! - subset.depth[b - 1]! || a - b);
}

export function groupLabel(subset: NounSubset, ids: ArrayLike<number>, examples = 3): GroupLabel {
  const order = bestNamesFirst(subset, ids);
  const names = order.slice(0, examples + 1).map((id) => subset.labels[id - 1] ?? `#${id}`);
  return { head: names[0] ?? "(no dictionary tokens)", examples: names.slice(1) };
}

export function formatLabel(label: GroupLabel): string {
  return label.examples.length === 0 ? label.head : `${label.head}: ${label.examples.join(", ")}, …`;
}

/** `text` cut to `max` characters with an ellipsis. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}
