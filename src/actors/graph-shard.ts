/**
 * `GraphShardActor`: one virtual shard (`shard = id mod S`). It owns a `ShardStore` (its tokens,
 * the connections whose source it owns, mirrors of remote-source connections into its tokens) and
 * the store's spatial index, and its `ShardLog`.
 *
 * Writes: every change is resolved, applied to the store and appended to the log in one turn;
 * the reply waits for the append to be durable, but the turn does not (writes are pipelined, so
 * the log can group-commit what arrives together). Reads: answered in turn and released once
 * every mutation applied before them is durable (commit-wait; the log side is `shard-journal.ts`). A failed append
 * makes the shard read-only (writes get UNAVAILABLE with the reason; reads are still served).
 * Transactions spanning shards: `prepare` validates and fences the shard; writes arriving while
 * fenced wait in a bounded stash, in order, until the transaction commits, aborts or expires
 * (`shard-fence.ts`). After a restart, reads and writes wait for the node's edge reconciliation
 * (`shard-recovery-gate.ts`). See `shard-protocol.ts`.
 */
import { FailedPreconditionError, UnavailableError, toNeuroGraphError, type NeuroGraphError } from "../core/errors.ts";
import type { ConnectionLimits, TokenLimits } from "../core/limits.ts";
import { SpatialIndex } from "../core/spatial/index.ts";
import { ShardStore } from "../core/store/index.ts";
import { SPACES } from "../core/token/columns.ts";
import { Actor, REPLY_DEFERRED, defaultDecider, type ActorContext, type ReplyDeferred, type ReplyHandle, type ReplyOf } from "../runtime/index.ts";
import type { Logger } from "../telemetry/index.ts";
import { applyMutation } from "./apply-mutation.ts";
import { applyFieldMessage, fieldSnapshot, relogFieldState, replayFieldResult } from "./shard-field.ts";
import type { ShardGuard } from "./guardian/index.ts";
import type { ShardBoard } from "./shard-board.ts";
import { checkOp, type CheckLimits } from "./shard-checks.ts";
import { TransactionFence, type FencedWrite } from "./shard-fence.ts";
import { ShardJournal, opBytes, type SnapshotPolicy } from "./shard-journal.ts";
import type { ShardLog } from "./shard-log.ts";
import type { FieldApplyReply, LearnOp, LearnReply, MirrorRepairReply, PrepareReply, ShardMessage, WriteReply } from "./shard-protocol.ts";
import { guardedBatch, guardedCheck, runLearning } from "./shard-learning.ts";
import { readShard } from "./shard-reads.ts";
import { ShardRecoveryGate } from "./shard-recovery-gate.ts";
import { ownedRecordsTo, planMirrorRepair } from "./shard-repair.ts";
import { executeOp, type WriteOutcome } from "./shard-writes.ts";

export interface GraphShardEnv {
  readonly shard: number;
  readonly shardCount: number;
  /** The shard's log; shared by every incarnation (a restart recovers from it). */
  readonly log: ShardLog;
  readonly board: ShardBoard;
  readonly tokenLimits: TokenLimits;
  readonly connectionLimits: ConnectionLimits;
  /** Writes waiting behind a prepared transaction before senders get RESOURCE_EXHAUSTED. */
  readonly stashCapacity: number;
  /** Bytes appended but not yet durable before writes get RESOURCE_EXHAUSTED. */
  readonly maxPendingBytes: number;
  readonly snapshot?: SnapshotPolicy;
  readonly logger?: Logger;
  /** Unix seconds (validation of timestamps). */
  readonly nowSeconds?: () => number;
  /**
   * Recovery gate of the node (shared by every incarnation): while `open` is false, reads and
   * writes wait in a bounded queue (edge reconciliation runs, `router-repair.ts`) until the shard
   * gets `shard.open`. Absent: the shard serves as soon as it recovered.
   */
  readonly recovery?: { open: boolean };
  /**
   * The guardian in this shard: when set, writes are validated against the active constitution
   * (read once per batch) instead of `tokenLimits` / `connectionLimits`, every batch is counted
   * (one event per batch with rejections), the store's figures feed the quotas, and `shard.learn`
   * is served. Quota admission is the coordinator's (it sees the whole request); each write part
   * settles its share of the coordinator's reservation in the turn it applies (`guardedBatch`).
   */
  readonly guard?: ShardGuard;
}

