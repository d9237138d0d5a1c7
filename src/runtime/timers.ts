/**
 * Actor timers. A timer does not call into the actor: it puts a message in the actor's mailbox,
 * so the tick is processed in turn like any other message. At most one tick per timer waits in
 * the mailbox (a slow actor does not pile up ticks), which bounds timer messages by the number of
 * timers; they are therefore enqueued even into a full mailbox and never dropped. Cancelling a
 * timer (or restarting/stopping the actor) also discards its tick if one is still queued.
 */
import { ValidationError } from "../core/errors.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import type { Message } from "./message.ts";

export interface TimerScheduler<M extends Message> {
  /** Delivers `message` once after `delayMs`; replaces a timer with the same key. */
  startSingle(key: string, message: M, delayMs: number): void;
  /** Delivers `message` every `intervalMs`; replaces a timer with the same key. */
  startPeriodic(key: string, message: M, intervalMs: number): void;
  cancel(key: string): void;
  cancelAll(): void;
  isActive(key: string): boolean;
}

interface TimerEntry {
  readonly gen: number;
  readonly message: Message;
  /** 0 for single timers. */
  readonly intervalMs: number;
  handle: TimerHandle | undefined;
  /** A tick of this timer is in the mailbox. */
  queued: boolean;
}

/** Puts a tick in the mailbox (ignoring capacity); called by the timers of one actor. */
export type TickSink = (key: string, gen: number, message: Message) => void;

export class ActorTimers<M extends Message> implements TimerScheduler<M> {
  private readonly entries = new Map<string, TimerEntry>();
  private gen = 0;

  constructor(
    private readonly clock: Clock,
    private readonly sink: TickSink,
  ) {}

  startSingle(key: string, message: M, delayMs: number): void {
    this.start(key, message, checkDelay(key, delayMs, false), 0);
  }

  startPeriodic(key: string, message: M, intervalMs: number): void {
    const ms = checkDelay(key, intervalMs, true);
    this.start(key, message, ms, ms);
  }

  cancel(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    if (e.handle !== undefined) this.clock.clearTimeout(e.handle);
    this.entries.delete(key);
  }

  cancelAll(): void {
    for (const key of [...this.entries.keys()]) this.cancel(key);
  }

  isActive(key: string): boolean {
    return this.entries.has(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Called when a tick reaches the front of the mailbox: true when it should be processed
   * (its timer still exists in the same generation).
   */
  consume(key: string, gen: number): boolean {
    const e = this.entries.get(key);
    if (e === undefined || e.gen !== gen) return false;
    e.queued = false;
    if (e.intervalMs === 0) this.entries.delete(key);
    return true;
  }

  private start(key: string, message: Message, delayMs: number, intervalMs: number): void {
    this.cancel(key);
    const gen = ++this.gen;
    const entry: TimerEntry = { gen, message, intervalMs, handle: undefined, queued: false };
    this.entries.set(key, entry);
    entry.handle = this.clock.setTimeout(() => this.fire(key, gen), delayMs);
  }

  private fire(key: string, gen: number): void {
    const e = this.entries.get(key);
    if (e === undefined || e.gen !== gen) return;
    e.handle = e.intervalMs > 0 ? this.clock.setTimeout(() => this.fire(key, gen), e.intervalMs) : undefined;
    if (e.queued) return;
    e.queued = true;
    this.sink(key, gen, e.message);
  }
}

function checkDelay(key: string, ms: number, periodic: boolean): number {
  const ok = Number.isFinite(ms) && (periodic ? ms > 0 : ms >= 0);
  if (!ok) {
    throw ValidationError.of("timer", [
      {
        field: periodic ? "intervalMs" : "delayMs",
        value: String(ms),
        rule: "timer_delay",
        description: `timer "${key}": ${periodic ? "interval must be a finite number > 0" : "delay must be a finite number ≥ 0"} (milliseconds)`,
      },
    ]);
  }
  return ms;
}
