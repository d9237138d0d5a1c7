/**
 * Shared by the cluster integration tests: in-process nodes joined to a cluster over real
 * nats-servers, and the wait until every shard is served by its preferred node.
 */
import { preferredOwner } from "../../../src/runtime/cluster/leases.ts";
import { eventually } from "../nats/support.ts";
import { startTestNode, type TestNode } from "../node/harness.ts";

/** `serve` flags of a cluster member (2 s leases, no JetStream ingest consumer). */
export function clusterFlags(natsUrl: string, cluster: string, id: string, shards: number): string[] {
  return ["--nats", natsUrl, "--cluster", cluster, "--node-id", id, "--shards", String(shards), "--lease", "2s", "--ingest-jetstream=false"];
}

/** Waits until each of the `shards` shards is served by exactly its preferred node among `nodes`. */
export async function awaitPreferredOwners(nodes: readonly TestNode[], shards: number, timeoutMs = 30_000): Promise<void> {
  const ids = nodes.map((n) => n.node.nodeId);
  await eventually(
    "every shard served by its preferred node",
    () => Array.from({ length: shards }, (_, s) => s).every((s) => nodes.filter((n) => n.node.board.state(s) === "serving").map((n) => n.node.nodeId).join() === preferredOwner(s, ids)),
    timeoutMs,
  );
}

/** Starts one node per id, one after the other, and waits for the placement to settle. */
export async function startClusterNodes(natsUrl: string, cluster: string, ids: readonly string[], shards: number): Promise<TestNode[]> {
  const nodes: TestNode[] = [];
  for (const id of ids) nodes.push(await startTestNode(clusterFlags(natsUrl, cluster, id, shards)));
  await awaitPreferredOwners(nodes, shards);
  return nodes;
}
