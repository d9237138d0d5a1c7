/**
 * Producer process of `bench/nats.ingest.ts`: publishes `tokens` tokens with explicit ids from
 * `first` in batches of `batch`, over core NATS (requests, `window` in flight, each acknowledged
 * after the node applied it) or JetStream (`window` publishes in flight, each with a Nats-Msg-Id).
 * Prints `start` before the first message and `done <ms>` after the last ack (core: the node's
 * ack; JetStream: the stream's PubAck).
 *   node --import tsx nats-ingest-producer.ts <url> <cluster> core|js <tokens> <batch> <window> <first>
 */
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { decodeIngestAck, encodeIngestBatch } from "../../src/actors/ingest/ingest-wire.ts";

const [url = "", cluster = "bench", mode = "core", total = "1000000", batchArg = "20000", windowArg = "8", firstArg = "1"] = process.argv.slice(2);
const tokens = Number(total);
const batch = Number(batchArg);
const window = Number(windowArg);
const first = Number(firstArg);

function body(from: number, n: number): Uint8Array {
  const b = Buffer.alloc(n * 64);
  for (let i = 0; i < n; i++) {
    const o = i * 64;
    b.writeInt16LE(100 + (i & 1023), o);
    b.writeUInt32LE(from + i, o + 48);
    b.writeUInt16LE(1, o + 52);
    b.writeFloatLE(0.5, o + 54);
    b.writeUInt32LE(1_700_000_000, o + 60);
  }
  return encodeIngestBatch(b, { producer: "bench" });
}

const nc = await connect({ servers: url.split(",") });
const js = jetstream(nc);
const batches: Uint8Array[] = [];
for (let at = 0; at < tokens; at += batch) batches.push(body(first + at, Math.min(batch, tokens - at)));
process.stdout.write("start\n");
const t0 = performance.now();
let next = 0;
async function worker(): Promise<void> {
  while (next < batches.length) {
    const i = next++;
    const data = batches[i]!;
    if (mode === "core") {
      const ack = decodeIngestAck((await nc.request(`ng.${cluster}.ingest.tokens`, data, { timeout: 60_000 })).data);
      if (ack.error !== undefined) throw ack.error;
    } else {
      await js.publish(`ng.${cluster}.ingest.js.tokens`, data, { msgID: `bench-${first}-${i}`, timeout: 60_000 });
    }
  }
}
await Promise.all(Array.from({ length: window }, () => worker()));
process.stdout.write(`done ${(performance.now() - t0).toFixed(1)}\n`);
await nc.drain();
