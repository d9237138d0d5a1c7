/**
 * The acceptance volume of producer ingest (issue 7): 1 M tokens over core NATS and 1 M over
 * JetStream, into a node in cluster mode (every write appended to the shard's JetStream log
 * before it is acknowledged), in batches of 1 000 tokens. Over JetStream every tenth batch is
 * published twice with the same `Nats-Msg-Id` (a producer re-sending after a lost PubAck) and an
 * undecodable message sits in the middle of the stream. Every token arrives exactly once: the
 * node holds exactly 2 M more tokens and every one of the 2 M ids.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeIngestAck, encodeIngestBatch } from "../../../src/actors/ingest/ingest-wire.ts";
import { ErrorCode } from "../../../src/core/errors.ts";
import { INGEST_CONSUMER, ingestStreamName } from "../../../src/actors/ingest/jetstream-ingest.ts";
import { RecordFormat } from "../../../src/gen/neurograph/v1/common.ts";
import { startNatsServer, type NatsServer } from "../../support/nats-server.ts";
import { call, startTestNode, type TestNode } from "../node/harness.ts";
import { closeAll, eventually, rawClient } from "./support.ts";

const CLUSTER = "tm";
const TOKENS = 1_000_000;
const BATCH = 1_000;
const WINDOW = 16;
let server: NatsServer;
let node: TestNode;
let nc: NatsConnection;

const tokenCount = (): number => node.node.board.tokens.reduce((a, b) => a + b, 0);

/** A batch of `n` packed token records with ids from `first` (varied positions and weights). */
function batch(first: number, n: number, partial = false): Uint8Array {
  const b = Buffer.alloc(n * 64);
  for (let i = 0; i < n; i++) {
    const o = i * 64;
    b.writeInt16LE((first + i) % 2000, o);
    b.writeUInt32LE(first + i, o + 48);
    b.writeUInt16LE(1, o + 52);
    b.writeFloatLE(((first + i) % 100) / 100, o + 54);
    b.writeUInt32LE(1_700_000_000, o + 60);
  }
  return encodeIngestBatch(b, { producer: "million", partial });
}

/** Runs `count` jobs, `WINDOW` at a time; the first failure stops them all. */
async function windowed(count: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  await Promise.all(Array.from({ length: WINDOW }, async () => {
    try {
      while (next < count && !failed) await job(next++);
    } catch (err) {
      failed = true;
      throw err;
    }
  }));
}

async function missing(first: number, n: number): Promise<number> {
  let out = 0;
  for (let at = 0; at < n; at += 50_000) {
    const ids = Array.from({ length: Math.min(50_000, n - at) }, (_, i) => first + at + i);
    out += (await call(node.tokens.getTokens.bind(node.tokens), { ids, format: RecordFormat.RECORD_FORMAT_NONE, allowMissing: true })).missing.length;
  }
  return out;
}

beforeAll(async () => {
  server = await startNatsServer({ maxPayload: 4 * 1024 * 1024, jetstreamMaxFile: "4G" });
  node = await startTestNode(["--nats", server.url, "--cluster", CLUSTER, "--node-id", "m1", "--ingest-max-ack-pending", "64"]);
  nc = await rawClient(server.url);
}, 60_000);

afterAll(async () => {
  await closeAll();
  await node?.close();
  await server?.dispose();
});

describe("1 M tokens each way", () => {
  it("over core NATS: every request acknowledged with its count, every token there once", async () => {
    const before = tokenCount();
    const first = 1;
    // Partial batches with explicit ids: a producer's retry after a retryable failure finds the
    // items an earlier attempt applied (ALREADY_EXISTS) and applies the rest.
    let retried = 0;
    await windowed(TOKENS / BATCH, async (b) => {
      for (let attempt = 0; ; attempt++) {
        const ack = decodeIngestAck((await nc.request(`ng.${CLUSTER}.ingest.tokens`, batch(first + b * BATCH, BATCH, true), { timeout: 120_000 })).data);
        // A shard that cannot take its part of a partial batch rejects those items (retryable).
        const again = ack.error?.retryable === true || ack.errors.some((e) => e.code === ErrorCode.Unavailable || e.code === ErrorCode.Overloaded);
        if (again && attempt < 20) {
          if (retried++ === 0) console.error(`core ingest: first retryable failure: ${ack.error?.message ?? ack.errors[0]?.description}`);
          await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
          continue;
        }
        expect(ack.error).toBeUndefined();
        if (attempt === 0) expect(ack.accepted).toBe(BATCH);
        else {
          expect(ack.accepted + ack.rejected).toBe(BATCH);
          expect(ack.errors.filter((e) => e.code !== ErrorCode.AlreadyExists)).toEqual([]);
        }
        return;
      }
    });
    if (retried > 0) console.error(`core ingest: ${retried} retried batches`);
    expect(tokenCount()).toBe(before + TOKENS);
    expect(await missing(first, TOKENS)).toBe(0);
  }, 600_000);

  it("over JetStream with re-sent duplicates and a poison message: every token there once, the stream drained", async () => {
    const before = tokenCount();
    const first = 10_000_001;
    const js = jetstream(nc);
    const subject = `ng.${CLUSTER}.ingest.js.tokens`;
    let duplicates = 0;
    await windowed(TOKENS / BATCH, async (b) => {
      const body = batch(first + b * BATCH, BATCH);
      await js.publish(subject, body, { msgID: `m-${b}`, timeout: 60_000 });
      if (b === 500) await js.publish(subject, new Uint8Array([7, 7, 7]), { msgID: "poison", timeout: 60_000 });
      if (b % 10 === 0 && (await js.publish(subject, body, { msgID: `m-${b}`, timeout: 60_000 })).duplicate) duplicates++;
    });
    expect(duplicates).toBe(TOKENS / BATCH / 10);
    await eventually("every JetStream batch applied", () => tokenCount() >= before + TOKENS, 600_000);
    const jsm = await jetstreamManager(nc);
    await eventually("consumer drained", async () => {
      const info = await jsm.consumers.info(ingestStreamName(CLUSTER), INGEST_CONSUMER);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, 60_000);
    expect(tokenCount()).toBe(before + TOKENS);
    expect(await missing(first, TOKENS)).toBe(0);
  }, 900_000);
});
