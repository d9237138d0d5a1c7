/**
 * Child process of `grpc.unary_p99`: an open-loop load generator. Request i is *scheduled* at
 * t0 + i / rate and its latency is measured from that intended time, so time spent queued behind
 * a slow response counts (no coordinated omission). Each request is GetTokens of one random id
 * in 1..maxId. Warm-up requests are sent but not recorded. Prints one JSON line.
 *
 *   node --import tsx bench/lib/grpc-unary-client.ts <address> <rate> <seconds> <warmupSeconds> <maxId>
 */
import { credentials } from "@grpc/grpc-js";
import * as hdr from "hdr-histogram-js";
import { RecordFormat } from "../../src/gen/neurograph/v1/common.ts";
import { TokenServiceClient } from "../../src/gen/neurograph/v1/token_service.ts";

const [address = "127.0.0.1:50051", rateArg = "5000", secondsArg = "10", warmupArg = "2", maxIdArg = "100000"] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const warmup = Number(warmupArg);
const maxId = Number(maxIdArg);

const client = new TokenServiceClient(address, credentials.createInsecure());
await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())));

const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
const total = Math.round(rate * (seconds + warmup));
const recordFrom = Math.round(rate * warmup);
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
let sent = 0;
let completed = 0;
let errors = 0;
let firstRecordedAt = 0;
let lastDoneAt = 0;
const t0 = nowUs() + 10_000;
const cpu0 = process.cpuUsage();

await new Promise<void>((resolve) => {
  const send = (i: number, intended: number): void => {
    const id = 1 + Math.floor(Math.random() * maxId);
    client.getTokens({ ids: [id], format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: true }, (err) => {
      const done = nowUs();
      if (err !== null) {
        if (errors++ === 0) process.stderr.write(`grpc-unary-client: first error: ${err.message}\n`);
      }
      if (i >= recordFrom) {
        histogram.recordValue(Math.max(1, done - intended));
        lastDoneAt = done;
      }
      if (++completed === total) resolve();
    });
  };
  const tick = (): void => {
    const now = nowUs();
    while (sent < total) {
      const intended = t0 + Math.floor((sent * 1e6) / rate);
      if (intended > now) break;
      if (sent === recordFrom) firstRecordedAt = intended;
      send(sent, intended);
      sent++;
    }
    if (sent < total) setTimeout(tick, 1);
  };
  setTimeout(tick, 10);
});
const cpu = process.cpuUsage(cpu0);
client.close();
const measured = total - recordFrom;
process.stdout.write(
  `${JSON.stringify({
    requests: measured,
    errors,
    throughput: measured / ((lastDoneAt - firstRecordedAt) / 1e6),
    p50: histogram.getValueAtPercentile(50) / 1000,
    p99: histogram.getValueAtPercentile(99) / 1000,
    p999: histogram.getValueAtPercentile(99.9) / 1000,
    max: histogram.maxValue / 1000,
    clientCpuPerCallUs: (cpu.user + cpu.system) / total,
  })}\n`,
);
