/**
 * The black box: a bounded ring of recent significant events (actor restarts, quota events, WAL
 * errors, constitution changes, slow steps, recovered exceptions, fatal errors), dumped as pretty
 * JSON into `<data-dir>/crash/` on request (AdminService), on SIGUSR2 and on a fatal error.
 *
 * Unlike the original recorder, dumps never overwrite each other (exclusive create, a per-process
 * sequence number and the pid in the name), land in the data directory rather than the working
 * directory, and are fsynced together with their directory entry.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from "node:fs";
import { mkdir, open } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { NeuroGraphError, ValidationError } from "../core/errors.ts";

export type BlackBoxEventKind =
  | "actor_restart"
  | "quota"
  | "wal_error"
  | "constitution_change"
  | "slow_step"
  | "recovered_exception"
  | "fatal"
  | "generic";

export type BlackBoxAttributeValue = string | number | boolean | null;
export type BlackBoxAttributes = Readonly<Record<string, BlackBoxAttributeValue>>;

export interface BlackBoxEvent {
  /** 1 for the first event ever recorded; gaps show what the ring dropped. */
  readonly seq: number;
  /** ISO 8601 time of recording. */
  readonly time: string;
  readonly kind: BlackBoxEventKind;
  /** Who reported it, e.g. `shard/7`, `guardian`, `wal/3`. */
  readonly source: string;
  readonly message: string;
  readonly attributes: BlackBoxAttributes;
}

export interface BlackBoxStats {
  readonly capacity: number;
  readonly size: number;
  /** Events recorded since start (including dropped ones). */
  readonly recorded: number;
  /** Events overwritten because the ring was full. */
  readonly dropped: number;
}

export interface BlackBoxOptions {
  /** The node's data directory; dumps go to `<dataDir>/crash/`. */
  readonly dataDir: string;
  /** Ring size; default 1000. */
  readonly capacity?: number;
  /** Epoch milliseconds; injectable for tests. */
  readonly clock?: () => number;
}

export interface BlackBoxDump {
  readonly path: string;
  readonly events: number;
}

const MAX_TEXT = 8192;

function clip(text: string): string {
  return text.length <= MAX_TEXT ? text : `${text.slice(0, MAX_TEXT)}… (${text.length - MAX_TEXT} more characters)`;
}

/** name, message, code and stack of anything thrown, as black-box attributes. */
export function errorAttributes(err: unknown): Record<string, BlackBoxAttributeValue> {
  if (err instanceof Error) {
    const attrs: Record<string, BlackBoxAttributeValue> = { error_name: err.name, error_message: err.message };
    if (err instanceof NeuroGraphError) attrs.error_code = err.code;
    if (err.stack !== undefined) attrs.stack = err.stack;
    if (err.cause !== undefined) attrs.cause = err.cause instanceof Error ? `${err.cause.name}: ${err.cause.message}` : describeValue(err.cause);
    return attrs;
  }
  return { error_name: typeof err, error_message: describeValue(err) };
}

/** A readable rendering of a thrown non-Error value (objects as JSON, not `[object Object]`). */
function describeValue(v: unknown): string {
  if (typeof v === "object" && v !== null) {
    try {
      return JSON.stringify(v) ?? Object.prototype.toString.call(v);
    } catch {
      return Object.prototype.toString.call(v);
    }
  }
  return String(v);
}

/** `Name: message` of anything thrown. */
export function errorSummary(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : `non-error value thrown: ${describeValue(err)}`;
}

export class BlackBox {
  readonly capacity: number;
  readonly crashDir: string;
  private readonly ring: (BlackBoxEvent | undefined)[];
  private head = 0;
  private size = 0;
  private recorded = 0;
  private dropped = 0;
  private dumpSeq = 0;
  private readonly clock: () => number;

