/**
 * The guardian's event stream: constitution changes, aggregated validation failures, quota
 * levels, cleanups and mutation-cap hits. Publishing never blocks and never waits for a reader:
 * every subscriber has its own bounded ring; when a slow subscriber's ring is full the oldest
 * event is dropped and the subscriber later reads one `dropped` marker saying how many it missed.
 */
import { CancelledError, ValidationError, type FieldViolation } from "../../core/errors.ts";

/** Quotas of the constitution, as named in events, errors and metrics. */
export const QUOTA_NAMES = ["tokens", "connections", "store_bytes", "memory_bytes"] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];

export type QuotaLevelName = "normal" | "soft" | "hard";

export interface RuleCount {
  readonly rule: string;
  readonly count: number;
}

export type ConstitutionAction = "update" | "rollback" | "switch_profile" | "restore";

export type GuardianEventBody =
  | {
      readonly kind: "constitution_updated";
      readonly action: ConstitutionAction;
      readonly fromVersion: number;
      readonly toVersion: number;
      readonly checksum: number;
      /** Profile name of the now active document (`default`, `explorer`, …). */
      readonly profile: string;
      readonly author: string;
      readonly comment: string;
    }
  | {
      /** One event per rejected batch (never per item). */
      readonly kind: "validation_failed";
      /** Who validated: `shard/3`, `guardian`, `learning`. */
      readonly source: string;
      /** What was validated: `token`, `connection`, `constitution`, `proposal`. */
      readonly itemKind: string;
      readonly items: number;
      readonly rejected: number;
      /** Strict mode (or a batch-level problem): nothing of the batch was applied. */
      readonly wholeBatch: boolean;
      /** Rejections by rule, most frequent first. */
      readonly rules: readonly RuleCount[];
      /** The first violation, as an example. */
      readonly sample: FieldViolation | undefined;
    }
  | {
      /** A quota changed level (soft threshold crossed, hard limit reached, back to normal). */
      readonly kind: "quota";
      readonly quota: QuotaName;
      readonly level: QuotaLevelName;
      readonly usage: number;
      readonly limit: number;
    }
  | {
      readonly kind: "cleanup_done";
      /** The quota whose soft threshold asked for it, or `manual`. */
      readonly trigger: string;
      readonly connectionsRemoved: number;
      readonly tokensRemoved: number;
      readonly durationMs: number;
      /** Set when the cleanup failed (what was removed before the failure is still counted). */
      readonly error: string | undefined;
    }
  | {
      /** The mutation-rate cap refused learning proposals (once per interval). */
      readonly kind: "mutation_cap";
      readonly cap: number;
      readonly intervalMs: number;
      readonly windowStartMs: number;
      readonly rejected: number;
    }
  | {
      /** Marker: this subscriber missed `count` events because it read too slowly. */
      readonly kind: "dropped";
      readonly count: number;
    };

export type GuardianEventKind = GuardianEventBody["kind"];
export const GUARDIAN_EVENT_KINDS: readonly GuardianEventKind[] = ["constitution_updated", "validation_failed", "quota", "cleanup_done", "mutation_cap", "dropped"];

export type GuardianEvent = GuardianEventBody & {
  /** 1 for the first event published; a marker carries the seq of the last event it replaces. */
  readonly seq: number;
  /** Epoch milliseconds. */
  readonly timeMs: number;
};

export interface SubscribeOptions {
  /** Events kept for this subscriber before the oldest are dropped (default: the hub's). */
  readonly capacity?: number;
  /** Only these kinds (default all). `dropped` markers are always delivered. */
  readonly kinds?: readonly GuardianEventKind[];
}

export const DEFAULT_SUBSCRIBER_CAPACITY = 1024;
const MAX_SUBSCRIBER_CAPACITY = 1 << 20;

function checkCapacity(capacity: number): number {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_SUBSCRIBER_CAPACITY) {
    throw ValidationError.of("event subscription", [
      { field: "capacity", value: String(capacity), rule: "capacity_range", description: `must be an integer from 1 to ${MAX_SUBSCRIBER_CAPACITY}` },
    ]);
  }
  return capacity;
}

/** The abort reason as an Error (a bare `abort()` gives a DOMException, which is one). */
function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new CancelledError("the wait for an event was aborted");
}

interface Waiter {
  resolve(e: GuardianEvent): void;
  reject(err: Error): void;
}

/** One reader of the stream. Read with `next()`, `poll()` or `for await`. */
export class EventSubscription implements AsyncIterable<GuardianEvent> {
  readonly capacity: number;
  private readonly ring: (GuardianEvent | undefined)[];
  private head = 0;
  private size = 0;
  /** Dropped since the last marker was read. */
  private missed = 0;
  private lastMissedSeq = 0;
  private totalDropped = 0;
  private waiter: Waiter | undefined;
  private closed = false;
  private readonly kinds: ReadonlySet<GuardianEventKind> | undefined;

  constructor(
    capacity: number,
    kinds: readonly GuardianEventKind[] | undefined,
    private readonly onClose: (s: EventSubscription) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.capacity = checkCapacity(capacity);
    this.ring = new Array<GuardianEvent | undefined>(this.capacity);
    this.kinds = kinds === undefined || kinds.length === 0 ? undefined : new Set(kinds);
  }

  /** Events waiting (a pending `dropped` marker counts as one). */
  get pending(): number {
    return this.size + (this.missed > 0 ? 1 : 0);
  }

