/**
 * In-process transport: several actor systems (simulated nodes) in one process, connected through
 * a `LocalTransportHub` that knows which system advertises which address. Payloads travel as live
 * objects (no serialisation). With `{ payloads: "bytes" }` every message and reply goes through
 * the codec registry and a copied byte buffer instead, exactly as over a network, which lets
 * tests exercise codecs and remote error paths without NATS.
 */
import { AlreadyExistsError, NotFoundError, UnavailableError } from "../core/errors.ts";
import type { Envelope, InboundEndpoint, ReplyEnvelope, Transport } from "./transport.ts";

export class LocalTransportHub {
  private readonly routes = new Map<string, InboundEndpoint>();

  /** A transport for one actor system connected to this hub. */
  connect(options: { payloads?: "live" | "bytes" } = {}): LocalTransport {
    return new LocalTransport(this, options.payloads ?? "live");
  }

  /** @internal */
  claim(address: string, endpoint: InboundEndpoint): void {
    const owner = this.routes.get(address);
    if (owner !== undefined && owner !== endpoint) {
      throw new AlreadyExistsError(`actor ${address} is already hosted by node ${owner.nodeId}`);
    }
    this.routes.set(address, endpoint);
  }

  /** @internal */
  release(address: string, endpoint: InboundEndpoint): void {
    if (this.routes.get(address) === endpoint) this.routes.delete(address);
  }

  /** @internal */
  route(address: string): InboundEndpoint {
    const endpoint = this.routes.get(address);
    if (endpoint === undefined) throw new NotFoundError(`no node hosts actor ${address}`);
    return endpoint;
  }
}

export class LocalTransport implements Transport {
  private endpoint: InboundEndpoint | undefined;
  private readonly advertised = new Set<string>();
  private closed = false;

  constructor(
    private readonly hub: LocalTransportHub = new LocalTransportHub(),
    readonly payloads: "live" | "bytes" = "live",
  ) {}

  bind(endpoint: InboundEndpoint): void {
    this.endpoint = endpoint;
    for (const a of this.advertised) this.hub.claim(a, endpoint);
  }

  advertise(address: string): void {
    this.advertised.add(address);
    if (this.endpoint !== undefined) this.hub.claim(address, this.endpoint);
  }

  withdraw(address: string): void {
    this.advertised.delete(address);
    if (this.endpoint !== undefined) this.hub.release(address, this.endpoint);
  }

  send(envelope: Envelope): void {
    this.checkOpen();
    this.hub.route(envelope.to).deliverTell(this.wire(envelope));
  }

  async request(envelope: Envelope): Promise<ReplyEnvelope> {
    this.checkOpen();
    const reply = await this.hub.route(envelope.to).deliverAsk(this.wire(envelope));
    return reply.encoded && reply.payload instanceof Uint8Array ? { ...reply, payload: reply.payload.slice() } : reply;
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.endpoint !== undefined) for (const a of this.advertised) this.hub.release(a, this.endpoint);
    this.advertised.clear();
    return Promise.resolve();
  }

  private checkOpen(): void {
    if (this.closed) throw new UnavailableError("the local transport is closed (node shutting down)");
  }

  /** In bytes mode, copy the payload: the receiver must not share the sender's buffer. */
  private wire(envelope: Envelope): Envelope {
    return envelope.encoded && envelope.payload instanceof Uint8Array ? { ...envelope, payload: envelope.payload.slice() } : envelope;
  }
}
