/**
 * One worker of a load run: runs its share of the plan (open or closed loop) and records the
 * latency of each measured operation in HDR histograms (one per op kind).
 *
 * Open loop: operation k of the run is *intended* to start at `schedule.offsetMs(k)`; worker w
 * takes k ≡ w (mod workers). Its latency is measured from that intended time, so time the op
 * spent waiting — for a stalled server, a full in-flight window, or a busy client — is counted
 * (coordinated omission corrected at the source, as wrk2 does).
 * Closed loop: `clients` loops each send, wait for the reply, send again; latency is measured
 * from the actual send (what a closed-loop tool can measure; its percentiles hide stalls).
 */
import { performance } from "node:perf_hooks";
import type { NatsConnection } from "@nats-io/transport-node";
import type { NeuroGraphClient } from "../client/index.ts";
import { Random } from "./data.ts";
import { encodeHistogram, newHistogram, recordUs, type Histogram } from "./histogram.ts";
import { checkBatchFits, loadNatsConnection } from "./nats-ops.ts";
import { errorCode, loadClient, makeOperation, MixPicker, type Operation } from "./ops.ts";
import { NATS_OPS, shareOf, type LoadPlan } from "./plan.ts";
import type { FromWorker, OpResult, WorkerResult } from "./protocol.ts";
import { ArrivalSchedule } from "./schedule.ts";

const PROGRESS_EVERY_MS = 1000;
/** An open-loop send this late (with a free slot) means the worker could not keep up. */
const LATE_SEND_MS = 10;

interface OpState {
  readonly run: Operation;
  readonly histogram: Histogram;
  count: number;
  errors: number;
  tokens: number;
}

export class LoadWorker {
  readonly #plan: LoadPlan;
  readonly #index: number;
  readonly #send: (msg: FromWorker) => void;
  readonly #rng: Random;
  readonly #picker: MixPicker;
  #clients: NeuroGraphClient[] = [];
  #nats: NatsConnection[] = [];
  #ops: OpState[] = [];
  #stopped = false;
  #t0 = 0;
  #inFlight = 0;
  #waiters: (() => void)[] = [];
  readonly #errorsByCode: Record<string, number> = {};
  readonly #errorSamples: Record<string, string> = {};
  #measuredFromMs = Infinity;
  #measuredToMs = 0;
  #started = 0;
  #windowCompletions = 0;
  #windowTokens = 0;
  #lateSends = 0;
  #maxSendLagUs = 0;
  #queued = 0;
  #peakRss = 0;
  // Progress since the last report (all phases).
  #intervalDone = 0;
  #intervalErrors = 0;
  #interval = newHistogram();

  constructor(plan: LoadPlan, index: number, send: (msg: FromWorker) => void) {
    this.#plan = plan;
    this.#index = index;
    this.#send = send;
    this.#rng = new Random(plan.seed * 1_000_003 + index * 7919 + 17);
    this.#picker = new MixPicker(plan.mix);
  }

