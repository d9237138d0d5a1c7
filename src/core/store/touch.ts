/**
 * Cache-line touching. Batch operations first sweep over what they are about to read with
 * small loops of independent loads, so the processor keeps many cache (and TLB) misses in flight,
 * then do the real work from cache. A load whose value is unused may be dropped by the compiler,
 * so the sweeps fold their values into this sink.
 */
export const touchSink = { value: 0 };
