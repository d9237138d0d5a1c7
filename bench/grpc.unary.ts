/**
 * `grpc.unary_p99` (DESIGN §8): ms, p99 of GetTokens by one id at a fixed offered load (open
 * loop, no coordinated omission) against an embedded node with 100 000 tokens, the load
 * generator in a separate process; p50/p999/throughput, the server's CPU per call and the
 * client's in the details.
 *
 * The load generator speaks gRPC over `node:http2` directly (`lib/grpc-unary-h2-client.ts`):
 * grpc-js's client costs more CPU per call than the whole server call on this VM, so with it the
 * client saturates first. `GRPC_UNARY_CLIENT=grpc-js` runs the grpc-js client instead
 * (`lib/grpc-unary-client.ts`).
 *
 * Arguments (optional): <rate> <seconds>, e.g. `npm run bench -- grpc.unary 5000 10`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { loadServeConfig } from "../src/cli/serve.ts";
import { TokenServiceClient } from "../src/gen/neurograph/v1/token_service.ts";
import { startNode } from "../src/node/index.ts";
import { createLogger } from "../src/telemetry/index.ts";
import { runBenchChild } from "./lib/child.ts";
import { emit, gc, machine } from "./lib/report.ts";

const [rateArg = "5000", secondsArg = "10"] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const TOKENS = 100_000;
const WARMUP_SECONDS = 2;
const clientKind = process.env.GRPC_UNARY_CLIENT === "grpc-js" ? "grpc-js" : "http2";

async function preload(address: string, count: number): Promise<void> {
  const client = new TokenServiceClient(address, credentials.createInsecure(), { "grpc.max_send_message_length": 64 * 1024 * 1024 });
  const batch = 50_000;
  for (let from = 1; from <= count; from += batch) {
    const n = Math.min(batch, count - from + 1);
    const b = Buffer.alloc(n * 64);
    for (let i = 0; i < n; i++) {
      b.writeUInt32LE(from + i, i * 64 + 48);
      b.writeUInt16LE(1, i * 64 + 52);
      b.writeFloatLE(0.5, i * 64 + 54);
      b.writeUInt32LE(1_700_000_000, i * 64 + 60);
    }
    await new Promise<void>((resolve, reject) =>
      client.createTokens({ tokens: { payload: { $case: "packed", value: b } }, partial: false }, (err) => (err === null ? resolve() : reject(err))),
    );
  }
  client.close();
}

const dataDir = mkdtempSync(join(tmpdir(), "ng-bench-"));
const config = loadServeConfig(["--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "silent"], {});
const node = await startNode(config, { logger: createLogger({ level: "silent" }) });
try {
  await preload(node.grpcAddress, TOKENS);
  gc();
  const cpu0 = process.cpuUsage();
  const r = await runBenchChild(clientKind === "grpc-js" ? "grpc-unary-client.ts" : "grpc-unary-h2-client.ts", [node.grpcAddress, rate, seconds, WARMUP_SECONDS, TOKENS]);
  const cpu = process.cpuUsage(cpu0);
  const calls = Math.round(rate * (seconds + WARMUP_SECONDS));
  emit("grpc.unary_p99", r.p99!, "ms", {
    offered: rate,
    // An overloaded server sheds calls (HTTP/2 ENHANCE_YOUR_CALM, then GOAWAY): latencies then
    // include fast failures and the figure is not a pass.
    ...(r.errors! > 0 ? { valid: false, note: `${r.errors} calls failed (see stderr): the offered load is beyond what the server takes` } : {}),
    throughput: r.throughput,
    p50: r.p50,
    p999: r.p999,
    max: r.max,
    requests: r.requests,
    errors: r.errors,
    serverCpuPerCallUs: Math.round((cpu.user + cpu.system) / calls),
    clientCpuPerCallUs: Math.round(r.clientCpuPerCallUs!),
    client: clientKind,
    tokens: TOKENS,
    budget: 5,
    ...machine(),
  });
  emit("grpc.unary_p50", r.p50!, "ms", { offered: rate, requests: r.requests, client: clientKind });
} finally {
  await node.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