const SNAPSHOT_TIMER = "snapshot";

export class GraphShardActor extends Actor<ShardMessage> {
  private store: ShardStore;
  private spatial: SpatialIndex;
  private journal: ShardJournal;
  private readonly fence: TransactionFence;
  private readonly gate: ShardRecoveryGate;
  /** The field engine's latest persisted state (kept by the shard it writes it to). */
  private fieldState: Uint8Array | undefined;

  constructor(private readonly env: GraphShardEnv) {
    super();
    this.store = this.emptyStore();
    this.spatial = new SpatialIndex(this.store);
    this.journal = new ShardJournal(env, 0);
    this.fence = new TransactionFence(env.shard, env.stashCapacity);
    this.gate = new ShardRecoveryGate(env.shard, env.recovery, env.stashCapacity);
  }

  private emptyStore(): ShardStore {
    return new ShardStore({ shard: this.env.shard, shardCount: this.env.shardCount, connectionLimits: this.env.connectionLimits });
  }

  override async preStart(ctx: ActorContext<ShardMessage>): Promise<void> {
    const { env } = this;
    env.board.setState(env.shard, "starting");
    let store = this.emptyStore();
    let fieldState: Uint8Array | undefined;
    const report = await env.log.recover({
      loadSnapshot: (snap) => {
        store = ShardStore.fromSnapshot(snap.tokens, snap.connections, {
          initialCapacity: snap.tokens.byteLength / 64 + (snap.headroomTokens ?? 0),
          shard: env.shard,
          shardCount: env.shardCount,
          connectionLimits: env.connectionLimits,
        });
      },
      loadStreamedSnapshot: (snap) => {
        // What ShardStore.fromSnapshot does, with the token records taken piece by piece.
        store = new ShardStore({
          initialCapacity: snap.tokenCount + (snap.headroomTokens ?? 0),
          initialConnectionCapacity: snap.connections.byteLength / 64,
          shard: env.shard,
          shardCount: env.shardCount,
          connectionLimits: env.connectionLimits,
        });
        for (const piece of snap.tokenPieces) store.insertRecords(piece, { allocateIds: false });
        store.connectRecords(snap.connections, { limits: null });
      },
      adoptSnapshot: (snap) => {
        // The tokens were loaded on a recovery thread (with room for the replay); connections here.
        store = new ShardStore({
          adoptTokens: snap.tokens,
          initialConnectionCapacity: snap.connections.byteLength / 64,
          shard: env.shard,
          shardCount: env.shardCount,
          connectionLimits: env.connectionLimits,
        });
        store.connectRecords(snap.connections, { limits: null });
      },
      apply: (mutation) => {
        if (mutation.kind === "field.result") fieldState = replayFieldResult(store, mutation.payload).state ?? fieldState;
        else applyMutation(store, mutation);
      },
    });
    this.store = store;
    this.fieldState = fieldState;
    this.spatial = new SpatialIndex(store);
    this.journal = new ShardJournal(env, report.lastLsn);
    for (const w of report.warnings) env.logger?.warn({ shard: env.shard }, w);
    env.logger?.debug({ shard: env.shard, ...report, tokens: store.size }, "shard recovered");
    const every = this.journal.snapshotCheckMs;
    if (every > 0) ctx.timers.startPeriodic(SNAPSHOT_TIMER, { type: "shard.snapshot-due" }, every);
    this.publish();
    env.board.setState(env.shard, "serving");
  }

