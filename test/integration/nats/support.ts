/** Helpers for the NATS transport tests: actor systems on a real nats-server, raw clients. */
import { connect, type Msg, type NatsConnection } from "@nats-io/transport-node";
import type { NeuroGraphError } from "../../../src/core/errors.ts";
import { ActorSystem, type ActorAddress, type ActorSystemObserver } from "../../../src/runtime/index.ts";
import { NatsTransport, type NatsConnectionOptions, type NatsTransportOptions } from "../../../src/runtime/nats/index.ts";
import { kvCodecs } from "./fixtures/kv.ts";

export interface TestNode {
  readonly system: ActorSystem;
  readonly transport: NatsTransport;
  /** Errors of tells that could not be delivered (`undelivered` observer). */
  readonly undelivered: { address: string; type: string; error: NeuroGraphError }[];
}

const nodes: TestNode[] = [];
const clients: NatsConnection[] = [];

export async function startNode(
  servers: string,
  nodeId: string,
  options: { transport?: Partial<NatsTransportOptions>; connection?: Partial<NatsConnectionOptions>; cluster?: string } = {},
): Promise<TestNode> {
  const transport = await NatsTransport.connect(
    { servers, reconnect: { waitMs: 100, jitterMs: 10 }, ...options.connection },
    { nodeId, cluster: options.cluster ?? "test", ...options.transport },
  );
  const undelivered: TestNode["undelivered"] = [];
  const observer: ActorSystemObserver = {
    undelivered: (address: ActorAddress, type: string, error: NeuroGraphError) => undelivered.push({ address: `${address.kind}/${address.key}`, type, error }),
  };
  const system = new ActorSystem({ nodeId, transport, codecs: kvCodecs(), observer, onFatal: () => undefined });
  const node = { system, transport, undelivered };
  nodes.push(node);
  return node;
}

/** A plain NATS client (for raw messages and for watching subjects). */
export async function rawClient(servers: string, options: Record<string, unknown> = {}): Promise<NatsConnection> {
  const nc = await connect({ servers: servers.split(","), ...options });
  clients.push(nc);
  return nc;
}

/** Records every message on `subject` (wildcards allowed). */
export function record(nc: NatsConnection, subject: string): Msg[] {
  const seen: Msg[] = [];
  nc.subscribe(subject, {
    callback: (_err, msg) => {
      seen.push(msg);
    },
  });
  return seen;
}

export async function closeAll(): Promise<void> {
  for (const n of nodes.splice(0)) await n.system.shutdown({ force: true });
  for (const c of clients.splice(0)) if (!c.isClosed()) await c.close();
}

/** Polls `check` until it returns true (for effects that arrive asynchronously, e.g. a tell). */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error };
  }
}
