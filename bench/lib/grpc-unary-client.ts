/**
 * Child process of `grpc.unary_p99` with the grpc-js client: an open-loop load generator
 * (`open-loop.ts`). Each request is GetTokens of one random id in 1..maxId. Prints one JSON line.
 *
 *   node --import tsx bench/lib/grpc-unary-client.ts <address> <rate> <seconds> <warmupSeconds> <maxId>
 */
import { credentials } from "@grpc/grpc-js";
import { RecordFormat } from "../../src/gen/neurograph/v1/common.ts";
import { TokenServiceClient } from "../../src/gen/neurograph/v1/token_service.ts";
import { runOpenLoop } from "./open-loop.ts";

const [address = "127.0.0.1:50051", rateArg = "5000", secondsArg = "10", warmupArg = "2", maxIdArg = "100000"] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const warmup = Number(warmupArg);
const maxId = Number(maxIdArg);

const client = new TokenServiceClient(address, credentials.createInsecure());
await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())));

const result = await runOpenLoop({
  rate,
  seconds,
  warmupSeconds: warmup,
  label: "grpc-unary-client",
  send: (_i, done) => {
    const id = 1 + Math.floor(Math.random() * maxId);
    client.getTokens({ ids: [id], format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: true }, (err) => done(err === null ? undefined : err.message));
  },
});
client.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
