/**
 * A node under stress through its API: full mailboxes give RESOURCE_EXHAUSTED, a shard whose log
 * fails turns read-only (UNAVAILABLE for writes, reads still served), health follows recovery.
 */
import { afterEach, describe, expect, it } from "vitest";
import { status } from "@grpc/grpc-js";
import { DataLossError } from "../../../src/core/errors.ts";
import { Code } from "../../../src/gen/google/rpc/code.ts";
import { RecordFormat } from "../../../src/gen/neurograph/v1/common.ts";
import { HealthCheckResponse_ServingStatus as Serving } from "../../../src/gen/grpc/health/v1/health.ts";
import { ShardState } from "../../../src/gen/neurograph/v1/admin_service.ts";
import type { ShardLogSetup } from "../../../src/node/index.ts";
import { packTokens } from "../api/fixtures.ts";
import { ControlledLog } from "../../unit/actors/controlled-log.ts";
import { call, failure, startTestNode, type TestNode } from "./harness.ts";

/** Polls `check` until it holds (the test's own timeout bounds the wait). */
async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 5));
}

function controlledLogs(logs: ControlledLog[]): ShardLogSetup {
  return () => ({ open: (shard) => logs[shard]! });
}

describe("a node under stress", () => {
  let t: TestNode | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it("rejects with RESOURCE_EXHAUSTED when a shard's mailbox is full, and serves once recovered", async () => {
    let open!: () => void;
    const log = new ControlledLog();
    log.gate = new Promise<void>((resolve) => (open = resolve));
    t = await startTestNode(["--shards", "1", "--mailbox-capacity", "2"], { shardLogs: controlledLogs([log]), waitUntilReady: false });
    const node = t;
    const health = () => call(node.health.check.bind(node.health), { service: "" });
    expect((await health()).status).toBe(Serving.NOT_SERVING);
    const get = () => call(node.tokens.getTokens.bind(node.tokens), { ids: [1], format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: true });
    // The shard is still recovering: its mailbox holds two asks, the third is refused.
    const queued = [get(), get()];
    await until(async () => (await call(node.admin.listShards.bind(node.admin), {})).shards[0]!.mailboxDepth === 2);
    const err = await failure(get());
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toContain("mailbox of actor shard/0 is full");
    const partial = await call(node.tokens.createTokens.bind(node.tokens), { tokens: { payload: { $case: "packed", value: packTokens([{ id: 1 }]) } }, partial: true });
    expect(partial.rejected.map((r) => r.code)).toEqual([Code.RESOURCE_EXHAUSTED]);
    open();
    await node.node.ready;
    expect((await Promise.all(queued)).map((r) => r.missing)).toEqual([[1], [1]]);
    expect((await health()).status).toBe(Serving.SERVING);
    const metrics = await (await fetch(`${node.node.metricsAddress}/metrics`)).text();
    expect(metrics).toMatch(/neurograph_actor_overload_rejections_total\{kind="shard"\} [1-9]/);
  });

  it("turns a shard read-only when its log fails: writes UNAVAILABLE, reads served, state reported", async () => {
    const logs = [0, 1, 2, 3].map(() => new ControlledLog());
    t = await startTestNode([], { shardLogs: controlledLogs(logs) });
    const node = t;
    const create = (ids: number[]) =>
      call(node.tokens.createTokens.bind(node.tokens), { tokens: { payload: { $case: "packed", value: packTokens(ids.map((id) => ({ id }))) } }, partial: false });
    await create([1, 2, 3, 4]);
    logs[2]!.failCommits = new Error("simulated disk failure");
    const err = await failure(create([6]));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toContain("simulated disk failure");
    const again = await failure(create([10]));
    expect(again.details).toContain("read-only");
    await create([5, 7, 8]); // other shards still take writes
    const got = await call(node.tokens.getTokens.bind(node.tokens), { ids: [1, 2, 3, 4], format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: false });
    expect(got.records.length).toBe(4 * 64);
    const shards = await call(node.admin.listShards.bind(node.admin), {});
    expect(shards.shards.map((s) => s.state)).toEqual([ShardState.SHARD_STATE_SERVING, ShardState.SHARD_STATE_SERVING, ShardState.SHARD_STATE_READ_ONLY, ShardState.SHARD_STATE_SERVING]);
    expect(node.node.blackBox.events().map((e) => [e.kind, e.source])).toContainEqual(["wal_error", "shard/2"]);
    const ready = await fetch(`${node.node.metricsAddress}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toContain("read_only");
  });

  it("refuses to start when a shard log is damaged, naming the shard and the problem", async () => {
    const logs = [0, 1, 2, 3].map(() => new ControlledLog());
    logs[3]!.recover = () => Promise.reject(new DataLossError("shard 3: bad CRC at LSN 17 in the middle of the log; start with --repair to truncate it"));
    const err = await startTestNode([], { shardLogs: controlledLogs(logs) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DataLossError);
    expect((err as Error).message).toContain("bad CRC at LSN 17");
  });

  it("keeps replies back until the log has committed (commit-wait), across a transaction", async () => {
    const logs = [0, 1, 2, 3].map(() => new ControlledLog());
    t = await startTestNode([], { shardLogs: controlledLogs(logs) });
    const node = t;
    for (const l of logs) l.holdCommits = true;
    let done = false;
    const created = call(node.tokens.createTokens.bind(node.tokens), { tokens: { payload: { $case: "packed", value: packTokens([{ id: 1 }, { id: 2 }]) } }, partial: false }).then((r) => {
      done = true;
      return r;
    });
    await until(() => logs[1]!.held + logs[2]!.held === 2);
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    for (const l of logs) l.release();
    expect((await created).accepted).toBe(2);
  });
});
