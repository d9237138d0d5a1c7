/**
 * One constitution for a whole cluster (real nats-servers with JetStream, real gRPC): a change
 * made through one node is enforced by every node's shards, two nodes changing it at once cannot
 * both win, a rollback travels too, and a node that joins later (or a cluster restarted with
 * fresh data directories) starts from the cluster's constitution, not its own default.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { status } from "@grpc/grpc-js";
import { ConstitutionProfile } from "../../../src/core/constitution/index.ts";
import { RecordFormat } from "../../../src/gen/neurograph/v1/common.ts";
import { startNatsCluster, type NatsCluster } from "../../support/nats-server.ts";
import { create, failure } from "../guardian/rules-harness.ts";
import { jetstream } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { closeAll, eventually, rawClient } from "../nats/support.ts";
import { call, startTestNode, type TestNode } from "../node/harness.ts";
import { clusterFlags, startClusterNodes } from "./support.ts";

const SHARDS = 4;
const CLUSTER = "cst";
let nats: NatsCluster;
const nodes: TestNode[] = [];

const flags = (id: string) => clusterFlags(nats.url, CLUSTER, id, SHARDS);
const constitutionOf = (t: TestNode) => call(t.admin.getConstitution.bind(t.admin), {});
const checksumOf = async (t: TestNode) => Buffer.from((await constitutionOf(t)).document).toString("hex");
const switchTo = (t: TestNode, profile: ConstitutionProfile, expectedVersion?: number) =>
  call(t.admin.switchProfile.bind(t.admin), { profile, author: `node ${t.node.nodeId}`, comment: "cluster test", ...(expectedVersion === undefined ? {} : { expectedVersion }) });

/** Every node serves the same document (byte for byte). */
async function converged(what: string): Promise<string> {
  let doc = "";
  await eventually(
    what,
    async () => {
      const docs = await Promise.all(nodes.map(checksumOf));
      doc = docs[0]!;
      return docs.every((d) => d === doc);
    },
    15_000,
  );
  return doc;
}

beforeAll(async () => {
  nats = await startNatsCluster({ size: 3 });
  nodes.push(...(await startClusterNodes(nats.url, CLUSTER, ["a", "b"], SHARDS)));
}, 120_000);

afterAll(async () => {
  for (const n of nodes) await n.close().catch(() => undefined);
  await closeAll();
  await nats?.dispose();
});

