/**
 * The operations of a load run, each one call (or one ingest stream) against a node through the
 * client library. Retries are off: the harness measures what the node does, and a retry would
 * hide a failure inside a longer latency. Every op builds its payload from a seeded PRNG, so a
 * run is reproducible.
 */
import { readFileSync } from "node:fs";
import { NeuroGraphClient, type ClientTlsOptions } from "../client/index.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import { FailedPreconditionError, NeuroGraphError } from "../core/errors.ts";
import { tokenRecords, type Random } from "./data.ts";
import { makeNatsOperation } from "./nats-ops.ts";
import type { GrpcTarget, LoadPlan, OpKind } from "./plan.ts";

/** One operation: resolves with the tokens it carried (0 for reads); rejects on failure. */
export type Operation = () => Promise<number>;

/** The status-code label of a failure: the typed error's code, else the error's name. */
export function errorCode(err: unknown): string {
  if (err instanceof NeuroGraphError) return err.code;
  return err instanceof Error ? err.name.toUpperCase() : "UNKNOWN";
}

function tlsOf(target: GrpcTarget): ClientTlsOptions | true | undefined {
  const tls = target.tls;
  if (tls === undefined || tls === "system") return tls === "system" ? true : undefined;
  const read = (file: string | undefined): Buffer | undefined => (file === undefined ? undefined : readFileSync(file));
  const ca = read(tls.caFile);
  const cert = read(tls.certFile);
  const key = read(tls.keyFile);
  return { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }), ...(tls.serverName === undefined ? {} : { serverName: tls.serverName }) };
}

/**
 * A client of the plan's node. Each client gets its own subchannel pool, so `--connections N`
 * really opens N TCP connections instead of sharing grpc-js's global one.
 */
export function loadClient(plan: LoadPlan): Promise<NeuroGraphClient> {
  return NeuroGraphClient.connect({
    address: plan.grpc.address,
    tls: tlsOf(plan.grpc),
    ...(plan.grpc.token === undefined ? {} : { token: plan.grpc.token }),
    deadlineMs: plan.timeoutMs,
    retry: false,
    connectTimeoutMs: Math.max(plan.timeoutMs, 5000),
    channelOptions: { "grpc.use_local_subchannel_pool": 1 },
    env: {},
  });
}

/** The connections a worker's operations use (each op round-robins over its kind). */
export interface OpConnections {
  readonly clients: readonly NeuroGraphClient[];
  readonly nats: readonly NatsConnection[];
  /** Producer name the NATS batches carry (shows in the node's rejection reports). */
  readonly producer: string;
}

/** Builds the operations of `op` over the given connections (round-robin). */
export function makeOperation(op: OpKind, plan: LoadPlan, conns: OpConnections, rng: Random): Operation {
  if (op === "nats" || op === "jetstream") {
    if (conns.nats.length === 0) throw new FailedPreconditionError(`the ${op} scenario publishes to NATS: give --nats nats://host:4222`);
    return makeNatsOperation(op, plan, conns.nats, rng, conns.producer);
  }
  const clients = conns.clients;
  let turn = 0;
  const next = (): NeuroGraphClient => clients[turn++ % clients.length]!;
  const ids = plan.ids ?? { min: 1, max: 1 };
  const pickId = (): number => rng.int(ids.min, ids.max);
  switch (op) {
    case "create":
      return async () => {
        const res = await next().createTokens(tokenRecords(plan.batch, 0, rng));
        return res.accepted;
      };
    case "ingest":
      return async () => {
        const writer = next().tokenWriter({ batchSize: plan.batch, deadlineMs: plan.timeoutMs });
        for (let m = 0; m < plan.streamMessages; m++) await writer.write(tokenRecords(plan.batch, 0, rng));
        const summary = await writer.end();
        return summary.accepted;
      };
    case "get":
      return async () => {
        const want = new Uint32Array(plan.batch);
        for (let i = 0; i < want.length; i++) want[i] = pickId();
        await next().getTokenRecords(want, { allowMissing: true });
        return 0;
      };
    case "neighbors":
      return async () => {
        await next().neighbors({ id: pickId(), space: plan.neighbors.space, radius: plan.neighbors.radius, limit: plan.neighbors.limit });
        return 0;
      };
    case "traverse":
      return async () => {
        await next().traverse({ start: [pickId()], maxDepth: plan.traverse.depth, maxNodes: plan.traverse.maxNodes });
        return 0;
      };
  }
}

/** Picks ops of a mix by weight. */
export class MixPicker {
  readonly #cumulative: number[] = [];
  readonly #ops: OpKind[] = [];
  readonly #total: number;
  constructor(mix: readonly { op: OpKind; weight: number }[]) {
    let sum = 0;
    for (const m of mix) {
      sum += m.weight;
      this.#cumulative.push(sum);
      this.#ops.push(m.op);
    }
    this.#total = sum;
  }
  /** The index of an op in the mix. */
  pick(rng: Random): number {
    if (this.#ops.length === 1) return 0;
    const x = rng.next() * this.#total;
    const i = this.#cumulative.findIndex((c) => x < c);
    return i < 0 ? this.#ops.length - 1 : i;
  }
}
