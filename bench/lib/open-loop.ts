/**
 * The open-loop schedule of the unary load generators: request i is *scheduled* at
 * t0 + i / rate and its latency is measured from that intended time, so time spent queued behind
 * a slow response counts (no coordinated omission). Warm-up requests are sent but not recorded.
 * Resolves with the JSON figures the parent bench reads.
 */
import * as hdr from "hdr-histogram-js";

export interface OpenLoopOptions {
  readonly rate: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Sends request `i`; calls `done(error)` exactly once when it completes (error undefined on success). */
  readonly send: (i: number, done: (error?: string) => void) => void;
  /** Prefix of the first error's line on stderr. */
  readonly label: string;
}

export interface OpenLoopResult {
  readonly requests: number;
  readonly errors: number;
  readonly throughput: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly clientCpuPerCallUs: number;
}

export async function runOpenLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const total = Math.round(o.rate * (o.seconds + o.warmupSeconds));
  const recordFrom = Math.round(o.rate * o.warmupSeconds);
  const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
  let sent = 0;
  let completed = 0;
  let errors = 0;
  let firstRecordedAt = 0;
  let lastDoneAt = 0;
  const t0 = nowUs() + 10_000;
  const cpu0 = process.cpuUsage();
  await new Promise<void>((resolve) => {
    const start = (i: number, intended: number): void => {
      let finished = false;
      o.send(i, (error) => {
        if (finished) return;
        finished = true;
        const done = nowUs();
        if (error !== undefined && errors++ === 0) process.stderr.write(`${o.label}: first error: ${error}\n`);
        if (i >= recordFrom) {
          histogram.recordValue(Math.max(1, done - intended));
          lastDoneAt = done;
        }
        if (++completed === total) resolve();
      });
    };
    const tick = (): void => {
      const now = nowUs();
      while (sent < total) {
        const intended = t0 + Math.floor((sent * 1e6) / o.rate);
        if (intended > now) break;
        if (sent === recordFrom) firstRecordedAt = intended;
        start(sent, intended);
        sent++;
      }
      if (sent < total) setTimeout(tick, 1);
    };
    setTimeout(tick, 10);
  });
  const cpu = process.cpuUsage(cpu0);
  const measured = total - recordFrom;
  return {
    requests: measured,
    errors,
    throughput: measured / ((lastDoneAt - firstRecordedAt) / 1e6),
    p50: histogram.getValueAtPercentile(50) / 1000,
    p99: histogram.getValueAtPercentile(99) / 1000,
    p999: histogram.getValueAtPercentile(99.9) / 1000,
    max: histogram.maxValue / 1000,
    clientCpuPerCallUs: (cpu.user + cpu.system) / total,
  };
}
