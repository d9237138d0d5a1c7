/** The field engine's worker pool (Piscina over SharedArrayBuffers). */
export { FieldPool, defaultFieldThreads, type FieldPoolOptions, type FieldStepProfile } from "./field-pool.ts";
export type { FieldTask } from "./worker-tasks.ts";
