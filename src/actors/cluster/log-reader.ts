/**
 * Reading one shard's subject of the replicated log: where it ends (the fencing token), and its
 * messages from a sequence up to that end through an ordered consumer (flow-controlled, recreated
 * by the client if it falls behind), for recovery.
 */
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import type { MsgHdrs } from "@nats-io/transport-node";
import { NeuroGraphError, UnavailableError } from "../../core/errors.ts";

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

/** Calls `onMessage` for every message on `subject` with `from ≤ seq ≤ to`, in order. */
export async function readSubject(
  js: JetStreamClient,
  stream: string,
  subject: string,
  from: number,
  to: number,
  onMessage: (m: LogMessage) => void,
): Promise<number> {
  if (to < from) return 0;
  let read = 0;
  try {
    const consumer = await js.consumers.get(stream, { filter_subjects: subject, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from });
    const messages = await consumer.consume({ max_messages: 256 });
    try {
      for await (const m of messages) {
        if (m.seq > to) break;
        onMessage({ seq: m.seq, data: m.data, headers: m.headers });
        read++;
        if (m.seq >= to) break;
      }
    } finally {
      await messages.close().catch(() => undefined);
    }
  } catch (err) {
    if (err instanceof NeuroGraphError) throw err; // from onMessage (a damaged batch)
    throw failed("replaying", subject, err);
  }
  return read;
}
