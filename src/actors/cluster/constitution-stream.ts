/**
 * The constitution of a cluster (DESIGN §4-§5): one JetStream stream, `NG_<cluster>_CONSTITUTION`
 * (subject `ng.<cluster>.constitution`, file storage, replicas = min(3, servers)), holds every
 * document that became active, in order, for every node. Each node's guardian loads it at start
 * and follows it, so a change made through any node is enforced by every node's shards, and a
 * cluster restarted from scratch keeps the constitution it had.
 *
 * Appends are compare-and-set on the subject's last sequence: two nodes changing the constitution
 * at once cannot both win; the loser gets FAILED_PRECONDITION and nothing changes on it (its
 * client reads the new version and retries). Older documents beyond `MAX_DOCUMENTS` are dropped
 * by the stream; the guardian's history then starts from the oldest one left.
 */
import { DeliverPolicy, DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, jetstream, jetstreamManager, type JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { FailedPreconditionError, UnavailableError } from "../../core/errors.ts";
import { ensureStream } from "../../runtime/cluster/jetstream-setup.ts";
import { ClusterSubjects } from "../../runtime/nats/index.ts";
import type { Logger } from "../../telemetry/index.ts";
import type { ConstitutionLog } from "../guardian/constitution-log.ts";
import { lastSubjectSeq, readSubject } from "./log-reader.ts";

const WRONG_LAST_SEQUENCE = 10071;
/** Documents the stream keeps (the guardian's default history holds 100). */
const MAX_DOCUMENTS = 256;
/** A constitution document is a few KiB; anything near this is not one. */
const MAX_DOCUMENT_BYTES = 1024 * 1024;

export interface ConstitutionStreamOptions {
  readonly connection: NatsConnection;
  readonly cluster: string;
  readonly replicas: number;
  /** Timeout of one append (default 10 s). */
  readonly appendTimeoutMs?: number;
  readonly logger?: Logger;
}

export function constitutionStreamName(cluster: string): string {
  return `NG_${cluster}_CONSTITUTION`;
}

export class JetStreamConstitutionLog implements ConstitutionLog {
  /** Stream sequence of the newest document this node knows of (loaded, appended or followed). */
  private seq = 0;

  private constructor(
    private readonly o: ConstitutionStreamOptions,
    private readonly js: JetStreamClient,
    private readonly stream: string,
    private readonly subject: string,
  ) {}

  /** Creates the stream if needed (safe when several nodes start at once). */
  static async open(o: ConstitutionStreamOptions): Promise<JetStreamConstitutionLog> {
    const subject = `${new ClusterSubjects(o.cluster).root}.constitution`;
    const stream = constitutionStreamName(o.cluster);
    await ensureStream(await jetstreamManager(o.connection), {
      name: stream,
      subjects: [subject],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_msgs: MAX_DOCUMENTS,
      max_msg_size: MAX_DOCUMENT_BYTES,
      num_replicas: o.replicas,
    });
    return new JetStreamConstitutionLog(o, jetstream(o.connection, { timeout: o.appendTimeoutMs ?? 10_000 }), stream, subject);
  }

  async load(): Promise<readonly Uint8Array[]> {
    const jsm = await jetstreamManager(this.o.connection);
    const end = await lastSubjectSeq(jsm, this.stream, this.subject);
    const docs: Uint8Array[] = [];
    await readSubject(this.js, this.stream, this.subject, 1, end, (m) => docs.push(Uint8Array.from(m.data)));
    this.seq = Math.max(this.seq, end);
    return docs;
  }

  async append(document: Uint8Array): Promise<void> {
    try {
      const ack = await this.js.publish(this.subject, document, { expect: { lastSubjectSequence: this.seq } });
      this.seq = Math.max(this.seq, ack.seq);
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE) {
        throw new FailedPreconditionError(
          "the constitution was changed through another node of the cluster meanwhile; nothing changed here: read it again (GetConstitution) and retry with its version as expected_version",
          [],
          { cause: err },
        );
      }
      throw new UnavailableError(`appending to the cluster's constitution stream ${this.stream} failed: ${err instanceof Error ? err.message : String(err)}; check the NATS servers (JetStream)`, {
        cause: err,
      });
    }
  }

  /**
   * Calls `onDocument` with every document appended after the last one this node loaded or
   * appended, in order (its own appends included when they are seen here first; the guardian
   * ignores a document equal to its active one). Runs until the returned function is called;
   * the ordered consumer underneath recovers from reconnects by itself.
   */
  follow(onDocument: (document: Uint8Array) => void): () => void {
    let stopped = false;
    let stop: (() => void) | undefined;
    const run = async (): Promise<void> => {
      const consumer = await this.js.consumers.get(this.stream, { filter_subjects: this.subject, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.seq + 1 });
      const messages = await consumer.consume({ max_messages: 16 });
      stop = () => void messages.close().catch(() => undefined);
      if (stopped) stop();
      for await (const m of messages) {
        if (m.seq <= this.seq) continue;
        this.seq = m.seq;
        onDocument(Uint8Array.from(m.data));
      }
    };
    const start = (): void => {
      const again = (err: unknown): void => {
        if (stopped) return;
        this.o.logger?.warn({ err, stream: this.stream }, "following the cluster's constitution stream stopped; following it again in 1 s");
        setTimeout(() => {
          if (!stopped) start();
        }, 1000).unref();
      };
      run().then(() => again(new UnavailableError("the consumer ended")), again);
    };
    start();
    return () => {
      stopped = true;
      stop?.();
    };
  }
}
