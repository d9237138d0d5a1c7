/** Rendezvous hashing of shards over live nodes: deterministic, spread, minimal movement. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { preferredOwner } from "../../../src/runtime/cluster/leases.ts";

const nodeSet = fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,12}$/), { minLength: 2, maxLength: 6 });

describe("preferred shard owners", () => {
  it("do not depend on the order of the node list", () => {
    fc.assert(
      fc.property(nodeSet, fc.nat(1000), (nodes, shard) => {
        expect(preferredOwner(shard, nodes)).toBe(preferredOwner(shard, [...nodes].reverse()));
        expect(nodes).toContain(preferredOwner(shard, nodes));
      }),
    );
  });

  it("move only the shards of a node that leaves, and only to a node that joins", () => {
    fc.assert(
      fc.property(nodeSet, fc.nat(5), (nodes, k) => {
        const gone = nodes[k % nodes.length]!;
        const rest = nodes.filter((n) => n !== gone);
        for (let shard = 0; shard < 64; shard++) {
          const before = preferredOwner(shard, nodes);
          const after = preferredOwner(shard, rest);
          if (before !== gone) expect(after).toBe(before); // leave: the others keep theirs
          if (after !== before) expect(before).toBe(gone); // join (read backwards): only the newcomer gains
        }
      }),
    );
  });

  it("spread shards over nodes", () => {
    const nodes = ["node-1", "node-2", "node-3"];
    const counts = new Map<string, number>();
    for (let s = 0; s < 300; s++) counts.set(preferredOwner(s, nodes)!, (counts.get(preferredOwner(s, nodes)!) ?? 0) + 1);
    for (const n of nodes) expect(counts.get(n)).toBeGreaterThan(60);
    expect(preferredOwner(0, [])).toBeUndefined();
  });
});