  /** Events this subscriber lost to a full ring since it subscribed. */
  get dropped(): number {
    return this.totalDropped;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Called by the hub; O(1), never blocks. */
  deliver(e: GuardianEvent): void {
    if (this.closed || (this.kinds !== undefined && !this.kinds.has(e.kind))) return;
    const w = this.waiter;
    if (w !== undefined && this.size === 0 && this.missed === 0) {
      this.waiter = undefined;
      w.resolve(e);
      return;
    }
    if (this.size === this.capacity) {
      this.lastMissedSeq = this.ring[this.head]!.seq;
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.size--;
      this.missed++;
      this.totalDropped++;
    }
    this.ring[(this.head + this.size) % this.capacity] = e;
    this.size++;
  }

  private take(): GuardianEvent | undefined {
    if (this.missed > 0) {
      const marker: GuardianEvent = { kind: "dropped", count: this.missed, seq: this.lastMissedSeq, timeMs: this.now() };
      this.missed = 0;
      return marker;
    }
    if (this.size === 0) return undefined;
    const e = this.ring[this.head]!;
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    return e;
  }

  /** Everything waiting now (at most `max`), without waiting. */
  poll(max = Infinity): GuardianEvent[] {
    const out: GuardianEvent[] = [];
    while (out.length < max) {
      const e = this.take();
      if (e === undefined) break;
      out.push(e);
    }
    return out;
  }

  /**
   * The next event, waiting for one if needed. Rejects with the signal's reason when it aborts
   * and with `CancelledError` once the subscription is closed.
   */
  next(signal?: AbortSignal): Promise<GuardianEvent> {
    const ready = this.take();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.closed) return Promise.reject(new CancelledError("the event subscription is closed"));
    if (signal?.aborted === true) return Promise.reject(abortError(signal));
    if (this.waiter !== undefined) return Promise.reject(new CancelledError("an event subscription has one reader at a time; wait for the previous next() to settle"));
    return new Promise<GuardianEvent>((resolve, reject) => {
      const onAbort = (): void => {
        if (this.waiter === waiter) this.waiter = undefined;
        reject(signal === undefined ? new CancelledError("aborted") : abortError(signal));
      };
      const waiter: Waiter = {
        resolve: (e) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(e);
        },
        reject: (err) => {
          signal?.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      this.waiter = waiter;
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Stops delivery; a pending `next()` rejects with `CancelledError`. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ring.fill(undefined);
    this.size = 0;
    this.missed = 0;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(new CancelledError("the event subscription is closed"));
    this.onClose(this);
  }

  /** Iterates until the subscription closes or `signal` aborts (then the iteration ends). */
  async *events(signal?: AbortSignal): AsyncGenerator<GuardianEvent> {
    try {
      const aborted = (): boolean => signal?.aborted === true;
      while (!aborted()) {
        let e: GuardianEvent;
        try {
          e = await this.next(signal);
        } catch (err) {
          if (this.closed || aborted()) return;
          throw err;
        }
        yield e;
      }
    } finally {
      this.close();
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<GuardianEvent> {
    return this.events();
  }
}

export interface EventHubStats {
  readonly published: number;
  readonly subscribers: number;
  /** Events dropped across all subscribers (a slow subscriber's losses). */
  readonly dropped: number;
}

/** Fans events out to subscribers; publish is O(subscribers) and never waits. */
export class EventHub {
  readonly defaultCapacity: number;
  private readonly subscribers = new Set<EventSubscription>();
  private seq = 0;
  private droppedByClosed = 0;
  private readonly listeners: ((e: GuardianEvent) => void)[] = [];

  constructor(
    options: { readonly defaultCapacity?: number } = {},
    private readonly now: () => number = Date.now,
  ) {
    this.defaultCapacity = checkCapacity(options.defaultCapacity ?? DEFAULT_SUBSCRIBER_CAPACITY);
  }

  /** Publishes `body` (a fresh object: the hub stamps it with seq and time, it must not be reused). */
  publish(body: GuardianEventBody): GuardianEvent {
    // Stamping the caller's fresh object avoids a copy (object spread is slow in Node 20).
    const e = body as GuardianEventBody & { seq: number; timeMs: number };
    e.seq = ++this.seq;
    e.timeMs = this.now();
    for (const s of this.subscribers) s.deliver(e);
    for (const l of this.listeners) l(e);
    return e;
  }

  /**
   * Synchronous observers of every event (the black-box recorder, metrics). They run inside
   * `publish` and must be quick and must not throw.
   */
  onPublish(listener: (e: GuardianEvent) => void): void {
    this.listeners.push(listener);
  }

  subscribe(options: SubscribeOptions = {}): EventSubscription {
    const s = new EventSubscription(options.capacity ?? this.defaultCapacity, options.kinds, (closed) => {
      this.droppedByClosed += closed.dropped;
      this.subscribers.delete(closed);
    }, this.now);
    this.subscribers.add(s);
    return s;
  }

  stats(): EventHubStats {
    let dropped = this.droppedByClosed;
    for (const s of this.subscribers) dropped += s.dropped;
    return { published: this.seq, subscribers: this.subscribers.size, dropped };
  }

  /** Closes every subscription (node shutdown). */
  closeAll(): void {
    for (const s of [...this.subscribers]) s.close();
  }
}

/** Rejections by rule, most frequent first (ties by rule name), from a batch's violations. */
export function countRules(violations: readonly FieldViolation[]): RuleCount[] {
  const counts = new Map<string, number>();
  for (const v of violations) counts.set(v.rule, (counts.get(v.rule) ?? 0) + 1);
  return [...counts].map(([rule, count]) => ({ rule, count })).sort((a, b) => b.count - a.count || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0));
}