  constructor(options: BlackBoxOptions) {
    const capacity = options.capacity ?? 1000;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1_000_000) {
      throw ValidationError.of("black box options", [
        { field: "capacity", value: String(capacity), rule: "capacity_range", description: "must be an integer from 1 to 1000000" },
      ]);
    }
    this.capacity = capacity;
    this.ring = new Array<BlackBoxEvent | undefined>(capacity);
    this.crashDir = join(options.dataDir, "crash");
    this.clock = options.clock ?? Date.now;
  }

  /** Records one event; the oldest is dropped when the ring is full. Never throws on bad attributes. */
  record(kind: BlackBoxEventKind, source: string, message: string, attributes: BlackBoxAttributes = {}): void {
    const attrs: Record<string, BlackBoxAttributeValue> = {};
    for (const [k, v] of Object.entries(attributes)) attrs[k] = typeof v === "string" ? clip(v) : v;
    this.recorded++;
    const event: BlackBoxEvent = {
      seq: this.recorded,
      time: new Date(this.clock()).toISOString(),
      kind,
      source,
      message: clip(message),
      attributes: attrs,
    };
    const slot = (this.head + this.size) % this.capacity;
    if (this.size === this.capacity) {
      this.head = (this.head + 1) % this.capacity;
      this.dropped++;
    } else {
      this.size++;
    }
    this.ring[slot] = event;
  }

  actorRestart(actor: string, error: unknown, attributes: BlackBoxAttributes = {}): void {
    this.record("actor_restart", actor, `actor ${actor} restarted after ${errorSummary(error)}`, { ...errorAttributes(error), ...attributes });
  }

  quota(quota: string, level: "soft" | "hard", usage: number, limit: number, source = "guardian"): void {
    this.record("quota", source, `quota ${quota} crossed its ${level} threshold: ${usage} of ${limit}`, { quota, level, usage, limit });
  }

  walError(source: string, error: unknown, attributes: BlackBoxAttributes = {}): void {
    this.record("wal_error", source, `WAL error in ${source}: ${errorSummary(error)}`, { ...errorAttributes(error), ...attributes });
  }

  constitutionChange(fromVersion: number, toVersion: number, action: string, attributes: BlackBoxAttributes = {}): void {
    this.record("constitution_change", "guardian", `constitution ${action}: version ${fromVersion} → ${toVersion}`, {
      from_version: fromVersion,
      to_version: toVersion,
      action,
      ...attributes,
    });
  }

  slowStep(source: string, seconds: number, thresholdSeconds: number, attributes: BlackBoxAttributes = {}): void {
    this.record("slow_step", source, `${source} took ${seconds.toFixed(3)} s (threshold ${thresholdSeconds} s)`, {
      seconds,
      threshold_seconds: thresholdSeconds,
      ...attributes,
    });
  }

  recoveredException(source: string, error: unknown, attributes: BlackBoxAttributes = {}): void {
    this.record("recovered_exception", source, `recovered from ${errorSummary(error)}`, { ...errorAttributes(error), ...attributes });
  }

  /** Events, oldest first (copies of the ring, not live views). */
  events(): BlackBoxEvent[] {
    const out: BlackBoxEvent[] = [];
    for (let i = 0; i < this.size; i++) {
      const e = this.ring[(this.head + i) % this.capacity];
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  stats(): BlackBoxStats {
    return { capacity: this.capacity, size: this.size, recorded: this.recorded, dropped: this.dropped };
  }

  /** Empties the ring; the totals (`recorded`, `dropped`) are kept. */
  clear(): void {
    this.ring.fill(undefined);
    this.head = 0;
    this.size = 0;
  }

  private document(reason: string, details: Record<string, unknown> | undefined, time: number): string {
    const mem = process.memoryUsage();
    return `${JSON.stringify(
      {
        format: "neurograph.blackbox/1",
        reason,
        time: new Date(time).toISOString(),
        ...(details === undefined ? {} : { details }),
        process: {
          pid: process.pid,
          ppid: process.ppid,
          hostname: hostname(),
          platform: process.platform,
          arch: process.arch,
          node: process.version,
          argv: process.argv,
          cwd: process.cwd(),
          uptime_s: process.uptime(),
          memory: { rss: mem.rss, heap_total: mem.heapTotal, heap_used: mem.heapUsed, external: mem.external, array_buffers: mem.arrayBuffers },
        },
        stats: this.stats(),
        events: this.events(),
      },
      null,
      2,
    )}\n`;
  }

  private fileName(time: number): string {
    this.dumpSeq++;
    const iso = new Date(time).toISOString().replace(/:/g, "-");
    return `blackbox-${iso}-${process.pid}-${this.dumpSeq}.json`;
  }

  /**
   * Writes a dump synchronously (the fatal path: nothing else may run first) and returns its
   * path. Creates the file exclusively, so an existing dump is never replaced.
   */
  dumpSync(reason: string, details?: Record<string, unknown>): BlackBoxDump {
    const time = this.clock();
    const text = this.document(reason, details, time);
    mkdirSync(this.crashDir, { recursive: true });
    for (let attempt = 0; ; attempt++) {
      const path = join(this.crashDir, this.fileName(time));
      let fd: number;
      try {
        fd = openSync(path, "wx");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST" && attempt < 1000) continue;
        throw err;
      }
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      syncDirSync(this.crashDir);
      return { path, events: this.size };
    }
  }

  /** Writes a dump without blocking the event loop (AdminService, SIGUSR2). */
  async dump(reason: string, details?: Record<string, unknown>): Promise<BlackBoxDump> {
    const time = this.clock();
    const text = this.document(reason, details, time);
    const events = this.size;
    await mkdir(this.crashDir, { recursive: true });
    for (let attempt = 0; ; attempt++) {
      const path = join(this.crashDir, this.fileName(time));
      let file;
      try {
        file = await open(path, "wx");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST" && attempt < 1000) continue;
        throw err;
      }
      try {
        await file.writeFile(text);
        await file.sync();
      } finally {
        await file.close();
      }
      const dir = await open(this.crashDir, "r");
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
      return { path, events };
    }
  }

  /**
   * Dumps on `signal` (default SIGUSR2) and logs where. Returns a function that removes the
   * handler. While installed the signal no longer terminates the process.
   */
  installSignalHandler(options: { readonly signal?: NodeJS.Signals; readonly logger?: Logger } = {}): () => void {
    const signal = options.signal ?? "SIGUSR2";
    const handler = (): void => {
      this.dump(`signal ${signal}`).then(
        (d) => options.logger?.info({ path: d.path, events: d.events }, `black box dumped on ${signal}`),
        (err: unknown) => options.logger?.error({ err }, `black box dump on ${signal} failed`),
      );
    };
    process.on(signal, handler);
    return () => {
      process.off(signal, handler);
    };
  }
}

function syncDirSync(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
