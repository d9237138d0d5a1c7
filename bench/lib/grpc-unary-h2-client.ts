/**
 * Child process of `grpc.unary_p99`: an open-loop load generator speaking gRPC over one HTTP/2
 * connection with `node:http2` directly (what h2load or ghz do natively): the request is framed
 * once per call (5-byte gRPC prefix + GetTokensRequest), and the answer counts only with
 * `grpc-status: 0` and a non-empty message. grpc-js's client stack (resolver, load balancer,
 * retries, interceptors, channelz) costs this VM about twice the CPU of the server's whole call,
 * so with it the load generator, not the server, would saturate first (`grpc-unary-client.ts`
 * keeps that client, for comparison).
 *
 * Request i is scheduled at t0 + i / rate and its latency is measured from that intended time
 * (no coordinated omission). Each request is GetTokens of one random id in 1..maxId. Warm-up
 * requests are sent but not recorded. Prints one JSON line.
 *
 *   node --import tsx bench/lib/grpc-unary-h2-client.ts <address> <rate> <seconds> <warmupSeconds> <maxId>
 */
import { connect, constants, type ClientHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import * as hdr from "hdr-histogram-js";
import { RecordFormat } from "../../src/gen/neurograph/v1/common.ts";
import { GetTokensRequest } from "../../src/gen/neurograph/v1/token_service.ts";

const [address = "127.0.0.1:50051", rateArg = "5000", secondsArg = "10", warmupArg = "2", maxIdArg = "100000"] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const warmup = Number(warmupArg);
const maxId = Number(maxIdArg);

const session = connect(`http://${address}`);
session.on("error", (err: Error) => {
  process.stderr.write(`grpc-unary-h2-client: session error: ${err.message}\n`);
  process.exit(1);
});
await new Promise<void>((resolve) => session.once("connect", () => resolve()));

const headers = {
  [constants.HTTP2_HEADER_METHOD]: "POST",
  [constants.HTTP2_HEADER_PATH]: "/neurograph.v1.TokenService/GetTokens",
  [constants.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
  [constants.HTTP2_HEADER_TE]: "trailers",
};

/** A length-prefixed GetTokensRequest for one id. */
function frame(id: number): Buffer {
  const message = GetTokensRequest.encode({ ids: [id], format: RecordFormat.RECORD_FORMAT_PACKED, allowMissing: true }).finish();
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

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

function fail(message: string): void {
  if (errors++ === 0) process.stderr.write(`grpc-unary-h2-client: first error: ${message}\n`);
}

await new Promise<void>((resolve) => {
  const send = (i: number, intended: number): void => {
    const stream: ClientHttp2Stream = session.request(headers);
    let bytes = 0;
    let status: string | undefined;
    stream.on("data", (chunk: Buffer) => (bytes += chunk.length));
    stream.on("trailers", (trailers: IncomingHttpHeaders) => {
      const s = trailers["grpc-status"];
      status = typeof s === "string" ? s : undefined;
      if (status !== "0") fail(`grpc-status ${String(s)}: ${String(trailers["grpc-message"])}`);
    });
    stream.on("error", (err: Error) => fail(err.message));
    stream.on("close", () => {
      const done = nowUs();
      if (status === "0" && bytes <= 5) fail(`empty answer (${bytes} bytes)`);
      else if (status === undefined) fail(`no trailers (HTTP/2 code ${stream.rstCode})`);
      if (i >= recordFrom) {
        histogram.recordValue(Math.max(1, done - intended));
        lastDoneAt = done;
      }
      if (++completed === total) resolve();
    });
    stream.end(frame(1 + Math.floor(Math.random() * maxId)));
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
session.close();
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
