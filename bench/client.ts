/**
 * Client-side costs (`npm run bench -- client`):
 * - `client.encode_objects`: token objects → packed records (`encodeTokenInputs`), tokens/s;
 * - `client.writer_ingest`: a `TokenWriter` streaming packed records over loopback gRPC into a
 *   server whose backend only counts them, tokens/s. Client and server share this process, so
 *   this is the client + gRPC path, not the cross-process `grpc.stream_ingest` of DESIGN §8.
 */
import { ApiServer } from "../src/api/server.ts";
import type { CreateTokensResult, NodeBackend } from "../src/api/backend.ts";
import { encodeTokenInputs, NeuroGraphClient, type TokenInput } from "../src/client/index.ts";
import { bestOf, emit, gc, machine } from "./lib/report.ts";

const OBJECTS = 200_000;
const objects: TokenInput[] = Array.from({ length: OBJECTS }, (_, i) => ({ id: i + 1, coords: { l1: [i % 300, (i * 7) % 300, 0], l5: [0.25, -0.5, 1] }, weight: 0.5, entityType: 5 }));
gc();
const encodeSeconds = bestOf(5, 2, () => void encodeTokenInputs(objects, 1_700_000_000));
emit("client.encode_objects", OBJECTS / encodeSeconds, "tokens/s", { tokens: OBJECTS, ...machine() });

let counted = 0;
const counting: Pick<NodeBackend, "ingestTokens"> = {
  ingestTokens(records: Uint8Array): Promise<CreateTokensResult> {
    const n = records.byteLength / 64;
    counted += n;
    return Promise.resolve({ ids: new Uint32Array(0), accepted: n, rejected: [] });
  },
};
const server = new ApiServer({ backend: counting as NodeBackend }, { address: "127.0.0.1:0" });
const { address } = await server.start();
const client = await NeuroGraphClient.connect({ address, env: {} });
const TOKENS = 4_000_000;
const BATCH = 10_000;
const chunk = encodeTokenInputs(objects.slice(0, BATCH), 1_700_000_000);

/** Wall and CPU seconds (client and server together) of one ingest of TOKENS records. */
async function ingest(): Promise<{ wall: number; cpu: number }> {
  const writer = client.tokenWriter({ batchSize: BATCH });
  const start = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for (let sent = 0; sent < TOKENS; sent += BATCH) await writer.write(chunk);
  const summary = await writer.end();
  const cpu = process.cpuUsage(cpu0);
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  if (summary.accepted !== TOKENS) throw new Error(`ingest accepted ${summary.accepted} of ${TOKENS}`);
  return { wall, cpu: (cpu.user + cpu.system) / 1e6 };
}

await ingest(); // warm-up
let best = { wall: Infinity, cpu: Infinity };
for (let i = 0; i < 3; i++) {
  const r = await ingest();
  if (r.wall < best.wall) best = r;
}
emit("client.writer_ingest", TOKENS / best.wall, "tokens/s", { tokens: TOKENS, batch: BATCH, sameProcess: true, cpuSeconds: best.cpu, tokensPerCpuSecond: Math.round(TOKENS / best.cpu), counted, ...machine() });
client.close();
await server.stop(1000);
