/** Shared helpers for benchmarks: the JSON-line format of DESIGN §8 and a few measurements. */
import { cpus, totalmem } from "node:os";
import { hugePageStatus } from "../../src/node/huge-pages.ts";

export interface BenchLine {
  readonly bench: string;
  readonly value: number;
  readonly unit: string;
  readonly [detail: string]: unknown;
}

/** Prints one figure as a JSON line on stdout. */
export function emit(bench: string, value: number, unit: string, details: Record<string, unknown> = {}): void {
  const line: BenchLine = { bench, value: round(value), unit, ...details };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function round(v: number): number {
  if (!Number.isFinite(v)) return v;
  const abs = Math.abs(v);
  const digits = abs >= 1000 ? 0 : abs >= 1 ? 3 : 6;
  return Number(v.toFixed(digits));
}

/** A short description of the machine, attached to figures that depend on it. */
export function machine(): { cpu: string; cores: number; memGiB: number; node: string; hugePages: boolean } {
  const c = cpus();
  // Whether this process's large buffers get transparent huge pages (npm run bench sets the tunable).
  return { cpu: c[0]?.model ?? "unknown", cores: c.length, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, hugePages: hugePageStatus().effective };
}

/** Runs the garbage collector when node was started with --expose-gc (the runner does). */
export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) {
    g();
    g();
  }
}

/** Wall-clock seconds of `fn`, best of `repeat` runs after `warmup` runs. */
export function bestOf(repeat: number, warmup: number, fn: () => void): number {
  for (let i = 0; i < warmup; i++) fn();
  let best = Infinity;
  for (let i = 0; i < repeat; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (s < best) best = s;
  }
  return best;
}

/** Resident set size in bytes, read once (never per item). */
export function rss(): number {
  return process.memoryUsage.rss();
}

/** V8 heap used plus external memory (which includes ArrayBuffers), in bytes. */
export function heapAndExternal(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/** Wall and CPU (user + system) seconds of one run. */
export interface Timing {
  readonly seconds: number;
  readonly cpuSeconds: number;
}

/** Wall and CPU seconds of `fn` (CPU ≪ wall means the process waited for a core). */
export function timeOnce(fn: () => void): Timing {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { seconds, cpuSeconds: (c.user + c.system) / 1e6 };
}

/**
 * Best wall and best CPU seconds of `fn` over `repeat` runs after `warmup` runs (each minimum
 * taken separately). On a shared machine the CPU figure is the steadier one: it does not count
 * time spent waiting for a core, though cache and memory-bandwidth contention still inflate it.
 * `before` runs untimed ahead of every run (e.g. to reset state).
 */
export function bestTiming(repeat: number, warmup: number, fn: () => void, before?: () => void): Timing {
  for (let i = 0; i < warmup; i++) {
    before?.();
    fn();
  }
  let seconds = Infinity;
  let cpuSeconds = Infinity;
  for (let i = 0; i < repeat; i++) {
    before?.();
    const t = timeOnce(fn);
    seconds = Math.min(seconds, t.seconds);
    cpuSeconds = Math.min(cpuSeconds, t.cpuSeconds);
  }
  return { seconds, cpuSeconds };
}

/** Details of a timing for a bench line: wall seconds, CPU seconds and the rate by CPU time. */
export function timingDetails(t: Timing, items: number): { seconds: number; cpu_seconds: number; per_cpu_second: number } {
  return { seconds: Number(t.seconds.toFixed(6)), cpu_seconds: Number(t.cpuSeconds.toFixed(6)), per_cpu_second: Math.round(items / t.cpuSeconds) };
}
