/**
 * WAL commit spans for any shard log: the node wraps each shard's log (the LMDB WAL or any other
 * `ShardLog`) while tracing runs, so a sampled write's trace shows gRPC → shard actor → WAL
 * commit without the log knowing about tracing.
 *
 * An append made inside a sampled trace (the shard actor's turn span is active when it appends)
 * opens a `wal.commit` span, child of that turn, that ends when the record is durable (or fails
 * with the commit's error). Appends sharing one durable promise (one group commit) share one span,
 * linked to the further sampled writers. Appends outside a sampled trace cost one boolean test.
 */
import { trace } from "@opentelemetry/api";
import type {
  AppendTicket, RecoveryHandler, RecoveryReport, ShardLog, ShardLogStats, ShardMutation, ShardSnapshotData,
} from "../actors/index.ts";
import { MAX_COMMIT_LINKS, captureTraceContext, recordSpanError, startWalCommitSpan, type Span } from "../telemetry/index.ts";

interface OpenCommit {
  readonly durable: Promise<void>;
  readonly span: Span;
  records: number;
  links: number;
}

export class TracedShardLog implements ShardLog {
  /** The span of the latest traced commit still in flight (group commits reuse one promise). */
  private open: OpenCommit | undefined;
  /** The inner log's capacity check, when it has one. */
  readonly checkCapacity?: (bytes: number) => void;

  constructor(
    /** The wrapped log (e.g. to read WAL figures). */
    readonly inner: ShardLog,
    private readonly shard: number,
  ) {
    if (inner.checkCapacity !== undefined) this.checkCapacity = (bytes) => inner.checkCapacity?.(bytes);
  }

  recover(handler: RecoveryHandler): Promise<RecoveryReport> {
    return this.inner.recover(handler);
  }

  append(mutation: ShardMutation): AppendTicket {
    const ctx = captureTraceContext();
    const ticket = this.inner.append(mutation);
    if (ctx === undefined) return ticket;
    const open = this.open;
    if (open !== undefined && open.durable === ticket.durable) {
      open.records++;
      if (open.links < MAX_COMMIT_LINKS && open.span.isRecording()) {
        open.links++;
        const sc = trace.getSpanContext(ctx);
        if (sc !== undefined) open.span.addLink({ context: sc });
      }
      return ticket;
    }
    const span = startWalCommitSpan([ctx], { "wal.shard": this.shard, "wal.lsn": ticket.lsn, "wal.mutation": mutation.kind });
    const commit: OpenCommit = { durable: ticket.durable, span, records: 1, links: 0 };
    this.open = commit;
    ticket.durable.then(
      () => this.finish(commit),
      (err: unknown) => this.finish(commit, err),
    );
    return ticket;
  }

  private finish(commit: OpenCommit, err?: unknown): void {
    if (this.open === commit) this.open = undefined;
    commit.span.setAttribute("wal.records", commit.records);
    if (err !== undefined) recordSpanError(commit.span, err);
    commit.span.end();
  }

  snapshot(data: ShardSnapshotData): ReturnType<ShardLog["snapshot"]> {
    return this.inner.snapshot(data);
  }

  stats(): ShardLogStats {
    return this.inner.stats();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