describe("the cluster's constitution", () => {
  it("a change made through one node is enforced by the shards of every node", async () => {
    const [a, b] = nodes as [TestNode, TestNode];
    const before = (await constitutionOf(b)).constitution!.metadata!.version;
    // Default profile: a partial batch with one bad item stores the good one.
    const mixed = (t: TestNode, first: number) => create(t, [{ id: first }, { id: first + 1 }, { id: first + 2 }, { id: first + 3, weight: 2 }], true);
    await mixed(b, 100);
    const stored = await call(b.tokens.getTokens.bind(b.tokens), { ids: [100, 101, 102], format: RecordFormat.RECORD_FORMAT_NONE, allowMissing: true });
    expect(stored.missing).toEqual([]);

    const switched = await switchTo(a, ConstitutionProfile.CONSTITUTION_PROFILE_ANALYST);
    expect(switched.constitution!.metadata!.version).toBe(before + 1);
    const doc = await converged("node b adopts node a's change");
    expect(doc).toBe(Buffer.from(switched.document).toString("hex"));
    const onB = (await constitutionOf(b)).constitution!.metadata!;
    expect([onB.version, onB.profile, onB.author]).toEqual([before + 1, ConstitutionProfile.CONSTITUTION_PROFILE_ANALYST, "node a"]);

    // Analyst through node b: the same partial batch (its ids on shards of both nodes) is refused whole.
    const owners = new Set([200, 201, 202, 203].map((id) => nodes.find((n) => n.node.board.state(id % SHARDS) === "serving")!.node.nodeId));
    expect(owners.size).toBe(2);
    const refused = await failure(mixed(b, 200));
    expect(refused.code).toBe(status.INVALID_ARGUMENT);
    const none = await call(a.tokens.getTokens.bind(a.tokens), { ids: [200, 201, 202], format: RecordFormat.RECORD_FORMAT_NONE, allowMissing: true });
    expect(none.missing).toEqual([200, 201, 202]);
    // Node b's history shows the change as node a made it.
    const history = await call(b.admin.getConstitutionHistory.bind(b.admin), { includeDocuments: false });
    expect(history.versions.at(-1)?.version).toBe(before + 1);
  });

  it("two nodes changing it at once: one wins, the other gets FAILED_PRECONDITION and every node ends on the winner", async () => {
    const [a, b] = nodes as [TestNode, TestNode];
    const version = (await constitutionOf(a)).constitution!.metadata!.version;
    const results = await Promise.allSettled([
      switchTo(a, ConstitutionProfile.CONSTITUTION_PROFILE_EXPLORER, version),
      switchTo(b, ConstitutionProfile.CONSTITUTION_PROFILE_DEFAULT, version),
    ]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0]!.reason as { code: number }).code).toBe(status.FAILED_PRECONDITION);
    const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof switchTo>>>).value;
    expect(winner.constitution!.metadata!.version).toBe(version + 1);
    expect(await converged("both nodes on the winning document")).toBe(Buffer.from(winner.document).toString("hex"));
    // The loser retries against the new version and succeeds; everyone follows.
    const retried = await switchTo(b, ConstitutionProfile.CONSTITUTION_PROFILE_ANALYST, version + 1);
    expect(retried.constitution!.metadata!.version).toBe(version + 2);
    expect(await converged("both nodes on the retried change")).toBe(Buffer.from(retried.document).toString("hex"));
  });

  it("a document that does not continue the chain (a publish that lost a race the server let through) is void on every node", async () => {
    const [a, b] = nodes as [TestNode, TestNode];
    const before = await converged("both nodes agree before");
    const version = (await constitutionOf(a)).constitution!.metadata!.version;
    // What nats-server < 2.9.21 can let through (nats-io/nats-server#4320): a second successor of
    // an earlier document, published after the chain moved on. A valid document (the active one's
    // bytes), naming a predecessor that is no longer the chain's head.
    const nc = await rawClient(nats.url);
    const h = natsHeaders();
    h.set("Ng-After", "1");
    const history = await call(a.admin.getConstitutionHistory.bind(a.admin), { includeDocuments: true });
    await jetstream(nc).publish(`ng.${CLUSTER}.constitution`, history.versions[0]!.document, { headers: h });
    // Both keep what they had, and the next change is accepted on top of it and reaches both
    // (retried as a client does while node b has not seen the stray message yet: FAILED_PRECONDITION).
    let next: Awaited<ReturnType<typeof switchTo>> | undefined;
    for (let attempt = 0; next === undefined; attempt++) {
      try {
        next = await switchTo(b, ConstitutionProfile.CONSTITUTION_PROFILE_EXPLORER, version);
      } catch (err) {
        if ((err as { code?: number }).code !== status.FAILED_PRECONDITION || attempt >= 50) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(next.constitution!.metadata!.version).toBe(version + 1);
    expect(await converged("both nodes on the change after the void document")).toBe(Buffer.from(next.document).toString("hex"));
    expect(before).not.toBe(Buffer.from(next.document).toString("hex"));
  });

  it("a rollback travels too, and a node that joins later starts from the cluster's constitution", async () => {
    const [a, b] = nodes as [TestNode, TestNode];
    const history = await call(a.admin.getConstitutionHistory.bind(a.admin), { includeDocuments: true });
    const previous = history.versions.at(-2)!;
    const rolled = await call(b.admin.rollbackConstitution.bind(b.admin), { author: "node b", comment: "undo" });
    expect(Buffer.from(rolled.document).equals(Buffer.from(previous.document))).toBe(true);
    expect(await converged("node a rolls back too")).toBe(Buffer.from(previous.document).toString("hex"));

    // A third node with a fresh data directory (as after a cluster restart from scratch).
    const c = await startTestNode(flags("c"));
    nodes.push(c);
    expect(await checksumOf(c)).toBe(Buffer.from(previous.document).toString("hex"));
    // Not a fresh node's own first document: the cluster's version (3 or later after the changes above).
    expect((await constitutionOf(c)).constitution!.metadata!.version).toBe(previous.version);
    expect(previous.version).toBeGreaterThanOrEqual(3);
  }, 60_000);
});
