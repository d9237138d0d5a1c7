/**
 * The default node (LMDB WAL, no injected logs): a constitution change is durable in the
 * guardian's own WAL (`<dataDir>/guardian/wal`) and is in force again after a restart.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { loadServeConfig } from "../../../src/cli/serve.ts";
import { Constitution } from "../../../src/core/constitution/index.ts";
import { AdminServiceClient } from "../../../src/gen/neurograph/v1/admin_service.ts";
import { startNode, type NodeHandle } from "../../../src/node/index.ts";
import { createLogger } from "../../../src/telemetry/index.ts";
import { call } from "../node/harness.ts";

let dataDir: string | undefined;
let node: NodeHandle | undefined;
let admin: AdminServiceClient | undefined;

async function start(dir: string): Promise<AdminServiceClient> {
  const config = loadServeConfig(["--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir", dir, "--shards", "4", "--log-level", "silent"], {});
  node = await startNode(config, { logger: createLogger({ level: "silent" }) });
  admin = new AdminServiceClient(node.grpcAddress, credentials.createInsecure());
  return admin;
}

async function stop(): Promise<void> {
  admin?.close();
  await node?.stop();
  admin = undefined;
  node = undefined;
}

afterEach(async () => {
  await stop();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

describe("guardian on the default WAL", () => {
  it("keeps an updated constitution across a restart, byte for byte, with its history", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "ng-guardian-wal-"));
    let a = await start(dataDir);
    const before = await call(a.getConstitution.bind(a), {});
    const v2 = await call(a.updateConstitution.bind(a), {
      constitution: Constitution.fromPartial({ connections: { maxOutDegree: 3 } }),
      updateMask: ["connections.max_out_degree"],
      author: "it",
      comment: "durable",
    });
    expect(Buffer.from(v2.document).equals(Buffer.from(before.document))).toBe(false);
    await stop();

    a = await start(dataDir);
    const after = await call(a.getConstitution.bind(a), {});
    expect(Buffer.from(after.document).equals(Buffer.from(v2.document))).toBe(true);
    const history = await call(a.getConstitutionHistory.bind(a), { includeDocuments: false });
    expect(history.versions.map((v) => v.version)).toEqual([1, 2]);
  });
});
