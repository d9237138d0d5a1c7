/**
 * Creating or updating the JetStream resources a cluster uses, safely when several nodes start at
 * once: a stream or consumer that exists is updated to the settings that may change (never its
 * retention or storage, which JetStream cannot change), one that does not is created, and a
 * creation race lost to another node is retried as an update. Failures become typed errors that
 * say what to check.
 */
import { JetStreamApiError, type ConsumerConfig, type JetStreamManager, type StreamConfig } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { FailedPreconditionError, UnavailableError } from "../../core/errors.ts";

/** JetStream's "stream not found" / "consumer not found" error codes. */
const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;

function apiCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.code : undefined;
}

function setupError(what: string, err: unknown): Error {
  const detail = err instanceof Error ? err.message : String(err);
  if (err instanceof JetStreamApiError) {
    return new FailedPreconditionError(`cannot set up ${what}: ${detail}; check that JetStream is enabled on the NATS servers and has room (jsz), or remove the resource if its settings conflict`);
  }
  return new UnavailableError(`cannot set up ${what}: ${detail}; check the NATS servers (JetStream enabled, a meta leader elected)`, { cause: err });
}

type StreamSettings = Partial<StreamConfig> & { name: string };

/** Settings JetStream lets an update change. */
function updatable(cfg: StreamSettings): Partial<StreamConfig> {
  const { name: _n, retention: _r, storage: _s, ...rest } = cfg;
  return rest;
}

export async function ensureStream(jsm: JetStreamManager, cfg: StreamSettings): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      try {
        const info = await jsm.streams.info(cfg.name);
        const c = info.config;
        const same =
          JSON.stringify(c.subjects) === JSON.stringify(cfg.subjects ?? c.subjects) &&
          (cfg.duplicate_window === undefined || c.duplicate_window === cfg.duplicate_window) &&
          (cfg.max_msg_size === undefined || c.max_msg_size === cfg.max_msg_size) &&
          (cfg.num_replicas === undefined || c.num_replicas === cfg.num_replicas);
        if (!same) await jsm.streams.update(cfg.name, updatable(cfg));
        return;
      } catch (err) {
        if (apiCode(err) !== STREAM_NOT_FOUND) throw err;
      }
      await jsm.streams.add(cfg);
      return;
    } catch (err) {
      // Another node created it between our info and add: look again.
      if (attempt < 3 && err instanceof JetStreamApiError) continue;
      throw setupError(`the JetStream stream ${cfg.name}`, err);
    }
  }
}

type ConsumerSettings = Partial<ConsumerConfig> & { durable_name: string };

export async function ensureConsumer(jsm: JetStreamManager, stream: string, cfg: ConsumerSettings): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      try {
        const info = await jsm.consumers.info(stream, cfg.durable_name);
        const c = info.config;
        if (c.max_ack_pending !== cfg.max_ack_pending || c.ack_wait !== cfg.ack_wait) {
          await jsm.consumers.update(stream, cfg.durable_name, { max_ack_pending: cfg.max_ack_pending, ack_wait: cfg.ack_wait });
        }
        return;
      } catch (err) {
        if (apiCode(err) !== CONSUMER_NOT_FOUND) throw err;
      }
      await jsm.consumers.add(stream, cfg);
      return;
    } catch (err) {
      if (attempt < 3 && err instanceof JetStreamApiError) continue;
      throw setupError(`the JetStream consumer ${cfg.durable_name} of ${stream}`, err);
    }
  }
}

/** Stream and KV replicas for a cluster of NATS servers: min(3, servers that run JetStream). */
export async function defaultReplicas(connection: NatsConnection, jsm: JetStreamManager): Promise<number> {
  try {
    const info = await jsm.getAccountInfo();
    void info;
  } catch (err) {
    throw setupError("JetStream (account info)", err);
  }
  // The server list the client learned from INFO (cluster peers are advertised to clients).
  const known = new Set<string>();
  for (const s of connection.info?.connect_urls ?? []) known.add(s);
  const servers = Math.max(1, known.size);
  return Math.min(3, servers);
}
