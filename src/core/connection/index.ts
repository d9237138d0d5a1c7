/**
 * Connections: the 64-byte record, batch codec, types, arena and learning rules. Record
 * validation is `validateConnectionRecords` in `../constitution` (one validator for the format).
 */
export * from "./layout.ts";
export * from "./types.ts";
export * from "./columns.ts";
export * from "./codec.ts";
export * from "./fields.ts";
export * from "./arena.ts";
export * from "./learning.ts";
