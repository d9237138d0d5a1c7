/**
 * The replicated shard log on a real 3-server JetStream cluster: what an owner appended (and was
 * acknowledged) is exactly what the next owner recovers, batches larger than a message travel in
 * parts, the takeover fences the previous owner (its next append fails, nothing of it lands), and
 * a snapshot in the object store plus the log after it rebuilds the same state.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { lastSubjectSeq, readSubject } from "../../../src/actors/cluster/log-reader.ts";
import { ReplicatedLogs } from "../../../src/actors/cluster/log-setup.ts";
import type { RecoveryHandler, ShardMutation, ShardSnapshotData } from "../../../src/actors/shard-log.ts";
import { ErrorCode, type NeuroGraphError } from "../../../src/core/errors.ts";
import { startNatsCluster, type NatsCluster } from "../../support/nats-server.ts";
import { closeAll, rawClient } from "../nats/support.ts";

let cluster: NatsCluster;
let nc: NatsConnection;
let logs: ReplicatedLogs;

const insert = (first: number, n: number): ShardMutation => {
  const records = new Uint8Array(64 * n);
  const dv = new DataView(records.buffer);
  for (let i = 0; i < n; i++) dv.setUint32(i * 64 + 48, first + i, true);
  return { kind: "tokens.insert", records };
};

/** Ids of every inserted token, in order, from what a recovery delivered. */
function collector(): { handler: RecoveryHandler; ids: number[]; snapshot: ShardSnapshotData | undefined } {
  const out = { ids: [] as number[], snapshot: undefined as ShardSnapshotData | undefined, handler: undefined as unknown as RecoveryHandler };
  const take = (records: Uint8Array): void => {
    const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
    for (let at = 0; at < records.byteLength; at += 64) out.ids.push(dv.getUint32(at + 48, true));
  };
  out.handler = {
    loadSnapshot: (s) => {
      out.snapshot = s;
      take(s.tokens);
    },
    apply: (m) => {
      if (m.kind === "tokens.insert") take(m.records);
    },
  };
  return out;
}

const range = (first: number, n: number): number[] => Array.from({ length: n }, (_, i) => first + i);

beforeAll(async () => {
  cluster = await startNatsCluster({ size: 3 });
  nc = await rawClient(cluster.url);
  logs = await ReplicatedLogs.open({ connection: nc, cluster: "rl", replicas: 3, maxPartBytes: 16 * 1024, appendTimeoutMs: 5000 });
}, 90_000);

afterAll(async () => {
  await closeAll();
  await cluster?.dispose();
});

describe("replicated shard log", () => {
  it("hands over exactly the acknowledged appends, in parts when large, and fences the old owner", async () => {
    const a = logs.open(1, { owner: "a", epoch: 1 });
    expect((await a.recover(collector().handler)).replayedRecords).toBe(0);
    const tickets = [a.append(insert(1, 10)), a.append(insert(11, 5)), a.append(insert(16, 1000))]; // the last is 64 KB: 4+ parts
    await Promise.all(tickets.map((t) => t.durable));
    await a.append(insert(1016, 4)).durable;

    const failures: string[] = [];
    const a2 = logs.open(3, { owner: "a", epoch: 1, onFailure: (kind) => failures.push(kind) });
    await a2.recover(collector().handler);
    await a2.append(insert(1, 1)).durable;
    await logs.open(3, { owner: "b", epoch: 2 }).recover(collector().handler);
    await expect(a2.append(insert(2, 1)).durable).rejects.toThrow(/taken over/);
    expect(failures).toEqual(["fenced"]);
    const b = logs.open(1, { owner: "b", epoch: 2 });
    const got = collector();
    const report = await b.recover(got.handler);
    expect(got.ids).toEqual(range(1, 1019));
    expect(report.lastLsn).toBe(4);

    // The old owner wakes up and writes: fenced, and nothing of it reaches the log.
    const stale = a.append(insert(5000, 3));
    const error = await stale.durable.then(() => undefined, (e: unknown) => e as NeuroGraphError);
    expect(error?.code).toBe(ErrorCode.Unavailable);
    expect(error?.message).toMatch(/taken over/);
    expect(() => a.append(insert(6000, 1))).toThrow(/taken over/);

    await b.append(insert(2000, 2)).durable;
    const c = logs.open(1, { owner: "c", epoch: 3 });
    const again = collector();
    await c.recover(again.handler);
    expect(again.ids).toEqual([...range(1, 1019), 2000, 2001]);
  });

  it("recovers from the snapshot in the object store plus the log after it", async () => {
    const a = logs.open(2, { owner: "a", epoch: 1 });
    await a.recover(collector().handler);
    await a.append(insert(1, 3)).durable;
    const second = a.append(insert(4, 3));
    await second.durable;
    const tokens = new Uint8Array(64 * 6);
    for (let i = 0; i < 6; i++) new DataView(tokens.buffer).setUint32(i * 64 + 48, i + 1, true);
    await a.snapshot({ lsn: second.lsn, tokens, connections: new Uint8Array(0) });
    await a.append(insert(7, 2)).durable;

    const b = logs.open(2, { owner: "b", epoch: 2 });
    const got = collector();
    const report = await b.recover(got.handler);
    expect(got.snapshot?.tokens.byteLength).toBe(6 * 64);
    expect(report.replayedRecords).toBe(1);
    expect(got.ids).toEqual(range(1, 8));
  });

  it("gives a replay up with UNAVAILABLE when the messages it waits for never come", async () => {
    const a = logs.open(5, { owner: "a", epoch: 1 });
    await a.recover(collector().handler);
    await a.append(insert(1, 2)).durable;
    const jsm = await jetstreamManager(nc);
    const end = await lastSubjectSeq(jsm, logs.stream, logs.subject(5));
    const seen: number[] = [];
    // Waiting for a sequence beyond the end: as when the tail was purged under the reader.
    const error = await readSubject(jetstream(nc), logs.stream, logs.subject(5), 1, end + 3, (m) => seen.push(m.seq), 500).then(
      () => undefined,
      (e: unknown) => e as NeuroGraphError,
    );
    expect(error?.code).toBe(ErrorCode.Unavailable);
    expect(error?.message).toMatch(new RegExp(`no progress for 500 ms after sequence ${end} \\(expected up to ${end + 3}\\)`));
    expect(seen.at(-1)).toBe(end);
  });
});
