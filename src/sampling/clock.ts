/**
 * Injectable time and randomness. Samplers never read the clock per decision (a clock read costs
 * more than a whole decision); they take time at interval ticks and sweeps. Randomness for
 * consistent sampling comes from trace ids, so tests inject it through the id generator.
 */
import type { IdGenerator } from "@opentelemetry/sdk-trace-base";

/** Milliseconds on a monotonic scale. */
export interface Clock {
  now(): number;
}

export const SYSTEM_CLOCK: Clock = Object.freeze({ now: () => performance.now() });

/** A manually driven clock for tests and simulations. */
export class ManualClock implements Clock {
  constructor(private current = 0) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(ms: number): void {
    this.current = ms;
  }
}

/** Uniform numbers in [0, 1). */
export type RandomSource = () => number;

/** Small, fast, seedable PRNG (mulberry32); deterministic across runs and platforms. */
export function seededRandom(seed: number): RandomSource {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hex32(random: RandomSource): string {
  return Math.floor(random() * 4294967296)
    .toString(16)
    .padStart(8, "0");
}

/**
 * An OpenTelemetry IdGenerator driven by an injected random source, so tests and benchmarks get
 * reproducible trace ids (and therefore reproducible consistent-sampling decisions).
 */
export class SeededIdGenerator implements IdGenerator {
  constructor(private readonly random: RandomSource) {}

  generateTraceId(): string {
    for (;;) {
      const id = hex32(this.random) + hex32(this.random) + hex32(this.random) + hex32(this.random);
      if (id !== "00000000000000000000000000000000") return id;
    }
  }

  generateSpanId(): string {
    for (;;) {
      const id = hex32(this.random) + hex32(this.random);
      if (id !== "0000000000000000") return id;
    }
  }
}
