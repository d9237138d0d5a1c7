/**
 * The node's backend until recovery has finished: every token and graph call waits for the gate
 * (the edge reconciliation after all shards recovered, `GraphRouter.reconcileEdges`), so no call
 * ever reads or writes a cross-shard connection that a crash left on one side only. Admin figures
 * (stats, shard list, snapshot) pass straight through.
 */
import type { NodeBackend, RequestContext } from "../api/index.ts";

export class GatedBackend implements NodeBackend {
  private open = false;

  constructor(
    private readonly inner: NodeBackend,
    private readonly gate: Promise<void>,
  ) {
    gate.then(
      () => {
        this.open = true;
      },
      () => undefined,
    );
    if (inner.snapshot !== undefined) {
      const snapshot = inner.snapshot.bind(inner);
      this.snapshot = (shards, ctx) => snapshot(shards, ctx);
    }
  }

  private async through<R>(run: () => Promise<R>): Promise<R> {
    if (!this.open) await this.gate;
    return run();
  }

  createTokens: NodeBackend["createTokens"] = (r, o, c) => this.through(() => this.inner.createTokens(r, o, c));
  getTokens: NodeBackend["getTokens"] = (i, o, c) => this.through(() => this.inner.getTokens(i, o, c));
  updateTokens: NodeBackend["updateTokens"] = (r, o, c) => this.through(() => this.inner.updateTokens(r, o, c));
  deleteTokens: NodeBackend["deleteTokens"] = (i, o, c) => this.through(() => this.inner.deleteTokens(i, o, c));
  ingestTokens: NodeBackend["ingestTokens"] = (r, o, c) => this.through(() => this.inner.ingestTokens(r, o, c));
  neighbors: NodeBackend["neighbors"] = (q, c) => this.through(() => this.inner.neighbors(q, c));
  range: NodeBackend["range"] = (q, c) => this.through(() => this.inner.range(q, c));
  kNearest: NodeBackend["kNearest"] = (q, c) => this.through(() => this.inner.kNearest(q, c));
  connect: NodeBackend["connect"] = (r, o, c) => this.through(() => this.inner.connect(r, o, c));
  disconnect: NodeBackend["disconnect"] = (k, o, c) => this.through(() => this.inner.disconnect(k, o, c));
  getConnections: NodeBackend["getConnections"] = (q, c) => this.through(() => this.inner.getConnections(q, c));
  traverse: NodeBackend["traverse"] = (q, c) => this.through(() => this.inner.traverse(q, c));
  shortestPath: NodeBackend["shortestPath"] = (q, c) => this.through(() => this.inner.shortestPath(q, c));
  spreadingActivation: NodeBackend["spreadingActivation"] = (q, c) => this.through(() => this.inner.spreadingActivation(q, c));
  stats(ctx: RequestContext): ReturnType<NodeBackend["stats"]> {
    return this.inner.stats(ctx);
  }
  listShards(ctx: RequestContext): ReturnType<NodeBackend["listShards"]> {
    return this.inner.listShards(ctx);
  }
  snapshot?: NodeBackend["snapshot"];
}
