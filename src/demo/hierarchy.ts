/**
 * The hierarchy the field engine grew, as indented lines with readable labels: a level-1 parent
 * is named after its member tokens, a higher parent after its children's names.
 */
import { formatLabel, truncate, type GroupLabel } from "./labels.ts";

export interface HierarchyNode {
  readonly id: number;
  readonly level: number;
  readonly leafCount: number;
  /** Member tokens (level 1) or child parents (higher levels). */
  readonly members: readonly number[];
  /** Child parents, resolved (empty at level 1). */
  readonly children: readonly HierarchyNode[];
}

/** Leaf token ids below `node`. */
function leaves(node: HierarchyNode, out: number[] = []): number[] {
  if (node.level <= 1) out.push(...node.members);
  else for (const c of node.children) leaves(c, out);
  return out;
}

export function hierarchyLines(tree: { readonly roots: readonly HierarchyNode[] }, label: (ids: readonly number[]) => GroupLabel, maxLines = 60): string[] {
  const out: string[] = [];
  const walk = (node: HierarchyNode, depth: number): void => {
    if (out.length >= maxLines) return;
    const name = label(leaves(node));
    const pad = "  ".repeat(depth);
    const what = node.level === 1 ? formatLabel(name) : name.head;
    out.push(`${pad}${depth === 0 ? "" : "└ "}parent ${node.id} (level ${node.level}, ${node.leafCount} tokens) ${truncate(what, 80 - pad.length)}`);
    const kids = [...node.children].sort((a, b) => b.leafCount - a.leafCount || a.id - b.id);
    for (const c of kids) walk(c, depth + 1);
  };
  for (const r of tree.roots) walk(r, 0);
  const total = tree.roots.length;
  if (out.length >= maxLines && total > 0) out.push(`… (${total} top-level parents in all)`);
  if (total === 0) out.push("(no parents yet: run more steps with --steps)");
  return out;
}
