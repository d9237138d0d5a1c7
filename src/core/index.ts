/** The pure domain core: no I/O, no actors, no timers. */
export * from "./errors.ts";
export * from "./limits.ts";
export * from "./token/index.ts";
export * from "./connection/index.ts";
export * from "./graph/expansion.ts";
export * from "./store/index.ts";
