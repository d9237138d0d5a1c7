/** Connections: the 64-byte record, batch codec, types, validation, arena and learning rules. */
export * from "./layout.ts";
export * from "./types.ts";
export * from "./columns.ts";
export * from "./codec.ts";
export * from "./fields.ts";
export * from "./validate.ts";
export * from "./arena.ts";
export * from "./learning.ts";
