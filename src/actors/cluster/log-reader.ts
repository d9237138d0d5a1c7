/**
 * Reading one shard's subject of the replicated log: where it ends (the fencing token), and its
 * messages from a sequence up to that end through an ordered consumer (flow-controlled, recreated
 * by the client if it falls behind), for recovery.
 */
import { DeliverPolicy, JetStreamApiError, type JetStreamClient, type JetStreamManager, type MsgRequest } from "@nats-io/jetstream";
import type { MsgHdrs } from "@nats-io/transport-node";
import { NeuroGraphError, UnavailableError } from "../../core/errors.ts";
import { watchStall } from "./stall-watch.ts";

export interface LogMessage {
  readonly seq: number;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
}

function failed(what: string, subject: string, err: unknown): UnavailableError {
  return new UnavailableError(`${what} of the replicated log ${subject} failed: ${err instanceof Error ? err.message : String(err)}; check the NATS servers (JetStream)`, {
    cause: err,
  });
}

/** Stream sequence of the last message on `subject`, 0 when it has none. */
export async function lastSubjectSeq(jsm: JetStreamManager, stream: string, subject: string): Promise<number> {
  try {
    const m = await jsm.streams.getMessage(stream, { last_by_subj: subject });
    return m?.seq ?? 0;
  } catch (err) {
    if (err instanceof Error && /no message found|not found/i.test(err.message)) return 0;
    throw failed("reading the end", subject, err);
  }
}

/** A publish whose expected last (subject) sequence did not hold: someone else appended. */
export function isWrongLastSequence(err: unknown): err is JetStreamApiError {
  return err instanceof JetStreamApiError && err.code === 10071;
}

/**
 * Whether the message at `seq` is the first on `subject` after `after`. nats-server before 2.9.21
 * can accept two concurrent publishes that expect the same last sequence on a replicated stream
 * (nats-io/nats-server#4320); a writer that relies on the expectation checks with this.
 */
export async function cameFirstAfter(jsm: JetStreamManager, stream: string, subject: string, after: number, seq: number): Promise<boolean> {
  // `next_by_subj` is a server feature (2.9+) the client's type for the stream API leaves out.
  const next = await jsm.streams.getMessage(stream, { seq: after + 1, next_by_subj: subject } as unknown as MsgRequest);
  return next?.seq === seq;
}

/** Time without a message after which a replay is given up (the messages it waits for are gone). */
export const REPLAY_STALL_MS = 20_000;

/** Calls `onMessage` for every message on `subject` with `from ≤ seq ≤ to`, in order. */
export async function readSubject(
  js: JetStreamClient,
  stream: string,
  subject: string,
  from: number,
  to: number,
  onMessage: (m: LogMessage) => void,
  stallMs = REPLAY_STALL_MS,
): Promise<number> {
  if (to < from) return 0;
  let read = 0;
  let last = from - 1;
  try {
    const consumer = await js.consumers.get(stream, { filter_subjects: subject, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from });
    const messages = await consumer.consume({ max_messages: 256 });
    const watch = watchStall(stallMs, () => messages.stop());
    try {
      for await (const m of messages) {
        watch.touch();
        if (m.seq > to) break;
        onMessage({ seq: m.seq, data: m.data, headers: m.headers });
        read++;
        last = m.seq;
        if (m.seq >= to) break;
      }
    } finally {
      watch.clear();
      await messages.close().catch(() => undefined);
    }
    if (watch.stalled) {
      throw new UnavailableError(`replaying the replicated log ${subject} made no progress for ${stallMs} ms after sequence ${last} (expected up to ${to}); the messages were removed meanwhile or the stream lost its leader; retry`);
    }
  } catch (err) {
    if (err instanceof NeuroGraphError) throw err; // from onMessage (a damaged batch), or stalled
    throw failed("replaying", subject, err);
  }
  return read;
}
