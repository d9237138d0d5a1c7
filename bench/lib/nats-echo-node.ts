/**
 * Child process of `bench/nats.remote.ts`: an actor system hosting `echo/0` on the NATS server
 * given as the first argument (cluster `bench`). Prints "ready" once reachable; exits on SIGTERM.
 */
import { ActorSystem } from "../../src/runtime/index.ts";
import { NatsTransport } from "../../src/runtime/nats/index.ts";
import { EchoActor, echoCodecs } from "./nats-echo.ts";

const url = process.argv[2];
if (url === undefined) {
  process.stderr.write("usage: nats-echo-node.ts <nats-url>\n");
  process.exit(2);
}
const transport = await NatsTransport.connect({ servers: url }, { nodeId: "echo-node", cluster: "bench" });
const system = new ActorSystem({ nodeId: "echo-node", transport, codecs: echoCodecs(), mailboxCapacity: 1 << 16 });
system.spawn("echo/0", () => new EchoActor());
await transport.flush();
process.stdout.write("ready\n");
process.once("SIGTERM", () => {
  void system.shutdown({ timeoutMs: 2000 }).then(() => process.exit(0));
});
