/**
 * A real node in process (shard actors, coordinator, gRPC server, metrics endpoint) on free
 * loopback ports, with grpc-js clients from the generated stubs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { loadServeConfig } from "../../../src/cli/serve.ts";
import { startNode, type NodeHandle, type StartNodeOptions } from "../../../src/node/index.ts";
import { createLogger } from "../../../src/telemetry/index.ts";
import { AdminServiceClient } from "../../../src/gen/neurograph/v1/admin_service.ts";
import { Direction, RecordFormat } from "../../../src/gen/neurograph/v1/common.ts";
import { GraphServiceClient } from "../../../src/gen/neurograph/v1/graph_service.ts";
import { HealthClient } from "../../../src/gen/grpc/health/v1/health.ts";
import { TokenServiceClient } from "../../../src/gen/neurograph/v1/token_service.ts";
import { call } from "../api/harness.ts";

export { call, failure } from "../api/harness.ts";

export interface TestNode {
  readonly node: NodeHandle;
  readonly dataDir: string;
  readonly tokens: TokenServiceClient;
  readonly graph: GraphServiceClient;
  readonly admin: AdminServiceClient;
  readonly health: HealthClient;
  close(): Promise<void>;
}

export async function startTestNode(flags: readonly string[] = [], options: StartNodeOptions = {}): Promise<TestNode> {
  const dataDir = mkdtempSync(join(tmpdir(), "ng-node-"));
  const config = loadServeConfig(
    ["--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir", dataDir, "--shards", "4", "--log-level", "silent", ...flags],
    {},
  );
  let node: NodeHandle;
  try {
    node = await startNode(config, { logger: createLogger({ level: "silent" }), ...options });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const opts = { "grpc.max_receive_message_length": 64 * 1024 * 1024 };
  const insecure = credentials.createInsecure();
  const tokens = new TokenServiceClient(node.grpcAddress, insecure, opts);
  const graph = new GraphServiceClient(node.grpcAddress, insecure, opts);
  const admin = new AdminServiceClient(node.grpcAddress, insecure, opts);
  const health = new HealthClient(node.grpcAddress, insecure, opts);
  return {
    node,
    dataDir,
    tokens,
    graph,
    admin,
    health,
    async close() {
      for (const c of [tokens, graph, admin, health]) c.close();
      await node.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Everything a client can see of `ids`: their records and every connection touching them. */
export async function dump(t: TestNode, ids: readonly number[]): Promise<{ tokens: Buffer; missing: number[]; connections: Buffer }> {
  const got = await call(t.tokens.getTokens.bind(t.tokens), { ids: [...ids], format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: true });
  const present = ids.filter((id) => !got.missing.includes(id));
  const edges =
    present.length === 0
      ? Buffer.alloc(0)
      : (
          await call(t.graph.getConnections.bind(t.graph), {
            ids: present,
            direction: Direction.DIRECTION_BOTH,
            connectionTypes: [],
            limit: 0,
            format: RecordFormat.RECORD_FORMAT_PACKED,
          })
        ).records;
  return { tokens: got.records, missing: got.missing, connections: edges };
}
