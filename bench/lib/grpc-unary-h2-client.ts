/**
 * Child process of `grpc.unary_p99`: an open-loop load generator speaking gRPC over one HTTP/2
 * connection with `node:http2` directly (what h2load or ghz do natively): the request is framed
 * once per call (5-byte gRPC prefix + GetTokensRequest), and the answer counts only with
 * `grpc-status: 0` and a non-empty message. grpc-js's client stack (resolver, load balancer,
 * retries, interceptors, channelz) costs this VM about twice the CPU of the server's whole call,
 * so with it the load generator, not the server, would saturate first (`grpc-unary-client.ts`
 * keeps that client, for comparison).
 *
 * Open loop (`open-loop.ts`, no coordinated omission); each request is GetTokens of one random id
 * in 1..maxId. Prints one JSON line.
 *
 *   node --import tsx bench/lib/grpc-unary-h2-client.ts <address> <rate> <seconds> <warmupSeconds> <maxId>
 */
import { connect, constants, type ClientHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import { RecordFormat } from "../../src/gen/neurograph/v1/common.ts";
import { GetTokensRequest } from "../../src/gen/neurograph/v1/token_service.ts";
import { runOpenLoop } from "./open-loop.ts";

const [address = "127.0.0.1:50051", rateArg = "5000", secondsArg = "10", warmupArg = "2", maxIdArg = "100000"] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const warmup = Number(warmupArg);
const maxId = Number(maxIdArg);

const session = connect(`http://${address}`);
// An overloaded server may end the session (GOAWAY, e.g. ENHANCE_YOUR_CALM once too many streams
// pile up): the requests after that count as errors and the run still reports.
session.on("error", (err: Error) => process.stderr.write(`grpc-unary-h2-client: session error: ${err.message}\n`));
session.on("goaway", (code: number) => process.stderr.write(`grpc-unary-h2-client: server sent GOAWAY (HTTP/2 code ${code})\n`));
await new Promise<void>((resolve, reject) => {
  session.once("connect", () => resolve());
  session.once("error", reject);
});

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

const result = await runOpenLoop({
  rate,
  seconds,
  warmupSeconds: warmup,
  label: "grpc-unary-h2-client",
  send: (_i, done) => {
    if (session.closed || session.destroyed) return done("session closed by the server");
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(headers);
    } catch (err) {
      return done(err instanceof Error ? err.message : String(err));
    }
    let bytes = 0;
    let status: string | undefined;
    let error: string | undefined;
    stream.on("data", (chunk: Buffer) => (bytes += chunk.length));
    stream.on("trailers", (trailers: IncomingHttpHeaders) => {
      const s = trailers["grpc-status"];
      status = typeof s === "string" ? s : undefined;
      if (status !== "0") error ??= `grpc-status ${String(s)}: ${String(trailers["grpc-message"])}`;
    });
    stream.on("error", (err: Error) => (error ??= err.message));
    stream.on("close", () => {
      if (status === "0" && bytes <= 5) error ??= `empty answer (${bytes} bytes)`;
      else if (status === undefined) error ??= `no trailers (HTTP/2 code ${stream.rstCode})`;
      done(error);
    });
    stream.end(frame(1 + Math.floor(Math.random() * maxId)));
  },
});
session.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