  /** Connects the worker's clients (gRPC and/or NATS, as its ops need) and builds its operations. */
  async prepare(): Promise<void> {
    const plan = this.#plan;
    const isNats = (op: string): boolean => (NATS_OPS as readonly string[]).includes(op);
    const needsGrpc = plan.mix.some((m) => !isNats(m.op));
    const needsNats = plan.mix.some((m) => isNats(m.op));
    for (let i = 0; i < plan.connections; i++) {
      if (needsGrpc) this.#clients.push(await loadClient(plan));
      if (needsNats && plan.nats !== null) {
        const nc = await loadNatsConnection(plan.nats, `neurograph-load-${this.#index}-${i}`, plan.timeoutMs);
        this.#nats.push(nc);
        checkBatchFits(nc, plan.batch);
      }
    }
    const conns = { clients: this.#clients, nats: this.#nats, producer: `neurograph-load-${this.#index}` };
    this.#ops = plan.mix.map((m) => ({ run: makeOperation(m.op, plan, conns, this.#rng), histogram: newHistogram(), count: 0, errors: 0, tokens: 0 }));
  }

  /** Closes every connection (NATS ones drain what they still buffer). */
  async close(): Promise<void> {
    for (const c of this.#clients) c.close();
    await Promise.all(this.#nats.filter((nc) => !nc.isClosed()).map((nc) => nc.drain().catch(() => nc.close())));
  }

  stop(): void {
    this.#stopped = true;
  }

  /** Runs from `t0` (a `performance.now()` time) and returns the result. */
  async run(t0: number): Promise<WorkerResult> {
    this.#t0 = t0;
    const cpu = process.cpuUsage();
    const progress = setInterval(() => this.#progress(), PROGRESS_EVERY_MS);
    try {
      await sleepUntil(t0);
      if (this.#plan.mode === "open") await this.#openLoop();
      else await this.#closedLoop();
      await this.#drain();
    } finally {
      clearInterval(progress);
      this.#progress();
      await this.close();
    }
    const used = process.cpuUsage(cpu);
    this.#peakRss = Math.max(this.#peakRss, process.memoryUsage().rss);
    const ops: OpResult[] = this.#ops.map((s, i) => ({ op: this.#plan.mix[i]!.op, count: s.count, errors: s.errors, tokens: s.tokens, histogram: encodeHistogram(s.histogram) }));
    return {
      index: this.#index,
      ops,
      errorsByCode: this.#errorsByCode,
      errorSamples: this.#errorSamples,
      measuredFromMs: Number.isFinite(this.#measuredFromMs) ? this.#measuredFromMs : 0,
      measuredToMs: this.#measuredToMs,
      windowCompletions: this.#windowCompletions,
      windowTokens: this.#windowTokens,
      started: this.#started,
      lateSends: this.#lateSends,
      maxSendLagUs: Math.round(this.#maxSendLagUs),
      queued: this.#queued,
      cpuUserUs: used.user,
      cpuSystemUs: used.system,
      peakRssBytes: this.#peakRss,
    };
  }

  #now(): number {
    return performance.now() - this.#t0;
  }

  async #openLoop(): Promise<void> {
    const plan = this.#plan;
    const schedule = new ArrivalSchedule(plan.rate, plan.rampUpMs, plan.durationMs, plan.count);
    const workers = plan.workers;
    const mine = schedule.opsOfWorker(this.#index, workers);
    const cap = Math.max(1, shareOf(plan.maxInFlight, workers, this.#index));
    for (let j = 0; j < mine && !this.#stopped; j++) {
      const k = this.#index + j * workers;
      const intended = schedule.offsetMs(k);
      let now = this.#now();
      if (intended > now) {
        await sleepUntil(this.#t0 + intended);
        now = this.#now();
      }
      if (this.#inFlight >= cap) {
        this.#queued++;
        while (this.#inFlight >= cap) await new Promise<void>((resolve) => this.#waiters.push(resolve));
      } else {
        const lag = now - intended;
        if (lag > LATE_SEND_MS) this.#lateSends++;
        if (lag * 1000 > this.#maxSendLagUs) this.#maxSendLagUs = lag * 1000;
      }
      this.#launch(intended, k >= schedule.rampOps);
    }
  }

  async #closedLoop(): Promise<void> {
    const plan = this.#plan;
    const clients = shareOf(plan.concurrency, plan.workers, this.#index);
    const endMs = plan.durationMs === null ? Infinity : plan.rampUpMs + plan.durationMs;
    let remaining = plan.count === null ? Infinity : shareOf(plan.count, plan.workers, this.#index);
    const loops: Promise<void>[] = [];
    for (let c = 0; c < clients; c++) {
      // Clients join evenly over the ramp-up (client c of all workers' clients).
      const global = this.#index + c * plan.workers;
      const joinMs = plan.rampUpMs === 0 ? 0 : (plan.rampUpMs * global) / plan.concurrency;
      loops.push(
        (async () => {
          await sleepUntil(this.#t0 + joinMs);
          while (!this.#stopped) {
            const now = this.#now();
            if (now >= endMs) return;
            const measured = now >= plan.rampUpMs;
            if (measured) {
              if (remaining <= 0) return;
              remaining--;
            }
            await this.#execute(now, measured);
          }
        })(),
      );
    }
    await Promise.all(loops);
  }

  #launch(intendedMs: number, measured: boolean): void {
    void this.#execute(intendedMs, measured);
  }

  /** Runs one op; latency from `fromMs` (intended or actual send, ms after t0). */
  async #execute(fromMs: number, measured: boolean): Promise<void> {
    const i = this.#picker.pick(this.#rng);
    const state = this.#ops[i]!;
    this.#inFlight++;
    if (measured) {
      this.#started++;
      if (fromMs < this.#measuredFromMs) this.#measuredFromMs = fromMs;
    }
    let failed = false;
    let tokens = 0;
    try {
      tokens = await state.run();
    } catch (err) {
      failed = true;
      const code = errorCode(err);
      this.#errorsByCode[code] = (this.#errorsByCode[code] ?? 0) + 1;
      this.#errorSamples[code] ??= err instanceof Error ? err.message : String(err);
    }
    const end = this.#now();
    const us = (end - fromMs) * 1000;
    this.#inFlight--;
    this.#waiters.shift()?.();
    this.#intervalDone++;
    if (failed) this.#intervalErrors++;
    recordUs(this.#interval, us);
    const plan = this.#plan;
    if (plan.durationMs !== null && end >= plan.rampUpMs && end <= plan.rampUpMs + plan.durationMs) {
      this.#windowCompletions++;
      this.#windowTokens += tokens;
    }
    if (!measured) return;
    recordUs(state.histogram, us);
    state.count++;
    state.tokens += tokens;
    if (failed) state.errors++;
    if (end > this.#measuredToMs) this.#measuredToMs = end;
  }

  async #drain(): Promise<void> {
    while (this.#inFlight > 0) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  #progress(): void {
    const rss = process.memoryUsage().rss;
    if (rss > this.#peakRss) this.#peakRss = rss;
    this.#send({ type: "progress", index: this.#index, done: this.#intervalDone, errors: this.#intervalErrors, histogram: encodeHistogram(this.#interval), inFlight: this.#inFlight });
    this.#intervalDone = 0;
    this.#intervalErrors = 0;
    this.#interval = newHistogram();
  }
}

/** Resolves at `performance.now() >= at` (setTimeout for the bulk, then a tight yield). */
async function sleepUntil(at: number): Promise<void> {
  for (;;) {
    const left = at - performance.now();
    if (left <= 0) return;
    await new Promise<void>((resolve) => (left > 1.5 ? setTimeout(resolve, left - 1) : setImmediate(resolve)));
  }
}
