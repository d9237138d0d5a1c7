/** The pure domain core: no I/O, no actors, no timers. */
export * from "./errors.ts";
export * from "./limits.ts";
export * from "./util/index.ts";
export * from "./token/index.ts";
export * from "./connection/index.ts";
export * from "./constitution/index.ts";
export * from "./graph/index.ts";
export * from "./spatial/index.ts";
export * from "./store/index.ts";
export * from "./field/index.ts";
