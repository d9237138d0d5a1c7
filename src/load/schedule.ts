/**
 * The open-loop arrival schedule: operation k (0-based, over all workers) is *intended* to start
 * at `offsetMs(k)` after the run's start, whatever happened to earlier operations. During the
 * ramp-up the rate grows linearly from 0 to `rate`, so the cumulative count is rate·t²/(2T)
 * until T and rate·T/2 + rate·(t − T) after; `offsetMs` is its inverse. Latency is measured from
 * the intended time (as wrk2 does), so a stalled server cannot hide the requests it delayed:
 * coordinated omission is corrected at the source, not estimated afterwards.
 *
 * Worker w of W takes the operations k ≡ w (mod W), so the workers' arrivals interleave into
 * one uniform stream at the total rate.
 */

export class ArrivalSchedule {
  /** Operations per millisecond. */
  readonly #perMs: number;
  readonly #rampMs: number;
  /** Operations scheduled during the ramp-up (not recorded). */
  readonly rampOps: number;
  /** All operations of the run (ramp-up included). */
  readonly totalOps: number;

  /** `durationMs` or `count` decides the end of the measured phase (the other is null). */
  constructor(rate: number, rampUpMs: number, durationMs: number | null, count: number | null) {
    this.#perMs = rate / 1000;
    this.#rampMs = rampUpMs;
    const rampCumulative = (this.#perMs * rampUpMs) / 2;
    this.rampOps = Math.ceil(rampCumulative);
    this.totalOps = count !== null ? this.rampOps + count : Math.ceil(rampCumulative + this.#perMs * (durationMs ?? 0));
  }

  /** Intended start of operation k, in ms after the run's start. */
  offsetMs(k: number): number {
    const rampCumulative = (this.#perMs * this.#rampMs) / 2;
    if (k < rampCumulative) return Math.sqrt((2 * k * this.#rampMs) / this.#perMs);
    return this.#rampMs + (k - rampCumulative) / this.#perMs;
  }

  /** Start of the measured phase, in ms after the run's start. */
  get measureStartMs(): number {
    return this.#rampMs;
  }

  /** Operations of worker `w` of `workers` (k ≡ w mod workers, k < totalOps). */
  opsOfWorker(w: number, workers: number): number {
    return w >= this.totalOps ? 0 : Math.floor((this.totalOps - 1 - w) / workers) + 1;
  }
}
