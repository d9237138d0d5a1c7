/**
 * Request/reply over one wildcard inbox subscription (`_INBOX.<nuid>.*`), with deadlines kept by
 * the runtime's `DeadlineTimers` (a handful of timers whatever the request rate) instead of the
 * client's `request()`, which arms a timer and builds an `Error` (with a stack trace) for every
 * request, even a successful one: on loopback that was the largest cost of a remote ask.
 * "No responders" is the server's 503 status message on the reply subject.
 */
import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { systemClock, type Clock } from "../clock.ts";
import { DeadlineTimers, type DeadlineItem, type DeadlineList } from "../deadlines.ts";

/** `moved`: the addressee's owner changed while the request was in flight (see `failSent`). */
export type RequestFailure = "timeout" | "no_responders" | "closed" | "moved";

export interface ReplyHandler {
  reply(msg: Msg): void;
  fail(reason: RequestFailure, detail?: unknown): void;
}

class PendingRequest implements DeadlineItem {
  dlList: DeadlineList | undefined = undefined;
  dlPrev: DeadlineItem | undefined = undefined;
  dlNext: DeadlineItem | undefined = undefined;

  constructor(
    readonly token: string,
    readonly subject: string,
    readonly sentAt: number,
    readonly deadline: number,
    readonly handler: ReplyHandler,
    private readonly mux: ReplyMux,
  ) {}

  expired(): void {
    this.mux.settle(this)?.handler.fail("timeout");
  }
}

export class ReplyMux {
  private readonly prefix: string;
  private readonly sub: Subscription;
  private readonly pending = new Map<string, PendingRequest>();
  private readonly timers: DeadlineTimers;
  private seq = 0;
  /** Replies that arrived after their request timed out or was cancelled. */
  lateReplies = 0;

  constructor(
    private readonly nc: NatsConnection,
    clock: Clock = systemClock,
  ) {
    this.timers = new DeadlineTimers(clock);
    this.prefix = `${createInbox()}.`;
    this.sub = nc.subscribe(`${this.prefix}*`, {
      callback: (err, msg) => {
        if (err === null) this.onReply(msg);
      },
    });
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * Publishes `data` to `subject` with a reply subject and calls `handler` once: with the reply,
   * or with a failure at `deadline` (epoch ms), on "no responders", or when the mux closes.
   * Throws what `publish` throws (closed connection, payload too large); the handler is then
   * not called.
   */
  request(subject: string, data: Uint8Array, headers: MsgHdrs | undefined, deadline: number, handler: ReplyHandler): void {
    const token = (++this.seq).toString(36);
    const p = new PendingRequest(token, subject, Date.now(), deadline, handler, this);
    this.nc.publish(subject, data, headers === undefined ? { reply: this.prefix + token } : { reply: this.prefix + token, headers });
    this.pending.set(token, p);
    this.timers.track(p);
  }

  /**
   * Fails with `moved` the requests to `subject` sent at or before `sentBefore` and still waiting:
   * their addressee changed hands, and a message NATS had in flight to the old owner when it
   * unsubscribed is dropped without a reply. A scan over what is pending: owners change rarely.
   */
  failSent(subject: string, sentBefore: number): number {
    let failed = 0;
    for (const p of [...this.pending.values()]) {
      if (p.subject !== subject || p.sentAt > sentBefore) continue;
      this.settle(p)?.handler.fail("moved");
      failed++;
    }
    return failed;
  }

  /** Fails every pending request with `closed` and stops listening. */
  close(detail?: unknown): void {
    for (const p of [...this.pending.values()]) this.settle(p)?.handler.fail("closed", detail);
    if (!this.nc.isClosed()) this.sub.unsubscribe();
  }

  /** @internal Removes `p` if still pending; returns it then. */
  settle(p: PendingRequest): PendingRequest | undefined {
    if (this.pending.get(p.token) !== p) return undefined;
    this.pending.delete(p.token);
    this.timers.untrack(p);
    return p;
  }

  private onReply(msg: Msg): void {
    const p = this.pending.get(msg.subject.slice(this.prefix.length));
    if (p === undefined) {
      this.lateReplies++;
      return;
    }
    this.settle(p);
    if (msg.data.length === 0 && msg.headers?.code === 503) p.handler.fail("no_responders");
    else p.handler.reply(msg);
  }
}