  override preRestart(error: NeuroGraphError): void {
    const { board, shard } = this.env;
    board.restarts[shard] = (board.restarts[shard] ?? 0) + 1;
    board.setState(shard, "starting", `restarting after: ${error.message}`);
    this.env.logger?.error(
      { shard, err: error },
      this.journal.volatile ? "shard failed; restarting with a volatile log, so its tokens and connections are lost" : "shard failed; restarting and recovering from its log",
    );
  }

  override postStop(): void {
    this.env.board.setState(this.env.shard, "stopped");
  }

  receive(m: ShardMessage, ctx: ActorContext<ShardMessage>): ReplyOf<ShardMessage> | ReplyDeferred {
    switch (m.type) {
      case "shard.get":
      case "shard.expand":
      case "shard.connections":
      case "shard.spatial":
        if (this.gate.closed) return this.gate.hold(m, ctx);
        return this.answer(ctx, () => readShard(this.store, this.spatial, m));
      case "shard.edge-audit":
        return this.answer(ctx, () => ownedRecordsTo(this.store, m.targetShard, this.env.shardCount));
      case "shard.mirror-repair":
        return this.answer(ctx, () => this.repairMirrors(m.owned, m.fromShard));
      case "shard.unlink-dangling":
        this.journal.ensureWritable(m.keys.sources.length * 9);
        return this.answer(ctx, () => {
          const outcome = executeOp(this.store, { kind: "unlink", keys: m.keys }, { strict: false, keep: null }, this.limits());
          this.record(outcome);
          return outcome.reply;
        });
      case "shard.open":
        this.openGate(ctx);
        return undefined;
      case "shard.write":
      case "shard.prepare":
        if (this.gate.closed) return this.gate.hold(m, ctx);
        if (this.fence.current !== undefined) return this.fence.wait(m, ctx);
        return this.answer(ctx, () => this.runWrite(m, ctx));
      case "shard.commit": {
        const reply = this.answer(ctx, () => this.commit(m.txn, m.keep, m.release, ctx));
        if (this.fence.current === undefined) this.drainStash(ctx);
        return reply;
      }
      case "shard.abort": {
        const released = this.fence.current?.txn === m.txn;
        if (released) this.fence.release(ctx);
        const reply = this.answer(ctx, () => released);
        if (released) this.drainStash(ctx);
        return reply;
      }
      case "shard.field-snapshot":
        return this.answer(ctx, () => fieldSnapshot(this.store, this.journal.wait.appliedLsn, this.fieldState));
      case "shard.field-apply":
        return this.answer(ctx, () => this.applyField(m.payload, m.expectLsn));
      case "shard.fence-expired":
        if (this.fence.current?.txn === m.txn) {
          this.env.logger?.warn({ shard: this.env.shard, txn: m.txn }, "prepared transaction expired without commit or abort; released");
          this.fence.release(ctx);
          this.drainStash(ctx);
        }
        return undefined;
      case "shard.snapshot-due":
        this.snapshotted(this.journal.maybeSnapshot(this.store, true));
        return undefined;
      case "shard.learn":
        return this.answer(ctx, () => this.learn(m.op));
      case "shard.snapshot": {
        const reply = ctx.deferReply();
        this.journal.snapshotNow(this.store).then(
          (result) => reply.resolve(result),
          (err: unknown) => reply.reject(toNeuroGraphError(err)),
        );
        // The snapshot started in this turn (or was refused; an extra state record is harmless).
        this.snapshotted(!this.journal.volatile && this.journal.degraded === undefined);
        return REPLY_DEFERRED;
      }
    }
  }

  // ---- replies and commit-wait ---------------------------------------------------------------

