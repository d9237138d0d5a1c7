/**
 * A watchdog for reads from JetStream consumers (log replay, snapshot chunks): an ordered
 * consumer waits forever for a message that was purged under it, so a read that makes no
 * progress for `ms` is stopped and fails with a typed error instead of hanging a takeover.
 */
export interface StallWatch {
  /** Progress was made: the clock starts again. */
  touch(): void;
  /** True once the read was stopped for making no progress. */
  readonly stalled: boolean;
  clear(): void;
}

export function watchStall(ms: number, onStall: () => void): StallWatch {
  let stalled = false;
  const timer = setTimeout(() => {
    stalled = true;
    onStall();
  }, ms);
  timer.unref();
  return {
    touch() {
      if (!stalled) timer.refresh();
    },
    get stalled() {
      return stalled;
    },
    clear() {
      clearTimeout(timer);
    },
  };
}
