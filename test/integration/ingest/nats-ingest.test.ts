/**
 * Producer ingest into a real node (`--nats`) over a real nats-server with JetStream: request
 * batches acknowledged with counts once applied, fire-and-forget batches applied, JetStream
 * batches re-sent with the same Nats-Msg-Id applied exactly once, poison terminated without
 * blocking the stream, and bad input answered with a clear error that changes nothing.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, ValidationError } from "../../../src/core/errors.ts";
import { decodeIngestAck, encodeIngestBatch, type DecodedAck } from "../../../src/actors/ingest/ingest-wire.ts";
import { INGEST_CONSUMER, ingestStreamName } from "../../../src/actors/ingest/jetstream-ingest.ts";
import { startNatsServer, type NatsServer } from "../../support/nats-server.ts";
import { packConnections, packTokens } from "../api/fixtures.ts";
import { closeAll, eventually, rawClient, record } from "../nats/support.ts";
import { startTestNode, type TestNode } from "../node/harness.ts";

const CLUSTER = "ti";
let server: NatsServer;
let node: TestNode;
let nc: NatsConnection;

const tokenCount = (): number => node.node.board.tokens.reduce((a, b) => a + b, 0);
const ids = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
const tokens = (from: number, n: number): Uint8Array => new Uint8Array(packTokens(ids(from, n).map((id) => ({ id, weight: 0.25, l1: [1, 2, 3] }))));

/** Sends a batch and waits for its ack; retries retryable failures (a shard moving, overload) as producers should. */
async function request(kind: string, body: Uint8Array): Promise<DecodedAck> {
  for (let attempt = 0; ; attempt++) {
    const ack = decodeIngestAck((await nc.request(`ng.${CLUSTER}.ingest.${kind}`, body, { timeout: 30_000 })).data);
    if (ack.error === undefined || !ack.error.retryable || attempt >= 20) return ack;
    await new Promise((r) => setTimeout(r, 100 * Math.min(10, attempt + 1)));
  }
}

beforeAll(async () => {
  server = await startNatsServer({ maxPayload: 8 * 1024 * 1024 });
  node = await startTestNode(["--nats", server.url, "--cluster", CLUSTER, "--node-id", "n1", "--ingest-max-ack-pending", "16"]);
  nc = await rawClient(server.url);
}, 60_000);

afterAll(async () => {
  await closeAll();
  await node?.close();
  await server?.dispose();
});

describe("core NATS ingest", () => {
  it("acknowledges request batches with their counts once applied, and applies fire-and-forget batches", async () => {
    const before = tokenCount();
    const acks = await Promise.all(Array.from({ length: 20 }, (_, b) => request("tokens", encodeIngestBatch(tokens(1_000_000 + b * 5000, 5000), { producer: "t" }))));
    expect(acks.map((a) => a.error?.message ?? `${a.accepted}/${a.rejected}`)).toEqual(Array.from({ length: 20 }, () => "5000/0"));
    expect(tokenCount()).toBe(before + 100_000);
    for (let b = 0; b < 10; b++) nc.publish(`ng.${CLUSTER}.ingest.tokens`, encodeIngestBatch(tokens(2_000_000 + b * 1000, 1000)));
    await eventually("fire-and-forget batches applied", () => tokenCount() === before + 110_000);
    const got = await request("connections", encodeIngestBatch(packConnections([{ source: 1_000_000, target: 1_000_001 }, { source: 1_000_002, target: 1_000_003 }])));
    expect(got).toMatchObject({ accepted: 2, rejected: 0, error: undefined });
  });

  it("returns allocated ids and per-item errors of partial batches", async () => {
    const batch = new Uint8Array(packTokens([{ id: 0 }, { id: 0, weight: Number.NaN }, { id: 0 }]));
    const ack = await request("tokens", encodeIngestBatch(batch, { partial: true, returnIds: true }));
    expect(ack.accepted).toBe(2);
    expect(ack.rejected).toBe(1);
    expect(ack.errors[0]).toMatchObject({ index: 1, code: ErrorCode.InvalidArgument });
    expect(ack.ids[0]).toBeGreaterThan(0);
    expect(ack.ids[1]).toBe(0);
  });

  it("answers bad input with a clear error and changes nothing", async () => {
    const before = tokenCount();
    const cases: [string, Uint8Array, RegExp][] = [
      ["tokens", new Uint8Array([0xff, 0xff, 0xff]), /not a protobuf neurograph\.v1\.IngestBatch/],
      ["tokens", encodeIngestBatch(new Uint8Array(100)), /multiple of 64/],
      ["tokens", encodeIngestBatch(new Uint8Array(64 * 100_001)), /at most 100000 records/],
      ["nodes", encodeIngestBatch(tokens(3_000_000, 1)), /unknown ingest subject/],
      ["tokens", encodeIngestBatch(new Uint8Array(packTokens([{ id: 3_000_001 }, { id: 3_000_002, weight: Number.NaN }]))), /weight/],
    ];
    for (const [kind, body, message] of cases) {
      const ack = await request(kind, body);
      expect(ack.error).toBeInstanceOf(ValidationError);
      expect(ack.error?.message).toMatch(message);
      expect(ack.accepted).toBe(0);
    }
    expect(tokenCount()).toBe(before);
  });
});

describe("JetStream ingest", () => {
  it("applies every message once despite re-sent duplicates, terminates poison without blocking, and acks everything", async () => {
    const js = jetstream(nc);
    const events = record(nc, `ng.${CLUSTER}.events.ingest-rejected`);
    const before = tokenCount();
    const subject = `ng.${CLUSTER}.ingest.js.tokens`;
    const B = 40;
    const N = 2500;
    let duplicates = 0;
    for (let b = 0; b < B; b++) {
      const body = encodeIngestBatch(tokens(5_000_000 + b * N, N), { producer: "durable" });
      await js.publish(subject, body, { msgID: `batch-${b}` });
      if (b === 3) await js.publish(subject, new Uint8Array([1, 2, 3, 4, 5]), { msgID: "poison" });
      if (b % 4 === 0) {
        const again = await js.publish(subject, body, { msgID: `batch-${b}` }); // the producer did not see the ack and re-sends
        if (again.duplicate) duplicates++;
      }
    }
    expect(duplicates).toBe(B / 4);
    await eventually("JetStream batches applied", () => tokenCount() === before + B * N, 60_000);
    const jsm = await jetstreamManager(nc);
    await eventually("consumer drained", async () => {
      const info = await jsm.consumers.info(ingestStreamName(CLUSTER), INGEST_CONSUMER);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, 30_000);
    expect((await jsm.streams.info(ingestStreamName(CLUSTER))).state.messages).toBe(0); // work queue: acked and terminated are gone
    await eventually("ingest-rejected event", () =>
      events.some((m) => {
        const e = JSON.parse(new TextDecoder().decode(m.data)) as { source?: string; msg_id?: string; code?: string };
        return e.source === "jetstream" && e.msg_id === "poison" && e.code === ErrorCode.InvalidArgument;
      }),
    );
    expect(tokenCount()).toBe(before + B * N);
  });
});