  /** The reply now when everything applied is durable, else deferred until it is. */
  private answer<R>(ctx: ActorContext<ShardMessage>, run: () => R): R | ReplyDeferred {
    let value: R;
    try {
      value = run();
    } catch (err) {
      const error = toNeuroGraphError(err);
      // Bugs go to supervision at once (restart and recover from the log).
      if (this.journal.wait.clear || defaultDecider(error) !== "resume") throw error;
      this.journal.wait.hold(ctx.deferReply(), undefined, error);
      return REPLY_DEFERRED;
    }
    if (this.journal.wait.clear) return value;
    this.journal.wait.hold(ctx.deferReply(), value);
    return REPLY_DEFERRED;
  }

  /** Like `answer`, for a stashed write whose reply was already deferred. */
  private settle(handle: ReplyHandle<unknown>, run: () => unknown): void {
    let value: unknown;
    try {
      value = run();
    } catch (err) {
      const error = toNeuroGraphError(err);
      if (this.journal.wait.clear) handle.reject(error);
      else this.journal.wait.hold(handle, undefined, error);
      if (defaultDecider(error) !== "resume") this.env.logger?.error({ shard: this.env.shard, err: error }, "stashed write failed");
      return;
    }
    if (this.journal.wait.clear) handle.resolve(value);
    else this.journal.wait.hold(handle, value);
  }

  // ---- writes --------------------------------------------------------------------------------

  private limits(): CheckLimits {
    const now = this.env.nowSeconds?.() ?? Math.floor(Date.now() / 1000);
    const guard = this.env.guard;
    if (guard !== undefined) return guard.limits(now);
    return { tokens: this.env.tokenLimits, connections: this.env.connectionLimits, nowSeconds: now };
  }

  private runWrite(m: FencedWrite, ctx: ActorContext<ShardMessage>): WriteReply | PrepareReply {
    this.journal.ensureWritable(opBytes(m.op));
    if (m.type === "shard.write") {
      const outcome = executeOp(this.store, m.op, { strict: !m.partial, keep: null }, this.limits());
      this.record(outcome);
      if (this.env.guard !== undefined) guardedBatch(this.env.guard, m.op, outcome.reply.violations, outcome.reply.applied, !m.partial);
      return outcome.reply;
    }
    const check = checkOp(this.store, m.op, this.limits());
    // Rejections found while preparing are counted here; the commit counts what it applies.
    if (this.env.guard !== undefined) guardedCheck(this.env.guard, m.op, check, !m.partial);
    const anyValid = check.invalid.indexOf(0) >= 0;
    const fenced = m.partial ? anyValid : check.violations.length === 0;
    if (fenced) this.fence.set(m.txn, m.op, m.expiresAt, ctx);
    return { ...check, fenced };
  }

  private commit(txn: number, keep: Uint8Array | null, release: boolean, ctx: ActorContext<ShardMessage>): WriteReply {
    const fence = this.fence.current;
    if (fence?.txn !== txn) {
      throw new UnavailableError(`shard ${this.env.shard} holds no prepared transaction ${txn} (it expired or the shard restarted); retry the request`);
    }
    if (release) this.fence.release(ctx);
    if (this.journal.degraded !== undefined) this.journal.ensureWritable(0);
    // The fence kept every other write out since the check, so a strict apply succeeds; if it
    // did not, nothing was applied and the coordinator reports the disagreement.
    const outcome = executeOp(this.store, fence.op, { strict: true, keep }, this.limits());
    this.record(outcome);
    if (this.env.guard !== undefined) guardedBatch(this.env.guard, fence.op, outcome.reply.violations, outcome.reply.applied, true, keep);
    return outcome.reply;
  }

  private learn(op: LearnOp): LearnReply {
    const guard = this.env.guard;
    if (guard === undefined) throw new FailedPreconditionError(`shard ${this.env.shard} runs without a guardian, so it does not learn; start the node with its guardian`);
    const writes = op.kind === "activate" || op.kind === "feedback" || op.kind === "sweep";
    if (writes) this.journal.ensureWritable(op.kind === "sweep" ? 0 : op.keys.sources.length * 64);
    const outcome = runLearning(this.store, guard, op, Date.now());
    for (const mutation of outcome.mutations) this.journal.append(mutation);
    if (outcome.mutations.length > 0) this.publish();
    return outcome.reply;
  }

