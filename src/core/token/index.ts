/** Tokens: the 64-byte record, its batch and single-token codecs, flags and validation. */
export * from "./columns.ts";
export * from "./layout.ts";
export * from "./flags.ts";
export * from "./coords.ts";
export * from "./views.ts";
export * from "./batch.ts";
export * from "./codec.ts";
export * from "./validate.ts";
