/** The echo actor and its binary codec used by `bench/nats.remote.ts` (and its child node). */
import { Actor, CodecRegistry, type Ask, type MessageCodec } from "../../src/runtime/index.ts";

export type EchoMsg = Ask<{ type: "echo.ping"; n: number; pad: Uint8Array }, number> | { type: "echo.note"; n: number };

const f64 = (n: number): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, n, true);
  return b;
};
const readF64 = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getFloat64(0, true);

const pingCodec: MessageCodec<Extract<EchoMsg, { type: "echo.ping" }>, number> = {
  typeName: "echo.ping",
  encode: (m) => {
    const out = new Uint8Array(8 + m.pad.length);
    out.set(f64(m.n));
    out.set(m.pad, 8);
    return out;
  },
  decode: (b) => ({ type: "echo.ping", n: readF64(b), pad: b.subarray(8) }),
  encodeReply: f64,
  decodeReply: readF64,
};

const noteCodec: MessageCodec<Extract<EchoMsg, { type: "echo.note" }>> = {
  typeName: "echo.note",
  encode: (m) => f64(m.n),
  decode: (b) => ({ type: "echo.note", n: readF64(b) }),
};

export function echoCodecs(): CodecRegistry {
  return new CodecRegistry().register(pingCodec, noteCodec);
}

export class EchoActor extends Actor<EchoMsg> {
  notes = 0;
  receive(m: EchoMsg): number | void {
    if (m.type === "echo.ping") return m.n;
    this.notes++;
  }
}
