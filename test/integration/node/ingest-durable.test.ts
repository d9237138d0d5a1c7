/**
 * Streaming ingest of fresh tokens is durable: what the summary acknowledged is read back, byte
 * for byte (allocated ids included), after the node restarts from its WAL. Strict messages take
 * the framed path (each shard's record sealed around the router's copy); a partial message with
 * a rejected record logs a compacted copy instead. Both must replay.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadServeConfig } from "../../../src/cli/serve.ts";
import { connect } from "../../../src/client/index.ts";
import { startNode, type NodeHandle } from "../../../src/node/index.ts";
import { createLogger } from "../../../src/telemetry/index.ts";

/** `n` valid records with id 0 (the node allocates ids); distinct positions per `seed`. */
function freshRecords(n: number, seed: number): Uint8Array {
  const b = Buffer.alloc(n * 64);
  for (let i = 0; i < n; i++) {
    const o = i * 64;
    b.writeInt16LE(((seed * 997 + i) % 2000) - 1000, o);
    b.writeInt16LE(((seed * 13 + i * 7) % 2000) - 1000, o + 2);
    b.writeUInt16LE(1, o + 52);
    b.writeFloatLE(0.25 + (i % 3) * 0.25, o + 54);
    b.writeUInt32LE(1_700_000_000 + seed, o + 60);
  }
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** `records` with the allocated `ids` written in (what the node must hold). */
function withIds(records: Uint8Array, ids: Uint32Array): Buffer {
  const out = Buffer.from(records);
  for (let i = 0; i < ids.length; i++) out.writeUInt32LE(ids[i]!, i * 64 + 48);
  return out;
}

describe("durable streaming ingest", () => {
  let dataDir: string | undefined;
  let node: NodeHandle | undefined;
  afterEach(async () => {
    await node?.stop();
    node = undefined;
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
    dataDir = undefined;
  });

  const start = async (dir: string): Promise<NodeHandle> => {
    const config = loadServeConfig(["--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir", dir, "--shards", "4", "--log-level", "silent"], {});
    return startNode(config, { logger: createLogger({ level: "silent" }) });
  };

  it("replays framed and compacted token records after a restart", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "ng-ingest-"));
    node = await start(dataDir);
    let client = await connect({ address: node.grpcAddress });
    const strict = [freshRecords(1000, 1), freshRecords(1001, 2), freshRecords(7, 3)];
    const writer = client.tokenWriter({ batchSize: 1000, returnIds: true });
    for (const r of strict) await writer.write(r);
    const summary = await writer.end();
    expect(summary.accepted).toBe(2008);
    const strictExpected = withIds(Buffer.concat(strict), summary.ids);

    const partial = freshRecords(50, 4);
    new DataView(partial.buffer, partial.byteOffset).setFloat32(10 * 64 + 54, Number.NaN, true);
    const pw = client.tokenWriter({ batchSize: 100, partial: true, returnIds: true });
    await pw.write(partial);
    const ps = await pw.end();
    expect(ps.accepted).toBe(49);
    expect(ps.rejected.map((r) => r.index)).toEqual([10]);
    expect(ps.ids[10]).toBe(0);
    client.close();

    await node.stop();
    node = await start(dataDir);
    client = await connect({ address: node.grpcAddress });
    try {
      const got = await client.getTokenRecords(summary.ids);
      expect(got.missing.length).toBe(0);
      expect(Buffer.from(got.records).equals(strictExpected)).toBe(true);

      const keptIds = ps.ids.filter((id) => id !== 0);
      const kept = withIds(partial, ps.ids);
      const expected = Buffer.concat([kept.subarray(0, 10 * 64), kept.subarray(11 * 64)]);
      const back = await client.getTokenRecords(keptIds);
      expect(Buffer.from(back.records).equals(expected)).toBe(true);
      expect(new Set(summary.ids).size).toBe(2008);
    } finally {
      client.close();
    }
  });
});