  /** Runs the writes that waited behind the fence, until one of them fences the shard again. */
  private drainStash(ctx: ActorContext<ShardMessage>): void {
    this.fence.drain((s) => this.settle(s.handle, () => this.runWrite(s.message, ctx)));
  }

  /** Recovery is over: serves the calls that waited, in arrival order (writes behind a fence wait on). */
  private openGate(ctx: ActorContext<ShardMessage>): void {
    for (const h of this.gate.open(Date.now())) {
      const m = h.message;
      if (m.type === "shard.write" || m.type === "shard.prepare") {
        if (this.fence.current !== undefined) this.fence.park({ message: m, handle: h.handle, deadline: h.deadline });
        else this.settle(h.handle, () => this.runWrite(m, ctx));
      } else {
        this.settle(h.handle, () => readShard(this.store, this.spatial, m));
      }
    }
  }

  /** Edge reconciliation at start (`router-repair.ts`): applies and logs what the mirrors need. */
  private repairMirrors(owned: Uint8Array, fromShard: number | undefined): MirrorRepairReply {
    const plan = planMirrorRepair(this.store, owned, fromShard === undefined ? undefined : { fromShard, shardCount: this.env.shardCount });
    let bytes = 0;
    for (const m of plan.mutations) bytes += m.kind === "connections.upsert" ? m.records.byteLength : m.kind === "connections.remove" ? m.sources.length * 9 : 0;
    if (bytes > 0) this.journal.ensureWritable(bytes);
    for (const mutation of plan.mutations) {
      applyMutation(this.store, mutation);
      this.record({ mutation, tokenIds: undefined });
    }
    return plan.reply;
  }

  /** Logs an applied outcome and updates the index and the board. */
  private record(outcome: Pick<WriteOutcome, "mutation" | "tokenIds">): void {
    const ids = outcome.tokenIds;
    if (ids !== undefined && ids.length > 0 && this.spatialBuilt()) {
      if (ids.length > 1024) this.spatial.invalidate();
      else this.spatial.noteChangedMany(ids);
    }
    if (outcome.mutation === undefined) return;
    this.journal.append(outcome.mutation);
    this.publish();
    this.snapshotted(this.journal.maybeSnapshot(this.store, false));
  }

  // ---- field engine --------------------------------------------------------------------------

  private applyField(bytes: Uint8Array, expectLsn: number): FieldApplyReply {
    const applied = applyFieldMessage(this.store, this.journal, bytes, expectLsn, this.fence.current !== undefined);
    if (applied === undefined) return { applied: false, lsn: this.journal.wait.appliedLsn };
    if (applied.state !== undefined) this.fieldState = applied.state;
    if (applied.moved !== undefined && applied.moved.length > 0 && this.spatialBuilt()) this.spatial.invalidate();
    this.publish();
    this.snapshotted(this.journal.maybeSnapshot(this.store, false));
    return { applied: true, lsn: this.journal.wait.appliedLsn };
  }

  /** The snapshot does not hold the field engine's state: log it again after the snapshot's LSN. */
  private snapshotted(started: boolean): void {
    relogFieldState(this.journal, this.fieldState, started);
  }

  /** Whether any space has an index to keep up to date (spaces are built by their first query). */
  private spatialBuilt(): boolean {
    for (let space = 0; space < SPACES; space++) if (this.spatial.isBuilt(space)) return true;
    return false;
  }

  /** Copies the shard's figures to the board. */
  private publish(): void {
    const wait = this.journal.wait;
    this.env.board.publish(this.env.shard, this.store, wait.appliedLsn, wait.durableLsn);
    this.env.guard?.report(this.store);
  }
}
