/**
 * The operator's view of a node: stats, shard list, health, reflection, the metrics endpoint,
 * the admin token, and a graceful stop.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, credentials, status, type ServiceDefinition } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { HealthCheckResponse_ServingStatus as Serving, HealthClient } from "../../../src/gen/grpc/health/v1/health.ts";
import { ShardState } from "../../../src/gen/neurograph/v1/admin_service.ts";
import { bearer } from "../api/harness.ts";
import { call, failure, startTestNode, type TestNode } from "./harness.ts";
import { loadGraph } from "./graph-fixture.ts";

const protoRoot = join(dirname(createRequire(import.meta.url).resolve("@grpc/reflection")), "..", "proto");

function listServices(address: string): Promise<string[]> {
  const def = loadSync("grpc/reflection/v1/reflection.proto", { includeDirs: [protoRoot], keepCase: true, oneofs: true });
  const method = (def["grpc.reflection.v1.ServerReflection"] as ServiceDefinition)["ServerReflectionInfo"]!;
  const client = new Client(address, credentials.createInsecure());
  return new Promise<string[]>((resolve, reject) => {
    const stream = client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize);
    stream.on("data", (res: { list_services_response?: { service: { name: string }[] } }) => {
      resolve((res.list_services_response?.service ?? []).map((s) => s.name).sort());
      stream.end();
    });
    stream.on("error", reject);
    stream.write({ list_services: "*" });
  }).finally(() => client.close());
}

describe("operating a node", () => {
  const token = "0123456789abcdef-admin";
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode(["--admin-token", token, "--node-id", "node-a"]);
    await loadGraph(t);
  });
  afterAll(async () => t?.close());

  it("reports node stats and every shard (admin token required)", async () => {
    const denied = await failure(call(t.admin.getStats.bind(t.admin), {}));
    expect(denied.code).toBe(status.UNAUTHENTICATED);
    const stats = await call(t.admin.getStats.bind(t.admin), {}, bearer(token));
    expect(stats).toMatchObject({ nodeId: "node-a", shardCount: 4, localShards: 4, tokens: 8, connections: 12 });
    expect(stats.tokenBytes).toBeGreaterThan(0);
    expect(stats.rssBytes).toBeGreaterThan(0);
    const { shards } = await call(t.admin.listShards.bind(t.admin), {}, bearer(token));
    expect(shards.map((s) => [s.shard, s.state, s.tokens])).toEqual([
      [0, ShardState.SHARD_STATE_SERVING, 2],
      [1, ShardState.SHARD_STATE_SERVING, 2],
      [2, ShardState.SHARD_STATE_SERVING, 2],
      [3, ShardState.SHARD_STATE_SERVING, 2],
    ]);
    expect(shards.every((s) => s.mailboxCapacity === 1024 && s.nodeId === "node-a" && s.restarts === 0)).toBe(true);
  });

  it("is SERVING on the health service, for the node and each service", async () => {
    for (const service of ["", "neurograph.v1.TokenService", "neurograph.v1.GraphService", "neurograph.v1.AdminService"]) {
      expect((await call(t.health.check.bind(t.health), { service })).status).toBe(Serving.SERVING);
    }
  });

  it("lists its services through reflection", async () => {
    expect(await listServices(t.node.grpcAddress)).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "neurograph.v1.AdminService",
      "neurograph.v1.FieldService",
      "neurograph.v1.GraphService",
      "neurograph.v1.TokenService",
    ]);
  });

  it("exposes metrics, liveness and readiness", async () => {
    const base = t.node.metricsAddress;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain('neurograph_tokens{shard="1"} 2');
    expect(text).toMatch(/neurograph_connections\{shard="1"\} \d/);
    expect(text).toMatch(/neurograph_grpc_server_handled_total\{method="neurograph.v1.TokenService\/CreateTokens",code="OK"\} 1/);
    expect(text).toMatch(/neurograph_grpc_server_handled_total\{method="neurograph.v1.AdminService\/GetStats",code="OK"\} [1-9]/);
    expect(text).toMatch(/neurograph_actors\{kind="shard"\} 4/);
  });
});

describe("stopping a node", () => {
  it("stops gracefully and closes its port", async () => {
    const t = await startTestNode();
    expect((await call(t.health.check.bind(t.health), { service: "" })).status).toBe(Serving.SERVING);
    await t.close();
    const fresh = new HealthClient(t.node.grpcAddress, credentials.createInsecure());
    const err = await failure(call(fresh.check.bind(fresh), { service: "" }, undefined, { deadline: Date.now() + 5000 }));
    fresh.close();
    expect(err.code).toBe(status.UNAVAILABLE);
  });
});
