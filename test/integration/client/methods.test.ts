import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { ErrorCode, NeuroGraphError, NotFoundError, type TokenInput } from "../../../src/client/index.ts";
import { rejectionOf, startClientHarness, type ClientHarness } from "./harness.ts";

const TOKENS: TokenInput[] = [
  { id: 1, coords: { l1: [0, 0, 0] }, weight: 0.25, entityType: "concept", level: 1, fieldRadius: 1.5, fieldStrength: 0.8, timestamp: 1_700_000_000 },
  { id: 2, coords: { l1: [1, 0, 0], l8: { x: 0.1234, y: -0.5, z: 3.2767 } }, weight: 0.5, timestamp: 1_700_000_000 },
  { id: 3, coords: { l1: [0, 2, 0] }, weight: 1, timestamp: 1_700_000_000 },
  { id: 4, coords: { l1: [5, 5, 5] }, weight: 0, timestamp: 1_700_000_000 },
];

describe("NeuroGraphClient over real gRPC: every method", () => {
  let h: ClientHarness;
  beforeEach(async () => {
    await h?.close();
    h = await startClientHarness();
  });
  afterAll(async () => h.close());

  it("creates tokens from objects and reads them back as objects and as records", async () => {
    const created = await h.client.createTokens(TOKENS);
    expect(Array.from(created.ids)).toEqual([1, 2, 3, 4]);
    expect(created.accepted).toBe(4);
    const { tokens, missing } = await h.client.getTokens([2, 1]);
    expect(missing.length).toBe(0);
    expect(tokens.map((t) => t.id)).toEqual([2, 1]);
    const [t2, t1] = tokens;
    expect(t1).toMatchObject({ id: 1, weight: 0.25, entityType: 5, level: 1, fieldRadius: 1.5, systemFlags: 1, timestamp: 1_700_000_000 });
    expect(t1!.fieldStrength).toBeCloseTo(0.8, 2);
    expect(t2!.coords.l8).toEqual([0.1234, -0.5, 3.2767]);
    expect(t2!.coords.l1).toEqual([1, 0, 0]);
    expect(t2!.coords.l5).toEqual([0, 0, 0]);
    const { records } = await h.client.getTokenRecords([1, 2]);
    expect(records.byteLength).toBe(128);
    expect(Buffer.from(records).equals(Buffer.concat([h.memory.tokens.get(1)!, h.memory.tokens.get(2)!]))).toBe(true);
    expect((await h.client.getToken(3)).weight).toBe(1);
  });

  it("allocates ids for tokens without one and creates from packed records", async () => {
    const res = await h.client.createTokens([{ weight: 0.1 }, { id: 7 }, {}]);
    expect(res.ids[1]).toBe(7);
    expect(new Set(res.ids).size).toBe(3);
    expect(res.ids.includes(0)).toBe(false);
    const records = await h.client.getTokenRecords(res.ids);
    await h.client.deleteTokens(res.ids);
    const again = await h.client.createTokens(records.records);
    expect(Array.from(again.ids)).toEqual(Array.from(res.ids));
  });

  it("reports unknown ids as NotFoundError or in `missing`", async () => {
    await h.client.createTokens(TOKENS);
    const err = await rejectionOf(h.client.getTokens([1, 99]));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain("99");
    const res = await h.client.getTokens([99, 1], { allowMissing: true });
    expect(Array.from(res.missing)).toEqual([99]);
    expect(res.tokens.map((t) => t.id)).toEqual([1]);
  });

  it("updates and deletes, strict and partial", async () => {
    await h.client.createTokens(TOKENS);
    const updated = await h.client.updateTokens([{ ...TOKENS[0], weight: 0.75 }]);
    expect(updated).toEqual({ accepted: 1, rejected: [] });
    expect((await h.client.getToken(1)).weight).toBe(0.75);

    const partial = await h.client.updateTokens([{ id: 2, weight: 0.5 }, { id: 42, weight: 0.5 }], { partial: true });
    expect(partial.accepted).toBe(1);
    expect(partial.rejected).toEqual([expect.objectContaining({ index: 1, id: 42, code: ErrorCode.NotFound, rule: "token_exists" })]);

    await h.client.connect([{ source: 1, target: 2, type: 0x50 }]);
    const deleted = await h.client.deleteTokens([1, 77], { partial: true });
    expect(deleted.accepted).toBe(1);
    expect(deleted.connectionsRemoved).toBe(1);
    expect(deleted.rejected.map((r) => [r.index, r.code])).toEqual([[1, ErrorCode.NotFound]]);
    expect(h.memory.tokens.has(1)).toBe(false);
  });

  it("answers neighbours, range and k-nearest, with tokens on request", async () => {
    await h.client.createTokens(TOKENS);
    const near = await h.client.neighbors({ id: 1, space: "L1", radius: 2.5 });
    expect(Array.from(near.ids)).toEqual([2, 3]);
    expect(Array.from(near.distances)).toEqual([1, 2]);
    expect(near.tokens).toBeUndefined();

    const limited = await h.client.neighbors({ id: 1, space: 1, radius: 2.5, limit: 1, withTokens: true });
    expect(limited.truncated).toBe(true);
    expect(limited.tokens!.map((t) => t.id)).toEqual([2]);

    const range = await h.client.range({ space: "l1", center: [0, 0, 0], radius: 1.5 });
    expect(Array.from(range.ids)).toEqual([1, 2]);

    const byPoint = await h.client.kNearest({ space: "L1", point: { x: 5, y: 5, z: 4 }, k: 2, withTokens: true });
    expect(Array.from(byPoint.ids)).toEqual([4, 3]);
    expect(byPoint.tokens!.map((t) => t.id)).toEqual([4, 3]);
    const byId = await h.client.kNearest({ space: "L1", id: 1, k: 1 });
    expect(Array.from(byId.ids)).toEqual([2]);
  });

  it("connects, lists connections, traverses, finds paths, spreads activation, disconnects", async () => {
    await h.client.createTokens(TOKENS);
    const connected = await h.client.connect([
      { source: 1, target: 2, type: 0x50, confidence: 0.5 },
      { source: 2, target: 3, type: 0x50, confidence: 0.5 },
      { source: 1, target: 3, type: 0x10, confidence: 0.1 },
      { source: 3, target: 4, type: 0x50, mutability: "hypothesis" },
    ]);
    expect(connected).toEqual({ accepted: 4, rejected: [] });

    const out = await h.client.getConnections([1]);
    expect(out.connections.map((c) => [c.source, c.target, c.type])).toEqual([[1, 2, 0x50], [1, 3, 0x10]]);
    expect(out.connections[0]!.confidence).toBe(0.5);
    const into = await h.client.getConnections([3], { direction: "in", types: [0x50] });
    expect(into.connections.map((c) => c.source)).toEqual([2]);

    const walk = await h.client.traverse({ start: [1], maxDepth: 2 });
    expect(Array.from(walk.ids)).toEqual([1, 2, 3, 4]);
    expect(Array.from(walk.depths)).toEqual([0, 1, 1, 2]);
    expect(Array.from(walk.parents)).toEqual([0, 1, 1, 3]);
    const dfs = await h.client.traverse({ start: [1], order: "dfs", types: [0x50], withTokens: true });
    expect(Array.from(dfs.ids)).toEqual([1, 2, 3, 4]);
    expect(dfs.tokens!.map((t) => t.id)).toEqual([1, 2, 3, 4]);

    const hops = await h.client.shortestPath({ source: 1, target: 4 });
    expect(hops).toMatchObject({ found: true, cost: 2 });
    expect(Array.from(hops.path)).toEqual([1, 3, 4]);
    const weighted = await h.client.shortestPath({ source: 1, target: 3, algorithm: "dijkstra" });
    expect(Array.from(weighted.path)).toEqual([1, 2, 3]);
    expect(weighted.cost).toBeCloseTo(4);
    const none = await h.client.shortestPath({ source: 4, target: 1 });
    expect(none.found).toBe(false);
    expect(none.path.length).toBe(0);

    const act = await h.client.spreadingActivation({ seeds: [1], decay: 0.5, threshold: 0.1, maxDepth: 2 });
    expect(Array.from(act.ids)).toEqual([1, 2, 3, 4]);
    expect(Array.from(act.energies)).toEqual([1, 0.5, 0.5, 0.25]);
    expect(Array.from(act.depths)).toEqual([0, 1, 1, 2]);

    const removed = await h.client.disconnect([{ source: 1, target: 2, type: 0x50 }, { source: 1, target: 3 }]);
    expect(removed.accepted).toBe(2);
    expect((await h.client.getConnections([1])).connections).toEqual([]);
  });

  it("reads stats, shards and health", async () => {
    await h.client.createTokens(TOKENS);
    const stats = await h.client.stats();
    expect(stats).toMatchObject({ nodeId: "memory-node", tokens: 4, shardCount: 4, tokenBytes: 256, rssBytes: 123456789 });
    const shards = await h.client.listShards();
    expect(shards.map((s) => s.state)).toEqual(["serving", "serving", "serving", "read_only"]);
    expect(shards[0]).toMatchObject({ shard: 0, tokens: 1, mailboxCapacity: 1024 });
    expect(await h.client.health()).toBe("SERVING");
    expect(await h.client.health("neurograph.v1.TokenService")).toBe("SERVING");
    const err = await rejectionOf(h.client.health("no.such.Service"));
    expect(err).toBeInstanceOf(NotFoundError);
  });

  it("sends the bearer token to admin methods and reports its absence as UNAUTHENTICATED", async () => {
    await h.close();
    const secret = "0123456789abcdef-secret";
    h = await startClientHarness({ adminToken: secret });
    const err = await rejectionOf(h.client.stats());
    expect(err).toBeInstanceOf(NeuroGraphError);
    expect((err as NeuroGraphError).code).toBe(ErrorCode.Unauthenticated);
    const wrong = await h.newClient({ token: "not-the-right-token" });
    expect(((await rejectionOf(wrong.stats())) as NeuroGraphError).code).toBe(ErrorCode.PermissionDenied);
    const admin = await h.newClient({ token: secret });
    expect((await admin.stats()).nodeId).toBe("memory-node");
    const fromEnv = await h.newClient({ env: { NG_ADMIN_TOKEN: secret } });
    expect((await fromEnv.listShards()).length).toBe(4);
  });
});
