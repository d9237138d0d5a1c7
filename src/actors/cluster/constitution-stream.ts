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
import { DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { FailedPreconditionError, UnavailableError } from "../../core/errors.ts";
import { ensureStream } from "../../runtime/cluster/jetstream-setup.ts";
import { ClusterSubjects } from "../../runtime/nats/index.ts";
import type { Logger } from "../../telemetry/index.ts";
import type { ConstitutionLog } from "../guardian/constitution-log.ts";
import { cameFirstAfter, isWrongLastSequence, lastSubjectSeq, readSubject } from "./log-reader.ts";

/** The stream sequence of the document a document follows: the chain every node validates. */
const AFTER_HEADER = "Ng-After";
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
  /**
   * Stream sequence of the newest document the guardian has applied (loaded, appended, or
   * followed and adopted). An append needs it to equal `chainHead`: a change the follower
   * received but the guardian has not adopted yet must fail an append, or two nodes could each
   * append a successor of the same version.
   */
  private appliedSeq = 0;
  /** Where the follower is (void documents included): the compare-and-set of an append. */
  private seenSeq = 0;
  /** The last valid document seen (load or follower): the next valid one names it in `Ng-After`. */
  private chainHead = 0;

  private constructor(
    private readonly o: ConstitutionStreamOptions,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    private readonly subject: string,
  ) {}

  /** Creates the stream if needed (safe when several nodes start at once). */
  static async open(o: ConstitutionStreamOptions): Promise<JetStreamConstitutionLog> {
    const subject = `${new ClusterSubjects(o.cluster).root}.constitution`;
    const stream = constitutionStreamName(o.cluster);
    const jsm = await jetstreamManager(o.connection);
    await ensureStream(jsm, {
      name: stream,
      subjects: [subject],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_msgs: MAX_DOCUMENTS,
      max_msg_size: MAX_DOCUMENT_BYTES,
      num_replicas: o.replicas,
    });
    return new JetStreamConstitutionLog(o, jetstream(o.connection, { timeout: o.appendTimeoutMs ?? 10_000 }), jsm, stream, subject);
  }

  async load(): Promise<readonly Uint8Array[]> {
    const end = await lastSubjectSeq(this.jsm, this.stream, this.subject);
    const docs: Uint8Array[] = [];
    let first = true;
    await readSubject(this.js, this.stream, this.subject, 1, end, (m) => {
      // The oldest document kept starts the chain (older ones may have been dropped by the limit).
      if (first || this.continuesChain(m.headers)) {
        this.chainHead = m.seq;
        docs.push(Uint8Array.from(m.data));
      }
      first = false;
    });
    this.appliedSeq = this.chainHead;
    this.seenSeq = Math.max(this.seenSeq, end);
    return docs;
  }

  async append(document: Uint8Array): Promise<void> {
    try {
      // The guardian must have applied every valid document seen, and the stream must not have
      // moved past what was seen (void documents included).
      if (this.appliedSeq !== this.chainHead) throw conflict(undefined);
      const expected = this.seenSeq;
      const h = natsHeaders();
      h.set(AFTER_HEADER, String(this.chainHead));
      const ack = await this.js.publish(this.subject, document, { headers: h, expect: { lastSubjectSequence: expected } });
      // Only the first after `expected` continues the chain (see `cameFirstAfter`); a later one
      // is void for every node.
      if (!(await cameFirstAfter(this.jsm, this.stream, this.subject, expected, ack.seq))) throw conflict(undefined);
      this.appliedSeq = Math.max(this.appliedSeq, ack.seq);
    } catch (err) {
      if (err instanceof FailedPreconditionError) throw err;
      if (isWrongLastSequence(err)) throw conflict(err);
      throw new UnavailableError(`appending to the cluster's constitution stream ${this.stream} failed: ${err instanceof Error ? err.message : String(err)}; check the NATS servers (JetStream)`, {
        cause: err,
      });
    }
  }

  private continuesChain(headers: MsgHdrs | undefined): boolean {
    return headers?.get(AFTER_HEADER) === String(this.chainHead);
  }

  /**
   * Calls `onDocument` with every document appended after the last one this node loaded, in
   * order (its own appends included when they are seen here first; the guardian ignores a
   * document equal to its active one). The guardian calls `adopted` once it applied it. Runs
   * until the returned function is called; the ordered consumer recovers from reconnects itself.
   */
  follow(onDocument: (document: Uint8Array, adopted: () => void) => void): () => void {
    let stopped = false;
    let stop: (() => void) | undefined;
    const run = async (): Promise<void> => {
      const consumer = await this.js.consumers.get(this.stream, { filter_subjects: this.subject, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.seenSeq + 1 });
      const messages = await consumer.consume({ max_messages: 16 });
      stop = () => void messages.close().catch(() => undefined);
      if (stopped) stop();
      for await (const m of messages) {
        if (m.seq <= this.seenSeq) continue;
        const seq = (this.seenSeq = m.seq);
        if (!this.continuesChain(m.headers)) continue; // lost a race (see append): void everywhere
        this.chainHead = seq;
        onDocument(Uint8Array.from(m.data), () => {
          this.appliedSeq = Math.max(this.appliedSeq, seq);
        });
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

function conflict(cause: unknown): FailedPreconditionError {
  return new FailedPreconditionError(
    "the constitution was changed through another node of the cluster meanwhile; nothing changed here: read it again (GetConstitution) and retry with its version as expected_version",
    [],
    cause === undefined ? undefined : { cause },
  );
}
