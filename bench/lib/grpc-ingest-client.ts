/**
 * Child process of `grpc.stream_ingest`: streams `messages` IngestTokens messages of `perMessage`
 * packed 64-byte records (id 0: the server allocates ids) to the node at `address`, honouring
 * HTTP/2 flow control, and prints one JSON line: tokens sent, seconds from the first write to the
 * server's summary, and the summary's counts.
 *
 *   node --import tsx bench/lib/grpc-ingest-client.ts <address> <messages> <perMessage>
 */
import { once } from "node:events";
import { credentials } from "@grpc/grpc-js";
import { TokenServiceClient, type IngestTokensResponse } from "../../src/gen/neurograph/v1/token_service.ts";

const [address = "127.0.0.1:50051", messagesArg = "300", perMessageArg = "10000"] = process.argv.slice(2);
const messages = Number(messagesArg);
const perMessage = Number(perMessageArg);

/** One message's records: valid tokens with id 0, positions spread over L1. */
function records(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n * 64);
  for (let i = 0; i < n; i++) {
    const o = i * 64;
    const k = seed * n + i;
    b.writeInt16LE((k % 2000) - 1000, o);
    b.writeInt16LE(((k * 7) % 2000) - 1000, o + 2);
    b.writeInt16LE(((k * 13) % 2000) - 1000, o + 4);
    b.writeUInt16LE(1, o + 52);
    b.writeFloatLE(0.5, o + 54);
    b.writeUInt32LE(1_700_000_000, o + 60);
  }
  return b;
}

const client = new TokenServiceClient(address, credentials.createInsecure(), {
  "grpc.max_send_message_length": 64 * 1024 * 1024,
  "grpc.max_receive_message_length": 64 * 1024 * 1024,
});
// A few distinct payloads, reused: the client's own encoding cost stays out of the way.
const payloads = [0, 1, 2, 3].map((s) => records(perMessage, s));
await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())));

const started = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
const summary = await new Promise<IngestTokensResponse>((resolve, reject) => {
  const stream = client.ingestTokens((err, res) => (err === null ? resolve(res) : reject(err)));
  void (async () => {
    for (let m = 0; m < messages; m++) {
      const ok = stream.write({ records: payloads[m % payloads.length]!, partial: false, returnIds: false });
      if (!ok) await once(stream, "drain");
    }
    stream.end();
  })().catch(reject);
});
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpu0);
client.close();
const clientCpuSeconds = (cpu.user + cpu.system) / 1e6;
process.stdout.write(`${JSON.stringify({ tokens: messages * perMessage, seconds, clientCpuSeconds, received: summary.received, accepted: summary.accepted })}\n`);
